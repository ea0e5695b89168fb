package dev.tollgate.proxy.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.tollgate.proxy.testing.Fixtures;
import dev.tollgate.proxy.testing.ProxyHarness;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.StacklessClosedChannelException;
import io.netty.channel.pool.SimpleChannelPool;
import io.netty.util.concurrent.Future;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicInteger;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A provider connection that closes before a call could use it (Netty's pool hands back "channel closed")
 * carried nothing, so the call takes another connection instead of getting the agent a 502; once only, so a
 * pool that fails every time still answers at once.
 */
class ConnectionClosedBeforeUseTest {

    private final MockWebServer provider = new MockWebServer();
    private ProxyHarness proxy;
    private ClosedBeforeUse connections;

    @BeforeEach
    void start() throws Exception {
        provider.start();
    }

    @AfterEach
    void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        provider.close();
    }

    private void startProxy(int closedAcquisitions) throws Exception {
        proxy = ProxyHarness.start(provider.url("/v1").toString(), "", null, real -> {
            connections = new ClosedBeforeUse(real, closedAcquisitions);
            return connections;
        });
    }

    @Test
    void aConnectionClosedBeforeUseIsReplacedAndTheCallSucceeds() throws Exception {
        provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "application/json")
                .body(Fixtures.text("chat_completion.json")).build());
        startProxy(1);

        ChatCompletion completion = proxy.agent("closed-conn").chat().completions().create(ChatCompletionCreateParams.builder()
                .model(ChatModel.GPT_4O).addUserMessage("Summarise the backlog.").build());

        assertThat(completion.choices().get(0).message().content()).hasValueSatisfying(
                text -> assertThat(text).startsWith("Tollgate forwarded"));
        assertThat(connections.acquired()).as("the closed connection, then a good one").isEqualTo(2);
        assertThat(provider.getRequestCount()).as("the provider got the call once").isEqualTo(1);
        assertThat(proxy.nextCall().status()).isEqualTo(200);
        assertThat(proxy.drainCalls()).as("one call, one ledger row").isEmpty();
    }

    @Test
    void connectionsThatAlwaysCloseGetTheAgentA502AfterOneMoreTry() throws Exception {
        startProxy(Integer.MAX_VALUE);

        HttpResponse<String> failed = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                .header("Content-Type", "application/json").header("X-Agent-Id", "closed-conn")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[]}"))
                .build(), HttpResponse.BodyHandlers.ofString());

        assertThat(failed.statusCode()).isEqualTo(502);
        assertThat(failed.body()).contains("connection closed");
        assertThat(connections.acquired()).as("tried once more, not again and again").isEqualTo(2);
        assertThat(provider.getRequestCount()).isZero();
        assertThat(proxy.nextCall().status()).isEqualTo(502);
    }

    /**
     * The real provider connections, except that the first {@code closed} acquisitions fail as Netty's pool
     * fails one whose connection was closed before it was handed over: the race no real provider can be
     * made to lose on cue.
     */
    private static final class ClosedBeforeUse implements ProviderConnections {
        private final ProviderConnections real;
        private final AtomicInteger closedLeft;
        private final AtomicInteger acquired = new AtomicInteger();

        ClosedBeforeUse(ProviderConnections real, int closed) {
            this.real = real;
            this.closedLeft = new AtomicInteger(closed);
        }

        int acquired() {
            return acquired.get();
        }

        @Override
        public Future<Channel> acquire(EventLoop loop) {
            acquired.incrementAndGet();
            if (closedLeft.getAndUpdate(left -> Math.max(0, left - 1)) > 0) {
                return loop.newFailedFuture(StacklessClosedChannelException.newInstance(SimpleChannelPool.class, "acquire"));
            }
            return real.acquire(loop);
        }

        @Override
        public void release(Channel channel) {
            real.release(channel);
        }

        @Override
        public void discard(Channel channel) {
            real.discard(channel);
        }

        @Override
        public boolean refusalsAreRetryable() {
            return real.refusalsAreRetryable();
        }

        @Override
        public void close() {
            real.close();
        }
    }
}
