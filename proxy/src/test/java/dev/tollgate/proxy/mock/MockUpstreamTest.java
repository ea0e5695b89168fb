package dev.tollgate.proxy.mock;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.embeddings.EmbeddingModel;
import com.openai.models.models.Model;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStreamEvent;
import dev.tollgate.proxy.testing.ProxyHarness;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code tollgate mock-upstream} as the official client sees it, through the proxy: every endpoint
 * parses, model names come back dated, and usage follows OpenAI's rules for streams.
 */
class MockUpstreamTest {

    private static MockUpstreamServer mock;
    private static ProxyHarness proxy;
    private static OpenAIClient agent;

    @BeforeAll
    static void start() throws Exception {
        mock = MockUpstreamServer.start("127.0.0.1", 0, 0, 0);
        proxy = ProxyHarness.start(mock.baseUrl(), "");
        agent = proxy.agent("mock-tester");
    }

    @AfterAll
    static void stop() {
        proxy.close();
        mock.close();
    }

    private static ChatCompletionCreateParams.Builder chat(ChatModel model) {
        return ChatCompletionCreateParams.builder().model(model).addUserMessage("Summarise the ticket backlog.");
    }

    @Test
    void chatAnswersWithADatedModelAndConsistentUsage() {
        ChatCompletion completion = agent.chat().completions().create(chat(ChatModel.GPT_4O).build());

        assertThat(completion.model()).isEqualTo("gpt-4o-2024-08-06");
        var usage = completion.usage().orElseThrow();
        assertThat(usage.promptTokens()).isPositive();
        assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + usage.completionTokens());
        assertThat(completion.choices().get(0).message().content().orElseThrow()).isNotBlank();
    }

    @Test
    void reasoningModelsReportReasoningTokensInsideOutputTokens() {
        ChatCompletion completion = agent.chat().completions().create(chat(ChatModel.O3).build());

        var usage = completion.usage().orElseThrow();
        long reasoning = usage.completionTokensDetails().orElseThrow().reasoningTokens().orElseThrow();
        assertThat(reasoning).isPositive().isLessThan(usage.completionTokens());
    }

    @Test
    void maxTokensCapsTheReplyAndSaysLength() {
        ChatCompletion completion = agent.chat().completions().create(chat(ChatModel.GPT_4O).maxCompletionTokens(3).build());

        assertThat(completion.usage().orElseThrow().completionTokens()).isEqualTo(3);
        assertThat(completion.choices().get(0).finishReason().asString()).isEqualTo("length");
    }

    private static List<ChatCompletionChunk> stream(ChatCompletionCreateParams params) {
        try (StreamResponse<ChatCompletionChunk> chunks = agent.chat().completions().createStreaming(params)) {
            return chunks.stream().collect(Collectors.toList());
        }
    }

    @Test
    void streamCarriesUsageOnlyWhenAskedFor() {
        List<ChatCompletionChunk> without = stream(chat(ChatModel.GPT_4O_MINI).build());
        List<ChatCompletionChunk> with = stream(chat(ChatModel.GPT_4O_MINI)
                .streamOptions(com.openai.models.chat.completions.ChatCompletionStreamOptions.builder()
                        .includeUsage(true).build())
                .build());

        assertThat(without).allSatisfy(chunk -> assertThat(chunk.usage()).isEmpty());
        ChatCompletionChunk last = with.get(with.size() - 1);
        assertThat(last.choices()).isEmpty();
        assertThat(last.usage()).isPresent();
        assertThat(with).hasSize(without.size() + 1);
    }

    @Test
    void legacyCompletionsEmbeddingsAndModelsWork() {
        Completion completion = agent.completions().create(CompletionCreateParams.builder()
                .model(CompletionCreateParams.Model.GPT_3_5_TURBO_INSTRUCT).prompt("Say hi").build());
        CreateEmbeddingResponse floats = agent.embeddings().create(EmbeddingCreateParams.builder()
                .model(EmbeddingModel.TEXT_EMBEDDING_3_SMALL).input("refund policy")
                .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build());
        CreateEmbeddingResponse base64 = agent.embeddings().create(EmbeddingCreateParams.builder()
                .model(EmbeddingModel.TEXT_EMBEDDING_3_LARGE).input("refund policy")
                .encodingFormat(EmbeddingCreateParams.EncodingFormat.BASE64).build());
        List<Model> models = agent.models().list().data();

        assertThat(completion.usage().orElseThrow().totalTokens()).isPositive();
        assertThat(floats.data().get(0).embedding()).hasSize(1536);
        assertThat(base64.data().get(0).embedding()).hasSize(3072);
        assertThat(floats.usage().promptTokens()).isPositive();
        assertThat(models).extracting(Model::id).contains("gpt-4o", "o3", "text-embedding-3-small");
    }

    @Test
    void responsesApiPlainAndStreamedEndWithUsage() {
        ResponseCreateParams params = ResponseCreateParams.builder().model(ChatModel.GPT_4_1).input("Plan it.").build();

        Response plain = agent.responses().create(params);
        List<ResponseStreamEvent> events;
        try (StreamResponse<ResponseStreamEvent> stream = agent.responses().createStreaming(params)) {
            events = stream.stream().collect(Collectors.toList());
        }

        assertThat(plain.usage().orElseThrow().inputTokens()).isPositive();
        assertThat(plain.output()).isNotEmpty();
        assertThat(events).anySatisfy(e -> assertThat(e.isOutputTextDelta()).isTrue());
        ResponseStreamEvent last = events.get(events.size() - 1);
        assertThat(last.isCompleted()).isTrue();
        assertThat(last.asCompleted().response().usage().orElseThrow().totalTokens()).isPositive();
    }

    @Test
    void aRequestCanPaceItsOwnStreamThroughTheProxy() throws Exception {
        List<Long> arrivals = new java.util.ArrayList<>();
        var request = java.net.http.HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                .header("Content-Type", "application/json").header("X-Mock-Chunk-Delay-Ms", "40")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"gpt-4o\",\"stream\":true,\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .build();

        long sent = System.nanoTime();
        var response = proxy.http().send(request, java.net.http.HttpResponse.BodyHandlers.ofLines());
        response.body().filter(line -> line.startsWith("data: ")).forEach(line -> arrivals.add(System.nanoTime()));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(arrivals).hasSizeGreaterThan(4);
        // Token i is due 40 ms x i after the first is sent, which is after the request was; the finish chunk and
        // [DONE] follow the last token at once. None can arrive sooner than that. (Measured from the request, not
        // from the first token's arrival: a first token that arrives late does not delay the later ones.)
        int tokens = arrivals.size() - 2;
        for (int i = 0; i < arrivals.size(); i++) {
            long sinceSentMs = (arrivals.get(i) - sent) / 1_000_000;
            assertThat(sinceSentMs).as("event %d", i).isGreaterThanOrEqualTo(40L * Math.min(i, tokens - 1) - 5);
        }
    }

    /**
     * A model's tokens come at its own pace, whoever reads them: when the provider's loops are held up for a
     * while (a busy machine), the tokens that fell due meanwhile leave together as soon as they can, and
     * the later ones keep their times. Pacing each token one delay after the one before would instead push
     * every later token back by the hold-up, and a proxy measured against this provider would be charged
     * that lateness as delay between events.
     */
    @Test
    void aLateTimerDoesNotPushTheLaterTokensBack() throws Exception {
        long delayMs = 40;
        long holdMs = 600;
        List<Long> arrivals = new java.util.ArrayList<>();
        java.util.concurrent.atomic.AtomicLong heldUntil = new java.util.concurrent.atomic.AtomicLong();
        var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(mock.baseUrl() + "/chat/completions"))
                .header("Content-Type", "application/json").header("X-Mock-Chunk-Delay-Ms", String.valueOf(delayMs))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"gpt-4o\",\"stream\":true,\"max_tokens\":12,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .build();

        var response = proxy.http().send(request, java.net.http.HttpResponse.BodyHandlers.ofLines());
        response.body().filter(line -> line.startsWith("data: ")).forEach(line -> {
            if (arrivals.isEmpty()) {
                // The first token is here: hold up every loop of the provider, as a busy machine would.
                for (var loop : mock.eventLoops()) {
                    loop.execute(() -> {
                        sleep(holdMs);
                        heldUntil.accumulateAndGet(System.nanoTime(), Math::max);
                    });
                }
            }
            arrivals.add(System.nanoTime());
        });

        assertThat(response.statusCode()).isEqualTo(200);
        int tokens = arrivals.size() - 2; // the finish chunk and [DONE] follow the last token
        assertThat(tokens).isGreaterThanOrEqualTo(10);
        assertThat(heldUntil.get()).isPositive();
        // Every token but the first was due within the hold-up (11 x 40 ms < 600 ms), so all of them leave
        // when it ends. One delay after another, the last would come 10 delays (400 ms) after it.
        long lastAfterHoldMs = (arrivals.get(arrivals.size() - 1) - heldUntil.get()) / 1_000_000;
        assertThat(lastAfterHoldMs).isLessThan(4 * delayMs);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aPaceThatIsNotANumberIsIgnored() throws Exception {
        var response = proxy.http().send(java.net.http.HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                        .header("Content-Type", "application/json").header("X-Mock-Chunk-Delay-Ms", "soon")
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                        .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).endsWith("data: [DONE]\n\n");
    }

    @Test
    void badJsonGetsAnOpenAiShapedError() throws Exception {
        var response = proxy.http().send(java.net.http.HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{not json")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(response.body()).contains("\"type\":\"invalid_request_error\"");
    }

}
