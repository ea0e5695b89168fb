package dev.tollgate.pricing;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * Lowers a request's output cap to what its budget can pay for. The field the request already uses is
 * lowered; a request without one gets the endpoint's current field ({@code max_completion_tokens} for
 * chat, which also bounds reasoning tokens; {@code max_tokens} for completions; {@code max_output_tokens}
 * for the Responses API).
 */
public final class OutputCap {

    private static final String[] FIELDS = {"max_tokens", "max_completion_tokens", "max_output_tokens"};

    private OutputCap() {
    }

    /**
     * The body with its output cap set to {@code cap}, re-serialised. Throws for a body that is not a JSON
     * object Jackson can write back ({@link JsonBodies}); the caller's reservation then bounds the call.
     */
    public static byte[] lower(byte[] body, Endpoint endpoint, long cap) throws IOException {
        ObjectNode request = JsonBodies.readObject(body);
        boolean present = false;
        for (String field : FIELDS) {
            if (request.has(field)) {
                request.put(field, cap);
                present = true;
            }
        }
        if (!present) {
            request.put(switch (endpoint) {
                case CHAT_COMPLETIONS -> "max_completion_tokens";
                case COMPLETIONS -> "max_tokens";
                case RESPONSES -> "max_output_tokens";
                case EMBEDDINGS -> throw new IllegalArgumentException("embeddings have no output");
            }, cap);
        }
        return JsonBodies.write(request);
    }
}
