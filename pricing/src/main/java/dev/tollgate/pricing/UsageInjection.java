package dev.tollgate.pricing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Adds {@code "stream_options":{"include_usage":true}} to a streamed chat or completions request, so
 * that the provider reports usage for a stream whose agent did not ask for it. The common case (no
 * {@code stream_options} at all) is a byte insertion after the opening brace; only a body that already
 * has {@code stream_options} is re-serialised.
 */
public final class UsageInjection {

    private static final byte[] FIELD = "\"stream_options\":{\"include_usage\":true},".getBytes(StandardCharsets.US_ASCII);

    private UsageInjection() {
    }

    /** The body with usage requested; {@code facts} must come from the same body. */
    public static byte[] inject(byte[] body, RequestFacts facts) throws IOException {
        int brace = 0;
        while (brace < body.length && isJsonSpace(body[brace])) {
            brace++;
        }
        // The insertion is in UTF-8, so it is made only where the body opens with '{' in UTF-8 (or ASCII);
        // a body in UTF-16 or UTF-32, or with a byte order mark, is re-serialised (as UTF-8) instead.
        boolean utf8Brace = brace < body.length && body[brace] == '{' && (brace + 1 == body.length || body[brace + 1] != 0);
        if (!facts.streamOptions() && utf8Brace) {
            int next = brace + 1;
            while (next < body.length && Character.isWhitespace(body[next])) {
                next++;
            }
            boolean empty = next < body.length && body[next] == '}';
            int fieldLength = empty ? FIELD.length - 1 : FIELD.length;
            byte[] out = new byte[body.length + fieldLength];
            System.arraycopy(body, 0, out, 0, brace + 1);
            System.arraycopy(FIELD, 0, out, brace + 1, fieldLength);
            System.arraycopy(body, brace + 1, out, brace + 1 + fieldLength, body.length - brace - 1);
            return out;
        }
        ObjectNode tree = JsonBodies.readObject(body);
        JsonNode options = tree.get("stream_options");
        ObjectNode rewritten = options instanceof ObjectNode object ? object : tree.putObject("stream_options");
        rewritten.put("include_usage", true);
        return JsonBodies.write(tree);
    }

    private static boolean isJsonSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\n' || b == '\r';
    }
}
