package dev.tollgate.proxy.mock;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * A paced stream paces the model's tokens only: what a provider sends the moment generation ends (the
 * finish, the usage, {@code [DONE]}) is the tail that follows the last token at once, so that a proxy that
 * adds the usage chunk to a stream is not measured as if it had made the stream one event slower.
 */
class MockPacingTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final MockEndpoints endpoints = new MockEndpoints(ByteBufAllocator.DEFAULT);

    @Test
    void aChatStreamsTailIsItsFinishChunkThenDone() throws Exception {
        MockAnswer answer = endpoints.chatCompletions(body("{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
        try {
            assertThat(tail(answer)).hasSize(2);
            assertThat(tail(answer)[0]).contains("\"finish_reason\":\"stop\"");
            assertThat(tail(answer)[1]).isEqualTo("data: [DONE]\n\n");
            assertThat(text(answer, answer.pacedEvents() - 1)).contains("\"content\":").doesNotContain("finish_reason\":\"stop");
        } finally {
            answer.release();
        }
    }

    @Test
    void theUsageChunkAStreamAsksForIsPartOfTheTail() throws Exception {
        MockAnswer answer = endpoints.chatCompletions(body(
                "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
        try {
            assertThat(tail(answer)).hasSize(3);
            assertThat(tail(answer)[1]).contains("\"choices\":[]").contains("\"total_tokens\"");
        } finally {
            answer.release();
        }
    }

    @Test
    void completionsAndResponsesStreamsEndTheirPaceWithTheLastToken() throws Exception {
        MockAnswer completion = endpoints.completions(body(
                "{\"model\":\"gpt-3.5-turbo-instruct\",\"stream\":true,\"prompt\":\"hi\"}"));
        MockAnswer response = endpoints.responses(body("{\"model\":\"gpt-4.1\",\"stream\":true,\"input\":\"hi\"}"));
        try {
            assertThat(tail(completion)).containsExactly("data: [DONE]\n\n");
            assertThat(text(completion, completion.pacedEvents() - 1)).contains("\"finish_reason\"");
            assertThat(tail(response)[0]).contains("response.output_text.done");
            assertThat(tail(response)[tail(response).length - 1]).contains("response.completed");
            assertThat(text(response, response.pacedEvents() - 1)).contains("response.output_text.delta");
        } finally {
            completion.release();
            response.release();
        }
    }

    private static JsonNode body(String json) throws Exception {
        return JSON.readTree(json);
    }

    private static String text(MockAnswer answer, int index) {
        return answer.events().get(index).toString(StandardCharsets.UTF_8);
    }

    private static String[] tail(MockAnswer answer) {
        return answer.events().subList(answer.pacedEvents(), answer.events().size()).stream()
                .map(event -> event.toString(StandardCharsets.UTF_8)).toArray(String[]::new);
    }
}
