package dev.tollgate.pricing;

/**
 * The tokens of one call, normalised across endpoints and API generations. Cached input is a part of
 * input and reasoning is a part of output, exactly as OpenAI reports them: neither is ever added on top,
 * which is how peers end up charging cached or reasoning tokens twice.
 */
public record Usage(long inputTokens, long cachedInputTokens, long outputTokens, long reasoningTokens) {

    public static final Usage NONE = new Usage(0, 0, 0, 0);

    public Usage {
        if (inputTokens < 0 || cachedInputTokens < 0 || outputTokens < 0 || reasoningTokens < 0) {
            throw new IllegalArgumentException("token counts cannot be negative: " + inputTokens + "/"
                    + cachedInputTokens + "/" + outputTokens + "/" + reasoningTokens);
        }
        // A provider that reports more cached than input tokens is wrong; charge no more than the input.
        cachedInputTokens = Math.min(cachedInputTokens, inputTokens);
        reasoningTokens = Math.min(reasoningTokens, outputTokens);
    }

    /** Input tokens billed at the full input price. */
    public long uncachedInputTokens() {
        return inputTokens - cachedInputTokens;
    }

    public long totalTokens() {
        return Math.addExact(inputTokens, outputTokens);
    }
}
