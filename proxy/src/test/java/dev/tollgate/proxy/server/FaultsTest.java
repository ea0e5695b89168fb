package dev.tollgate.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.tollgate.proxy.testing.ProxyHarness;
import dev.tollgate.proxy.testing.RawHttp;
import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What the agent gets when its request is too big or the provider fails: the SPEC's status and error body. */
class FaultsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private MockWebServer provider;
    private ProxyHarness proxy;

    @BeforeEach
    void start() throws Exception {
        provider = new MockWebServer();
        provider.start();
        proxy = ProxyHarness.start(provider.url("/v1").toString(),
                "upstream:\n  base_url: UPSTREAM\n  response_timeout_ms: 300\nlimits:\n  max_request_bytes: 4096\n");
    }

    @AfterEach
    void stop() {
        proxy.close();
        provider.close();
    }

    private HttpResponse<String> post(ProxyHarness target, String path, String body) throws Exception {
        return target.http().send(HttpRequest.newBuilder(target.uri(path))
                        .header("Content-Type", "application/json")
                        .header("X-Agent-Id", "research-agent")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode error(HttpResponse<String> response) throws Exception {
        return JSON.readTree(response.body()).path("error");
    }

    @Test
    void oversizedBodyGets413WithTheSpecErrorBodyAndIsNotForwarded() throws Exception {
        String big = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(8_000) + "\"}]}";

        HttpResponse<String> response = post(proxy, "/v1/chat/completions", big);

        assertThat(response.statusCode()).isEqualTo(413);
        JsonNode error = error(response);
        assertThat(error.path("code").asText()).isEqualTo("request_too_large");
        assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.has("param")).isTrue();
        assertThat(error.path("message").asText()).startsWith("tollgate: ").contains("4096");
        assertThat(provider.getRequestCount()).isZero();
    }

    @Test
    void oversizedChunkedBodyGets413Too() throws Exception {
        byte[] chunk = "x".repeat(3_000).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try (RawHttp agent = new RawHttp(proxy.server().address().getPort())) {
            agent.send("POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", new byte[0]);
            for (int i = 0; i < 3; i++) {
                agent.send(Integer.toHexString(chunk.length) + "\r\n", chunk).send("\r\n", new byte[0]);
            }
            agent.send("0\r\n\r\n", new byte[0]);

            assertThat(agent.readUntil("request_too_large")).startsWith("HTTP/1.1 413 ");
        }
        assertThat(provider.getRequestCount()).isZero();
    }

    @Test
    void officialClientRaisesItsUsualErrorOn413() {
        String big = "y".repeat(10_000);
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
                .model(ChatModel.GPT_4O).addUserMessage(big).build();

        assertThatThrownBy(() -> proxy.agent("research-agent").chat().completions().create(params))
                .isInstanceOf(OpenAIServiceException.class)
                .satisfies(e -> assertThat(((OpenAIServiceException) e).statusCode()).isEqualTo(413));
    }

    @Test
    void unreachableProviderGets502() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        try (ProxyHarness toNowhere = ProxyHarness.start("http://127.0.0.1:" + closedPort + "/v1", "")) {
            HttpResponse<String> response = post(toNowhere, "/v1/chat/completions", "{\"model\":\"gpt-4o\"}");

            assertThat(response.statusCode()).isEqualTo(502);
            assertThat(error(response).path("code").asText()).isEqualTo("upstream_unavailable");
            assertThat(error(response).path("message").asText()).contains("nothing was charged");
            assertThat(response.headers().firstValue("x-tollgate-agent")).hasValue("research-agent");
        }
    }

    @Test
    void providerSilentPastTheResponseTimeoutGets504AndItsConnectionIsNotReused() throws Exception {
        provider.enqueue(new MockResponse.Builder().headersDelay(3, TimeUnit.SECONDS).body("{}").build());
        provider.enqueue(new MockResponse.Builder().body("{\"ok\":true}").build());

        HttpResponse<String> slow = post(proxy, "/v1/chat/completions", "{\"model\":\"gpt-4o\"}");
        HttpResponse<String> next = post(proxy, "/v1/chat/completions", "{\"model\":\"gpt-4o\"}");

        assertThat(slow.statusCode()).isEqualTo(504);
        assertThat(error(slow).path("code").asText()).isEqualTo("upstream_timeout");
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(next.body()).isEqualTo("{\"ok\":true}");
        int timedOut = provider.takeRequest(5, TimeUnit.SECONDS).getConnectionIndex();
        assertThat(provider.takeRequest(5, TimeUnit.SECONDS).getConnectionIndex()).isNotEqualTo(timedOut);
    }

    @Test
    void upstreamApiKeyReplacesTheAgentsAuthorization() throws Exception {
        try (ProxyHarness withKey = ProxyHarness.start(provider.url("/v1").toString(),
                "upstream:\n  base_url: UPSTREAM\n  api_key: sk-org-secret\n")) {
            provider.enqueue(new MockResponse.Builder().body("{}").build());

            withKey.http().send(HttpRequest.newBuilder(withKey.uri("/v1/embeddings"))
                    .header("Authorization", "Bearer sk-agent-own")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"text-embedding-3-small\",\"input\":\"x\"}")).build(), HttpResponse.BodyHandlers.ofString());

            assertThat(provider.takeRequest(5, TimeUnit.SECONDS).getHeaders().values("Authorization"))
                    .containsExactly("Bearer sk-org-secret");
        }
    }

    @Test
    void hopByHopHeadersAreDroppedBothWays() throws Exception {
        provider.enqueue(new MockResponse.Builder()
                .addHeader("Keep-Alive", "timeout=5")
                .addHeader("X-Provider-Hop", "1")
                .addHeader("Connection", "X-Provider-Hop")
                .body("{}").build());

        try (RawHttp agent = new RawHttp(proxy.server().address().getPort())) {
            agent.post("/v1/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":\"x\"}", "Connection: keep-alive, X-Secret-Hop", "X-Secret-Hop: 1",
                    "Proxy-Authorization: Basic abc", "TE: trailers", "X-Intent-Id: int_1", "X-Custom: kept");
            String response = agent.readUntil("{}");

            assertThat(response.toLowerCase()).doesNotContain("x-provider-hop").doesNotContain("keep-alive: timeout");
        }
        var seen = provider.takeRequest(5, TimeUnit.SECONDS).getHeaders();
        assertThat(seen.get("X-Secret-Hop")).isNull();
        assertThat(seen.get("Proxy-Authorization")).isNull();
        assertThat(seen.get("TE")).isNull();
        assertThat(seen.get("X-Intent-Id")).isNull();
        assertThat(seen.get("X-Custom")).isEqualTo("kept");
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        provider.enqueue(new MockResponse.Builder().headersDelay(100, TimeUnit.MILLISECONDS).body("{\"n\":1}").build());
        provider.enqueue(new MockResponse.Builder().body("{\"n\":2}").build());

        try (RawHttp agent = new RawHttp(proxy.server().address().getPort())) {
            agent.post("/v1/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":\"x\"}").post("/v1/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":\"x\"}");
            String both = agent.readUntil("{\"n\":2}");

            assertThat(both.indexOf("{\"n\":1}")).isLessThan(both.indexOf("{\"n\":2}"));
        }
    }

    @Test
    void malformedAndForeignRequestsGetClear4xx() throws Exception {
        try (RawHttp agent = new RawHttp(proxy.server().address().getPort())) {
            agent.send("GET http://evil.example/v1/models HTTP/1.1\r\nHost: evil.example\r\n\r\n", new byte[0]);
            assertThat(agent.readUntil("}}")).startsWith("HTTP/1.1 400 ").contains("invalid_request_uri");
        }
        try (RawHttp agent = new RawHttp(proxy.server().address().getPort())) {
            agent.send("GET /v1/%2e%2e/tollgate/agents HTTP/1.1\r\nHost: t\r\n\r\n", new byte[0]);
            assertThat(agent.readUntil("}}")).startsWith("HTTP/1.1 400 ");
        }
        try (RawHttp agent = new RawHttp(proxy.server().address().getPort())) {
            agent.post("/v1/embeddings", "{}", "X-Agent-Id: bad agent; drop table");
            assertThat(agent.readUntil("}}")).startsWith("HTTP/1.1 400 ").contains("invalid_agent_id");
        }
        try (RawHttp agent = new RawHttp(proxy.server().address().getPort())) {
            agent.post("/v1/embeddings", "{}", "X-Agent-Id: bell\u0007");
            assertThat(agent.readUntil("}}")).startsWith("HTTP/1.1 400 ");
        }
        try (RawHttp agent = new RawHttp(proxy.server().address().getPort())) {
            agent.send("GET /v1/models HTTP/1.1\r\nHost: t\r\nX-Big: " + "a".repeat(40_000) + "\r\n\r\n", new byte[0]);
            assertThat(agent.readUntil("}}")).startsWith("HTTP/1.1 431 ");
        }
        assertThat(provider.getRequestCount()).isZero();
    }

    @Test
    void unknownPathsGet404AndHealthzAnswers() throws Exception {
        HttpResponse<String> missing = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v2/chat")).build(),
                HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> health = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/healthz")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(error(missing).path("code").asText()).isEqualTo("not_found");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(provider.getRequestCount()).isZero();
    }
}
