package dev.tollgate.proxy.admission;

import dev.tollgate.config.Limit;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
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

    /** Per agent: its minute buckets and its recent intents, found with one lookup a call. */
    private final Map<String, AgentSpend> agents = new HashMap<>();

    /** Records a settled cost and returns the warnings it triggers (unreported ones only). */
    List<String[]> onSettled(String agent, String intent, long costNanos, long nowMs, List<ScopedLimit> limits,
            Set<String> reported) {
        List<String[]> warnings = new ArrayList<>();
        AgentSpend spend = agents.computeIfAbsent(agent, k -> new AgentSpend());
        long rateNanosPerMs = spend.recordAndRate(costNanos, nowMs);
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
            RecentIntents intents = spend.intents();
            long total = intents.add(intent, costNanos);
            long median = intents.medianOfOthers(total, MIN_INTENTS_FOR_MEDIAN);
            if (median > 0 && total > SPIKE_FACTOR * median && reported.add("anomaly|" + agent + "|" + intent)) {
                warnings.add(new String[] {"anomaly", "intent '" + intent + "' of agent '" + agent + "' has cost $"
                        + Budgets.dollars(total) + ", more than " + SPIKE_FACTOR + " times the agent's median intent ($"
                        + Budgets.dollars(median) + ")", "intent_cost", Budgets.dollars(median * SPIKE_FACTOR),
                        Budgets.dollars(total), null});
            }
        }
        return warnings;
    }

    /** One agent's spend: the last 15 minutes in minute buckets, and the totals of its recent intents. */
    private static final class AgentSpend {
        private final long[] buckets = new long[15];
        private final long[] minutes = new long[15];
        /** Made on the first intent: most agents name none, and each of these is about a kilobyte. */
        private RecentIntents intents;

        RecentIntents intents() {
            if (intents == null) {
                intents = new RecentIntents(RECENT_INTENTS);
            }
            return intents;
        }

        /** Adds the cost to this minute's bucket and returns nano-dollars per millisecond over the last 15 minutes. */
        long recordAndRate(long costNanos, long nowMs) {
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
}
