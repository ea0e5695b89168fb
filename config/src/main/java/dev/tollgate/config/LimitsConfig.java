package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Limits on what an agent may send. A request body larger than {@code max_request_bytes} is refused
 * with {@code 413 request_too_large} before anything reaches the provider. {@code default_output_tokens}
 * is the output a budgeted call is reserved for when it names no {@code max_tokens} of its own.
 * {@code agent_idle_seconds} is how long an agent's kept-alive connection may stay open with no call
 * on it (nginx's {@code keepalive_timeout}): each one holds a socket and a few kilobytes.
 */
public record LimitsConfig(@JsonProperty("max_request_bytes") int maxRequestBytes,
        @JsonProperty("default_output_tokens") long defaultOutputTokens,
        @JsonProperty("agent_idle_seconds") int agentIdleSeconds) {

    /** The output reserved for a call that names no output cap: enough for a long answer of any current model. */
    public static final long DEFAULT_OUTPUT_TOKENS = 4_096;

    /** 32 MiB: more than any chat request with images inlined that OpenAI itself accepts. */
    public static final int DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024;
    /** The ceiling: request bodies are held in memory whole, so a larger limit invites exhaustion. */
    public static final int MAX_MAX_REQUEST_BYTES = 1024 * 1024 * 1024;

    /** Five minutes: longer than any SDK's pool keeps an idle connection (OkHttp's, the OpenAI clients', 5 min). */
    public static final int DEFAULT_AGENT_IDLE_SECONDS = 300;
    /** A day: an idle connection held longer than that is a leak, not a pool. */
    public static final int MAX_AGENT_IDLE_SECONDS = 86_400;

    public static final LimitsConfig DEFAULTS = new LimitsConfig(DEFAULT_MAX_REQUEST_BYTES, DEFAULT_OUTPUT_TOKENS,
            DEFAULT_AGENT_IDLE_SECONDS);

    public LimitsConfig {
        if (maxRequestBytes <= 0) {
            throw new InvalidValueException("max_request_bytes", "must be > 0");
        }
        if (maxRequestBytes > MAX_MAX_REQUEST_BYTES) {
            throw new InvalidValueException("max_request_bytes", "must be at most " + MAX_MAX_REQUEST_BYTES + " (1 GiB)");
        }
        if (defaultOutputTokens <= 0) {
            throw new InvalidValueException("default_output_tokens", "must be > 0");
        }
        if (agentIdleSeconds <= 0 || agentIdleSeconds > MAX_AGENT_IDLE_SECONDS) {
            throw new InvalidValueException("agent_idle_seconds", "must be between 1 and " + MAX_AGENT_IDLE_SECONDS + " (a day)");
        }
    }

    @JsonCreator
    static LimitsConfig fromYaml(@JsonProperty("max_request_bytes") Integer maxRequestBytes,
            @JsonProperty("default_output_tokens") Long defaultOutputTokens,
            @JsonProperty("agent_idle_seconds") Integer agentIdleSeconds) {
        return new LimitsConfig(maxRequestBytes == null ? DEFAULT_MAX_REQUEST_BYTES : maxRequestBytes,
                defaultOutputTokens == null ? DEFAULT_OUTPUT_TOKENS : defaultOutputTokens,
                agentIdleSeconds == null ? DEFAULT_AGENT_IDLE_SECONDS : agentIdleSeconds);
    }
}
