package dev.tollgate.proxy.admission;

import dev.tollgate.config.Window;
import java.time.Instant;
import java.time.ZoneId;

/**
 * What one scope (an agent, a team, everyone) has used in the current window of one kind, plus what
 * calls in flight have reserved. Guarded by {@link Budgets}' lock; it rolls over to a fresh window the
 * first time it is touched at or after its end, so a reset happens exactly at the boundary.
 */
final class WindowCounter {

    final Window window;
    long startMs;
    long endMs;
    long costNanos;
    long requests;
    long tokens;
    long intents;
    long reservedCost;
    long reservedTokens;

    WindowCounter(Window window) {
        this.window = window;
        this.endMs = Long.MIN_VALUE;
    }

    /** Moves to the window containing {@code nowMs} if this one is over. */
    void roll(long nowMs, ZoneId zone) {
        if (nowMs >= endMs || nowMs < startMs) {
            Instant now = Instant.ofEpochMilli(nowMs);
            startMs = window.start(now, zone).toEpochMilli();
            endMs = window.end(now, zone).toEpochMilli();
            costNanos = 0;
            requests = 0;
            tokens = 0;
            intents = 0;
            reservedCost = 0;
            reservedTokens = 0;
        }
    }
}
