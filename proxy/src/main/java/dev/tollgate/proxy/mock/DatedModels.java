package dev.tollgate.proxy.mock;

import java.util.Map;

/**
 * The dated snapshot OpenAI reports in a response for a model alias in the request: a request for
 * {@code gpt-4o} is answered by {@code gpt-4o-2024-08-06}. Names it does not know are echoed.
 */
final class DatedModels {

    private static final Map<String, String> SNAPSHOTS = Map.ofEntries(
            Map.entry("gpt-5", "gpt-5-2025-08-07"),
            Map.entry("gpt-5-mini", "gpt-5-mini-2025-08-07"),
            Map.entry("gpt-5-nano", "gpt-5-nano-2025-08-07"),
            Map.entry("gpt-4.1", "gpt-4.1-2025-04-14"),
            Map.entry("gpt-4.1-mini", "gpt-4.1-mini-2025-04-14"),
            Map.entry("gpt-4.1-nano", "gpt-4.1-nano-2025-04-14"),
            Map.entry("gpt-4o", "gpt-4o-2024-08-06"),
            Map.entry("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
            Map.entry("o1", "o1-2024-12-17"),
            Map.entry("o3", "o3-2025-04-16"),
            Map.entry("o3-mini", "o3-mini-2025-01-31"),
            Map.entry("o4-mini", "o4-mini-2025-04-16"),
            Map.entry("gpt-4-turbo", "gpt-4-turbo-2024-04-09"),
            Map.entry("gpt-4", "gpt-4-0613"),
            Map.entry("gpt-3.5-turbo", "gpt-3.5-turbo-0125"),
            Map.entry("gpt-3.5-turbo-instruct", "gpt-3.5-turbo-instruct"));

    private DatedModels() {
    }

    static String snapshotOf(String requested) {
        return SNAPSHOTS.getOrDefault(requested, requested);
    }

    /** Reasoning models report reasoning tokens as a part of their output tokens. */
    static boolean isReasoning(String model) {
        return model.startsWith("o1") || model.startsWith("o3") || model.startsWith("o4") || model.startsWith("gpt-5");
    }

    /** Every alias, for {@code GET /v1/models}. */
    static Iterable<String> aliases() {
        return new java.util.TreeSet<>(SNAPSHOTS.keySet());
    }
}
