package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.util.Locale;

/** What a reached limit does ({@code action_on_breach}). */
public enum BreachAction {
    /** Refuse the call with 429. */
    BLOCK,
    /** Let it through and record one {@code alert} event per limit and window. */
    ALERT;

    @JsonCreator
    static BreachAction fromYaml(String value) {
        for (BreachAction action : values()) {
            if (action.name().toLowerCase(Locale.ROOT).equals(value)) {
                return action;
            }
        }
        throw new InvalidValueException("action_on_breach", "must be block or alert, got '" + value + "'");
    }
}
