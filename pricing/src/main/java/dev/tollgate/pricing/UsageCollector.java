package dev.tollgate.pricing;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * Picks the fields that matter for metering out of a JSON token stream, one token at a time, so that it
 * works over a non-blocking parser fed in pieces as well as over a whole document. It keeps only the
 * path of keys to the current value, never the document.
 *
 * <p>It understands both usage shapes ({@code prompt_tokens}/{@code completion_tokens} with their
 * {@code *_details}, and the Responses API's {@code input_tokens}/{@code output_tokens}), at the top level
 * or under {@code response} (Responses API stream events), and collects generated text (message content,
 * deltas, tool-call arguments) for counting when no usage comes.
 */
final class UsageCollector {

    private static final int MAX_DEPTH = 32;
    /** Generated text kept for counting; past this, counting undercounts rather than the heap growing. */
    static final int MAX_TEXT_CHARS = 4 * 1024 * 1024;

    private final String[] keys = new String[MAX_DEPTH];
    private int depth;

    String model;
    String eventType;
    boolean usageSeen;
    private boolean usageInDocument;
    long input;
    long cached;
    long output;
    long reasoning;
    long total = -1;
    int choices = -1;
    boolean choicesSeen;
    final StringBuilder text = new StringBuilder();

    /** Forgets the per-document state (event type, choices), keeping what was collected. */
    void startDocument() {
        depth = 0;
        eventType = null;
        choices = -1;
        choicesSeen = false;
        usageInDocument = false;
    }

    void accept(JsonToken token, JsonParser parser) throws IOException {
        switch (token) {
            case FIELD_NAME -> {
                if (depth > 0 && depth <= MAX_DEPTH) {
                    keys[depth - 1] = parser.currentName();
                }
            }
            case START_OBJECT, START_ARRAY -> {
                onContainer(token == JsonToken.START_ARRAY);
                if (depth < MAX_DEPTH) {
                    keys[depth] = token == JsonToken.START_ARRAY ? "*" : null;
                }
                depth++;
            }
            case END_OBJECT, END_ARRAY -> depth--;
            case VALUE_STRING -> onString(parser);
            case VALUE_NUMBER_INT -> onNumber(parser.getLongValue());
            default -> { }
        }
    }

    private boolean at(int index, String key) {
        return index < depth && key.equals(keys[index]);
    }

    private int usageBase() {
        if (at(0, "usage")) {
            return 0;
        }
        return at(0, "response") && at(1, "usage") ? 1 : -1;
    }

    private void onContainer(boolean array) {
        if (!array && depth >= 1 && depth <= 2 && usageBase() == depth - 1) {
            usageSeen = true;
            usageInDocument = true;
        } else if (array && depth == 1 && at(0, "choices")) {
            choicesSeen = true;
            choices = 0;
        } else if (!array && depth == 2 && at(0, "choices") && choices >= 0) {
            choices++;
        }
    }

    private void onNumber(long value) {
        int base = usageBase();
        if (base < 0) {
            return;
        }
        if (depth == base + 2) {
            switch (keys[base + 1]) {
                case "prompt_tokens", "input_tokens" -> input = value;
                case "completion_tokens", "output_tokens" -> output = value;
                case "total_tokens" -> total = value;
                default -> { }
            }
        } else if (depth == base + 3) {
            String details = keys[base + 1];
            String field = keys[base + 2];
            if ("cached_tokens".equals(field)
                    && ("prompt_tokens_details".equals(details) || "input_tokens_details".equals(details))) {
                cached = value;
            } else if ("reasoning_tokens".equals(field)
                    && ("completion_tokens_details".equals(details) || "output_tokens_details".equals(details))) {
                reasoning = value;
            }
        }
    }

    /** Reads the string only where it is wanted: most strings of a response (ids, fingerprints) are not. */
    private void onString(JsonParser parser) throws IOException {
        if (depth == 1) {
            switch (keys[0]) {
                case "model" -> model = parser.getText();
                case "type" -> eventType = parser.getText();
                case "delta" -> {
                    if (eventType != null && eventType.endsWith(".delta") && !eventType.contains("audio")) {
                        appendText(parser.getText());
                    }
                }
                default -> { }
            }
            return;
        }
        if (depth == 2 && at(0, "response") && at(1, "model")) {
            model = parser.getText();
        } else if (at(0, "choices") && isGeneratedText()) {
            appendText(parser.getText());
        } else if (depth == 5 && at(0, "output") && at(2, "content") && at(4, "text")) {
            appendText(parser.getText());
        }
    }

    /** choices[].message.content, choices[].delta.content, choices[].text, and tool-call arguments. */
    private boolean isGeneratedText() {
        if (depth == 3) {
            return at(2, "text");
        }
        if (depth == 4) {
            return (at(2, "message") || at(2, "delta")) && (at(3, "content") || at(3, "refusal"));
        }
        return depth == 7 && at(3, "tool_calls") && at(5, "function") && at(6, "arguments");
    }

    private void appendText(String value) {
        int room = MAX_TEXT_CHARS - text.length();
        if (room > 0) {
            text.append(value, 0, Math.min(room, value.length()));
        }
    }

    /**
     * The usage the provider reported, or null when no usage object was seen. A count below zero is the
     * provider's error and reads as zero: the call is still recorded, never failed.
     */
    Usage reportedUsage() {
        if (!usageSeen) {
            return null;
        }
        long out = Math.max(0, output);
        long in = input > 0 ? input : Math.max(0, Math.max(0, total) - out);
        return new Usage(in, Math.max(0, cached), out, Math.max(0, reasoning));
    }

    /** True when the document just parsed is a chat stream's usage-only chunk ({@code "choices": []}). */
    boolean isUsageOnlyChunk() {
        return choicesSeen && choices == 0 && usageInDocument;
    }

    MeterReading reading() {
        return new MeterReading(model, reportedUsage(), text.toString());
    }
}
