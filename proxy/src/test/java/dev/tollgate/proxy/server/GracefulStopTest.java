package dev.tollgate.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.config.ConfigLoader;
import dev.tollgate.proxy.mock.MockUpstreamServer;
import dev.tollgate.proxy.testing.RawHttp;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stopping lets a stream in flight finish (bounded) and refuses new calls meanwhile. */
class GracefulStopTest {

    @Test
    void aStreamInFlightFinishesAndANewCallIsRefused(@TempDir Path dir) throws Exception {
        try (MockUpstreamServer provider = MockUpstreamServer.start("127.0.0.1", 0, 0, 40)) {
            TollgateServer server = TollgateServer.start(new ConfigLoader(n -> null).parse("listen: 127.0.0.1:0\nstorage:\n  path: "
                    + dir.resolve("l.db") + "\nupstream:\n  base_url: " + provider.baseUrl() + "\n"));
            try (RawHttp streaming = new RawHttp(server.address().getPort());
                    RawHttp late = new RawHttp(server.address().getPort())) {
                streaming.post("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
                streaming.readUntil("\"content\":\"Tollgate\"");

                CompletableFuture<Void> stopping = CompletableFuture.runAsync(server::close);
                Thread.sleep(200);
                late.post("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
                String refused = late.readUntil("}}");
                String finished = streaming.readUntil("data: [DONE]");
                stopping.get();

                assertThat(refused).startsWith("HTTP/1.1 503 ").contains("shutting_down");
                assertThat(finished).contains("data: [DONE]");
            }
        }
    }
}
