package dev.tollgate.proxy.admission;

import dev.tollgate.config.Limit;

/**
 * A limit of a scope and the window counter it is checked against, with the units at which it raises
 * the calling agent's {@code alert_at} ({@link Long#MAX_VALUE} for none).
 */
record ScopedLimit(String scope, Limit limit, WindowCounter counter, long alertUnits) {

    /** How much of the limit is used (nano-dollars, tokens or requests). */
    long used() {
        return switch (limit.kind()) {
            case COST -> counter.costNanos;
            case TOKENS -> counter.tokens;
            case REQUESTS -> counter.requests;
            case INTENTS -> counter.intents;
        };
    }
}
