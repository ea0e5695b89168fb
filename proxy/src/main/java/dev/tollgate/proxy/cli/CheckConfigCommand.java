package dev.tollgate.proxy.cli;

import dev.tollgate.config.ConfigException;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.pricing.PriceFileException;
import dev.tollgate.pricing.PriceTable;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code tollgate check-config FILE}: every problem with its key path; exit 0 or 1. */
@Command(name = "check-config", mixinStandardHelpOptions = true,
        description = "Validate a config file (and its pricing.file). Prints every problem with its key path; exit 0 or 1.")
final class CheckConfigCommand implements Callable<Integer> {

    @Parameters(paramLabel = "FILE", description = "The config file to check.")
    Path file;

    @Override
    public Integer call() {
        TollgateConfig config;
        try {
            config = new ConfigLoader().load(file);
        } catch (ConfigException e) {
            System.out.println(file + ": " + e.problems().size() + " problem(s)");
            e.problems().forEach(problem -> System.out.println("  " + problem));
            return 1;
        }
        if (config.pricing().file() != null) {
            try {
                PriceTable.bundled().withOverrides(config.pricing().file());
            } catch (PriceFileException e) {
                System.out.println(file + ": 1 problem(s)");
                System.out.println("  pricing.file: " + e.getMessage());
                return 1;
            }
        }
        System.out.println(file + ": ok (" + config.agents().size() + " agent(s), " + config.teams().size()
                + " team(s), windows in " + config.timeZone() + ")");
        return 0;
    }
}
