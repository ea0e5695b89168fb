package dev.tollgate.pricing;

/** What holds for every reading a meter gives, whatever bytes it was fed. */
final class Readings {

    private Readings() {
    }

    static void check(MeterReading reading) {
        if (reading == null || reading.generatedText() == null) {
            throw new AssertionError("a meter must always give a reading with a text: " + reading);
        }
        if (reading.generatedText().length() > UsageCollector.MAX_TEXT_CHARS) {
            throw new AssertionError("the text kept for counting outgrew its cap: " + reading.generatedText().length());
        }
        Usage usage = reading.reportedUsage();
        if (usage == null) {
            return;
        }
        if (usage.inputTokens() < 0 || usage.cachedInputTokens() < 0 || usage.outputTokens() < 0 || usage.reasoningTokens() < 0
                || usage.cachedInputTokens() > usage.inputTokens() || usage.reasoningTokens() > usage.outputTokens()) {
            throw new AssertionError("token counts must be non-negative, cached within input and reasoning within output: "
                    + usage);
        }
    }
}
