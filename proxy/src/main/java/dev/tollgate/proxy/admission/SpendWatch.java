package dev.tollgate.proxy.admission;

import dev.tollgate.config.Limit;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Early warnings from how an agent spends, not only how much: the burn rate (spend over the last 15
 * minutes, held steady, reaches a cost limit before that window resets) and spikes (an intent costing
 * more than 10 times the agent's median intent). Guarded by the {@link Budgets} lock.
 */
final class SpendWatch {

    static final long RATE_WINDOW_MS = 15 * 60_000L;
    static final int SPIKE_FACTOR = 10;
    static final int MIN_INTENTS_FOR_MEDIAN = 5;
    private static final int RECENT_INTENTS = 100;
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm 'UTC'").withZone(ZoneOffset.UTC);

    /** Per agent: spend per minute over the last 15 minutes (ring of minute buckets). */
    private final Map<String, long[]> minuteSpend = new HashMap<>();
    private final Map<String, long[]> minuteIndex = new HashMap<>();
    /** Per agent: totals of its most recent intents. */
    private final Map<String, LinkedHashMap<String, Long>> recentIntents = new HashMap<>();

    /** Records a settled cost and returns the warnings it triggers (unreported ones only). */
    List<String[]> onSettled(String agent, String intent, long costNanos, long nowMs, List<ScopedLimit> limits,
            Set<String> reported) {
        List<String[]> warnings = new ArrayList<>();
        long rateNanosPerMs = recordAndRate(agent, costNanos, nowMs);
        if (rateNanosPerMs > 0) {
            for (ScopedLimit s : limits) {
                if (s.limit().kind() != Limit.Kind.COST || !s.scope().startsWith("agent ")) {
                    continue;
                }
                long limit = s.limit().units();
                long spent = s.counter().costNanos;
                if (spent >= limit) {
                    continue;
                }
                long eta = nowMs + (limit - spent) / rateNanosPerMs;
                if (eta < s.counter().endMs && reported.add("projection|" + s.scope() + "|" + s.limit().key() + "|" + s.counter().startMs)) {
                    warnings.add(new String[] {"projection", s.scope() + " is projected to reach $" + Budgets.dollars(limit)
                            + " of " + s.limit().key() + " at " + CLOCK.format(Instant.ofEpochMilli(eta))
                            + " (spending $" + Budgets.dollars(rateNanosPerMs * 3_600_000L) + "/h over the last 15 minutes)",
                            s.limit().key(), Budgets.dollars(limit), Budgets.dollars(spent), Instant.ofEpochMilli(eta).toString()});
                }
            }
        }
        if (intent != null) {
            LinkedHashMap<String, Long> intents = recentIntents.computeIfAbsent(agent, k -> new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
                    return size() > RECENT_INTENTS;
                }
            });
            long total = intents.merge(intent, costNanos, Long::sum);
            List<Long> others = new ArrayList<>();
            intents.forEach((name, cost) -> {
                if (!name.equals(intent)) {
                    others.add(cost);
                }
            });
            if (others.size() >= MIN_INTENTS_FOR_MEDIAN) {
                others.sort(Long::compare);
                long median = others.get(others.size() / 2);
                if (median > 0 && total > SPIKE_FACTOR * median && reported.add("anomaly|" + agent + "|" + intent)) {
                    warnings.add(new String[] {"anomaly", "intent '" + intent + "' of agent '" + agent + "' has cost $"
                            + Budgets.dollars(total) + ", more than " + SPIKE_FACTOR + " times the agent's median intent ($"
                            + Budgets.dollars(median) + ")", "intent_cost", Budgets.dollars(median * SPIKE_FACTOR),
                            Budgets.dollars(total), null});
                }
            }
        }
        return warnings;
    }

    /** Adds the cost to this minute's bucket and returns nano-dollars per millisecond over the last 15 minutes. */
    private long recordAndRate(String agent, long costNanos, long nowMs) {
        long[] buckets = minuteSpend.computeIfAbsent(agent, k -> new long[15]);
        long[] minutes = minuteIndex.computeIfAbsent(agent, k -> new long[15]);
        long minute = nowMs / 60_000L;
        int slot = (int) (minute % 15);
        if (minutes[slot] != minute) {
            minutes[slot] = minute;
            buckets[slot] = 0;
        }
        buckets[slot] += costNanos;
        long sum = 0;
        for (int i = 0; i < 15; i++) {
            if (minute - minutes[i] < 15) {
                sum += buckets[i];
            }
        }
        return sum / RATE_WINDOW_MS;
    }
}
