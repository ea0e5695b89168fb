package dev.tollgate.pricing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The {@code long} arithmetic of {@link ModelPrice} against its {@link BigDecimal} definition: every
 * price the bundled table holds, and random prices of up to twelve places, with token counts from zero to
 * past what a {@code long} product holds, must cost the same nano-dollar and buy the same output tokens.
 */
class ModelPriceTest {

    private static final long[] EDGE_TOKENS = {0, 1, 2, 3, 999, 1_000, 1_001, 999_999, 1_000_000, 1_000_001,
        123_456_789, 4_000_000_000L, 1L << 40, Long.MAX_VALUE / 1_000, Long.MAX_VALUE / 3};

    @Test
    void everyBundledPriceCostsWhatItsDefinitionSays() {
        SplittableRandom random = new SplittableRandom(7);
        for (ModelPrice price : PriceTable.bundled().entries().values()) {
            for (int i = 0; i < 2_000; i++) {
                assertSameCost(price, randomUsage(random));
            }
            for (long tokens : EDGE_TOKENS) {
                assertSameCost(price, new Usage(tokens, tokens / 2, tokens, 0));
                assertSameTokens(price, tokens);
            }
        }
    }

    @Test
    void randomPricesOfManyPlacesCostWhatTheirDefinitionSays() {
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < 20_000; i++) {
            ModelPrice price = new ModelPrice(randomPrice(random), random.nextInt(4) == 0 ? null : randomPrice(random),
                    randomPrice(random));
            Usage usage = randomUsage(random);
            assertSameCost(price, usage);
            assertSameTokens(price, random.nextLong(0, Long.MAX_VALUE));
            assertSameTokens(price, random.nextLong(0, 10_000_000_000L));
        }
    }

    @Test
    void halfANanoRoundsToEvenAndTheRestToNearest() {
        // $1 per million tokens is 1,000 nano-dollars a token, so $0.0005 is half a nano-dollar a token.
        ModelPrice half = new ModelPrice(new BigDecimal("0.0005"), null, new BigDecimal("0.0005"));
        assertThat(half.cost(new Usage(1, 0, 0, 0)).value()).as("0.5 rounds to 0").isZero();
        assertThat(half.cost(new Usage(3, 0, 0, 0)).value()).as("1.5 rounds to 2").isEqualTo(2);
        assertThat(half.cost(new Usage(5, 0, 0, 0)).value()).as("2.5 rounds to 2").isEqualTo(2);
        ModelPrice tenth = new ModelPrice(new BigDecimal("0.0001"), null, new BigDecimal("0.0001"));
        assertThat(tenth.cost(new Usage(6, 0, 0, 0)).value()).as("0.6 rounds to 1").isEqualTo(1);
        assertThat(tenth.cost(new Usage(4, 0, 0, 0)).value()).as("0.4 rounds to 0").isZero();
        assertThat(tenth.cost(new Usage(15, 0, 10, 0)).value()).as("2.5 summed, then rounded once").isEqualTo(2);
    }

    @Test
    void costsPastALongFallBackToTheDefinitionAndStillFailLoudly() {
        ModelPrice price = new ModelPrice(new BigDecimal("2.123456789012"), null, new BigDecimal("10"));
        Usage huge = new Usage(Long.MAX_VALUE / 2, 0, 0, 0);
        assertThatThrownBy(() -> price.cost(huge)).as("more nano-dollars than a long holds")
                .isInstanceOf(ArithmeticException.class);
        Usage large = new Usage(1L << 42, 0, 0, 0);
        assertThat(price.cost(large)).isEqualTo(price.exactCost(large));
    }

    @Test
    void freeOutputBuysAnyNumberOfTokensAndANegativeAmountIsAnError() {
        assertThat(ModelPrice.FREE.outputTokensFor(0)).isEqualTo(Long.MAX_VALUE);
        ModelPrice price = new ModelPrice(new BigDecimal("2.50"), null, new BigDecimal("10.00"));
        assertThat(price.outputTokensFor(0)).isZero();
        assertThat(price.outputTokensFor(9_999)).as("10,000 nano-dollars a token").isZero();
        assertThat(price.outputTokensFor(10_000)).isEqualTo(1);
        assertThatThrownBy(() -> price.outputTokensFor(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void comparesAndPrintsByItsThreePrices() {
        ModelPrice a = new ModelPrice(new BigDecimal("2.50"), null, new BigDecimal("10.00"));
        ModelPrice b = new ModelPrice(new BigDecimal("2.50"), new BigDecimal("2.50"), new BigDecimal("10.00"));
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
        assertThat(a).isNotEqualTo(new ModelPrice(new BigDecimal("2.5"), null, new BigDecimal("10.00")));
        assertThat(a).hasToString("ModelPrice[input=2.50, cachedInput=2.50, output=10.00]");
    }

    private static void assertSameCost(ModelPrice price, Usage usage) {
        UsdNanos expected;
        try {
            expected = price.exactCost(usage);
        } catch (ArithmeticException tooLarge) {
            assertThatThrownBy(() -> price.cost(usage)).as("%s %s", price, usage).isInstanceOf(ArithmeticException.class);
            return;
        }
        assertThat(price.cost(usage)).as("%s %s", price, usage).isEqualTo(expected);
    }

    private static void assertSameTokens(ModelPrice price, long nanos) {
        long expected = price.output().signum() == 0 ? Long.MAX_VALUE : price.exactOutputTokensFor(nanos);
        assertThat(price.outputTokensFor(nanos)).as("%s %d", price, nanos).isEqualTo(expected);
    }

    private static BigDecimal randomPrice(SplittableRandom random) {
        return switch (random.nextInt(6)) {
            case 0 -> BigDecimal.ZERO;
            case 1 -> BigDecimal.valueOf(random.nextLong(0, 100_000), random.nextInt(0, 3));
            case 2 -> new BigDecimal("1E+1");
            default -> BigDecimal.valueOf(random.nextLong(0, 1_000_000_000_000L), random.nextInt(0, 13));
        };
    }

    private static Usage randomUsage(SplittableRandom random) {
        long bound = switch (random.nextInt(3)) {
            case 0 -> 10_000;
            case 1 -> 10_000_000;
            default -> Long.MAX_VALUE / 4;
        };
        long input = random.nextLong(0, bound);
        return new Usage(input, random.nextLong(0, input + 1), random.nextLong(0, bound), 0);
    }
}
