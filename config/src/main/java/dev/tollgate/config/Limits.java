package dev.tollgate.config;

import java.math.BigDecimal;

/** Range checks shared by the limit records. */
final class Limits {

    /** The largest amount nano-dollars in a long can hold, rounded down to a whole billion. */
    static final BigDecimal MAX_DOLLARS = BigDecimal.valueOf(9_000_000_000L);

    private Limits() {
    }

    static void requirePositive(String key, BigDecimal value) {
        if (value == null) {
            return;
        }
        if (value.signum() <= 0) {
            throw new InvalidValueException(key, "must be > 0");
        }
        if (value.stripTrailingZeros().scale() > 9) {
            throw new InvalidValueException(key, "has more than nine decimals (Tollgate counts in nano-dollars)");
        }
        if (value.compareTo(MAX_DOLLARS) > 0) {
            throw new InvalidValueException(key, "must be at most " + MAX_DOLLARS.toPlainString() + " dollars");
        }
    }

    static void requirePositive(String key, Long value) {
        if (value != null && value <= 0) {
            throw new InvalidValueException(key, "must be > 0");
        }
    }
}
