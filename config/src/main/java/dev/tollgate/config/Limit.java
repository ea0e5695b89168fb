package dev.tollgate.config;

import java.math.BigDecimal;
import java.util.List;

/**
 * One configured limit: its key as written in the config, what it counts, over which window, and its
 * value (dollars for cost limits, a count otherwise). Per-intent limits have no window.
 */
public record Limit(String key, Kind kind, Window window, BigDecimal value) {

    /** What a limit counts. */
    public enum Kind { COST, REQUESTS, TOKENS, INTENTS }

    static void add(List<Limit> out, String key, Kind kind, Window window, Number value) {
        if (value != null) {
            out.add(new Limit(key, kind, window, value instanceof BigDecimal d ? d : BigDecimal.valueOf(value.longValue())));
        }
    }

    /** The limit in nano-dollars (cost) or units (everything else). */
    public long units() {
        return kind == Kind.COST ? value.movePointRight(9).longValueExact() : value.longValueExact();
    }
}
