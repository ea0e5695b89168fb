package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Limits on what an agent may send. A request body larger than {@code max_request_bytes} is refused
 * with {@code 413 request_too_large} before anything reaches the provider. {@code default_output_tokens}
 * is the output a budgeted call is reserved for when it names no {@code max_tokens} of its own.
 */
public record LimitsConfig(@JsonProperty("max_request_bytes") int maxRequestBytes,
        @JsonProperty("default_output_tokens") long defaultOutputTokens) {

    /** The output reserved for a call that names no output cap: enough for a long answer of any current model. */
    public static final long DEFAULT_OUTPUT_TOKENS = 4_096;

    /** 32 MiB: more than any chat request with images inlined that OpenAI itself accepts. */
    public static final int DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024;
    /** The ceiling: request bodies are held in memory whole, so a larger limit invites exhaustion. */
    public static final int MAX_MAX_REQUEST_BYTES = 1024 * 1024 * 1024;

    public static final LimitsConfig DEFAULTS = new LimitsConfig(DEFAULT_MAX_REQUEST_BYTES, DEFAULT_OUTPUT_TOKENS);

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
    }

    @JsonCreator
    static LimitsConfig fromYaml(@JsonProperty("max_request_bytes") Integer maxRequestBytes,
            @JsonProperty("default_output_tokens") Long defaultOutputTokens) {
        return new LimitsConfig(maxRequestBytes == null ? DEFAULT_MAX_REQUEST_BYTES : maxRequestBytes,
                defaultOutputTokens == null ? DEFAULT_OUTPUT_TOKENS : defaultOutputTokens);
    }
}
