package dev.tollgate.proxy.admission;

import dev.tollgate.config.AgentPolicy;
import dev.tollgate.config.Limit;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.config.WindowLimits;
import dev.tollgate.pricing.UsdNanos;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What one config says about each agent, worked out once per config instead of on every call: the
 * agent's own keys over the defaults, and the limits of the agent, its team and the fleet. A profile at
 * 1,000 calls/s had the per-call merge of each policy and the dollar-to-nano conversions among the
 * costliest steps of admission. Agents without an entry share the defaults' plan, so this holds at
 * most one entry per configured agent. The same holds for the units at which each limit reaches the
 * agent's {@code alert_at} and for its per-intent cost cap: {@code BigDecimal} work once per config, not
 * once per limit on every settled call.
 */
final class AgentPlans {

    /** A limit as one agent's calls are checked against it: with the units at which it raises the agent's alert. */
    record PlannedLimit(Limit limit, long alertUnits) { }

    /**
     * An agent's effective policy with its own, its team's and the fleet's limits, and its per-intent cost
     * cap in nano-dollars (-1 for none).
     */
    record Plan(AgentPolicy policy, List<PlannedLimit> own, List<PlannedLimit> team, List<PlannedLimit> global,
            long intentCapNanos) { }

    private final TollgateConfig config;
    private final Plan unconfigured;
    private final ConcurrentHashMap<String, Plan> configured = new ConcurrentHashMap<>();

    AgentPlans(TollgateConfig config) {
        this.config = config;
        this.unconfigured = plan(config.defaults());
    }

    TollgateConfig config() {
        return config;
    }

    Plan of(String agent) {
        if (!config.agents().containsKey(agent)) {
            return unconfigured;
        }
        return configured.computeIfAbsent(agent, name -> plan(config.policyOf(name)));
    }

    private Plan plan(AgentPolicy policy) {
        List<Limit> team = policy.team() == null ? List.of()
                : config.teams().getOrDefault(policy.team(), WindowLimits.NONE).all();
        BigDecimal alertAt = policy.alertAt();
        long intentCap = policy.maxCostPerIntentUsd() == null ? -1 : UsdNanos.ofDollars(policy.maxCostPerIntentUsd()).value();
        return new Plan(policy, planned(policy.windowLimits().all(), alertAt), planned(team, alertAt),
                planned(config.global().all(), alertAt), intentCap);
    }

    /** The limits with the units at which each reaches {@code alertAt} (rounded up), or none without one. */
    private static List<PlannedLimit> planned(List<Limit> limits, BigDecimal alertAt) {
        return limits.stream().map(limit -> new PlannedLimit(limit, alertUnits(limit, alertAt))).toList();
    }

    private static long alertUnits(Limit limit, BigDecimal alertAt) {
        if (alertAt == null || limit.kind() == Limit.Kind.INTENTS) {
            return Long.MAX_VALUE;
        }
        return new BigDecimal(limit.units()).multiply(alertAt).setScale(0, RoundingMode.CEILING).longValueExact();
    }
}
