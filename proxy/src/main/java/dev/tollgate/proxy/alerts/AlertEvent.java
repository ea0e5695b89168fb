package dev.tollgate.proxy.alerts;

import java.util.Map;

/**
 * Something people should hear about: a threshold crossed, a block, a pause, a loop, a projection, an
 * anomaly. It becomes a row of the ledger's {@code events}, a log line, and a webhook post.
 *
 * @param kind the {@code events.kind}: {@code alert}, {@code blocked}, {@code paused}, {@code resumed},
 *     {@code loop}, {@code anomaly}, {@code unpriced_model}
 * @param fields the structured detail (limit, spent, limit_value, resets_at, ...), string values
 */
public record AlertEvent(long tsMs, String kind, String agent, String intent, String team, String message,
        Map<String, String> fields) {
}
