package dev.tollgate.proxy.admission;

import dev.tollgate.config.AgentPolicy;
import dev.tollgate.config.Limit;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.config.WindowLimits;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What one config says about each agent, worked out once per config instead of on every call: the
 * agent's own keys over the defaults, and the limits of the agent, its team and the fleet. A profile at
 * 1,000 calls/s had the per-call merge of each policy and the dollar-to-nano conversions among the
 * costliest steps of admission. Agents without an entry share the defaults' plan, so this holds at
 * most one entry per configured agent.
 */
final class AgentPlans {

    /** An agent's effective policy with its own and its team's limits. */
    record Plan(AgentPolicy policy, List<Limit> own, List<Limit> team) { }

    private final TollgateConfig config;
    private final Plan unconfigured;
    private final List<Limit> global;
    private final ConcurrentHashMap<String, Plan> configured = new ConcurrentHashMap<>();

    AgentPlans(TollgateConfig config) {
        this.config = config;
        this.unconfigured = plan(config.defaults());
        this.global = List.copyOf(config.global().all());
    }

    TollgateConfig config() {
        return config;
    }

    List<Limit> global() {
        return global;
    }

    Plan of(String agent) {
        if (!config.agents().containsKey(agent)) {
            return unconfigured;
        }
        return configured.computeIfAbsent(agent, name -> plan(config.policyOf(name)));
    }

    private Plan plan(AgentPolicy policy) {
        List<Limit> team = policy.team() == null ? List.of()
                : List.copyOf(config.teams().getOrDefault(policy.team(), WindowLimits.NONE).all());
        return new Plan(policy, List.copyOf(policy.windowLimits().all()), team);
    }
}
