package dev.tollgate.proxy.mock;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What the fake provider reads from a request body: the model, whether to stream, the output cap and
 * how much prompt text there is to "count".
 */
record MockRequest(JsonNode body, String model, boolean stream, boolean includeUsage, int maxOutputTokens,
        long promptChars, int messages) {

    static MockRequest chat(JsonNode body) {
        long chars = 0;
        int messages = 0;
        for (JsonNode message : body.path("messages")) {
            messages++;
            chars += textLength(message.path("content")) + message.path("name").asText("").length();
        }
        chars += body.path("tools").toString().length() / 2;
        return of(body, chars, messages, "max_completion_tokens", "max_tokens");
    }

    static MockRequest completion(JsonNode body) {
        return of(body, textLength(body.path("prompt")), 0, "max_tokens", "max_tokens");
    }

    static MockRequest responses(JsonNode body) {
        long chars = textLength(body.path("input")) + body.path("instructions").asText("").length();
        return of(body, chars, body.path("input").isArray() ? body.path("input").size() : 1, "max_output_tokens",
                "max_output_tokens");
    }

    static MockRequest embeddings(JsonNode body) {
        return of(body, textLength(body.path("input")), 0, "-", "-");
    }

    private static MockRequest of(JsonNode body, long chars, int messages, String capKey, String legacyCapKey) {
        JsonNode cap = body.has(capKey) ? body.get(capKey) : body.path(legacyCapKey);
        return new MockRequest(body, body.path("model").asText(), body.path("stream").asBoolean(false),
                body.path("stream_options").path("include_usage").asBoolean(false),
                cap.canConvertToInt() && cap.asInt() > 0 ? cap.asInt() : Integer.MAX_VALUE, chars, messages);
    }

    /** The length of every string inside a content value: a string, an array of parts, or nested items. */
    static long textLength(JsonNode node) {
        if (node.isTextual()) {
            return node.textValue().length();
        }
        if (node.isNumber()) {
            return 4;
        }
        long sum = 0;
        if (node.isArray()) {
            for (JsonNode part : node) {
                sum += textLength(part);
            }
        } else if (node.isObject()) {
            sum += textLength(node.path("text")) + textLength(node.path("content"));
        }
        return sum;
    }
}
