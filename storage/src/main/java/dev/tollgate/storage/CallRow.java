package dev.tollgate.storage;

/**
 * One row of the {@code calls} table (SPEC §6, plus {@code refused}: Tollgate refused the call itself).
 * Immutable, so the event loop can hand it to the writer thread without sharing anything mutable.
 */
public record CallRow(long tsMs, String agent, String intent, String team, String endpoint, String model, int status,
        boolean streamed, long inputTokens, long cachedInputTokens, long outputTokens, long reasoningTokens,
        long costNanos, String usageSource, long latencyMs, boolean refused) {
}
