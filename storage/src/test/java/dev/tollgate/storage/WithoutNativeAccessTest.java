package dev.tollgate.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where JNA's native part cannot be loaded (a temporary or cache directory mounted noexec, a platform JNA has
 * no build for, an incompatible copy on the system), the ledger opens and records all the same; only the
 * journal's pages are not prepared ahead. Run in a JVM of its own, told where no native part can be found,
 * because JNA tries to load it once per process.
 */
class WithoutNativeAccessTest {

    @TempDir
    Path dir;

    @Test
    void theLedgerOpensAndRecordsWhenJnaCannotLoad() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Path output = dir.resolve("probe.out");
        Process probe = new ProcessBuilder(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                "-Djna.nosys=true", "-Djna.noclasspath=true", "-Djna.nounpack=true",
                "-Djna.boot.library.path=" + dir.resolve("nowhere"),
                Probe.class.getName(), dir.resolve("ledger.db").toString())
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();

        assertThat(probe.waitFor(60, TimeUnit.SECONDS)).as("the probe finished").isTrue();
        String out = Files.readString(output, StandardCharsets.UTF_8);
        assertThat(probe.exitValue()).as(out).isZero();
        assertThat(out).contains("recorded=1").contains("pages not prepared: java.lang.UnsatisfiedLinkError");
    }

    /** Opens a ledger, records an event, reads it back, and says why the pages are not prepared. */
    static final class Probe {

        public static void main(String[] args) throws Exception {
            try (Ledger ledger = Ledger.open(Path.of(args[0]))) {
                ledger.append(new EventRow(1, "agent-a", null, "paused", null));
                if (!ledger.flush(10, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the event was not committed");
                }
                System.out.println("recorded=" + ledger.events(0, 10).size());
                System.out.println("pages not prepared: " + WritablePages.unavailable());
            }
        }
    }
}
