package dev.tollgate.proxy.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.core.http.StreamResponse;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.tollgate.pricing.Usage;
import dev.tollgate.pricing.UsageSource;
import dev.tollgate.proxy.metering.CallRecord;
import dev.tollgate.proxy.mock.MockUpstreamServer;
import dev.tollgate.proxy.testing.FirstEventGate;
import dev.tollgate.proxy.testing.Fixtures;
import dev.tollgate.proxy.testing.DecliningHttp2Provider;
import dev.tollgate.proxy.testing.DecliningHttp2Provider.Refusal;
import dev.tollgate.proxy.testing.Progress;
import dev.tollgate.proxy.testing.ProxyHarness;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.util.NettyRuntime;
import io.netty.util.internal.SystemPropertyUtil;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import mockwebserver3.MockResponse;
import mockwebserver3.MockResponseBody;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import mockwebserver3.SocketEffect;
import okhttp3.Protocol;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import okio.BufferedSink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code upstream.http2: true}: calls travel as streams of shared HTTP/2 connections, metered exactly as
 * over HTTP/1.1; the provider's limit on streams per connection is respected by opening more connections;
 * a provider that does not speak HTTP/2 gets a 502 that says so rather than a hang.
 */
class Http2UpstreamTest {

    private static final String HTTP2 = "\nupstream:\n  base_url: UPSTREAM\n  http2: true\n";
    /** The proxy's event loops, as Netty sizes its default group; each has its own provider connections. */
    private static final int EVENT_LOOPS = Math.max(1,
            SystemPropertyUtil.getInt("io.netty.eventLoopThreads", NettyRuntime.availableProcessors() * 2));

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closing(T resource) {
        toClose.add(resource);
        return resource;
    }

    private MockWebServer priorKnowledgeProvider() throws Exception {
        MockWebServer provider = closing(new MockWebServer());
        provider.setProtocols(List.of(Protocol.H2_PRIOR_KNOWLEDGE));
        provider.start();
        return provider;
    }

    private static ChatCompletionCreateParams chat() {
        return ChatCompletionCreateParams.builder().model(ChatModel.GPT_4O).addUserMessage("Summarise the backlog.").build();
    }

    @Test
    void plainAndStreamedCallsAreMeteredAsOverHttp1() throws Exception {
        MockWebServer provider = priorKnowledgeProvider();
        provider.enqueue(new MockResponse.Builder()
                .addHeader("Content-Type", "application/json").addHeader("x-request-id", "req_h2")
                .body(Fixtures.text("chat_completion.json")).build());
        provider.enqueue(new MockResponse.Builder()
                .addHeader("Content-Type", "text/event-stream; charset=utf-8")
                .body(Fixtures.text("chat_stream.sse")).build());
        ProxyHarness proxy = closing(ProxyHarness.start(provider.url("/v1").toString(), HTTP2));

        var raw = proxy.agent("h2-agent").chat().completions().withRawResponse().create(chat());
        ChatCompletion completion = raw.parse();
        String streamed;
        try (StreamResponse<ChatCompletionChunk> chunks = proxy.agent("h2-agent").chat().completions().createStreaming(chat())) {
            streamed = chunks.stream().flatMap(c -> c.choices().stream())
                    .map(choice -> choice.delta().content().orElse("")).collect(Collectors.joining());
        }

        assertThat(completion.choices().get(0).message().content()).hasValueSatisfying(
                text -> assertThat(text).startsWith("Tollgate forwarded"));
        assertThat(raw.headers().values("x-request-id")).containsExactly("req_h2");
        assertThat(raw.headers().names()).as("HTTP/2 conversion headers stay inside")
                .noneMatch(name -> name.toLowerCase().startsWith("x-http2"));
        assertThat(streamed).startsWith("Tollgate forwarded this call");

        CallRecord plain = proxy.nextCall();
        assertThat(plain.usage()).isEqualTo(new Usage(20, 0, 15, 0));
        assertThat(plain.usageSource()).isEqualTo(UsageSource.REPORTED);
        assertThat(plain.cost().value()).isPositive();
        CallRecord stream = proxy.nextCall();
        assertThat(stream.streamed()).isTrue();
        assertThat(stream.usage()).isEqualTo(new Usage(14, 0, 21, 0));
        assertThat(stream.cost().value()).isPositive();

        RecordedRequest first = provider.takeRequest(5, TimeUnit.SECONDS);
        RecordedRequest second = provider.takeRequest(5, TimeUnit.SECONDS);
        assertThat(first.getVersion()).isEqualTo("HTTP/2");
        assertThat(first.getTarget()).isEqualTo("/v1/chat/completions");
        assertThat(first.getHeaders().get("X-Agent-Id")).isNull();
        assertThat(second.getVersion()).isEqualTo("HTTP/2");
        assertThat(second.getBody().utf8()).as("include_usage injected as over HTTP/1.1").contains("\"include_usage\":true");
    }

    /**
     * As over HTTP/1.1 (StreamingTest): what a read brought is flushed when the read ends, so a stream's head
     * reaches the agent before the provider sends the first event.
     */
    @Test
    void theHeadOfAStreamReachesTheAgentBeforeItsFirstEvent() throws Exception {
        FirstEventGate gate = new FirstEventGate();
        MockWebServer provider = priorKnowledgeProvider();
        provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "text/event-stream")
                .body(new MockResponseBody() {
                    @Override
                    public long getContentLength() {
                        return -1;
                    }

                    @Override
                    public void writeTo(BufferedSink sink) throws IOException {
                        // mockwebserver sends an HTTP/2 head only with the first body bytes: a comment, as
                        // providers send to keep a stream alive, goes with it before the wait for the first event.
                        sink.writeUtf8(": waiting for the model\n\n");
                        sink.flush();
                        gate.awaitAgentSawHead();
                        sink.writeUtf8("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"first\"}}]}\n\ndata: [DONE]\n\n");
                        sink.flush();
                    }
                }).removeHeader("Content-Length").build());
        ProxyHarness proxy = closing(ProxyHarness.start(provider.url("/v1").toString(), HTTP2));

        gate.callAndCheck(proxy, "h2-agent");
    }

    @Test
    void aStalledAgentHoldsBackItsOwnStreamOnly() throws Exception {
        long total = 64L * 1024 * 1024;
        AtomicLong providerWrote = new AtomicLong();
        MockWebServer provider = priorKnowledgeProvider();
        provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "application/octet-stream")
                .body(new MockResponseBody() {
                    @Override
                    public long getContentLength() {
                        return total;
                    }

                    @Override
                    public void writeTo(BufferedSink sink) throws IOException {
                        byte[] piece = new byte[16 * 1024];
                        for (long sent = 0; sent < total; sent += piece.length) {
                            sink.write(piece);
                            sink.flush();
                            providerWrote.addAndGet(piece.length);
                        }
                    }
                }).build());
        for (int i = 0; i < EVENT_LOOPS; i++) {
            provider.enqueue(new MockResponse.Builder().body("{\"object\":\"list\",\"data\":[]}").build());
        }
        ProxyHarness proxy = closing(ProxyHarness.start(provider.url("/v1").toString(), HTTP2));
        int port = proxy.server().address().getPort();

        try (Socket stalled = new Socket("127.0.0.1", port)) {
            stalled.setReceiveBufferSize(64 * 1024);
            stalled.getOutputStream().write("GET /v1/files/big/content HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            long stalledAt = Progress.waitUntilStable(providerWrote);
            assertThat(stalledAt).as("bytes the provider could send to a stalled agent").isLessThan(total / 8);

            // Agent connections are spread over the event loops in turn, and each loop has its own provider
            // connection: one of as many consecutive agents as there are loops shares the stalled stream's.
            for (int i = 0; i < EVENT_LOOPS; i++) {
                try (Socket other = new Socket("127.0.0.1", port)) {
                    other.setSoTimeout(10_000);
                    other.getOutputStream().write("GET /v1/models HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    String answer = new String(other.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
                    assertThat(answer).startsWith("HTTP/1.1 200 ").endsWith("{\"object\":\"list\",\"data\":[]}");
                }
            }

            // Reading again resumes the provider. (Only a few MB: mockwebserver writes without TCP_NODELAY,
            // so each 64 KiB stream window costs it a delayed ACK, about 40 ms, on loopback.)
            InputStream in = stalled.getInputStream();
            byte[] buffer = new byte[256 * 1024];
            long read = 0;
            while (providerWrote.get() < stalledAt + 2 * 1024 * 1024 && read < total) {
                int n = in.read(buffer);
                assertThat(n).as("the stalled call's stream goes on").isPositive();
                read += n;
            }
            assertThat(providerWrote.get()).isGreaterThanOrEqualTo(stalledAt + 2 * 1024 * 1024);
        }
    }

    @Test
    void callsBeyondTheProvidersStreamLimitOpenMoreConnections() throws Exception {
        // Two streams per connection, 20 events 100 ms apart, and more calls at once than twice the event
        // loops: even if every loop had its own connection, those could not carry them all.
        int agentCount = 2 * EVENT_LOOPS + 2;
        MockUpstreamServer provider = closing(MockUpstreamServer.start("127.0.0.1", 0, 0, 100, 2));
        ProxyHarness proxy = closing(ProxyHarness.start(provider.baseUrl(), HTTP2));
        ExecutorService agents = Executors.newFixedThreadPool(agentCount);
        try {
            List<Future<String>> texts = new ArrayList<>();
            for (int i = 0; i < agentCount; i++) {
                var client = proxy.agent("agent-" + i);
                texts.add(agents.submit(() -> {
                    try (StreamResponse<ChatCompletionChunk> chunks = client.chat().completions().createStreaming(chat())) {
                        return chunks.stream().flatMap(c -> c.choices().stream())
                                .map(choice -> choice.delta().content().orElse("")).collect(Collectors.joining());
                    }
                }));
            }
            for (Future<String> text : texts) {
                assertThat(text.get(30, TimeUnit.SECONDS)).startsWith("Tollgate forwarded");
            }
        } finally {
            agents.shutdownNow();
        }

        List<CallRecord> calls = proxy.drainCallsAfter(agentCount);
        assertThat(calls).allSatisfy(call -> {
            assertThat(call.status()).isEqualTo(200);
            assertThat(call.usage().outputTokens()).isPositive();
        });
        assertThat(provider.connectionsAccepted()).as("connections the provider saw").isGreaterThan(EVENT_LOOPS);
    }

    @Test
    void aProviderWithoutHttp2GetsA502ThatSaysSo() throws Exception {
        // An HTTP/1.1-only server answers the HTTP/2 preface as a malformed request, then hangs up.
        try (ServerSocket http1Only = new ServerSocket(0)) {
            Thread server = new Thread(() -> {
                while (!http1Only.isClosed()) {
                    try (Socket socket = http1Only.accept()) {
                        socket.getInputStream().read(new byte[1024]);
                        OutputStream out = socket.getOutputStream();
                        out.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                                .getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    } catch (Exception closed) {
                        return;
                    }
                }
            });
            server.setDaemon(true);
            server.start();
            ProxyHarness proxy = closing(ProxyHarness.start("http://127.0.0.1:" + http1Only.getLocalPort() + "/v1", HTTP2));

            HttpResponse<String> response = post(proxy);

            assertThat(response.statusCode()).isEqualTo(502);
            assertThat(response.body()).contains("upstream_unavailable").contains("HTTP/2");
        }
    }

    /** The recorded chat completion, as the provider's answer. */
    private static MockResponse chatCompletion() {
        return new MockResponse.Builder().addHeader("Content-Type", "application/json")
                .body(Fixtures.text("chat_completion.json")).build();
    }

    private static HttpResponse<String> post(ProxyHarness proxy) throws Exception {
        return post(proxy, "{\"model\":\"gpt-4o\",\"messages\":[]}");
    }

    /** A chat completion request with {@code body}, by the JDK's client, as agent h2-agent. */
    private static HttpResponse<String> post(ProxyHarness proxy, String body) throws Exception {
        return proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                .header("Content-Type", "application/json").header("X-Agent-Id", "h2-agent")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aStreamTheProviderResetsBeforeAnsweringIsA502() throws Exception {
        MockWebServer provider = priorKnowledgeProvider();
        provider.enqueue(new MockResponse.Builder().onResponseStart(new SocketEffect.CloseStream(2)).build());
        provider.enqueue(chatCompletion());
        ProxyHarness proxy = closing(ProxyHarness.start(provider.url("/v1").toString(), HTTP2));

        HttpResponse<String> reset = post(proxy);
        ChatCompletion next = proxy.agent("after-reset").chat().completions().create(chat());

        assertThat(reset.statusCode()).isEqualTo(502);
        assertThat(reset.body()).contains("reset the stream (INTERNAL_ERROR)");
        assertThat(provider.getRequestCount()).as("a stream the provider may have processed is not sent again").isEqualTo(2);
        assertThat(next.usage()).hasValueSatisfying(usage -> assertThat(usage.totalTokens()).isEqualTo(35));
    }

    @Test
    void aStreamTheProviderRefusedUnprocessedIsSentOnceMore() throws Exception {
        MockWebServer provider = priorKnowledgeProvider();
        provider.enqueue(new MockResponse.Builder().onResponseStart(new SocketEffect.CloseStream(7)).build());
        provider.enqueue(chatCompletion());
        ProxyHarness proxy = closing(ProxyHarness.start(provider.url("/v1").toString(), HTTP2));

        HttpResponse<String> answered = post(proxy);

        assertThat(answered.statusCode()).isEqualTo(200);
        assertThat(answered.body()).contains("Tollgate forwarded");
        RecordedRequest refused = provider.takeRequest(5, TimeUnit.SECONDS);
        RecordedRequest replayed = provider.takeRequest(5, TimeUnit.SECONDS);
        assertThat(replayed.getBody()).isEqualTo(refused.getBody());
        assertThat(replayed.getTarget()).isEqualTo("/v1/chat/completions");
        CallRecord call = proxy.nextCall();
        assertThat(call.status()).isEqualTo(200);
        assertThat(call.usage()).isEqualTo(new Usage(20, 0, 15, 0));
        assertThat(proxy.drainCalls()).as("one call, one ledger row").isEmpty();
    }

    @Test
    void aStreamPastAGoAwaysLastStreamIsSentOnAnotherConnection() throws Exception {
        DecliningHttp2Provider provider = closing(new DecliningHttp2Provider(Refusal.GOAWAY, Fixtures.text("chat_completion.json")));
        ProxyHarness proxy = closing(ProxyHarness.start(provider.baseUrl(), HTTP2));

        HttpResponse<String> answered = post(proxy);
        HttpResponse<String> next = post(proxy);

        assertThat(answered.statusCode()).isEqualTo(200);
        assertThat(answered.body()).contains("Tollgate forwarded");
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(provider.answered()).isEqualTo(2);
        assertThat(provider.streamsOnFirstConnection()).as("the connection that went away took no more streams").isEqualTo(1);
        Thread.sleep(300);
        assertThat(provider.resetsReceived()).as("streams that both sides finished are not reset").isZero();
        assertThat(proxy.drainCallsAfter(2)).allSatisfy(call -> assertThat(call.usage()).isEqualTo(new Usage(20, 0, 15, 0)));
    }

    @Test
    void aRefusedStreamWithALargeBodyStillInFlightIsSentOnceMore() throws Exception {
        // Refused before the provider reads the body: the 300 KB that HTTP/2's 64 KiB window held back fail
        // with the stream, and that failure must not turn the replay into a 502.
        DecliningHttp2Provider provider = closing(new DecliningHttp2Provider(Refusal.REFUSED_STREAM, Fixtures.text("chat_completion.json")));
        ProxyHarness proxy = closing(ProxyHarness.start(provider.baseUrl(), HTTP2));
        String prompt = "x".repeat(300_000);

        HttpResponse<String> answered = post(proxy,
                "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}");

        assertThat(answered.statusCode()).as(answered.body()).isEqualTo(200);
        assertThat(provider.answeredRequestBodies()).singleElement().asString().contains(prompt);
        assertThat(proxy.nextCall().status()).isEqualTo(200);
        assertThat(proxy.drainCalls()).as("one call, one ledger row").isEmpty();
        Thread.sleep(300);
        assertThat(provider.resetsReceived()).as("a reset is not answered with a reset (RFC 9113 5.4.2)").isZero();
    }

    @Test
    void aProviderThatRefusesTwiceGetsTheAgentA502() throws Exception {
        MockWebServer provider = priorKnowledgeProvider();
        for (int i = 0; i < 3; i++) {
            provider.enqueue(new MockResponse.Builder().onResponseStart(new SocketEffect.CloseStream(7)).build());
        }
        ProxyHarness proxy = closing(ProxyHarness.start(provider.url("/v1").toString(), HTTP2));

        HttpResponse<String> refused = post(proxy);

        assertThat(refused.statusCode()).isEqualTo(502);
        assertThat(refused.body()).contains("reset the stream (REFUSED_STREAM)");
        assertThat(proxy.nextCall().status()).isEqualTo(502);
        assertThat(provider.getRequestCount()).as("sent once more, not again and again").isEqualTo(2);
    }

    @Test
    void overTlsTheProviderMustAgreeToHttp2ByAlpn() throws Exception {
        HeldCertificate authority = new HeldCertificate.Builder().certificateAuthority(0).build();
        HeldCertificate certificate = new HeldCertificate.Builder().addSubjectAlternativeName("localhost").signedBy(authority).build();
        SslContext offeringH2 = SslContextBuilder.forClient().trustManager(authority.certificate())
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2))
                .build();
        var serverTls = new HandshakeCertificates.Builder().heldCertificate(certificate).build().sslSocketFactory();

        MockWebServer h2 = closing(new MockWebServer());
        h2.useHttps(serverTls);
        h2.setProtocols(List.of(Protocol.HTTP_2, Protocol.HTTP_1_1));
        h2.start();
        h2.enqueue(new MockResponse.Builder().body("{\"object\":\"list\",\"data\":[]}").build());
        ProxyHarness toH2 = closing(ProxyHarness.start("https://localhost:" + h2.getPort() + "/v1", HTTP2, offeringH2));
        HttpResponse<String> models = toH2.http().send(HttpRequest.newBuilder(toH2.uri("/v1/models")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(models.statusCode()).isEqualTo(200);
        assertThat(h2.takeRequest(5, TimeUnit.SECONDS).getVersion()).isEqualTo("HTTP/2");

        MockWebServer http1 = closing(new MockWebServer());
        http1.useHttps(serverTls);
        http1.setProtocols(List.of(Protocol.HTTP_1_1));
        http1.start();
        ProxyHarness toHttp1 = closing(ProxyHarness.start("https://localhost:" + http1.getPort() + "/v1", HTTP2, offeringH2));
        HttpResponse<String> refused = toHttp1.http().send(HttpRequest.newBuilder(toHttp1.uri("/v1/models")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(refused.statusCode()).isEqualTo(502);
        assertThat(refused.body()).contains("did not agree to HTTP/2");
    }
}
