package dev.tollgate.storage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the crash journal costs the thread that records a call (an event loop): encoding a call row and
 * copying it into the memory-mapped ring, lap after lap. Run with {@code examples/bench/jmh.sh
 * LedgerJournalBenchmark}. In the package of {@link LedgerJournal}, which is not public.
 */
@Fork(1)
@Warmup(iterations = 3)
@Measurement(iterations = 5)
@State(Scope.Thread)
public class LedgerJournalBenchmark {

    private Path dir;
    private LedgerJournal journal;
    private long next;

    @Setup(Level.Trial)
    public void open() throws Exception {
        dir = Files.createTempDirectory("journal-bench");
        journal = LedgerJournal.open(dir.resolve("j.journal"), 0, LedgerJournal.DEFAULT_CAPACITY);
        journal.replay(0);
    }

    @TearDown(Level.Trial)
    public void close() throws Exception {
        journal.close();
        Files.deleteIfExists(dir.resolve("j.journal"));
        Files.deleteIfExists(dir);
    }

    /** Encode one call row and append it; the ring is marked applied at once, as a keeping-up writer does. */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public long encodeAndAppendCallRow() {
        long i = next++;
        CallRow row = new CallRow(1_700_000_000_000L + i, "agent-" + (i % 40), "intent-" + (i % 5_000),
                i % 3 == 0 ? "support" : null, "/v1/chat/completions", "gpt-4o-mini-2024-07-18", 200, false, 1_200, 256,
                340, 0, 380_000 + i % 1_000, "reported", 420, false);
        long end;
        synchronized (this) {
            end = journal.append(JournalCodec.encode(row));
        }
        journal.applied(end);
        return end;
    }
}
