package dev.tollgate.pricing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * Lowers a request's output cap to what its budget can pay for. The field the request already uses is
 * lowered; a request without one gets the endpoint's current field ({@code max_completion_tokens} for
 * chat, which also bounds reasoning tokens; {@code max_tokens} for completions; {@code max_output_tokens}
 * for the Responses API).
 */
public final class OutputCap {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final String[] FIELDS = {"max_tokens", "max_completion_tokens", "max_output_tokens"};

    private OutputCap() {
    }

    public static byte[] lower(byte[] body, Endpoint endpoint, long cap) throws IOException {
        ObjectNode request = (ObjectNode) MAPPER.readTree(body);
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
        return MAPPER.writeValueAsBytes(request);
    }
}
