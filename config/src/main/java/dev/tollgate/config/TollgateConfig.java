package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The whole of a Tollgate config file (SPEC §5), immutable once loaded. Sections left out of the file
 * take their defaults, so an empty file is a valid config that forwards to OpenAI with no budgets.
 * {@code time_zone} is the zone calendar windows and report days are cut in (UTC by default).
 */
public record TollgateConfig(
        @JsonProperty("listen") ListenAddress listen,
        @JsonProperty("upstream") UpstreamConfig upstream,
        @JsonProperty("storage") StorageConfig storage,
        @JsonProperty("time_zone") ZoneId timeZone,
        @JsonProperty("identity") IdentityConfig identity,
        @JsonProperty("pricing") PricingConfig pricing,
        @JsonProperty("limits") LimitsConfig limits,
        @JsonProperty("defaults") AgentPolicy defaults,
        @JsonProperty("agents") Map<String, AgentPolicy> agents,
        @JsonProperty("teams") Map<String, WindowLimits> teams,
        @JsonProperty("global") WindowLimits global,
        @JsonProperty("alerts") AlertsConfig alerts,
        @JsonProperty("loop_detection") LoopDetectionConfig loopDetection,
        @JsonProperty("admin") AdminConfig admin) {

    public static final ListenAddress DEFAULT_LISTEN = new ListenAddress("127.0.0.1", 8080);
    private static final Pattern AGENT_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}");

    /** The config in force when there is no file at all. */
    public static final TollgateConfig DEFAULTS = new TollgateConfig(null, null, null, null, null, null, null, null, null,
            null, null, null, null, null);

    public TollgateConfig {
        listen = listen == null ? DEFAULT_LISTEN : listen;
        upstream = upstream == null ? UpstreamConfig.DEFAULTS : upstream;
        storage = storage == null ? StorageConfig.DEFAULTS : storage;
        timeZone = timeZone == null ? ZoneId.of("UTC") : timeZone;
        identity = identity == null ? IdentityConfig.DEFAULTS : identity;
        pricing = pricing == null ? PricingConfig.DEFAULTS : pricing;
        limits = limits == null ? LimitsConfig.DEFAULTS : limits;
        defaults = defaults == null ? AgentPolicy.NONE : defaults;
        agents = agents == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(agents));
        teams = teams == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(teams));
        global = global == null ? WindowLimits.NONE : global;
        alerts = alerts == null ? AlertsConfig.NONE : alerts;
        loopDetection = loopDetection == null ? LoopDetectionConfig.NONE : loopDetection;
        admin = admin == null ? AdminConfig.NONE : admin;
        if (agents.values().stream().anyMatch(a -> a.apiKey() != null) && upstream.apiKey() == null) {
            throw new InvalidValueException("upstream.api_key", "is needed when agents have keys of their own:"
                    + " an agent's Tollgate key must not be sent to the provider");
        }
        validateAgents(defaults, agents, identity);
    }

    private static void validateAgents(AgentPolicy defaults, Map<String, AgentPolicy> agents, IdentityConfig identity) {
        if (defaults.team() != null) {
            throw new InvalidValueException("defaults.team", "is per agent; set it under agents.NAME.team");
        }
        if (defaults.apiKey() != null) {
            throw new InvalidValueException("defaults.api_key", "is per agent; set it under agents.NAME.api_key");
        }
        Map<String, String> keys = new HashMap<>();
        for (Map.Entry<String, AgentPolicy> agent : agents.entrySet()) {
            String name = agent.getKey();
            if (!AGENT_NAME.matcher(name).matches()) {
                throw new InvalidValueException("agents." + name,
                        "is not a valid agent name (1-128 letters, digits and . _ - : @ /, starting with a letter or digit)");
            }
            AgentPolicy policy = agent.getValue() == null ? AgentPolicy.NONE : agent.getValue();
            if (policy.apiKey() != null) {
                String other = keys.putIfAbsent(policy.apiKey(), name);
                if (other != null) {
                    throw new InvalidValueException("agents." + name + ".api_key", "is the same as agents." + other
                            + ".api_key; every agent needs its own key");
                }
            }
        }
        if (identity.requireKey() && keys.isEmpty()) {
            throw new InvalidValueException("identity.require_key", "is true but no agent has an api_key,"
                    + " so every call would be refused");
        }
    }

    @JsonCreator
    static TollgateConfig fromYaml(
            @JsonProperty("listen") String listen,
            @JsonProperty("upstream") UpstreamConfig upstream,
            @JsonProperty("storage") StorageConfig storage,
            @JsonProperty("time_zone") String timeZone,
            @JsonProperty("identity") IdentityConfig identity,
            @JsonProperty("pricing") PricingConfig pricing,
            @JsonProperty("limits") LimitsConfig limits,
            @JsonProperty("defaults") AgentPolicy defaults,
            @JsonProperty("agents") Map<String, AgentPolicy> agents,
            @JsonProperty("teams") Map<String, WindowLimits> teams,
            @JsonProperty("global") WindowLimits global,
            @JsonProperty("alerts") AlertsConfig alerts,
            @JsonProperty("loop_detection") LoopDetectionConfig loopDetection,
            @JsonProperty("admin") AdminConfig admin) {
        ZoneId zone;
        try {
            zone = timeZone == null ? null : ZoneId.of(timeZone);
        } catch (java.time.DateTimeException e) {
            throw new InvalidValueException("time_zone", "'" + timeZone + "' is not a time zone; use an IANA name"
                    + " such as UTC, Europe/Berlin or America/New_York");
        }
        ListenAddress address;
        try {
            address = listen == null ? null : ListenAddress.parse(listen);
        } catch (IllegalArgumentException e) {
            throw new InvalidValueException("listen", e.getMessage());
        }
        if (agents != null) {
            agents.replaceAll((name, policy) -> policy == null ? AgentPolicy.NONE : policy);
        }
        if (teams != null) {
            teams.replaceAll((name, team) -> team == null ? WindowLimits.NONE : team);
        }
        return new TollgateConfig(address, upstream, storage, zone, identity, pricing, limits, defaults, agents, teams, global,
                alerts, loopDetection, admin);
    }

    /** An agent's effective policy: its own entry over {@code defaults}, or the defaults alone. */
    public AgentPolicy policyOf(String agent) {
        AgentPolicy own = agents.get(agent);
        return own == null ? defaults : own.orElse(defaults);
    }

    public TollgateConfig withListen(ListenAddress newListen) {
        return new TollgateConfig(newListen, upstream, storage, timeZone, identity, pricing, limits, defaults, agents, teams, global, alerts, loopDetection, admin);
    }

    public TollgateConfig withUpstream(UpstreamConfig newUpstream) {
        return new TollgateConfig(listen, newUpstream, storage, timeZone, identity, pricing, limits, defaults, agents, teams, global, alerts, loopDetection, admin);
    }

    public TollgateConfig withStorage(StorageConfig newStorage) {
        return new TollgateConfig(listen, upstream, newStorage, timeZone, identity, pricing, limits, defaults, agents, teams, global, alerts, loopDetection, admin);
    }

    public TollgateConfig withPricing(PricingConfig newPricing) {
        return new TollgateConfig(listen, upstream, storage, timeZone, identity, newPricing, limits, defaults, agents, teams, global, alerts, loopDetection, admin);
    }

    public TollgateConfig withLimits(LimitsConfig newLimits) {
        return new TollgateConfig(listen, upstream, storage, timeZone, identity, pricing, newLimits, defaults, agents, teams, global, alerts, loopDetection, admin);
    }
}
