package dev.tollgate.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.core.http.StreamResponse;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.tollgate.proxy.mock.MockUpstreamServer;
import dev.tollgate.proxy.net.Transport;
import dev.tollgate.proxy.testing.ProxyHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The NIO transport, used where native epoll is unavailable, serves plain and streamed calls too. */
class NioTransportTest {

    private String previous;

    @BeforeEach
    void forceNio() {
        previous = System.getProperty("tollgate.transport");
        System.setProperty("tollgate.transport", "nio");
    }

    @AfterEach
    void restore() {
        if (previous == null) {
            System.clearProperty("tollgate.transport");
        } else {
            System.setProperty("tollgate.transport", previous);
        }
    }

    @Test
    void plainAndStreamedCallsWorkOverNio() throws Exception {
        try (MockUpstreamServer mock = MockUpstreamServer.start("127.0.0.1", 0, 0, 0);
                ProxyHarness proxy = ProxyHarness.start(mock.baseUrl(), "")) {
            ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
                    .model(ChatModel.GPT_4O).addUserMessage("hi").build();

            var plain = proxy.agent("nio").chat().completions().create(params);
            long chunks;
            try (StreamResponse<ChatCompletionChunk> stream = proxy.agent("nio").chat().completions().createStreaming(params)) {
                chunks = stream.stream().count();
            }

            assertThat(proxy.server().transport()).isEqualTo(Transport.NIO);
            assertThat(plain.model()).isEqualTo("gpt-4o-2024-08-06");
            assertThat(chunks).isGreaterThan(3);
        }
    }
}
