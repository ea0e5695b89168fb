package dev.tollgate.pricing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

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

    /**
     * The body with its output cap set to {@code cap}, re-serialised. Throws for a body that is not a JSON
     * object in valid UTF-8: Jackson reads some invalid UTF-8 keys as lone surrogates and would write them
     * back as escapes that no JSON reader accepts (a fuzz finding), so such a body is left as it was and the
     * caller's reservation bounds the call instead. The proxy refuses those bodies before this anyway.
     */
    public static byte[] lower(byte[] body, Endpoint endpoint, long cap) throws IOException {
        StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(body));
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
