package dev.tollgate.pricing;

import java.util.Optional;

/** The metered OpenAI endpoints, by their path after {@code /v1}. */
public enum Endpoint {
    CHAT_COMPLETIONS("/chat/completions"),
    COMPLETIONS("/completions"),
    EMBEDDINGS("/embeddings"),
    RESPONSES("/responses");

    private final String path;

    Endpoint(String path) {
        this.path = path;
    }

    /** The path after {@code /v1}, as in {@code /chat/completions}. */
    public String path() {
        return path;
    }

    /** The endpoint a request path after {@code /v1} names, or empty for unmetered paths like {@code /models}. */
    public static Optional<Endpoint> of(String pathAfterV1) {
        for (Endpoint endpoint : values()) {
            if (endpoint.path.equals(pathAfterV1)) {
                return Optional.of(endpoint);
            }
        }
        return Optional.empty();
    }

    /** Whether a stream of this endpoint needs {@code stream_options.include_usage} to carry usage. */
    public boolean streamUsageIsOptIn() {
        return this == CHAT_COMPLETIONS || this == COMPLETIONS;
    }
}
