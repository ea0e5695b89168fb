package dev.tollgate.pricing;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.InputStream;

/**
 * The few top-level fields of a request body that metering needs before the call goes out: the model,
 * whether it streams, and whether it already asks for usage in the stream. Read with a streaming parser
 * that skips everything else (messages are tokenised, never materialised), so a large prompt costs a
 * scan, not a tree. It is read with Jackson's default factory, which is exact on valid UTF-8, the only
 * bodies the proxy hands it; on a key of invalid UTF-8 its reading may vary (see {@link UntrustedJson}).
 *
 * @param model the {@code model} field, or null when absent or not a string
 * @param streamOptions whether the body has a {@code stream_options} key (of any value)
 * @param validJson false when the body is not a JSON object: such a call is passed on and counted as is
 * @param outputCap the last of {@code max_tokens}, {@code max_completion_tokens}, {@code max_output_tokens}, or -1
 * @param choices how many completions the call asks for ({@code n}, {@code best_of}): each may use the cap
 */
public record RequestFacts(String model, boolean stream, boolean streamOptions, boolean includeUsage, boolean validJson,
        long outputCap, int choices) {

    private static final JsonFactory JSON = new JsonFactory();
    public static final RequestFacts NOT_JSON = new RequestFacts(null, false, false, false, false, -1, 1);

    public static RequestFacts scan(InputStream body) {
        try (JsonParser parser = JSON.createParser(body)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return NOT_JSON;
            }
            String model = null;
            boolean stream = false;
            boolean streamOptions = false;
            boolean includeUsage = false;
            long outputCap = -1;
            int choices = 1;
            JsonToken token;
            while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
                String name = parser.currentName();
                JsonToken value = parser.nextToken();
                switch (name) {
                    case "model" -> model = value == JsonToken.VALUE_STRING ? parser.getText() : null;
                    case "stream" -> stream = value == JsonToken.VALUE_TRUE;
                    case "max_tokens", "max_completion_tokens", "max_output_tokens" -> {
                        // The last one wins, as it does for the provider's JSON parser.
                        outputCap = value == JsonToken.VALUE_NUMBER_INT && parser.getLongValue() > 0 ? parser.getLongValue() : -1;
                    }
                    case "n", "best_of" -> {
                        if (value == JsonToken.VALUE_NUMBER_INT && parser.getIntValue() > 1) {
                            choices = Math.max(choices, Math.min(parser.getIntValue(), 128));
                        }
                    }
                    case "stream_options" -> {
                        streamOptions = true;
                        if (value == JsonToken.START_OBJECT) {
                            includeUsage = readIncludeUsage(parser);
                        }
                    }
                    default -> { }
                }
                // A value that is an object or an array (of any key, even one read above) is skipped whole,
                // so that none of its fields is taken for a top-level one.
                parser.skipChildren();
            }
            return token == JsonToken.END_OBJECT ? new RequestFacts(model, stream, streamOptions, includeUsage, true, outputCap, choices) : NOT_JSON;
        } catch (IOException | RuntimeException e) {
            return NOT_JSON;
        }
    }

    private static boolean readIncludeUsage(JsonParser parser) throws IOException {
        boolean include = false;
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String name = parser.currentName();
            JsonToken value = parser.nextToken();
            if (name.equals("include_usage")) {
                include = value == JsonToken.VALUE_TRUE;
            }
            parser.skipChildren();
        }
        return include;
    }

    /** Whether Tollgate must ask for usage on the agent's behalf to meter this call exactly. */
    public boolean needsUsageInjection(Endpoint endpoint) {
        return validJson && stream && !includeUsage && endpoint.streamUsageIsOptIn();
    }
}
