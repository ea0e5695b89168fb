package dev.tollgate.storage;

import java.util.List;

/**
 * A cost report: one line per group, sorted by cost (highest first), and the total of every group in
 * range (not only the lines shown under a limit). Sums are exact integers.
 */
public record Report(ReportQuery query, List<Line> lines, Line total, int groups) {

    /** One group's sums; {@code key} is the agent, intent, team, model, day or hour. */
    public record Line(String key, long calls, long inputTokens, long cachedInputTokens, long outputTokens,
            long reasoningTokens, long costNanos) {

        Line plus(Line other) {
            return new Line(key, calls + other.calls, inputTokens + other.inputTokens,
                    cachedInputTokens + other.cachedInputTokens, outputTokens + other.outputTokens,
                    reasoningTokens + other.reasoningTokens, Math.addExact(costNanos, other.costNanos));
        }
    }
}
