package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.util.Locale;

/** What happens to a call for a model the price table does not know ({@code pricing.unknown_model}). */
public enum UnknownModelPolicy {
    /** Refuse it with 400 {@code unpriced_model}: no call goes out that cannot be charged. */
    BLOCK,
    /** Forward it, meter its tokens at $0, and record an {@code unpriced_model} event. */
    ALLOW;

    @JsonCreator
    static UnknownModelPolicy fromYaml(String value) {
        for (UnknownModelPolicy policy : values()) {
            if (policy.name().toLowerCase(Locale.ROOT).equals(value)) {
                return policy;
            }
        }
        throw new InvalidValueException("unknown_model", "must be block or allow, got '" + value + "'");
    }
}
