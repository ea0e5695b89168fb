package dev.tollgate.proxy.admission;

import dev.tollgate.config.AgentPolicy;
import dev.tollgate.config.IdentityConfig;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.proxy.http.ErrorResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.HashMap;
import java.util.Map;

/**
 * Who a call belongs to, and whether it may go out: attribution by agent key or header (SPEC §3) and
 * the budgets. Holds the config in force, which a reload replaces as a whole.
 */
public final class Gate {

    /** The agent of a call without an agent header. */
    public static final String ANONYMOUS = "anonymous";

    /** Who a call is from, or why it is refused. */
    public record Caller(String agent, String team, ErrorResponse refusal) {
    }

    private final Budgets budgets;
    private volatile LoopDetector loops;
    private final java.util.concurrent.ConcurrentHashMap<String, java.util.Set<io.netty.channel.Channel>> inFlight =
            new java.util.concurrent.ConcurrentHashMap<>();
    private volatile TollgateConfig config;
    private final java.util.concurrent.atomic.AtomicInteger callsInFlight = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean draining;
    private volatile Map<String, String> agentByKey;

    public Gate(TollgateConfig config, Budgets budgets) {
        this.budgets = budgets;
        apply(config);
    }

    /** Puts a new config in force (attribution and limits); counters and reservations carry over. */
    public void apply(TollgateConfig newConfig) {
        Map<String, String> keys = new HashMap<>();
        newConfig.agents().forEach((name, policy) -> {
            if (policy.apiKey() != null) {
                keys.put(policy.apiKey(), name);
            }
        });
        this.agentByKey = keys;
        if (config == null || !newConfig.loopDetection().equals(config.loopDetection())) {
            this.loops = new LoopDetector(newConfig.loopDetection());
        }
        this.config = newConfig;
        budgets.reconfigure(newConfig);
    }

    public LoopDetector loops() {
        return loops;
    }

    public Budgets budgets() {
        return budgets;
    }

    public TollgateConfig config() {
        return config;
    }

    /**
     * The agent a call belongs to: the agent whose key is the bearer token, whatever the headers say;
     * else the agent header (already checked for its character set); else {@code anonymous}.
     */
    public Caller attribute(HttpHeaders headers, String agentHeaderValue) {
        IdentityConfig identity = config.identity();
        String keyAgent = agentOfKey(headers.get(HttpHeaderNames.AUTHORIZATION));
        String agent;
        if (keyAgent != null) {
            agent = keyAgent;
        } else if (identity.requireKey()) {
            return new Caller(null, null, new ErrorResponse(HttpResponseStatus.UNAUTHORIZED, "invalid_request_error",
                    "invalid_agent_key", "tollgate: this proxy requires an agent key (Authorization: Bearer <the agent's"
                            + " api_key from the Tollgate config>), and the request carries none it knows"));
        } else if (agentHeaderValue != null) {
            agent = agentHeaderValue;
        } else if (identity.requireAgent()) {
            return new Caller(null, null, new ErrorResponse(HttpResponseStatus.UNAUTHORIZED, "invalid_request_error",
                    "agent_required", "tollgate: this proxy requires the " + identity.agentHeader()
                            + " header naming the agent (OPENAI_CUSTOM_HEADERS='" + identity.agentHeader() + ": my-agent')"));
        } else {
            agent = ANONYMOUS;
        }
        // The team is never inherited from defaults, so the agent's own entry is all that is needed.
        AgentPolicy own = config.agents().get(agent);
        return new Caller(agent, own == null ? null : own.team(), null);
    }

    /** An agent connection started a call of {@code agent}. */
    public void started(String agent, io.netty.channel.Channel connection) {
        callsInFlight.incrementAndGet();
        inFlight.computeIfAbsent(agent, k -> java.util.concurrent.ConcurrentHashMap.newKeySet()).add(connection);
    }

    /** That call ended; called exactly once per {@link #started}. */
    public void finished(String agent, io.netty.channel.Channel connection) {
        callsInFlight.decrementAndGet();
        java.util.Set<io.netty.channel.Channel> connections = inFlight.get(agent);
        if (connections != null) {
            connections.remove(connection);
        }
    }

    /** From now on new calls are refused with 503: the proxy is stopping. */
    public void beginDrain() {
        draining = true;
    }

    public boolean draining() {
        return draining;
    }

    public int callsInFlight() {
        return callsInFlight.get();
    }

    /**
     * Pauses an agent: its next call is refused, and the connections of its calls in flight are closed
     * now, which cancels their provider requests (and records what they streamed so far).
     */
    public int pause(String agent, String reason) {
        budgets.pause(agent, reason);
        java.util.Set<io.netty.channel.Channel> connections = inFlight.remove(agent);
        if (connections == null) {
            return 0;
        }
        connections.forEach(io.netty.channel.Channel::close);
        return connections.size();
    }

    private String agentOfKey(String authorization) {
        if (authorization == null || agentByKey.isEmpty()) {
            return null;
        }
        String token = authorization.regionMatches(true, 0, "Bearer ", 0, 7) ? authorization.substring(7).trim() : authorization.trim();
        // Every configured key is compared, in constant time, so timing tells nothing about which nearly matched.
        String found = null;
        for (Map.Entry<String, String> entry : agentByKey.entrySet()) {
            if (java.security.MessageDigest.isEqual(entry.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    token.getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
                found = entry.getValue();
            }
        }
        return found;
    }
}
