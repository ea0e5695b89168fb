package dev.tollgate.proxy.cli;

import dev.tollgate.proxy.demo.RunawayNight;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tollgate demo}: the runaway-agent night in seconds, ending with the cost report. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Replay the runaway-agent night in seconds, with no network and no key: spend climbing, the 80%"
                + " alert, the loop and projection alerts, the 429 at the cap, and the cost report.")
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--db", paramLabel = "FILE", defaultValue = "tollgate-demo.db",
            description = "Where the demo's ledger is written, and left (default ${DEFAULT-VALUE}).")
    Path db;

    @Override
    public Integer call() throws Exception {
        // The timeline is the demo's output; the proxy's own log lines would only repeat it.
        Object root = org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        if (root instanceof ch.qos.logback.classic.Logger logback) {
            logback.setLevel(ch.qos.logback.classic.Level.ERROR);
        }
        return new RunawayNight(db, System.out).run();
    }
}
