package dev.tollgate.config;

import java.math.BigDecimal;
import java.util.List;

/**
 * One configured limit: its key as written in the config, what it counts, over which window, and its
 * value (dollars for cost limits, a count otherwise). Per-intent limits have no window.
 */
public record Limit(String key, Kind kind, Window window, BigDecimal value, long units) {

    /** What a limit counts. */
    public enum Kind { COST, REQUESTS, TOKENS, INTENTS }

    static void add(List<Limit> out, String key, Kind kind, Window window, Number value) {
        if (value != null) {
            out.add(new Limit(key, kind, window, value instanceof BigDecimal d ? d : BigDecimal.valueOf(value.longValue())));
        }
    }

    /**
     * A limit whose {@code units} are worked out once here, not on every admission: nano-dollars for cost
     * limits, the count for everything else. The loader has already refused values that do not fit.
     */
    public Limit(String key, Kind kind, Window window, BigDecimal value) {
        this(key, kind, window, value, kind == Kind.COST ? value.movePointRight(9).longValueExact() : value.longValueExact());
    }
}
