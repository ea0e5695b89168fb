package dev.tollgate.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.config.ConfigLoader;
import dev.tollgate.proxy.mock.MockUpstreamServer;
import dev.tollgate.proxy.testing.RawHttp;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A changed config takes effect, a broken one is refused with the last good one kept; pause cuts streams. */
class ReloadAndKillSwitchTest {

    @TempDir
    Path dir;
    private MockUpstreamServer mock;
    private TollgateServer server;
    private final HttpClient http = HttpClient.newHttpClient();
    private Path file;
    private long edits;

    @BeforeEach
    void start() throws Exception {
        mock = MockUpstreamServer.start("127.0.0.1", 0, 0, 50);
        file = dir.resolve("tollgate.yaml");
        write("agents:\n  bot: {max_requests_per_day: 1}\n");
        server = TollgateServer.start(new ConfigLoader().load(file));
        server.watch(file, c -> c);
    }

    @AfterEach
    void stop() {
        server.close();
        mock.close();
    }

    private void write(String budgets) throws Exception {
        Files.writeString(file, "listen: 127.0.0.1:0\nstorage:\n  path: " + dir.resolve("l.db") + "\nupstream:\n  base_url: "
                + mock.baseUrl() + "\n" + budgets);
        // Modification times can be coarse: make each edit visibly newer.
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() + 1_000 * ++edits));
    }

    private int call(String agent) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/chat/completions")).header("X-Agent-Id", agent)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .build(), HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    @Test
    void aChangedFileTakesEffectAndABrokenOneIsRefused() throws Exception {
        assertThat(call("bot")).isEqualTo(200);
        assertThat(call("bot")).isEqualTo(429);

        write("agents:\n  bot: {max_requests_per_day: 5}\n");
        server.checkConfigNow();
        assertThat(call("bot")).isEqualTo(200);

        write("agents:\n  bot: {max_requests_per_day: -5}\n  other: {bogus_key: 1}\n");
        server.checkConfigNow();
        assertThat(server.currentConfig().policyOf("bot").maxRequestsPerDay()).as("the last good config stays").isEqualTo(5);
        assertThat(call("bot")).isEqualTo(200);
    }

    @Test
    void aChangeToWhatConnectionsAreBuiltWithIsRefusedUntilARestart() throws Exception {
        // Every agent connection's pipeline holds the body limit and the idle time it was opened with:
        // applying the rest of such a file would leave those two silently unchanged.
        write("limits:\n  agent_idle_seconds: 30\nagents:\n  bot: {max_requests_per_day: 5}\n");
        server.checkConfigNow();
        assertThat(server.currentConfig().limits().agentIdleSeconds()).isEqualTo(300);
        assertThat(server.currentConfig().policyOf("bot").maxRequestsPerDay()).isEqualTo(1);

        write("limits:\n  max_request_bytes: 1024\nagents:\n  bot: {max_requests_per_day: 5}\n");
        server.checkConfigNow();
        assertThat(server.currentConfig().limits().maxRequestBytes()).isEqualTo(33_554_432);
        assertThat(server.currentConfig().policyOf("bot").maxRequestsPerDay()).isEqualTo(1);
    }

    @Test
    void pausingAnAgentCutsItsStreamsInFlight() throws Exception {
        try (RawHttp agent = new RawHttp(server.address().getPort())) {
            agent.post("/v1/chat/completions", "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                    "X-Agent-Id: looper");
            agent.readUntil("\"content\":\"Tollgate\"");
            long pausedAt = System.nanoTime();

            HttpResponse<String> pause = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl().replace("/v1", "")
                    + "/tollgate/agents/looper/pause")).POST(HttpRequest.BodyPublishers.ofString("{\"reason\":\"loop\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            String end = agent.readToEnd(5_000);
            long cutMs = (System.nanoTime() - pausedAt) / 1_000_000;

            assertThat(pause.statusCode()).isEqualTo(200);
            assertThat(end).isIn("eof", "reset");
            assertThat(cutMs).as("the stream was cut within a second").isLessThan(1_000);
            assertThat(agent.text()).doesNotContain("[DONE]");
        }
        assertThat(call("looper")).isEqualTo(429);
    }
}
