package dev.tollgate.proxy.admission;

import dev.tollgate.config.Limit;

/** A limit of a scope and the window counter it is checked against. */
record ScopedLimit(String scope, Limit limit, WindowCounter counter) {

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
