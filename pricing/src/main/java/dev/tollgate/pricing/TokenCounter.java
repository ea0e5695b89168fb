package dev.tollgate.pricing;

import com.fasterxml.jackson.databind.JsonNode;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import java.util.Iterator;
import java.util.Map;

/**
 * Counts tokens the way OpenAI bills them, for calls whose response carried no usage.
 *
 * <p>The encoding comes from Tollgate's own model map, because jtokkit's misses newer models (it maps
 * {@code gpt-4.1} to cl100k and knows no o-series or gpt-5): o200k_base for the gpt-4o, gpt-4.1,
 * o-series and gpt-5 families and for unknown models (the newest encoding is the best guess), cl100k_base
 * for gpt-4, gpt-3.5 and the embedding models. Agent text is counted with the "ordinary" methods, so
 * a message containing {@code <|endoftext|>} is counted as text rather than throwing.
 *
 * <p>Chat prompts follow OpenAI's published formula (the "How to count tokens with tiktoken" cookbook):
 * 3 tokens per message, 1 per name, 3 to prime the reply; tool definitions add the cookbook's per-function,
 * per-property and per-enum constants (10 at function start for the cl100k models, 7 for the o200k ones).
 */
public final class TokenCounter {

    private static final int TOKENS_PER_MESSAGE = 3;
    private static final int TOKENS_PER_NAME = 1;
    private static final int REPLY_PRIMING = 3;
    private static final int PROPERTIES_INIT = 3;
    private static final int PROPERTY_KEY = 3;
    private static final int ENUM_INIT = -3;
    private static final int ENUM_ITEM = 3;
    private static final int FUNCTIONS_END = 12;

    private final Encoding o200k;
    private final Encoding cl100k;

    public TokenCounter() {
        EncodingRegistry registry = Encodings.newLazyEncodingRegistry();
        this.o200k = registry.getEncoding(EncodingType.O200K_BASE);
        this.cl100k = registry.getEncoding(EncodingType.CL100K_BASE);
    }

    /** The encoding {@code model} uses; provider prefixes and date suffixes do not matter. */
    public Encoding encodingFor(String model) {
        return usesCl100k(model) ? cl100k : o200k;
    }

    static boolean usesCl100k(String model) {
        if (model == null) {
            return false;
        }
        String name = model.substring(model.lastIndexOf('/') + 1);
        if (name.startsWith("ft:")) {
            name = name.substring(3);
        }
        return name.startsWith("gpt-3.5") || name.startsWith("text-embedding-")
                || (name.startsWith("gpt-4") && !name.startsWith("gpt-4o") && !name.startsWith("gpt-4.1")
                        && !name.startsWith("gpt-4.5"));
    }

    /** Tokens of plain text, special-token strings included as ordinary text. */
    public int countText(String model, String text) {
        return text == null || text.isEmpty() ? 0 : encodingFor(model).countTokensOrdinary(text);
    }

    /** Input tokens of a request to {@code endpoint}, by that endpoint's rules. */
    public long countInput(Endpoint endpoint, String model, JsonNode request) {
        return switch (endpoint) {
            case CHAT_COMPLETIONS -> countChatPrompt(model, request);
            case COMPLETIONS -> countCompletionPrompt(model, request);
            case EMBEDDINGS -> countEmbeddingInput(model, request);
            case RESPONSES -> countResponsesInput(model, request);
        };
    }

    /** Prompt tokens of a chat completions request body ({@code messages}, {@code tools}, {@code functions}). */
    public long countChatPrompt(String model, JsonNode request) {
        Encoding encoding = encodingFor(model);
        long tokens = 0;
        for (JsonNode message : request.path("messages")) {
            tokens += TOKENS_PER_MESSAGE;
            for (Iterator<Map.Entry<String, JsonNode>> it = message.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                tokens += countValue(encoding, field.getValue());
                if (field.getKey().equals("name")) {
                    tokens += TOKENS_PER_NAME;
                }
            }
        }
        tokens += REPLY_PRIMING;
        return tokens + countTools(model, encoding, request);
    }

    /**
     * The cookbook's formula for function definitions. Newer models than the cookbook covers use the
     * o200k constants, the closest published ones.
     */
    private long countTools(String model, Encoding encoding, JsonNode request) {
        JsonNode tools = request.path("tools");
        JsonNode functions = request.path("functions");
        if ((!tools.isArray() || tools.isEmpty()) && (!functions.isArray() || functions.isEmpty())) {
            return 0;
        }
        int functionInit = usesCl100k(model) ? 10 : 7;
        long tokens = 0;
        Iterable<JsonNode> definitions = tools.isArray() && !tools.isEmpty() ? tools : functions;
        for (JsonNode tool : definitions) {
            JsonNode function = tool.has("function") ? tool.path("function") : tool;
            tokens += functionInit;
            tokens += encoding.countTokensOrdinary(function.path("name").asText("") + ":"
                    + withoutFinalPeriod(function.path("description").asText("")));
            JsonNode properties = function.path("parameters").path("properties");
            if (properties.isObject() && !properties.isEmpty()) {
                tokens += PROPERTIES_INIT;
                for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> property = it.next();
                    JsonNode spec = property.getValue();
                    tokens += PROPERTY_KEY;
                    if (spec.has("enum")) {
                        tokens += ENUM_INIT;
                        for (JsonNode item : spec.path("enum")) {
                            tokens += ENUM_ITEM + encoding.countTokensOrdinary(item.asText());
                        }
                    }
                    tokens += encoding.countTokensOrdinary(property.getKey() + ":" + spec.path("type").asText("")
                            + ":" + withoutFinalPeriod(spec.path("description").asText("")));
                }
            }
        }
        return tokens + FUNCTIONS_END;
    }

    /** Prompt tokens of a completions request ({@code prompt}: a string or an array of strings). */
    public long countCompletionPrompt(String model, JsonNode request) {
        return countValue(encodingFor(model), request.path("prompt"));
    }

    /** Input tokens of an embeddings request ({@code input}: string, strings, or token arrays). */
    public long countEmbeddingInput(String model, JsonNode request) {
        JsonNode input = request.path("input");
        if (input.isArray() && !input.isEmpty() && (input.get(0).isNumber() || input.get(0).isArray())) {
            // Pre-tokenised input: the token ids are the tokens.
            long tokens = 0;
            for (JsonNode item : input) {
                tokens += item.isArray() ? item.size() : 1;
            }
            return tokens;
        }
        return countValue(encodingFor(model), input);
    }

    /**
     * Input tokens of a Responses API request. OpenAI publishes no formula for it; the chat formula is
     * applied to {@code instructions} (as a system message) and each input item (as a message).
     */
    public long countResponsesInput(String model, JsonNode request) {
        Encoding encoding = encodingFor(model);
        long tokens = REPLY_PRIMING;
        if (request.path("instructions").isTextual()) {
            tokens += TOKENS_PER_MESSAGE + 1 + encoding.countTokensOrdinary(request.path("instructions").textValue());
        }
        JsonNode input = request.path("input");
        if (input.isTextual()) {
            tokens += TOKENS_PER_MESSAGE + 1 + encoding.countTokensOrdinary(input.textValue());
        } else {
            for (JsonNode item : input) {
                tokens += TOKENS_PER_MESSAGE + countValue(encoding, item.path("role")) + countValue(encoding, item.path("content"));
            }
        }
        return tokens + countTools(model, encoding, request);
    }

    /**
     * Tokens of a message value: a string, or an array of content parts whose text counts (images and
     * audio are priced by the provider from their size, which a proxy cannot know, so they count 0).
     */
    private static long countValue(Encoding encoding, JsonNode value) {
        if (value.isTextual()) {
            return encoding.countTokensOrdinary(value.textValue());
        }
        long tokens = 0;
        if (value.isArray()) {
            for (JsonNode part : value) {
                if (part.isTextual()) {
                    tokens += encoding.countTokensOrdinary(part.textValue());
                } else if (part.path("text").isTextual()) {
                    tokens += encoding.countTokensOrdinary(part.path("text").textValue());
                }
            }
        } else if (value.isObject() || value.isNumber() || value.isBoolean()) {
            // Tool calls and similar structured values: count their JSON text.
            tokens += encoding.countTokensOrdinary(value.toString());
        }
        return tokens;
    }

    private static String withoutFinalPeriod(String text) {
        return text.endsWith(".") ? text.substring(0, text.length() - 1) : text;
    }
}
