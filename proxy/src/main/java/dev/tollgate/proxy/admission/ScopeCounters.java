package dev.tollgate.proxy.admission;

import dev.tollgate.config.Window;
import java.time.ZoneId;
import java.util.List;

/**
 * The window counters of one budget scope (an agent, a team or the whole fleet) with the name messages
 * give it ({@code agent 'reviewer'}). Made once per scope, so that admitting a call builds no strings and
 * hashes no new key for each of its scopes, as {@code "agent:" + agent} did. Guarded by {@link Budgets}'
 * lock, as its counters are.
 */
final class ScopeCounters {

    private static final Window[] WINDOWS = Window.values();

    final String label;
    private final WindowCounter[] windows = new WindowCounter[WINDOWS.length];

    private ScopeCounters(String label) {
        this.label = label;
        for (Window window : WINDOWS) {
            windows[window.ordinal()] = new WindowCounter(window);
        }
    }

    static ScopeCounters ofAgent(String agent) {
        return new ScopeCounters("agent '" + agent + "'");
    }

    static ScopeCounters ofTeam(String team) {
        return new ScopeCounters("team '" + team + "'");
    }

    static ScopeCounters global() {
        return new ScopeCounters("the global budget");
    }

    /** The counter of {@code window}, moved on to the window containing {@code nowMs} if its own is over. */
    WindowCounter in(Window window, long nowMs, ZoneId zone) {
        WindowCounter counter = windows[window.ordinal()];
        counter.roll(nowMs, zone);
        return counter;
    }

    /** Adds the counter of every window, each current at {@code nowMs}, to {@code out}. */
    void allInto(List<WindowCounter> out, long nowMs, ZoneId zone) {
        for (WindowCounter counter : windows) {
            counter.roll(nowMs, zone);
            out.add(counter);
        }
    }
}
