package dev.tollgate.proxy.mock;

import static dev.tollgate.proxy.mock.MockReplies.chatHeader;
import static dev.tollgate.proxy.mock.MockReplies.chatUsage;
import static dev.tollgate.proxy.mock.MockReplies.event;
import static dev.tollgate.proxy.mock.MockReplies.json;
import static dev.tollgate.proxy.mock.MockReplies.responsesUsage;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** The fake provider's endpoints: each turns a parsed request into a {@link MockAnswer}. */
final class MockEndpoints {

    private final ByteBufAllocator alloc;

    MockEndpoints(ByteBufAllocator alloc) {
        this.alloc = alloc;
    }

    MockAnswer chatCompletions(JsonNode body) {
        MockRequest request = MockRequest.chat(body);
        if (!request.body().path("messages").isArray() || request.messages() == 0) {
            return invalid("messages", "'messages' must be a non-empty array.");
        }
        List<String> words = MockReplies.replyWords(request);
        String finish = MockReplies.truncated(request, words) ? "length" : "stop";
        String model = DatedModels.snapshotOf(request.model());
        SimulatedUsage usage = SimulatedUsage.of(request.model(), request.promptChars(), request.messages(), words.size(), request.maxOutputTokens());
        String id = MockReplies.id("chatcmpl-");
        long created = System.currentTimeMillis() / 1000;
        if (!request.stream()) {
            String text = String.join("", words);
            return MockAnswer.json(json(alloc, json -> {
                json.writeStartObject();
                chatHeader(json, id, "chat.completion", created, model);
                json.writeArrayFieldStart("choices");
                json.writeStartObject();
                json.writeNumberField("index", 0);
                json.writeObjectFieldStart("message");
                json.writeStringField("role", "assistant");
                json.writeStringField("content", text);
                json.writeNullField("refusal");
                json.writeArrayFieldStart("annotations");
                json.writeEndArray();
                json.writeEndObject();
                json.writeNullField("logprobs");
                json.writeStringField("finish_reason", finish);
                json.writeEndObject();
                json.writeEndArray();
                chatUsage(json, usage);
                json.writeEndObject();
            }));
        }
        boolean withUsage = request.includeUsage();
        List<ByteBuf> events = new ArrayList<>(words.size() + 4);
        events.add(chatChunk(id, created, model, withUsage, json -> {
            json.writeStringField("role", "assistant");
            json.writeStringField("content", "");
            json.writeNullField("refusal");
        }, null));
        for (String word : words) {
            events.add(chatChunk(id, created, model, withUsage, json -> json.writeStringField("content", word), null));
        }
        int tokens = events.size();
        events.add(chatChunk(id, created, model, withUsage, json -> { }, finish));
        if (withUsage) {
            // As OpenAI does: one last chunk with no choices that carries the usage of the whole stream.
            events.add(event(alloc, null, json -> {
                json.writeStartObject();
                chatHeader(json, id, "chat.completion.chunk", created, model);
                json.writeArrayFieldStart("choices");
                json.writeEndArray();
                chatUsage(json, usage);
                json.writeEndObject();
            }));
        }
        events.add(done());
        return MockAnswer.stream(events, tokens);
    }

    private ByteBuf chatChunk(String id, long created, String model, boolean withUsage, MockReplies.JsonBody delta,
            String finish) {
        return event(alloc, null, json -> {
            json.writeStartObject();
            chatHeader(json, id, "chat.completion.chunk", created, model);
            json.writeArrayFieldStart("choices");
            json.writeStartObject();
            json.writeNumberField("index", 0);
            json.writeObjectFieldStart("delta");
            delta.write(json);
            json.writeEndObject();
            json.writeNullField("logprobs");
            json.writeStringField("finish_reason", finish); // null writes JSON null
            json.writeEndObject();
            json.writeEndArray();
            if (withUsage) {
                json.writeNullField("usage");
            }
            json.writeEndObject();
        });
    }

    MockAnswer completions(JsonNode body) {
        MockRequest request = MockRequest.completion(body);
        if (request.body().path("prompt").isMissingNode()) {
            return invalid("prompt", "'prompt' is a required property.");
        }
        List<String> words = MockReplies.replyWords(request);
        String finish = MockReplies.truncated(request, words) ? "length" : "stop";
        String model = DatedModels.snapshotOf(request.model());
        SimulatedUsage usage = SimulatedUsage.of(request.model(), request.promptChars(), 0, words.size(), request.maxOutputTokens());
        String id = MockReplies.id("cmpl-");
        long created = System.currentTimeMillis() / 1000;
        if (!request.stream()) {
            String text = String.join("", words);
            return MockAnswer.json(json(alloc, json -> {
                json.writeStartObject();
                completionHeader(json, id, created, model);
                json.writeArrayFieldStart("choices");
                completionChoice(json, text, finish);
                json.writeEndArray();
                usageWithoutDetails(json, usage);
                json.writeEndObject();
            }));
        }
        List<ByteBuf> events = new ArrayList<>(words.size() + 3);
        for (int i = 0; i < words.size(); i++) {
            String word = words.get(i);
            String reason = i == words.size() - 1 ? finish : null;
            events.add(event(alloc, null, json -> {
                json.writeStartObject();
                completionHeader(json, id, created, model);
                json.writeArrayFieldStart("choices");
                completionChoice(json, word, reason);
                json.writeEndArray();
                if (request.includeUsage()) {
                    json.writeNullField("usage");
                }
                json.writeEndObject();
            }));
        }
        int tokens = events.size();
        if (request.includeUsage()) {
            events.add(event(alloc, null, json -> {
                json.writeStartObject();
                completionHeader(json, id, created, model);
                json.writeArrayFieldStart("choices");
                json.writeEndArray();
                usageWithoutDetails(json, usage);
                json.writeEndObject();
            }));
        }
        events.add(done());
        return MockAnswer.stream(events, tokens);
    }

    private static void completionHeader(JsonGenerator json, String id, long created, String model) throws IOException {
        json.writeStringField("id", id);
        json.writeStringField("object", "text_completion");
        json.writeNumberField("created", created);
        json.writeStringField("model", model);
        json.writeStringField("system_fingerprint", "fp_7a2c1d9e4b");
    }

    private static void completionChoice(JsonGenerator json, String text, String finish) throws IOException {
        json.writeStartObject();
        json.writeStringField("text", text);
        json.writeNumberField("index", 0);
        json.writeNullField("logprobs");
        json.writeStringField("finish_reason", finish); // null writes JSON null
        json.writeEndObject();
    }

    private static void usageWithoutDetails(JsonGenerator json, SimulatedUsage usage) throws IOException {
        json.writeObjectFieldStart("usage");
        json.writeNumberField("prompt_tokens", usage.promptTokens());
        json.writeNumberField("completion_tokens", usage.outputTokens());
        json.writeNumberField("total_tokens", usage.totalTokens());
        json.writeEndObject();
    }

    MockAnswer embeddings(JsonNode body) {
        MockRequest request = MockRequest.embeddings(body);
        JsonNode input = body.path("input");
        if (input.isMissingNode() || input.isNull()) {
            return invalid("input", "'input' is a required property.");
        }
        List<JsonNode> inputs = new ArrayList<>();
        boolean tokenArray = input.isArray() && input.size() > 0 && input.get(0).isNumber();
        if (input.isArray() && !tokenArray) {
            input.forEach(inputs::add);
        } else {
            inputs.add(input);
        }
        String model = request.model();
        int dimensions = body.path("dimensions").asInt(model.contains("3-large") ? 3072 : 1536);
        boolean base64 = "base64".equals(body.path("encoding_format").asText());
        MockReplies.Embedding vector = MockReplies.embedding(dimensions);
        long tokens = Math.max(1, (request.promptChars() + 3) / 4);
        return MockAnswer.json(json(alloc, json -> {
            json.writeStartObject();
            json.writeStringField("object", "list");
            json.writeArrayFieldStart("data");
            for (int i = 0; i < inputs.size(); i++) {
                json.writeStartObject();
                json.writeStringField("object", "embedding");
                json.writeNumberField("index", i);
                if (base64) {
                    json.writeStringField("embedding", vector.base64());
                } else {
                    json.writeFieldName("embedding");
                    json.writeRawValue(vector.json());
                }
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeStringField("model", model);
            json.writeObjectFieldStart("usage");
            json.writeNumberField("prompt_tokens", tokens);
            json.writeNumberField("total_tokens", tokens);
            json.writeEndObject();
            json.writeEndObject();
        }));
    }

    MockAnswer responses(JsonNode body) {
        MockRequest request = MockRequest.responses(body);
        if (body.path("input").isMissingNode()) {
            return invalid("input", "'input' is a required property.");
        }
        List<String> words = MockReplies.replyWords(request);
        boolean truncated = MockReplies.truncated(request, words);
        String model = DatedModels.snapshotOf(request.model());
        SimulatedUsage usage = SimulatedUsage.of(request.model(), request.promptChars(), request.messages(), words.size(), request.maxOutputTokens());
        String id = MockReplies.id("resp_");
        String messageId = MockReplies.id("msg_");
        long created = System.currentTimeMillis() / 1000;
        String text = String.join("", words);
        ResponseObject response = new ResponseObject(id, messageId, created, model, body, truncated);
        if (!request.stream()) {
            return MockAnswer.json(json(alloc, json -> response.write(json, "completed", text, usage)));
        }
        List<ByteBuf> events = new ArrayList<>(words.size() + 8);
        int[] sequence = {0};
        events.add(responseEvent("response.created", sequence, json ->
                json.writeFieldName("response"), json -> response.write(json, "in_progress", null, null)));
        events.add(responseEvent("response.in_progress", sequence, json ->
                json.writeFieldName("response"), json -> response.write(json, "in_progress", null, null)));
        events.add(responseEvent("response.output_item.added", sequence, json -> {
            json.writeNumberField("output_index", 0);
            json.writeFieldName("item");
        }, json -> response.writeMessage(json, "in_progress", null)));
        events.add(responseEvent("response.content_part.added", sequence, json -> {
            partPosition(json, messageId);
            json.writeFieldName("part");
        },
                json -> ResponseObject.writeTextPart(json, "")));
        for (String word : words) {
            events.add(responseEvent("response.output_text.delta", sequence, json -> {
                partPosition(json, messageId);
                json.writeStringField("delta", word);
                json.writeArrayFieldStart("logprobs");
                json.writeEndArray();
            }, null));
        }
        int tokens = events.size();
        events.add(responseEvent("response.output_text.done", sequence, json -> {
            partPosition(json, messageId);
            json.writeStringField("text", text);
            json.writeArrayFieldStart("logprobs");
            json.writeEndArray();
        }, null));
        events.add(responseEvent("response.content_part.done", sequence, json -> {
            partPosition(json, messageId);
            json.writeFieldName("part");
        },
                json -> ResponseObject.writeTextPart(json, text)));
        events.add(responseEvent("response.output_item.done", sequence, json -> {
            json.writeNumberField("output_index", 0);
            json.writeFieldName("item");
        }, json -> response.writeMessage(json, "completed", text)));
        String finalStatus = truncated ? "incomplete" : "completed";
        events.add(responseEvent("response." + finalStatus, sequence, json -> json.writeFieldName("response"),
                json -> response.write(json, finalStatus, text, usage)));
        return MockAnswer.stream(events, tokens);
    }

    private static void partPosition(JsonGenerator json, String messageId) throws IOException {
        json.writeStringField("item_id", messageId);
        json.writeNumberField("output_index", 0);
        json.writeNumberField("content_index", 0);
    }

    private ByteBuf responseEvent(String type, int[] sequence, MockReplies.JsonBody fields, MockReplies.JsonBody value) {
        int number = sequence[0]++;
        return event(alloc, type, json -> {
            json.writeStartObject();
            json.writeStringField("type", type);
            json.writeNumberField("sequence_number", number);
            fields.write(json);
            if (value != null) {
                value.write(json);
            }
            json.writeEndObject();
        });
    }

    MockAnswer models(String single) {
        long created = 1_715_367_049L;
        if (single != null) {
            return MockAnswer.json(json(alloc, json -> writeModel(json, single, created)));
        }
        return MockAnswer.json(json(alloc, json -> {
            json.writeStartObject();
            json.writeStringField("object", "list");
            json.writeArrayFieldStart("data");
            for (String alias : DatedModels.aliases()) {
                writeModel(json, alias, created);
            }
            for (String embedding : List.of("text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002")) {
                writeModel(json, embedding, created);
            }
            json.writeEndArray();
            json.writeEndObject();
        }));
    }

    private static void writeModel(JsonGenerator json, String id, long created) throws IOException {
        json.writeStartObject();
        json.writeStringField("id", id);
        json.writeStringField("object", "model");
        json.writeNumberField("created", created);
        json.writeStringField("owned_by", "system");
        json.writeEndObject();
    }

    MockAnswer invalid(String param, String message) {
        return error(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", param, null, message);
    }

    MockAnswer error(HttpResponseStatus status, String type, String param, String code, String message) {
        return MockAnswer.error(status, json(alloc, json -> {
            json.writeStartObject();
            json.writeObjectFieldStart("error");
            json.writeStringField("message", message);
            json.writeStringField("type", type);
            json.writeStringField("param", param); // null writes JSON null
            json.writeStringField("code", code); // null writes JSON null
            json.writeEndObject();
            json.writeEndObject();
        }));
    }

    private static ByteBuf done() {
        return Unpooled.wrappedBuffer(DONE.duplicate());
    }

    private static final java.nio.ByteBuffer DONE =
            java.nio.ByteBuffer.wrap("data: [DONE]\n\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).asReadOnlyBuffer();
}
