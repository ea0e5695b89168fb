package dev.tollgate.pricing;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * An amount of US dollars in integer nano-dollars (1e-9 USD). Every amount on the money path is one
 * of these: sums are exact, and overflow (past nine billion dollars) throws instead of wrapping.
 */
public record UsdNanos(long value) implements Comparable<UsdNanos> {

    public static final UsdNanos ZERO = new UsdNanos(0);
    private static final int SCALE = 9;

    public UsdNanos plus(UsdNanos other) {
        return new UsdNanos(Math.addExact(value, other.value));
    }

    public UsdNanos minus(UsdNanos other) {
        return new UsdNanos(Math.subtractExact(value, other.value));
    }

    /** Exact decimal dollars ({@code 0.000012500}). */
    public BigDecimal toDollars() {
        return BigDecimal.valueOf(value, SCALE);
    }

    /**
     * Parses decimal dollars ("50.00", "0.0000125"). More than nine decimals is an error rather than a
     * silent rounding: a config amount means exactly what it says.
     */
    public static UsdNanos ofDollars(BigDecimal dollars) {
        try {
            return new UsdNanos(dollars.setScale(SCALE, RoundingMode.UNNECESSARY).unscaledValue().longValueExact());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("$" + dollars.toPlainString() + " is not a whole number of nano-dollars"
                    + " or is too large", e);
        }
    }

    public static UsdNanos ofDollars(String dollars) {
        return ofDollars(new BigDecimal(dollars));
    }

    /** Dollars for people: at least two decimals, more only where the amount has them ({@code $0.0213}). */
    public String format() {
        return (value < 0 ? "-$" : "$") + plainDollars(Math.abs(value));
    }

    /** Exact dollars without a sign, at least two decimals: {@code 50.0213}, {@code 50.00}. */
    public static String plainDollars(long nanos) {
        if (nanos >= 0) {
            // Integer arithmetic: this runs for a response header on every budgeted call.
            String fraction = Long.toString(nanos % 1_000_000_000L + 1_000_000_000L);  // "1" and nine digits
            int end = fraction.length();
            while (end > 3 && fraction.charAt(end - 1) == '0') {
                end--;
            }
            return new StringBuilder(24).append(nanos / 1_000_000_000L).append('.').append(fraction, 1, end).toString();
        }
        BigDecimal dollars = BigDecimal.valueOf(nanos, SCALE).stripTrailingZeros();
        if (dollars.scale() < 2) {
            dollars = dollars.setScale(2, RoundingMode.UNNECESSARY);
        }
        return dollars.toPlainString();
    }

    @Override
    public int compareTo(UsdNanos other) {
        return Long.compare(value, other.value);
    }

    @Override
    public String toString() {
        return format();
    }
}
