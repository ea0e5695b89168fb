package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.regex.Pattern;

/**
 * Which request headers name the agent and the intent (task), both Tollgate's own and never forwarded
 * to the provider, and whether a call must name its agent ({@code require_agent}: else 401
 * {@code agent_required}) or carry a known agent key ({@code require_key}: else 401 {@code invalid_agent_key}).
 */
public record IdentityConfig(
        @JsonProperty("agent_header") String agentHeader,
        @JsonProperty("intent_header") String intentHeader,
        @JsonProperty("require_agent") boolean requireAgent,
        @JsonProperty("require_key") boolean requireKey) {

    /** RFC 9110 token characters: what a header name may be made of. */
    private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    public static final String DEFAULT_AGENT_HEADER = "X-Agent-Id";
    public static final String DEFAULT_INTENT_HEADER = "X-Intent-Id";
    public static final IdentityConfig DEFAULTS = new IdentityConfig(DEFAULT_AGENT_HEADER, DEFAULT_INTENT_HEADER, false, false);

    public IdentityConfig {
        agentHeader = headerName("agent_header", agentHeader, DEFAULT_AGENT_HEADER);
        intentHeader = headerName("intent_header", intentHeader, DEFAULT_INTENT_HEADER);
        if (agentHeader.equalsIgnoreCase(intentHeader)) {
            throw new InvalidValueException("intent_header", "must differ from agent_header ('" + agentHeader + "')");
        }
    }

    @JsonCreator
    static IdentityConfig fromYaml(@JsonProperty("agent_header") String agentHeader,
            @JsonProperty("intent_header") String intentHeader,
            @JsonProperty("require_agent") Boolean requireAgent,
            @JsonProperty("require_key") Boolean requireKey) {
        return new IdentityConfig(agentHeader, intentHeader, Boolean.TRUE.equals(requireAgent), Boolean.TRUE.equals(requireKey));
    }

    private static String headerName(String key, String value, String fallback) {
        if (value == null) {
            return fallback;
        }
        if (!HEADER_NAME.matcher(value).matches()) {
            throw new InvalidValueException(key, "'" + value + "' is not a valid HTTP header name");
        }
        return value;
    }
}
