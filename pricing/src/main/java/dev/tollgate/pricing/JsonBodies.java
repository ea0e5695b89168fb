package dev.tollgate.pricing;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Iterator;
import java.util.Map;

/**
 * Reads a request body as a JSON object for the rewrites that re-serialise it ({@link OutputCap},
 * {@link UsageInjection}). Jackson reads some invalid UTF-8 in a key as lone surrogates instead of failing,
 * and would write them back as {@code \uDE0C}-style escapes that no JSON reader accepts (fuzz findings):
 * such a body is refused here, and the caller forwards it unchanged.
 */
final class JsonBodies {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonBodies() {
    }

    static ObjectNode readObject(byte[] body) throws IOException {
        if (!(MAPPER.readTree(body) instanceof ObjectNode object)) {
            throw new JsonParseException(null, "the body is not a JSON object");
        }
        requireWholeCharacters(object);
        return object;
    }

    static byte[] write(ObjectNode tree) throws IOException {
        return MAPPER.writeValueAsBytes(tree);
    }

    private static void requireWholeCharacters(JsonNode node) throws IOException {
        if (node.isTextual()) {
            requireWholeCharacters(node.textValue());
        }
        for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            requireWholeCharacters(field.getKey());
            requireWholeCharacters(field.getValue());
        }
        if (node.isArray()) {
            for (JsonNode element : node) {
                requireWholeCharacters(element);
            }
        }
    }

    private static void requireWholeCharacters(String text) throws IOException {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new JsonParseException(null, "the body holds an unpaired surrogate (invalid UTF-8 read leniently)");
            }
        }
    }
}
