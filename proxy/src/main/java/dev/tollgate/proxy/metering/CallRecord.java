package dev.tollgate.proxy.metering;

import dev.tollgate.pricing.Usage;
import dev.tollgate.pricing.UsageSource;
import dev.tollgate.pricing.UsdNanos;

/**
 * One proxied call as the ledger records it (SPEC §6, table {@code calls}).
 *
 * @param startedAtMs when the call arrived, epoch milliseconds
 * @param endpoint the agent-facing path, as {@code /v1/chat/completions}
 * @param model the model the call was priced as: the response's, else the request's; null if neither named one
 * @param status the HTTP status the agent got; 499 when the agent left before any response
 * @param unpriced true when the model had no price and was let through at $0 ({@code unknown_model: allow})
 * @param refused true when Tollgate refused the call itself (a budget, a loop, an unpriced model)
 * @param refusalCode the error {@code code} of such a refusal ({@code budget_exceeded}, ...), else null
 */
public record CallRecord(long startedAtMs, String agent, String intent, String team, String endpoint, String model,
        int status, boolean streamed, Usage usage, UsdNanos cost, UsageSource usageSource, long latencyMs,
        boolean unpriced, boolean refused, String refusalCode) {

    /** The status recorded when the agent disconnected before any response reached it (nginx's convention). */
    public static final int AGENT_CLOSED_REQUEST = 499;
}
