package dev.tollgate.proxy.metering;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.core.http.StreamResponse;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.tollgate.pricing.PriceTable;
import dev.tollgate.pricing.TokenCounter;
import dev.tollgate.pricing.Usage;
import dev.tollgate.pricing.UsageSource;
import dev.tollgate.proxy.mock.MockUpstreamServer;
import dev.tollgate.proxy.testing.Fixtures;
import dev.tollgate.proxy.testing.ProxyHarness;
import dev.tollgate.proxy.testing.RawHttp;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import mockwebserver3.MockResponse;
import mockwebserver3.MockResponseBody;
import mockwebserver3.MockWebServer;
import okio.BufferedSink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every call through the running proxy ends as one record with the right tokens, source and exact cost. */
class MeteringTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final PriceTable PRICES = PriceTable.bundled();
    private static final TokenCounter TOKENS = new TokenCounter();

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

    private static long cost(String model, Usage usage) {
        return PRICES.resolve(model).orElseThrow().price().cost(usage).value();
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return proxy.http().send(HttpRequest.newBuilder(proxy.uri(path))
                        .header("Content-Type", "application/json")
                        .header("X-Agent-Id", "research-agent").header("X-Intent-Id", "ticket-42")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void streamWithoutIncludeUsageSeesNoUsageAndIsMeteredWithReportedUsage() throws Exception {
        try (MockUpstreamServer mock = MockUpstreamServer.start("127.0.0.1", 0, 0, 0);
                ProxyHarness toMock = ProxyHarness.start(mock.baseUrl(), "")) {
            ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
                    .model(ChatModel.GPT_4O_MINI).addUserMessage("Summarise the ticket backlog.").build();

            List<ChatCompletionChunk> chunks;
            try (StreamResponse<ChatCompletionChunk> stream = toMock.agent("streamer").chat().completions().createStreaming(params)) {
                chunks = stream.stream().collect(Collectors.toList());
            }

            assertThat(chunks).isNotEmpty().allSatisfy(chunk -> {
                assertThat(chunk.choices()).isNotEmpty();
                assertThat(chunk._usage().isMissing()).as("no usage field at all").isTrue();
            });
            CallRecord call = toMock.nextCall();
            assertThat(call.usageSource()).isEqualTo(UsageSource.REPORTED);
            assertThat(call.streamed()).isTrue();
            assertThat(call.model()).isEqualTo("gpt-4o-mini-2024-07-18");
            assertThat(call.usage().outputTokens()).isEqualTo(chunks.size() - 2);
            assertThat(call.usage().inputTokens()).isPositive();
            assertThat(call.cost().value()).isEqualTo(cost("gpt-4o-mini", call.usage())).isPositive();
            assertThat(call.agent()).isEqualTo("streamer");
            assertThat(call.intent()).isEqualTo("int_streamer");
            assertThat(call.endpoint()).isEqualTo("/v1/chat/completions");
            assertThat(call.status()).isEqualTo(200);
        }
    }

    @Test
    void injectedUsageIsRemovedExactlyFromWhatTheAgentReceives() throws Exception {
        String providerStream = Fixtures.text("chat_stream.sse");
        provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "text/event-stream")
                .chunkedBody(providerStream, 113).build());

        HttpResponse<String> response = post("/v1/chat/completions",
                "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

        String sentUpstream = provider.takeRequest(5, TimeUnit.SECONDS).getBody().utf8();
        assertThat(JSON.readTree(sentUpstream).path("stream_options").path("include_usage").asBoolean()).isTrue();
        String expected = providerStream.replace(",\"usage\":null", "")
                .replaceAll("data: \\{[^\\n]*\"choices\":\\[\\],\"usage\":\\{[^\\n]*\\n\\n", "");
        assertThat(response.body()).isEqualTo(expected).doesNotContain("\"usage\"");
        CallRecord call = proxy.nextCall();
        assertThat(call.usage()).isEqualTo(new Usage(14, 0, 21, 0));
        assertThat(call.usageSource()).isEqualTo(UsageSource.REPORTED);
    }

    @Test
    void plainCallIsChargedItsReportedUsageIncludingCachedAndReasoningTokens() throws Exception {
        provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "application/json")
                .body(Fixtures.text("chat_completion_cached_reasoning.json")).build());

        ChatCompletion completion = proxy.agent("reasoner").chat().completions().create(ChatCompletionCreateParams.builder()
                .model(ChatModel.O3).addUserMessage("long prompt").build());

        CallRecord call = proxy.nextCall();
        assertThat(completion.model()).isEqualTo("o3-2025-04-16");
        assertThat(call.usage()).isEqualTo(new Usage(6256, 3072, 76, 64));
        // (6256 - 3072) x $2.00 + 3072 x $0.50 + 76 x $8.00 per million tokens.
        assertThat(call.cost().value()).isEqualTo(3184L * 2000 + 3072L * 500 + 76L * 8000);
        assertThat(call.streamed()).isFalse();
    }

    @Test
    void responseWithoutUsageIsCountedWithTheChatFormula() throws Exception {
        String noUsage = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-2024-08-06\","
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Things working well together"
                + " will increase revenue.\"},\"finish_reason\":\"stop\"}]}";
        provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "application/json").body(noUsage).build());
        String request = "{\"model\":\"gpt-4o\",\"messages\":["
                + "{\"role\":\"system\",\"content\":\"You are a helpful, pattern-following assistant that translates corporate jargon into plain English.\"},"
                + "{\"role\":\"system\",\"name\":\"example_user\",\"content\":\"New synergies will help drive top-line growth.\"},"
                + "{\"role\":\"system\",\"name\":\"example_assistant\",\"content\":\"Things working well together will increase revenue.\"},"
                + "{\"role\":\"system\",\"name\":\"example_user\",\"content\":\"Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.\"},"
                + "{\"role\":\"system\",\"name\":\"example_assistant\",\"content\":\"Let's talk later when we're less busy about how to do better.\"},"
                + "{\"role\":\"user\",\"content\":\"This late pivot means we don't have time to boil the ocean for the client deliverable.\"}]}";

        assertThat(post("/v1/chat/completions", request).statusCode()).isEqualTo(200);

        CallRecord call = proxy.nextCall();
        assertThat(call.usageSource()).isEqualTo(UsageSource.COUNTED);
        assertThat(call.usage().inputTokens()).as("OpenAI reports 124 for this prompt on gpt-4o").isEqualTo(124);
        assertThat(call.usage().outputTokens())
                .isEqualTo(TOKENS.countText("gpt-4o", "Things working well together will increase revenue."));
        assertThat(call.cost().value()).isEqualTo(cost("gpt-4o", call.usage()));
    }

    /** Streams chunks until the agent goes away. */
    private static final class EndlessChunks implements MockResponseBody {
        @Override
        public long getContentLength() {
            return -1;
        }

        @Override
        public void writeTo(BufferedSink sink) throws IOException {
            for (int i = 0; i < 2_000; i++) {
                String event = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\","
                        + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" word" + i + "\"},\"finish_reason\":null}]}\n\n";
                byte[] bytes = event.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                sink.writeUtf8(Integer.toHexString(bytes.length)).writeUtf8("\r\n").write(bytes).writeUtf8("\r\n");
                sink.flush();
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    @Test
    void anAbortedStreamIsChargedItsPromptPlusTheOutputStreamedSoFar() throws Exception {
        provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "text/event-stream")
                .body(new EndlessChunks()).removeHeader("Content-Length").addHeader("Transfer-Encoding", "chunked").build());
        String request = "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Count for ever.\"}]}";

        String received;
        try (RawHttp agent = new RawHttp(proxy.server().address().getPort())) {
            agent.post("/v1/chat/completions", request, "X-Agent-Id: looper");
            received = agent.readUntil("word5\"");
        }

        CallRecord call = proxy.nextCall();
        assertThat(call.usageSource()).isEqualTo(UsageSource.COUNTED);
        assertThat(call.status()).isEqualTo(200);
        assertThat(call.usage().inputTokens()).isEqualTo(TOKENS.countChatPrompt("gpt-4o", JSON.readTree(request)));
        String agentText = java.util.regex.Pattern.compile("\"content\":\"([^\"]*)\"").matcher(received).results()
                .map(m -> m.group(1)).collect(Collectors.joining());
        assertThat(call.usage().outputTokens()).isGreaterThanOrEqualTo(TOKENS.countText("gpt-4o", agentText)).isPositive();
        assertThat(call.cost().value()).isEqualTo(cost("gpt-4o", call.usage()));
    }

    @Test
    void meteredCallsAskTheProviderForUncompressedBodies() throws Exception {
        provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "application/json")
                .body(Fixtures.text("chat_completion.json")).build());
        provider.enqueue(new MockResponse.Builder().body("{}").build());

        proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions")).header("Accept-Encoding", "gzip, br")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/files")).header("Accept-Encoding", "gzip").build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(provider.takeRequest(5, TimeUnit.SECONDS).getHeaders().get("Accept-Encoding")).isEqualTo("identity");
        assertThat(provider.takeRequest(5, TimeUnit.SECONDS).getHeaders().get("Accept-Encoding")).isEqualTo("gzip");
        assertThat(proxy.nextCall().usageSource()).isEqualTo(UsageSource.REPORTED);
    }

    @Test
    void aCompressedResponseIsCountedInsteadOfMisread() throws Exception {
        okio.Buffer gzipped = new okio.Buffer();
        try (okio.BufferedSink sink = okio.Okio.buffer(new okio.GzipSink(gzipped))) {
            sink.writeUtf8(Fixtures.text("chat_completion.json"));
        }
        provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "application/json")
                .addHeader("Content-Encoding", "gzip").body(gzipped).build());

        HttpResponse<byte[]> response = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .build(), HttpResponse.BodyHandlers.ofByteArray());

        assertThat(response.headers().firstValue("content-encoding")).hasValue("gzip");
        CallRecord call = proxy.nextCall();
        assertThat(call.usageSource()).isEqualTo(UsageSource.COUNTED);
        assertThat(call.usage().inputTokens()).isEqualTo(TOKENS.countChatPrompt("gpt-4o",
                JSON.readTree("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")));
    }

    @Test
    void anAgentLeavingARewrittenStreamMidEventIsStillRecordedAndCancelsTheProvider() throws Exception {
        java.util.concurrent.CountDownLatch providerSawClose = new java.util.concurrent.CountDownLatch(1);
        String event = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"},\"finish_reason\":null}],\"usage\":null}\n\n";
        provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "text/event-stream")
                .body(new MockResponseBody() {
                    @Override
                    public long getContentLength() {
                        return -1;
                    }

                    @Override
                    public void writeTo(BufferedSink sink) throws IOException {
                        // A whole event, then half of the next one, then silence until the agent goes away.
                        String half = event.substring(0, 40);
                        for (String piece : new String[] {event, half}) {
                            byte[] bytes = piece.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                            sink.writeUtf8(Integer.toHexString(bytes.length)).writeUtf8("\r\n").write(bytes).writeUtf8("\r\n");
                            sink.flush();
                        }
                        try {
                            for (int i = 0; i < 500; i++) {
                                Thread.sleep(20);
                                sink.writeUtf8("1\r\n \r\n");
                                sink.flush();
                            }
                        } catch (IOException e) {
                            providerSawClose.countDown();
                            throw e;
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                })
                .removeHeader("Content-Length").addHeader("Transfer-Encoding", "chunked").build());

        try (RawHttp agent = new RawHttp(proxy.server().address().getPort())) {
            agent.post("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                    "X-Agent-Id: leaver");
            assertThat(agent.readUntil("hello")).doesNotContain("\"usage\"");
        }

        CallRecord call = proxy.nextCall();
        assertThat(call.usageSource()).isEqualTo(UsageSource.COUNTED);
        assertThat(call.usage().outputTokens()).isEqualTo(TOKENS.countText("gpt-4o", "hello"));
        assertThat(providerSawClose.await(10, TimeUnit.SECONDS)).as("the provider call was cancelled").isTrue();
    }

    @Test
    void unpricedModelIsRefusedBeforeForwarding() throws Exception {
        HttpResponse<String> response = post("/v1/chat/completions", "{\"model\":\"my-finetune\",\"messages\":[]}");

        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(response.body()).path("error").path("code").asText()).isEqualTo("unpriced_model");
        assertThat(response.body()).contains("my-finetune").contains("pricing.file");
        assertThat(provider.getRequestCount()).isZero();
    }

    @Test
    void unpricedModelIsMeteredAtZeroWhenAllowed() throws Exception {
        try (ProxyHarness allowing = ProxyHarness.start(provider.url("/v1").toString(), "pricing:\n  unknown_model: allow\n")) {
            provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "application/json").body(
                    "{\"model\":\"my-finetune\",\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}").build());

            HttpResponse<String> response = allowing.http().send(HttpRequest.newBuilder(allowing.uri("/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"my-finetune\",\"messages\":[]}")).build(),
                    HttpResponse.BodyHandlers.ofString());

            assertThat(response.statusCode()).isEqualTo(200);
            CallRecord call = allowing.nextCall();
            assertThat(call.unpriced()).isTrue();
            assertThat(call.cost().value()).isZero();
            assertThat(call.usage()).isEqualTo(new Usage(10, 0, 5, 0));
            allowing.server().ledger().flush(5, TimeUnit.SECONDS);
            try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + allowing.server().ledger().path());
                    var rs = c.createStatement().executeQuery("SELECT kind, detail FROM events")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("unpriced_model");
                assertThat(rs.getString(2)).contains("\"model\":\"my-finetune\"").contains("\"policy\":\"allow\"");
            }
        }
    }

    @Test
    void unmeteredEndpointsErrorsAndUnreachableProvidersAreRecordedAtZero() throws Exception {
        provider.enqueue(new MockResponse.Builder().body("{\"object\":\"list\",\"data\":[]}").build());
        provider.enqueue(new MockResponse.Builder().code(429).body("{\"error\":{\"message\":\"slow down\"}}").build());

        proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/models")).build(), HttpResponse.BodyHandlers.ofString());
        post("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"messages\":[]}");

        CallRecord models = proxy.nextCall();
        CallRecord limited = proxy.nextCall();
        assertThat(models.endpoint()).isEqualTo("/v1/models");
        assertThat(models.usageSource()).isEqualTo(UsageSource.NONE);
        assertThat(limited.status()).isEqualTo(429);
        assertThat(limited.usageSource()).isEqualTo(UsageSource.NONE);
        assertThat(limited.cost().value()).isZero();
        assertThat(limited.model()).isEqualTo("gpt-4o");
    }
}
