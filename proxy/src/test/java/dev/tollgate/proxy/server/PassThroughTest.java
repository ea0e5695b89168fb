package dev.tollgate.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.core.http.HttpResponseFor;
import com.openai.core.http.StreamResponse;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.embeddings.EmbeddingModel;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStreamEvent;
import dev.tollgate.proxy.testing.Fixtures;
import dev.tollgate.proxy.testing.ProxyHarness;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The official OpenAI client, through the proxy, against mockwebserver3 as the provider: every endpoint
 * the agents use arrives byte for byte, plain and streamed, and the provider sees a clean request.
 */
class PassThroughTest {

    private MockWebServer provider;
    private ProxyHarness proxy;

    @BeforeEach
    void start() throws Exception {
        provider = new MockWebServer();
        provider.start();
        proxy = ProxyHarness.start(provider.url("/v1").toString(), "");
    }

    @AfterEach
    void stop() {
        proxy.close();
        provider.close();
    }

    private static MockResponse json(String body) {
        return new MockResponse.Builder()
                .addHeader("Content-Type", "application/json")
                .addHeader("x-request-id", "req_123")
                .addHeader("openai-processing-ms", "412")
                .body(body)
                .build();
    }

    private static MockResponse sse(String body) {
        // Small chunks, as a provider sends a stream: several events are split across chunk boundaries.
        return new MockResponse.Builder()
                .addHeader("Content-Type", "text/event-stream; charset=utf-8")
                .chunkedBody(body, 97)
                .build();
    }

    private static ChatCompletionCreateParams chat(ChatModel model) {
        return ChatCompletionCreateParams.builder()
                .model(model)
                .addSystemMessage("You are terse.")
                .addUserMessage("Summarise the ticket backlog.")
                .build();
    }

    @Test
    void chatCompletionReachesTheAgentByteForByte() throws Exception {
        String body = Fixtures.text("chat_completion.json");
        provider.enqueue(json(body));
        OpenAIClient agent = proxy.agent("research-agent");

        HttpResponseFor<ChatCompletion> raw = agent.chat().completions().withRawResponse().create(chat(ChatModel.GPT_4O));

        assertThat(raw.statusCode()).isEqualTo(200);
        assertThat(raw.headers().values("x-tollgate-agent")).containsExactly("research-agent");
        assertThat(raw.headers().values("x-request-id")).containsExactly("req_123");
        try (InputStream in = raw.body()) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(body);
        }
    }

    @Test
    void chatCompletionIsParsedByTheOfficialClient() {
        provider.enqueue(json(Fixtures.text("chat_completion.json")));

        ChatCompletion completion = proxy.agent("research-agent").chat().completions().create(chat(ChatModel.GPT_4O));

        assertThat(completion.model()).isEqualTo("gpt-4o-2024-08-06");
        assertThat(completion.choices().get(0).message().content()).hasValueSatisfying(
                text -> assertThat(text).startsWith("Tollgate forwarded"));
        assertThat(completion.usage()).hasValueSatisfying(usage -> assertThat(usage.totalTokens()).isPositive());
    }

    @Test
    void providerSeesTheRequestPathBodyAndCredentialsButNoTollgateHeaders() throws Exception {
        provider.enqueue(json(Fixtures.text("chat_completion.json")));

        proxy.agent("research-agent").chat().completions().create(chat(ChatModel.GPT_4O));

        RecordedRequest seen = provider.takeRequest(5, TimeUnit.SECONDS);
        assertThat(seen.getMethod()).isEqualTo("POST");
        assertThat(seen.getTarget()).isEqualTo("/v1/chat/completions");
        assertThat(seen.getHeaders().get("Authorization")).isEqualTo("Bearer sk-agent-key");
        assertThat(seen.getHeaders().get("Host")).isEqualTo(provider.getHostName() + ":" + provider.getPort());
        assertThat(seen.getHeaders().get("X-Agent-Id")).isNull();
        assertThat(seen.getHeaders().get("X-Intent-Id")).isNull();
        assertThat(seen.getBody().utf8()).contains("\"Summarise the ticket backlog.\"").contains("\"gpt-4o\"");
    }

    @Test
    void streamedChatArrivesWholeAndInOrder() {
        String body = Fixtures.text("chat_stream.sse");
        provider.enqueue(sse(body));

        // The agent asks for usage itself, so the stream passes through untouched (see MeteringTest for the rest).
        ChatCompletionCreateParams params = chat(ChatModel.GPT_4O_MINI).toBuilder()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        List<ChatCompletionChunk> chunks;
        try (StreamResponse<ChatCompletionChunk> stream =
                proxy.agent("research-agent").chat().completions().createStreaming(params)) {
            chunks = stream.stream().collect(Collectors.toList());
        }

        long sentEvents = body.lines().filter(l -> l.startsWith("data: {")).count();
        assertThat(chunks).hasSize((int) sentEvents);
        String text = chunks.stream()
                .flatMap(c -> c.choices().stream())
                .map(choice -> choice.delta().content().orElse(""))
                .collect(Collectors.joining());
        assertThat(text).startsWith("Tollgate forwarded this call");
        assertThat(chunks.get(chunks.size() - 1).usage()).isPresent();
    }

    @Test
    void streamedBodyIsByteIdenticalToWhatTheProviderSent() throws Exception {
        String body = Fixtures.text("response_stream.sse");
        provider.enqueue(sse(body));

        HttpResponse<String> response = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/responses"))
                        .header("Content-Type", "application/json")
                        .header("X-Agent-Id", "planner")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4.1\",\"stream\":true,\"input\":\"x\"}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type")).hasValue("text/event-stream; charset=utf-8");
        assertThat(response.body()).isEqualTo(body);
    }

    @Test
    void embeddingsArriveAsSent() {
        provider.enqueue(json(Fixtures.text("embeddings.json")));

        CreateEmbeddingResponse embeddings = proxy.agent("indexer").embeddings().create(EmbeddingCreateParams.builder()
                .model(EmbeddingModel.TEXT_EMBEDDING_3_SMALL)
                .input("refund policy")
                .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT)
                .build());

        assertThat(embeddings.data()).hasSize(1);
        assertThat(embeddings.data().get(0).embedding()).hasSize(8).startsWith(0.5167125f, -0.15179741f);
        assertThat(embeddings.usage().promptTokens()).isEqualTo(4);
    }

    @Test
    void responsesApiPlainAndStreamed() throws Exception {
        provider.enqueue(json(Fixtures.text("response.json")));
        provider.enqueue(sse(Fixtures.text("response_stream.sse")));
        OpenAIClient agent = proxy.agent("planner");
        ResponseCreateParams params = ResponseCreateParams.builder().model(ChatModel.O4_MINI).input("Plan the migration.").build();

        Response plain = agent.responses().create(params);
        List<ResponseStreamEvent> events;
        try (StreamResponse<ResponseStreamEvent> stream = agent.responses().createStreaming(params)) {
            events = stream.stream().collect(Collectors.toList());
        }

        assertThat(plain.model().toString()).contains("o4-mini-2025-04-16");
        assertThat(plain.usage()).hasValueSatisfying(u -> assertThat(u.outputTokensDetails().reasoningTokens()).isPositive());
        assertThat(events.get(0).isCreated()).isTrue();
        ResponseStreamEvent last = events.get(events.size() - 1);
        assertThat(last.isCompleted()).isTrue();
        assertThat(last.asCompleted().response().usage()).isPresent();
        assertThat(provider.takeRequest(5, TimeUnit.SECONDS).getTarget()).isEqualTo("/v1/responses");
    }

    @Test
    void providerConnectionIsReusedAcrossCalls() throws Exception {
        for (int i = 0; i < 3; i++) {
            provider.enqueue(json(Fixtures.text("chat_completion.json")));
        }
        OpenAIClient agent = proxy.agent("research-agent");

        for (int i = 0; i < 3; i++) {
            agent.chat().completions().create(chat(ChatModel.GPT_4O));
        }

        int first = provider.takeRequest(5, TimeUnit.SECONDS).getConnectionIndex();
        assertThat(provider.takeRequest(5, TimeUnit.SECONDS).getConnectionIndex()).isEqualTo(first);
        assertThat(provider.takeRequest(5, TimeUnit.SECONDS).getConnectionIndex()).isEqualTo(first);
    }

    @Test
    void providerErrorsPassThroughUnchanged() throws Exception {
        String error = "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}";
        provider.enqueue(new MockResponse.Builder().code(429).addHeader("Retry-After", "7")
                .addHeader("Content-Type", "application/json").body(error).build());

        HttpResponse<String> response = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[]}"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(429);
        assertThat(response.headers().firstValue("retry-after")).hasValue("7");
        assertThat(response.headers().firstValue("x-tollgate-agent")).hasValue("anonymous");
        assertThat(response.body()).isEqualTo(error);
    }

    @Test
    void modelsListIsForwardedWithItsQuery() throws Exception {
        provider.enqueue(json("{\"object\":\"list\",\"data\":[]}"));

        HttpResponse<String> response = proxy.http().send(
                HttpRequest.newBuilder(proxy.uri("/v1/models?limit=5")).GET().build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
        RecordedRequest seen = provider.takeRequest(5, TimeUnit.SECONDS);
        assertThat(seen.getMethod()).isEqualTo("GET");
        assertThat(seen.getTarget()).isEqualTo("/v1/models?limit=5");
    }

}
