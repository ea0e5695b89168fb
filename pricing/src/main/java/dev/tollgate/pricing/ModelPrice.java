package dev.tollgate.pricing;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * A model's prices in US dollars per million tokens. {@code cachedInput} is the price of input tokens
 * served from the prompt cache; a model without a cache discount has it equal to {@code input}.
 */
public record ModelPrice(BigDecimal input, BigDecimal cachedInput, BigDecimal output) {

    /** One rounding, at the end, to the nearest nano-dollar; ties to even so that no side gains over millions of calls. */
    public static final RoundingMode ROUNDING = RoundingMode.HALF_EVEN;
    private static final BigDecimal NANOS_PER_MILLION_TOKENS_FACTOR = BigDecimal.valueOf(1_000);
    public static final ModelPrice FREE = new ModelPrice(BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO);

    public ModelPrice {
        if (input == null || output == null) {
            throw new IllegalArgumentException("input and output prices are required");
        }
        if (cachedInput == null) {
            cachedInput = input;
        }
        if (input.signum() < 0 || cachedInput.signum() < 0 || output.signum() < 0) {
            throw new IllegalArgumentException("prices cannot be negative");
        }
    }

    /**
     * The exact cost of {@code usage}: uncached input at the input price, cached input at the cached
     * price, output (reasoning included) at the output price, summed exactly and rounded once.
     */
    public UsdNanos cost(Usage usage) {
        BigDecimal dollarsTimesMillion = input.multiply(BigDecimal.valueOf(usage.uncachedInputTokens()))
                .add(cachedInput.multiply(BigDecimal.valueOf(usage.cachedInputTokens())))
                .add(output.multiply(BigDecimal.valueOf(usage.outputTokens())));
        // dollars = sum / 1e6, nanos = dollars * 1e9, so nanos = sum * 1e3.
        return new UsdNanos(dollarsTimesMillion.multiply(NANOS_PER_MILLION_TOKENS_FACTOR)
                .setScale(0, ROUNDING).longValueExact());
    }
}
