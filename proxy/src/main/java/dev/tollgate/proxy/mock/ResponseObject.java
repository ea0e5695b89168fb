package dev.tollgate.proxy.mock;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;

/** The Responses API's {@code response} object, written at each stage of its life. */
record ResponseObject(String id, String messageId, long createdAt, String model, JsonNode request, boolean truncated) {

    void write(JsonGenerator json, String status, String text, SimulatedUsage usage) throws IOException {
        json.writeStartObject();
        json.writeStringField("id", id);
        json.writeStringField("object", "response");
        json.writeNumberField("created_at", createdAt);
        json.writeStringField("status", status);
        json.writeBooleanField("background", false);
        json.writeNullField("error");
        if (truncated && "incomplete".equals(status)) {
            json.writeObjectFieldStart("incomplete_details");
            json.writeStringField("reason", "max_output_tokens");
            json.writeEndObject();
        } else {
            json.writeNullField("incomplete_details");
        }
        writeTextOrNull(json, "instructions", request.path("instructions"));
        if (request.path("max_output_tokens").isNumber()) {
            json.writeNumberField("max_output_tokens", request.path("max_output_tokens").asLong());
        } else {
            json.writeNullField("max_output_tokens");
        }
        json.writeStringField("model", model);
        json.writeArrayFieldStart("output");
        if (text != null) {
            writeMessage(json, "completed", text);
        }
        json.writeEndArray();
        json.writeBooleanField("parallel_tool_calls", true);
        json.writeNullField("previous_response_id");
        json.writeObjectFieldStart("reasoning");
        json.writeNullField("effort");
        json.writeNullField("summary");
        json.writeEndObject();
        json.writeStringField("service_tier", "default");
        json.writeBooleanField("store", true);
        json.writeNumberField("temperature", 1.0);
        json.writeObjectFieldStart("text");
        json.writeObjectFieldStart("format");
        json.writeStringField("type", "text");
        json.writeEndObject();
        json.writeEndObject();
        json.writeStringField("tool_choice", "auto");
        json.writeArrayFieldStart("tools");
        json.writeEndArray();
        json.writeNumberField("top_p", 1.0);
        json.writeStringField("truncation", "disabled");
        if (usage != null) {
            MockReplies.responsesUsage(json, usage);
        } else {
            json.writeNullField("usage");
        }
        json.writeNullField("user");
        json.writeObjectFieldStart("metadata");
        json.writeEndObject();
        json.writeEndObject();
    }

    void writeMessage(JsonGenerator json, String status, String text) throws IOException {
        json.writeStartObject();
        json.writeStringField("id", messageId);
        json.writeStringField("type", "message");
        json.writeStringField("status", status);
        json.writeStringField("role", "assistant");
        json.writeArrayFieldStart("content");
        if (text != null) {
            writeTextPart(json, text);
        }
        json.writeEndArray();
        json.writeEndObject();
    }

    static void writeTextPart(JsonGenerator json, String text) throws IOException {
        json.writeStartObject();
        json.writeStringField("type", "output_text");
        json.writeArrayFieldStart("annotations");
        json.writeEndArray();
        json.writeArrayFieldStart("logprobs");
        json.writeEndArray();
        json.writeStringField("text", text);
        json.writeEndObject();
    }

    private static void writeTextOrNull(JsonGenerator json, String field, JsonNode value) throws IOException {
        if (value.isTextual()) {
            json.writeStringField(field, value.textValue());
        } else {
            json.writeNullField(field);
        }
    }
}
