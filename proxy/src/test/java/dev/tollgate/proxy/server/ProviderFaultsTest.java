package dev.tollgate.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.pricing.UsageSource;
import dev.tollgate.proxy.metering.CallRecord;
import dev.tollgate.proxy.testing.ProxyHarness;
import dev.tollgate.proxy.testing.RawHttp;
import dev.tollgate.proxy.testing.ScriptedProvider;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A provider that misbehaves after the connection is made: bytes that are not HTTP, a body that stalls,
 * a reset mid-body, its own 429. The agent gets the right status or a closed connection within the
 * timeout, a partial answer is charged by counting, and the faulty connection is never used again (each
 * scripted connection serves one script, so a reuse would land on the wrong one and fail the test).
 */
class ProviderFaultsTest {

    private static final String BODY = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"Summarise the backlog.\"}]}";
    private static final ObjectMapper JSON = new ObjectMapper();

    private ScriptedProvider provider;
    private ProxyHarness proxy;

    private void start(ScriptedProvider.Script... scripts) throws Exception {
        provider = new ScriptedProvider(scripts);
        proxy = ProxyHarness.start(provider.baseUrl(), """
                upstream:
                  base_url: UPSTREAM
                  response_timeout_ms: 800
                """);
    }

    @AfterEach
    void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (provider != null) {
            provider.close();
        }
    }

    private HttpResponse<String> call() throws Exception {
        return proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions")).header("X-Agent-Id", "faulty")
                .POST(HttpRequest.BodyPublishers.ofString(BODY)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The next call after a fault works, on a new provider connection. */
    private void nextCallUsesAFreshConnection(int connectionsBefore) throws Exception {
        HttpResponse<String> next = call();
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(provider.connections()).isEqualTo(connectionsBefore + 1);
        assertThat(proxy.nextCall().usageSource()).isEqualTo(UsageSource.REPORTED);
    }

    /** Sends the call on a raw socket and returns how the proxy ended it and what arrived. */
    private String[] rawCall() throws Exception {
        try (RawHttp agent = new RawHttp(proxy.uri("/").getPort())) {
            agent.post("/v1/chat/completions", BODY, "X-Agent-Id: faulty");
            long started = System.nanoTime();
            String ending = agent.readToEnd(10_000);
            long tookMs = (System.nanoTime() - started) / 1_000_000;
            return new String[] {ending, agent.text(), Long.toString(tookMs)};
        }
    }

    @Test
    void bytesThatAreNotHttpGet502AndNothingIsCharged() throws Exception {
        start((socket, head) -> ScriptedProvider.write(socket, "SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n"),
                ScriptedProvider.completion());
        HttpResponse<String> response = call();
        assertThat(response.statusCode()).isEqualTo(502);
        assertThat(JSON.readTree(response.body()).path("error").path("code").asText()).isEqualTo("upstream_unavailable");
        CallRecord call = proxy.nextCall();
        assertThat(call.status()).isEqualTo(502);
        assertThat(call.cost().value()).isZero();
        nextCallUsesAFreshConnection(1);
    }

    @Test
    void bodyThatStallsIsCutAfterTheTimeoutAndChargedByCounting() throws Exception {
        start((socket, head) -> ScriptedProvider.write(socket,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"model\":\"gpt-4o-mini\",\"choices\":["),
                ScriptedProvider.completion());
        String[] ended = rawCall();
        assertThat(ended[1]).startsWith("HTTP/1.1 200 ");
        assertThat(ended[0]).as("the agent's connection is closed, not left hanging").isIn("eof", "reset");
        assertThat(Long.parseLong(ended[2])).as("ms until the cut").isLessThan(8_000);
        CallRecord call = proxy.nextCall();
        assertThat(call.usageSource()).isEqualTo(UsageSource.COUNTED);
        assertThat(call.usage().inputTokens()).isPositive();
        assertThat(call.cost().value()).isPositive();
        nextCallUsesAFreshConnection(1);
    }

    @Test
    void resetMidBodyClosesTheAgentAndIsChargedByCounting() throws Exception {
        start((socket, head) -> {
            ScriptedProvider.write(socket, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
                    + "{\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,");
            Thread.sleep(100);
            socket.setSoLinger(true, 0);
            socket.close();
        }, ScriptedProvider.completion());
        String[] ended = rawCall();
        assertThat(ended[1]).startsWith("HTTP/1.1 200 ");
        assertThat(ended[0]).isIn("eof", "reset");
        assertThat(ended[1]).doesNotContain("usage");
        CallRecord call = proxy.nextCall();
        assertThat(call.usageSource()).isEqualTo(UsageSource.COUNTED);
        assertThat(call.usage().inputTokens()).isPositive();
        nextCallUsesAFreshConnection(1);
    }

    @Test
    void providersOwn429PassesThroughUnchangedAndIsNotRetried() throws Exception {
        String error = "{\"error\":{\"message\":\"Rate limit reached for gpt-4o-mini\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}";
        start((socket, head) -> {
            ScriptedProvider.write(socket, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 7\r\n"
                    + "x-ratelimit-remaining-requests: 0\r\nContent-Length: " + error.length() + "\r\n\r\n" + error);
            ScriptedProvider.readRequest(socket.getInputStream());
            ScriptedProvider.completion().run(socket, "");
        });
        HttpResponse<String> limited = call();
        assertThat(limited.statusCode()).isEqualTo(429);
        assertThat(limited.body()).isEqualTo(error);
        assertThat(limited.headers().firstValue("retry-after")).hasValue("7");
        assertThat(limited.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");
        CallRecord call = proxy.nextCall();
        assertThat(call.status()).isEqualTo(429);
        assertThat(call.refused()).as("the provider refused it, not Tollgate").isFalse();
        assertThat(call.cost().value()).isZero();
        // A clean error response leaves the connection usable: the next call reuses it.
        assertThat(call().statusCode()).isEqualTo(200);
        assertThat(provider.connections()).isEqualTo(1);
    }
}
