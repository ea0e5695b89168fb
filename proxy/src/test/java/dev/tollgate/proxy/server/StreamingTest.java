package dev.tollgate.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.core.http.StreamResponse;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.tollgate.proxy.testing.FirstEventGate;
import dev.tollgate.proxy.testing.ProxyHarness;
import dev.tollgate.proxy.testing.RawHttp;
import dev.tollgate.proxy.testing.ResettingProvider;
import java.io.IOException;
import java.util.Iterator;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import mockwebserver3.MockResponse;
import mockwebserver3.MockResponseBody;
import mockwebserver3.MockWebServer;
import okio.BufferedSink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Streams are relayed as they arrive, and a stream that breaks on either side ends at once on the
 * other: a provider reset closes the agent's connection, an agent hang-up closes the provider's.
 */
class StreamingTest {

    private static final String CHUNK = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
            + "\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},"
            + "\"logprobs\":null,\"finish_reason\":null}]}\n\n";

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

    /** A chunked event stream whose body the test writes itself, chunk by chunk. */
    private static MockResponse sse(MockResponseBody body) {
        return new MockResponse.Builder()
                .addHeader("Content-Type", "text/event-stream")
                .body(body)
                .removeHeader("Content-Length")
                .addHeader("Transfer-Encoding", "chunked")
                .build();
    }

    /** Writes one HTTP/1.1 chunk carrying {@code text}. */
    private static void chunk(BufferedSink sink, String text) throws IOException {
        byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        sink.writeUtf8(Integer.toHexString(bytes.length)).writeUtf8("\r\n").write(bytes).writeUtf8("\r\n");
    }

    /** A provider that sends one event, waits for the test's go-ahead, then sends the rest. */
    private static final class GatedStream implements MockResponseBody {
        final CountDownLatch agentSawFirst = new CountDownLatch(1);
        final AtomicBoolean sentLast = new AtomicBoolean();

        @Override
        public long getContentLength() {
            return -1;
        }

        @Override
        public void writeTo(BufferedSink sink) throws IOException {
            chunk(sink, String.format(CHUNK, "first"));
            sink.flush();
            try {
                agentSawFirst.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            chunk(sink, String.format(CHUNK, " second"));
            chunk(sink, String.format(CHUNK, " last"));
            chunk(sink, "data: [DONE]\n\n");
            sink.writeUtf8("0\r\n\r\n");
            sink.flush();
            sentLast.set(true);
        }
    }

    @Test
    void agentReceivesTheFirstEventBeforeTheProviderSendsTheLast() {
        GatedStream stream = new GatedStream();
        provider.enqueue(sse(stream));
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
                .model(ChatModel.GPT_4O).addUserMessage("go").build();

        StringBuilder text = new StringBuilder();
        boolean lastSentWhenFirstArrived;
        try (StreamResponse<ChatCompletionChunk> chunks = proxy.agent("streamer").chat().completions().createStreaming(params)) {
            Iterator<ChatCompletionChunk> it = chunks.stream().iterator();
            text.append(it.next().choices().get(0).delta().content().orElseThrow());
            lastSentWhenFirstArrived = stream.sentLast.get();
            stream.agentSawFirst.countDown();
            it.forEachRemaining(c -> text.append(c.choices().get(0).delta().content().orElse("")));
        }

        assertThat(lastSentWhenFirstArrived).as("the provider had sent its last event when the first arrived").isFalse();
        assertThat(text.toString()).isEqualTo("first second last");
    }

    /**
     * A response head is written with the body that came in the same read, but a head that came alone
     * (a provider that answers before its model produced the first event) reaches the agent at once.
     */
    @Test
    void agentReceivesTheHeadBeforeTheProviderSendsTheFirstEvent() throws Exception {
        FirstEventGate gate = new FirstEventGate();
        provider.enqueue(sse(new MockResponseBody() {
            @Override
            public long getContentLength() {
                return -1;
            }

            @Override
            public void writeTo(BufferedSink sink) throws IOException {
                sink.flush(); // the head, alone
                gate.awaitAgentSawHead();
                chunk(sink, String.format(CHUNK, "first"));
                chunk(sink, "data: [DONE]\n\n");
                sink.writeUtf8("0\r\n\r\n");
                sink.flush();
            }
        }));

        gate.callAndCheck(proxy, "streamer");
    }

    @Test
    void providerResetMidStreamClosesTheAgentConnection() throws Exception {
        try (ResettingProvider crashing = new ResettingProvider(String.format(CHUNK, "partial"));
                ProxyHarness proxyToCrashing = ProxyHarness.start(crashing.baseUrl(), "");
                RawHttp agent = new RawHttp(proxyToCrashing.server().address().getPort())) {
            agent.post("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"stream\":true}", "X-Agent-Id: a");
            agent.readUntil("partial");
            String end = agent.readToEnd(5_000);

            assertThat(end).as("how the agent's connection ended").isIn("eof", "reset");
            // The agent must see a broken stream, not a complete one: no terminating zero-length chunk.
            assertThat(agent.text()).doesNotContain("\r\n0\r\n\r\n");
        }
    }

    /** A provider that streams until its write fails, and records that its connection was closed. */
    private static final class EndlessStream implements MockResponseBody {
        final CountDownLatch connectionClosed = new CountDownLatch(1);
        final AtomicInteger sent = new AtomicInteger();

        @Override
        public long getContentLength() {
            return -1;
        }

        @Override
        public void writeTo(BufferedSink sink) throws IOException {
            try {
                while (sent.get() < 1_000) {
                    chunk(sink, String.format(CHUNK, "tick" + sent.incrementAndGet()));
                    sink.flush();
                    Thread.sleep(20);
                }
            } catch (IOException e) {
                connectionClosed.countDown();
                throw e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Test
    void agentDisconnectMidStreamClosesTheProviderConnection() throws Exception {
        EndlessStream stream = new EndlessStream();
        provider.enqueue(sse(stream));
        provider.enqueue(new MockResponse.Builder().body("{\"object\":\"list\",\"data\":[]}").build());

        try (RawHttp agent = new RawHttp(proxy.server().address().getPort())) {
            agent.post("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"stream\":true}", "X-Agent-Id: a");
            agent.readUntil("tick2");
        }

        assertThat(stream.connectionClosed.await(10, TimeUnit.SECONDS))
                .as("the provider saw its connection closed after the agent hung up").isTrue();
        assertThat(stream.sent.get()).isLessThan(1_000);
        // The cancelled connection is never reused: the next call opens a new one.
        var next = proxy.http().send(java.net.http.HttpRequest.newBuilder(proxy.uri("/v1/models")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(next.statusCode()).isEqualTo(200);
        int cancelled = provider.takeRequest(5, TimeUnit.SECONDS).getConnectionIndex();
        assertThat(provider.takeRequest(5, TimeUnit.SECONDS).getConnectionIndex()).isNotEqualTo(cancelled);
    }
}
