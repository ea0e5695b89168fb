package dev.tollgate.pricing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class PriceTableTest {

    private static final PriceTable TABLE = PriceTable.bundled();

    record Golden(String model, Usage usage, long expectedNanos) {
        @Override
        public String toString() {
            return model + " " + usage.inputTokens() + "/" + usage.cachedInputTokens() + "/" + usage.outputTokens()
                    + "/" + usage.reasoningTokens();
        }
    }

    /** Golden costs computed outside Java (see the header of golden/costs.csv). */
    static Stream<Golden> goldenCosts() throws IOException {
        List<Golden> rows = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(
                PriceTableTest.class.getResourceAsStream("/golden/costs.csv"), StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.startsWith("#") || line.isBlank()) {
                    continue;
                }
                String[] f = line.split(",");
                rows.add(new Golden(f[0], new Usage(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]),
                        Long.parseLong(f[4])), Long.parseLong(f[5])));
            }
        }
        return rows.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenCosts")
    void costMatchesTheGoldenTable(Golden golden) {
        PricedModel priced = TABLE.resolve(golden.model()).orElseThrow(() -> new AssertionError("unpriced " + golden.model()));

        assertThat(priced.price().cost(golden.usage()).value()).isEqualTo(golden.expectedNanos());
    }

    @Test
    void everyBundledModelIsInTheGoldenTable() throws IOException {
        List<String> golden = goldenCosts().map(Golden::model).distinct().toList();

        assertThat(golden).containsAll(TABLE.entries().keySet());
        assertThat(TABLE.entries().keySet()).contains("gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini",
                "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "o1", "o3", "o3-mini", "o4-mini", "gpt-4", "gpt-4-turbo",
                "gpt-3.5-turbo", "text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002");
    }

    @Test
    void exactDatedEntryWinsOverItsFamily() {
        assertThat(TABLE.resolve("gpt-4o-2024-05-13").orElseThrow().entry()).isEqualTo("gpt-4o-2024-05-13");
        assertThat(TABLE.resolve("gpt-4o-2024-08-06").orElseThrow().entry()).isEqualTo("gpt-4o");
        assertThat(TABLE.resolve("openai/gpt-4o-2024-08-06").orElseThrow().entry()).isEqualTo("gpt-4o");
        assertThat(TABLE.resolve("gpt-3.5-turbo-0125").orElseThrow().entry()).isEqualTo("gpt-3.5-turbo");
    }

    @Test
    void unknownModelsResolveToNothing() {
        assertThat(TABLE.resolve("my-finetune")).isEmpty();
        assertThat(TABLE.resolve("ft:gpt-4o-mini-2024-07-18:acme::abc123")).isEmpty();
        assertThat(TABLE.resolve("")).isEmpty();
        assertThat(TABLE.resolve(null)).isEmpty();
    }

    @Test
    void priceFileAddsAndOverrides(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("prices.yaml");
        Files.writeString(file, """
                models:
                  my-finetune: { input: 3.00, cached_input: 1.50, output: 12.00 }
                  gpt-4o: { input: 2.00, output: 8.00 }
                """);

        PriceTable table = TABLE.withOverrides(file);

        PricedModel finetune = table.resolve("my-finetune").orElseThrow();
        assertThat(finetune.fromPriceFile()).isTrue();
        assertThat(finetune.price().cost(new Usage(1_000_000, 500_000, 1_000_000, 0)).value())
                .isEqualTo(1_500_000_000L + 750_000_000L + 12_000_000_000L);
        PricedModel overridden = table.resolve("gpt-4o-2024-08-06").orElseThrow();
        assertThat(overridden.price().input()).isEqualByComparingTo(new BigDecimal("2.00"));
        assertThat(overridden.price().cachedInput()).as("no cached price means no discount").isEqualByComparingTo("2.00");
        assertThat(table.priceFile()).contains(file);
        assertThat(TABLE.resolve("my-finetune")).as("the bundled table is unchanged").isEmpty();
    }

    @Test
    void badPriceFilesNameTheFileAndTheProblem(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("prices.yaml");
        Files.writeString(file, "models:\n  x: { input: 1.0 }\n");
        assertThatThrownBy(() -> TABLE.withOverrides(file)).isInstanceOf(PriceFileException.class)
                .hasMessageContaining("prices.yaml").hasMessageContaining("models.x: needs input and output");

        Files.writeString(file, "models:\n  x: { input: 1.0, output: -2 }\n");
        assertThatThrownBy(() -> TABLE.withOverrides(file)).hasMessageContaining("cannot be negative");

        Files.writeString(file, "models:\n  x: { input: 1.0, output: 2, cache: 1 }\n");
        assertThatThrownBy(() -> TABLE.withOverrides(file)).hasMessageContaining("cache");

        assertThatThrownBy(() -> TABLE.withOverrides(dir.resolve("missing.yaml"))).hasMessageContaining("no such file");
    }

    @Test
    void moneyIsExactAndFormatsForPeople() {
        assertThat(UsdNanos.ofDollars("50.00").value()).isEqualTo(50_000_000_000L);
        assertThat(UsdNanos.ofDollars("0.000000001").value()).isEqualTo(1);
        assertThat(new UsdNanos(50_021_300_000L).format()).isEqualTo("$50.0213");
        assertThat(new UsdNanos(10_000_000_000L).format()).isEqualTo("$10.00");
        assertThat(new UsdNanos(1).format()).isEqualTo("$0.000000001");
        assertThatThrownBy(() -> UsdNanos.ofDollars("0.0000000001")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new UsdNanos(Long.MAX_VALUE).plus(new UsdNanos(1))).isInstanceOf(ArithmeticException.class);
    }

    @Test
    void plainDollarsMatchesBigDecimalArithmetic() {
        java.util.SplittableRandom random = new java.util.SplittableRandom(42);
        long[] edges = {0, 1, 9, 10, 999_999_999L, 1_000_000_000L, 1_000_000_001L, 1_230_000_000L, 1_200_000_000L,
            Long.MAX_VALUE, Long.MAX_VALUE - 1};
        java.util.stream.LongStream.concat(java.util.Arrays.stream(edges), random.longs(5_000, 0, Long.MAX_VALUE))
                .forEach(nanos -> {
                    BigDecimal dollars = BigDecimal.valueOf(nanos, 9).stripTrailingZeros();
                    String expected = (dollars.scale() < 2 ? dollars.setScale(2) : dollars).toPlainString();
                    assertThat(UsdNanos.plainDollars(nanos)).as("%d nanos", nanos).isEqualTo(expected);
                });
        assertThat(UsdNanos.plainDollars(0)).isEqualTo("0.00");
        assertThat(UsdNanos.plainDollars(1_200_000_000L)).isEqualTo("1.20");
    }

    @Test
    void halfNanoRoundsToEven() {
        ModelPrice price = new ModelPrice(new BigDecimal("0.0005"), null, BigDecimal.ZERO);

        assertThat(price.cost(new Usage(1, 0, 0, 0)).value()).as("0.5 nanos").isZero();
        assertThat(price.cost(new Usage(3, 0, 0, 0)).value()).as("1.5 nanos").isEqualTo(2);
    }

    @Test
    void reasoningAndCachedTokensAreNeverChargedTwice() {
        ModelPrice o3 = TABLE.resolve("o3").orElseThrow().price();

        UsdNanos withReasoning = o3.cost(new Usage(1000, 0, 5000, 4000));
        UsdNanos sameOutput = o3.cost(new Usage(1000, 0, 5000, 0));
        UsdNanos allCached = o3.cost(new Usage(1000, 1000, 0, 0));

        assertThat(withReasoning).isEqualTo(sameOutput);
        assertThat(allCached.value()).isEqualTo(1000 * 500L);
    }
}
