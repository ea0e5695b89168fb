package dev.tollgate.proxy.cli;

import dev.tollgate.config.TollgateConfig;
import dev.tollgate.storage.LedgerReports;
import dev.tollgate.storage.ReportFormat;
import dev.tollgate.storage.ReportQuery;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tollgate report}: cost from the ledger, grouped and summed exactly; works while the proxy runs. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Cost report from the ledger, sorted by cost, highest first. Works while the proxy runs.%n"
                + "T is an ISO date or time, today, yesterday, or a span like 7d, 24h.")
final class ReportCommand implements Callable<Integer> {

    @Option(names = "--db", paramLabel = "FILE", description = "Ledger file (default: storage.path of the config, else tollgate.db).")
    Path db;

    @Option(names = "--config", paramLabel = "FILE", description = "Config for storage.path and time_zone (default ./tollgate.yaml if present).")
    Path config;

    @Option(names = "--by", paramLabel = "KEY", defaultValue = "agent", description = "agent, intent, team, model, day or hour (default ${DEFAULT-VALUE}).")
    String by;

    @Option(names = "--since", paramLabel = "T", defaultValue = "today", description = "Start, inclusive (default ${DEFAULT-VALUE}).")
    String since;

    @Option(names = "--until", paramLabel = "T", description = "End, exclusive (default now).")
    String until;

    @Option(names = "--agent", paramLabel = "A", description = "Only this agent's calls.")
    String agent;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "50", description = "Lines shown (default ${DEFAULT-VALUE}); the total covers all.")
    int limit;

    @Option(names = "--format", paramLabel = "F", defaultValue = "table", description = "table, csv or json (default ${DEFAULT-VALUE}).")
    String format;

    @Override
    public Integer call() throws Exception {
        TollgateConfig loaded = ConfigFiles.load(config);
        Path ledger = db != null ? db : loaded.storage().path();
        if (!Files.exists(ledger)) {
            throw new IllegalArgumentException("no ledger at " + ledger.toAbsolutePath()
                    + "; pass --db FILE, or run the proxy first (it writes storage.path)");
        }
        ReportFormat output = ReportFormat.parse(format);
        ReportQuery query = ReportQuery.of(by, since, until, agent, limit, loaded.timeZone(), Instant.now());
        System.out.print(output.render(LedgerReports.of(ledger).report(query)));
        return 0;
    }
}
