package dev.tollgate.storage;

/** What a scope (an agent, a team, an intent, everyone) spent in a window: exact nano-dollars, calls, tokens. */
public record Spend(long costNanos, long requests, long tokens) {

    public static final Spend ZERO = new Spend(0, 0, 0);

    public Spend plus(Spend other) {
        return new Spend(Math.addExact(costNanos, other.costNanos), requests + other.requests, tokens + other.tokens);
    }
}
