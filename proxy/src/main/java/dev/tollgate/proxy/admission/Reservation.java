package dev.tollgate.proxy.admission;

import java.util.List;

/**
 * What an admitted call holds against its budgets until it ends: the worst-case cost and tokens it was
 * admitted for, in each window counter it counts against (as they were when it started) and its intent.
 */
public final class Reservation {

    /** A call with no budget at all: settles to nothing. */
    public static final Reservation NONE = new Reservation(List.of(), new long[0], null, 0, 0);

    final List<WindowCounter> counters;
    final long[] windowStarts;
    final IntentCounter intent;
    final long cost;
    final long tokens;
    boolean settled;
    String agent;
    String intentName;
    String team;
    java.math.BigDecimal alertAt;
    List<ScopedLimit> limits = List.of();

    /** What settling needs to raise threshold, projection and spike alerts. */
    void watched(String agentName, String intent, String teamName, java.math.BigDecimal alertFraction, List<ScopedLimit> scoped) {
        this.agent = agentName;
        this.intentName = intent;
        this.team = teamName;
        this.alertAt = alertFraction;
        this.limits = scoped; // made for this call by Budgets, never changed after
    }

    Reservation(List<WindowCounter> counters, long[] windowStarts, IntentCounter intent, long cost, long tokens) {
        this.counters = counters;
        this.windowStarts = windowStarts;
        this.intent = intent;
        this.cost = cost;
        this.tokens = tokens;
    }
}
