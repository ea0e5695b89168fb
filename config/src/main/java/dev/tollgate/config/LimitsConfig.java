package dev.tollgate.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Limits on what an agent may send. A request body larger than {@code max_request_bytes} is refused
 * with {@code 413 request_too_large} before anything reaches the provider.
 */
public record LimitsConfig(@JsonProperty("max_request_bytes") int maxRequestBytes) {

    /** 32 MiB: more than any chat request with images inlined that OpenAI itself accepts. */
    public static final int DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024;
    /** The ceiling: request bodies are held in memory whole, so a larger limit invites exhaustion. */
    public static final int MAX_MAX_REQUEST_BYTES = 1024 * 1024 * 1024;

    public static final LimitsConfig DEFAULTS = new LimitsConfig(DEFAULT_MAX_REQUEST_BYTES);

    public LimitsConfig {
        if (maxRequestBytes <= 0) {
            throw new InvalidValueException("max_request_bytes", "must be > 0");
        }
        if (maxRequestBytes > MAX_MAX_REQUEST_BYTES) {
            throw new InvalidValueException("max_request_bytes", "must be at most " + MAX_MAX_REQUEST_BYTES + " (1 GiB)");
        }
    }

    @JsonCreator
    static LimitsConfig fromYaml(@JsonProperty("max_request_bytes") Integer maxRequestBytes) {
        return new LimitsConfig(maxRequestBytes == null ? DEFAULT_MAX_REQUEST_BYTES : maxRequestBytes);
    }
}
