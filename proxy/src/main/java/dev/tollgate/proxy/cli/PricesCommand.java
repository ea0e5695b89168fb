package dev.tollgate.proxy.cli;

import dev.tollgate.config.PricingConfig;
import dev.tollgate.pricing.ModelPrice;
import dev.tollgate.pricing.PriceTable;
import dev.tollgate.pricing.PricedModel;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code tollgate prices [MODEL]}: the effective price table, or how one model name resolves. */
@Command(name = "prices", mixinStandardHelpOptions = true,
        description = "Print the effective price table (bundled plus pricing.file), or how MODEL resolves."
                + " Prices are USD per million tokens.")
final class PricesCommand implements Callable<Integer> {

    @Parameters(arity = "0..1", paramLabel = "MODEL", description = "A model name as agents send it or responses report it.")
    String model;

    @Option(names = "--config", paramLabel = "FILE", description = "Config whose pricing.file to apply (default ./tollgate.yaml if present).")
    Path config;

    @Override
    public Integer call() throws Exception {
        PricingConfig pricing = pricingConfig();
        PriceTable table = PriceTable.bundled();
        if (pricing.file() != null) {
            table = table.withOverrides(pricing.file());
        }
        PrintStream out = System.out;
        if (model == null) {
            printTable(out, table);
            return 0;
        }
        Optional<PricedModel> resolved = table.resolve(model);
        if (resolved.isEmpty()) {
            out.println(model + ": no price. With pricing.unknown_model: " + pricing.unknownModel().name().toLowerCase()
                    + " its calls are " + (pricing.unknownModel().name().equals("BLOCK") ? "refused (400 unpriced_model)"
                    : "forwarded and metered at $0") + ". Add it to "
                    + (pricing.file() != null ? pricing.file().toString() : "a price file named by pricing.file") + ".");
            return 1;
        }
        PricedModel priced = resolved.get();
        ModelPrice price = priced.price();
        out.println(model + " -> " + priced.entry() + " (" + (priced.fromPriceFile() ? pricing.file() : "bundled table") + ")");
        out.println("  input " + dollars(price.input()) + ", cached input " + dollars(price.cachedInput())
                + ", output " + dollars(price.output()) + " per million tokens");
        return 0;
    }

    private PricingConfig pricingConfig() throws Exception {
        return ConfigFiles.load(config).pricing();
    }

    private static void printTable(PrintStream out, PriceTable table) {
        out.printf("%-28s %10s %14s %10s%n", "MODEL", "INPUT", "CACHED INPUT", "OUTPUT");
        for (Map.Entry<String, ModelPrice> entry : table.entries().entrySet()) {
            ModelPrice price = entry.getValue();
            out.printf("%-28s %10s %14s %10s%n", entry.getKey(), dollars(price.input()), dollars(price.cachedInput()),
                    dollars(price.output()));
        }
        out.println("USD per million tokens." + table.priceFile().map(f -> " Includes " + f + ".").orElse(""));
    }

    private static String dollars(BigDecimal amount) {
        BigDecimal plain = amount.stripTrailingZeros();
        return "$" + (plain.scale() < 2 ? plain.setScale(2) : plain).toPlainString();
    }
}
