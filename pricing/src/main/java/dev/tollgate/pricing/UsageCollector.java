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

    /**
     * Every key the collector compares against. {@link EventJsonScanner} hands over only these as
     * themselves and every other key as one placeholder, so a new key compared below must be listed here
     * (the fuzz targets, which compare the scanner with Jackson, would find one that is not).
     */
    static final String[] KEYS = {
        "usage", "response", "choices", "model", "type", "delta", "message", "content", "refusal", "text",
        "tool_calls", "function", "arguments", "output",
        "prompt_tokens", "input_tokens", "completion_tokens", "output_tokens", "total_tokens",
        "prompt_tokens_details", "input_tokens_details", "completion_tokens_details", "output_tokens_details",
        "cached_tokens", "reasoning_tokens",
    };

    static final int NOT_WANTED = 0;
    static final int MODEL = 1;
    static final int EVENT_TYPE = 2;
    static final int TEXT = 3;

    private String markedModel;
    private boolean markedUsageSeen;
    private long markedInput;
    private long markedCached;
    private long markedOutput;
    private long markedReasoning;
    private long markedTotal;
    private int markedTextLength;

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
            case FIELD_NAME -> onField(parser.currentName());
            case START_OBJECT -> onStart(false);
            case START_ARRAY -> onStart(true);
            case END_OBJECT, END_ARRAY -> onEnd();
            case VALUE_STRING -> {
                int wanted = wantedString();
                if (wanted != NOT_WANTED) {
                    onString(wanted, parser.getText());
                }
            }
            case VALUE_NUMBER_INT -> onNumber(parser.getLongValue());
            default -> { }
        }
    }

    /**
     * Remembers what was collected before a document, so that a reader which gives up on it part way
     * ({@link EventJsonScanner}) can {@link #rollBack()} and let another read it from the start.
     */
    void mark() {
        markedModel = model;
        markedUsageSeen = usageSeen;
        markedInput = input;
        markedCached = cached;
        markedOutput = output;
        markedReasoning = reasoning;
        markedTotal = total;
        markedTextLength = text.length();
    }

    /** Forgets everything since {@link #mark()}, including the document's own state. */
    void rollBack() {
        model = markedModel;
        usageSeen = markedUsageSeen;
        input = markedInput;
        cached = markedCached;
        output = markedOutput;
        reasoning = markedReasoning;
        total = markedTotal;
        text.setLength(markedTextLength);
        startDocument();
    }

    void onField(String name) {
        if (depth > 0 && depth <= MAX_DEPTH) {
            keys[depth - 1] = name;
        }
    }

    void onStart(boolean array) {
        onContainer(array);
        if (depth < MAX_DEPTH) {
            keys[depth] = array ? "*" : null;
        }
        depth++;
    }

    void onEnd() {
        depth--;
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

    void onNumber(long value) {
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

    /**
     * What the string value at the current place is wanted for: {@link #NOT_WANTED} for most strings of a
     * response (ids, fingerprints), which are then never decoded.
     */
    int wantedString() {
        if (depth == 1) {
            // Not a switch: that hashes the key, for every top-level string of every event.
            String key = keys[0];
            if ("model".equals(key)) {
                return MODEL;
            }
            if ("type".equals(key)) {
                return EVENT_TYPE;
            }
            boolean textDelta = "delta".equals(key) && eventType != null && eventType.endsWith(".delta")
                    && !eventType.contains("audio");
            return textDelta ? TEXT : NOT_WANTED;
        }
        if (depth == 2 && at(0, "response") && at(1, "model")) {
            return MODEL;
        }
        if (at(0, "choices") && isGeneratedText()
                || depth == 5 && at(0, "output") && at(2, "content") && at(4, "text")) {
            return TEXT;
        }
        return NOT_WANTED;
    }

    /** Takes a string value that {@link #wantedString()} asked for. */
    void onString(int wanted, String value) {
        switch (wanted) {
            case MODEL -> model = value;
            case EVENT_TYPE -> eventType = value;
            case TEXT -> appendText(value);
            default -> { }
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
