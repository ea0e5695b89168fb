package dev.tollgate.pricing;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Objects;

/**
 * A model's prices in US dollars per million tokens. {@code cachedInput} is the price of input tokens
 * served from the prompt cache; a model without a cache discount has it equal to {@code input}.
 *
 * <p>Every call is priced three or four times (its worst case at admission, what each cost limit can pay
 * for, its actual cost), so the prices are also held as whole numbers of a common decimal unit, and the
 * cost is worked out in {@code long} arithmetic to the same exact result and the same single rounding as
 * the {@link BigDecimal} definition ({@link #exactCost}); a product that would overflow falls back to
 * that definition. This is a class rather than a record only to hold those whole numbers; it compares
 * and prints as a record of its three prices would.
 */
public final class ModelPrice {

    /** One rounding, at the end, to the nearest nano-dollar; ties to even so that no side gains over millions of calls. */
    public static final RoundingMode ROUNDING = RoundingMode.HALF_EVEN;
    private static final BigDecimal NANOS_PER_MILLION_TOKENS_FACTOR = BigDecimal.valueOf(1_000);
    /** Dollars per million tokens to nano-dollars per token is a move of three decimal places. */
    private static final int NANO_PLACES = 3;
    private static final long[] POWERS_OF_TEN = powersOfTen();
    public static final ModelPrice FREE = new ModelPrice(BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO);

    private final BigDecimal input;
    private final BigDecimal cachedInput;
    private final BigDecimal output;
    /**
     * The prices in units of 10^-{@code scale} dollars per million tokens, and the nano-dollars per
     * token as a whole number over {@code divisor} (10^({@code scale} - 3), 1 when {@code scale} ≤ 3, in
     * which case {@code multiplier} = 10^(3 - {@code scale})). {@code whole} is false when a price has
     * too many places or digits for that; every cost then takes the {@link BigDecimal} path.
     */
    private final long inputUnits;
    private final long cachedInputUnits;
    private final long outputUnits;
    private final long multiplier;
    private final long divisor;
    private final boolean whole;

    public ModelPrice(BigDecimal input, BigDecimal cachedInput, BigDecimal output) {
        if (input == null || output == null) {
            throw new IllegalArgumentException("input and output prices are required");
        }
        if (cachedInput == null) {
            cachedInput = input;
        }
        if (input.signum() < 0 || cachedInput.signum() < 0 || output.signum() < 0) {
            throw new IllegalArgumentException("prices cannot be negative");
        }
        this.input = input;
        this.cachedInput = cachedInput;
        this.output = output;
        int scale = Math.max(0, Math.max(input.scale(), Math.max(cachedInput.scale(), output.scale())));
        int places = scale - NANO_PLACES;
        long in = units(input, scale);
        long cached = units(cachedInput, scale);
        long out = units(output, scale);
        this.whole = in >= 0 && cached >= 0 && out >= 0 && Math.abs(places) < POWERS_OF_TEN.length;
        this.inputUnits = in;
        this.cachedInputUnits = cached;
        this.outputUnits = out;
        this.multiplier = whole && places < 0 ? POWERS_OF_TEN[-places] : 1;
        this.divisor = whole && places > 0 ? POWERS_OF_TEN[places] : 1;
    }

    public BigDecimal input() {
        return input;
    }

    public BigDecimal cachedInput() {
        return cachedInput;
    }

    public BigDecimal output() {
        return output;
    }

    /**
     * The exact cost of {@code usage}: uncached input at the input price, cached input at the cached
     * price, output (reasoning included) at the output price, summed exactly and rounded once.
     */
    public UsdNanos cost(Usage usage) {
        if (whole) {
            try {
                long sum = Math.addExact(Math.addExact(
                        Math.multiplyExact(inputUnits, usage.uncachedInputTokens()),
                        Math.multiplyExact(cachedInputUnits, usage.cachedInputTokens())),
                        Math.multiplyExact(outputUnits, usage.outputTokens()));
                return new UsdNanos(divideHalfEven(Math.multiplyExact(sum, multiplier), divisor));
            } catch (ArithmeticException overflow) {
                // Billions of tokens at a price with many places: exact in BigDecimal below.
            }
        }
        return exactCost(usage);
    }

    /** The definition of {@link #cost}, in {@link BigDecimal}. */
    UsdNanos exactCost(Usage usage) {
        BigDecimal dollarsTimesMillion = input.multiply(BigDecimal.valueOf(usage.uncachedInputTokens()))
                .add(cachedInput.multiply(BigDecimal.valueOf(usage.cachedInputTokens())))
                .add(output.multiply(BigDecimal.valueOf(usage.outputTokens())));
        // dollars = sum / 1e6, nanos = dollars * 1e9, so nanos = sum * 1e3.
        return new UsdNanos(dollarsTimesMillion.multiply(NANOS_PER_MILLION_TOKENS_FACTOR)
                .setScale(0, ROUNDING).longValueExact());
    }

    /**
     * The most output tokens {@code nanos} pays for at the output price (rounded down), or
     * {@link Long#MAX_VALUE} when output is free; {@code nanos} must not be negative.
     */
    public long outputTokensFor(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("a negative amount pays for nothing: " + nanos);
        }
        if (output.signum() == 0) {
            return Long.MAX_VALUE;
        }
        if (whole) {
            // tokens = nanos / (outputUnits * multiplier / divisor) = nanos * divisor / (outputUnits * multiplier)
            try {
                return Math.multiplyExact(nanos, divisor) / Math.multiplyExact(outputUnits, multiplier);
            } catch (ArithmeticException overflow) {
                // Fall through to the exact definition.
            }
        }
        return exactOutputTokensFor(nanos);
    }

    /** The definition of {@link #outputTokensFor}, in {@link BigDecimal}. */
    long exactOutputTokensFor(long nanos) {
        BigDecimal nanosPerToken = output.multiply(NANOS_PER_MILLION_TOKENS_FACTOR);
        BigDecimal tokens = BigDecimal.valueOf(nanos).divide(nanosPerToken, 0, RoundingMode.FLOOR);
        return tokens.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : tokens.longValue();
    }

    /** {@code dividend / divisor} rounded half to even, for a dividend of at least zero. */
    private static long divideHalfEven(long dividend, long divisor) {
        if (divisor == 1) {
            return dividend;
        }
        long quotient = dividend / divisor;
        long twiceRemainder = 2 * (dividend - quotient * divisor);
        if (twiceRemainder > divisor || twiceRemainder == divisor && (quotient & 1) == 1) {
            quotient++;
        }
        return quotient;
    }

    /** {@code price} in units of 10^-{@code scale}, or -1 when that is not a {@code long}. */
    private static long units(BigDecimal price, int scale) {
        try {
            return price.setScale(scale, RoundingMode.UNNECESSARY).unscaledValue().longValueExact();
        } catch (ArithmeticException tooLarge) {
            return -1;
        }
    }

    private static long[] powersOfTen() {
        long[] powers = new long[19];
        powers[0] = 1;
        for (int i = 1; i < powers.length; i++) {
            powers[i] = powers[i - 1] * 10;
        }
        return powers;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ModelPrice that && input.equals(that.input) && cachedInput.equals(that.cachedInput)
                && output.equals(that.output);
    }

    @Override
    public int hashCode() {
        return Objects.hash(input, cachedInput, output);
    }

    @Override
    public String toString() {
        return "ModelPrice[input=" + input + ", cachedInput=" + cachedInput + ", output=" + output + "]";
    }
}
