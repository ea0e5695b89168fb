package dev.tollgate.config;

import java.math.BigDecimal;

/** Range checks shared by the limit records. */
final class Limits {

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
    }

    static void requirePositive(String key, Long value) {
        if (value != null && value <= 0) {
            throw new InvalidValueException(key, "must be > 0");
        }
    }
}
