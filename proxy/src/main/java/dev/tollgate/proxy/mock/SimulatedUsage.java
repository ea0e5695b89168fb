package dev.tollgate.proxy.mock;

/**
 * The token counts the fake provider reports for one call. The numbers are plausible, not exact: about
 * four characters a token for the prompt, one token a word of the reply. Prompts of 1024 tokens or more
 * report half of themselves (in 128-token steps) as cached, the way OpenAI's prompt caching reports a
 * warm prefix; reasoning models report hidden reasoning tokens as part of the output.
 */
record SimulatedUsage(long promptTokens, long cachedTokens, long visibleOutputTokens, long reasoningTokens) {

    /** @param outputCap the request's output cap (visible plus reasoning tokens, as OpenAI applies it) */
    static SimulatedUsage of(String model, long promptChars, int messages, int replyWords, long outputCap) {
        long prompt = Math.max(1, (promptChars + 3) / 4) + (messages > 0 ? 3L * messages + 3 : 0);
        long cached = prompt >= 1024 ? (prompt / 2) / 128 * 128 : 0;
        long reasoning = DatedModels.isReasoning(model) ? 64L * (1 + replyWords / 16) : 0;
        reasoning = Math.min(reasoning, Math.max(0, outputCap - replyWords));
        return new SimulatedUsage(prompt, cached, replyWords, reasoning);
    }

    long outputTokens() {
        return visibleOutputTokens + reasoningTokens;
    }

    long totalTokens() {
        return promptTokens + outputTokens();
    }
}
