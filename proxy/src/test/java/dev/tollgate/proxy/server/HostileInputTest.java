package dev.tollgate.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.proxy.metering.CallRecord;
import dev.tollgate.proxy.testing.ProxyHarness;
import dev.tollgate.proxy.testing.RawHttp;
import java.io.ByteArrayOutputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What an agent (or whoever reaches the port) can send that is not a well-formed call: each gets a clear
 * 4xx from Tollgate itself, nothing of it reaches the provider, and the proxy keeps serving good calls
 * with its metrics and admin views intact.
 */
class HostileInputTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CHAT = "/v1/chat/completions";
    private static final String GOOD = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    private MockWebServer provider;
    private ProxyHarness proxy;
    private int port;

    @BeforeEach
    void start() throws Exception {
        provider = new MockWebServer();
        provider.start();
        proxy = ProxyHarness.start(provider.url("/v1").toString(), "");
        port = proxy.uri("/").getPort();
    }

    @AfterEach
    void stop() {
        proxy.close();
        provider.close();
    }

    /** Sends raw bytes and returns the response: its head, and the body that follows it in the same write. */
    private String raw(byte[] request) throws Exception {
        try (RawHttp agent = new RawHttp(port)) {
            agent.send("", request);
            agent.readUntil("\r\n\r\n");
            agent.readToEnd(200);
            return agent.text();
        }
    }

    private static byte[] post(String path, byte[] body, String... headers) {
        StringBuilder head = new StringBuilder("POST " + path + " HTTP/1.1\r\nHost: tollgate\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length + "\r\n");
        for (String header : headers) {
            head.append(header).append("\r\n");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
        out.writeBytes(body);
        return out.toByteArray();
    }

    private static String statusAndCode(String response) throws Exception {
        String status = response.isEmpty() ? "none" : response.substring(9, 12);
        int body = response.indexOf("\r\n\r\n");
        String rest = body < 0 ? "" : response.substring(body + 4).trim();
        if (rest.startsWith("{") && JSON.readTree(rest).has("error")) {
            JsonNode error = JSON.readTree(rest).path("error");
            assertThat(error.path("message").asText()).as("an error Tollgate made says so").startsWith("tollgate: ");
            return status + " " + error.path("code").asText();
        }
        return status;
    }

    private void assertRefusedLocally(byte[] request, String expected) throws Exception {
        String response = raw(request);
        assertThat(statusAndCode(response)).as(new String(request, StandardCharsets.ISO_8859_1)).isEqualTo(expected);
        assertThat(provider.getRequestCount()).as("requests that reached the provider").isZero();
    }

    @Test
    void malformedBodiesAreRefusedBeforeTheProvider() throws Exception {
        assertRefusedLocally(post(CHAT, "{\"model\":\"gpt-4o-mini\",\"messages\":[".getBytes(StandardCharsets.UTF_8)),
                "400 malformed_request");
        assertRefusedLocally(post(CHAT, "{\"model\":5,\"messages\":[]}".getBytes(StandardCharsets.UTF_8)), "400 malformed_request");
        assertRefusedLocally(post(CHAT, "{\"messages\":[]}".getBytes(StandardCharsets.UTF_8)), "400 malformed_request");
        assertRefusedLocally(post(CHAT, "[1,2,3]".getBytes(StandardCharsets.UTF_8)), "400 malformed_request");
        assertRefusedLocally(post(CHAT, new byte[0]), "400 malformed_request");
        byte[] invalidUtf8 = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"\u00ff\u00fe\"}]}"
                .getBytes(StandardCharsets.ISO_8859_1);
        assertRefusedLocally(post(CHAT, invalidUtf8), "400 malformed_request");
        // A body whose model has no price is refused too (unknown_model: block is the default).
        assertRefusedLocally(post(CHAT, "{\"model\":\"gpt-unknown-9\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8)),
                "400 unpriced_model");
    }

    @Test
    void badIdsAreRefused() throws Exception {
        byte[] body = GOOD.getBytes(StandardCharsets.UTF_8);
        // Control characters in any header value are refused by the HTTP decoder already.
        assertRefusedLocally(post(CHAT, body, "X-Agent-Id: bad\u0001agent"), "400 malformed_request");
        assertRefusedLocally(post(CHAT, body, "X-Intent-Id: tab\u0009inside"), "400 invalid_intent_id");
        assertRefusedLocally(post(CHAT, body, "X-Agent-Id: agent with spaces"), "400 invalid_agent_id");
        assertRefusedLocally(post(CHAT, body, "X-Agent-Id: " + "a".repeat(129)), "400 invalid_agent_id");
        assertRefusedLocally(post(CHAT, body, "X-Agent-Id: ok-agent", "X-Intent-Id: -starts-with-dash"), "400 invalid_intent_id");
        assertRefusedLocally(post(CHAT, body, "X-Agent-Id: \u00e9t\u00e9"), "400 invalid_agent_id");
        // A bare CR inside a header value cannot smuggle a second header line.
        assertRefusedLocally(post(CHAT, body, "X-Agent-Id: a\rX-Injected: 1"), "400 malformed_request");
    }

    @Test
    void oversizedHeadersAndRequestLinesAreRefused() throws Exception {
        byte[] body = GOOD.getBytes(StandardCharsets.UTF_8);
        assertRefusedLocally(post(CHAT, body, "X-Filler: " + "x".repeat(40_000)), "431 headers_too_large");
        assertRefusedLocally(post(CHAT + "?q=" + "x".repeat(20_000), body), "414 request_line_too_long");
    }

    @Test
    void pathTricksAndOtherHostsAreRefused() throws Exception {
        byte[] body = GOOD.getBytes(StandardCharsets.UTF_8);
        assertRefusedLocally(post("/v1/../tollgate/agents", body), "400 invalid_request_uri");
        assertRefusedLocally(post("/v1/%2e%2e/tollgate/agents", body), "400 invalid_request_uri");
        assertRefusedLocally(post("/v1/chat/%2E%2E/%2e%2e/models", body), "400 invalid_request_uri");
        assertRefusedLocally(post("http://evil.example/v1/chat/completions", body), "400 invalid_request_uri");
        assertRefusedLocally(post("//evil.example/v1/chat/completions", body), "404 not_found");
    }

    @Test
    void conflictingFramingIsRefusedAndTheConnectionClosed() throws Exception {
        String chunked = Integer.toHexString(GOOD.length()) + "\r\n" + GOOD + "\r\n0\r\n\r\n";
        String bothLengths = "POST " + CHAT + " HTTP/1.1\r\nHost: tollgate\r\nContent-Type: application/json\r\n"
                + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked;
        assertRefusedLocally(bothLengths.getBytes(StandardCharsets.US_ASCII), "400 malformed_request");
        try (RawHttp agent = new RawHttp(port)) {
            agent.send(bothLengths, new byte[0]);
            assertThat(agent.readToEnd(5_000)).as("the connection after a smuggling attempt").isEqualTo("eof");
            assertThat(agent.text()).startsWith("HTTP/1.1 400 ");
        }
        String twoLengths = "POST " + CHAT + " HTTP/1.1\r\nHost: tollgate\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + GOOD.length() + "\r\nContent-Length: 3\r\n\r\n" + GOOD;
        assertRefusedLocally(twoLengths.getBytes(StandardCharsets.US_ASCII), "400 malformed_request");
        String notChunkedLast = "POST " + CHAT + " HTTP/1.1\r\nHost: tollgate\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked, identity\r\n\r\n" + chunked;
        assertRefusedLocally(notChunkedLast.getBytes(StandardCharsets.US_ASCII), "400 malformed_request");

        // A well-formed chunked request is fine and reaches the provider once.
        provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "application/json")
                .body("{\"model\":\"gpt-4o-mini\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}").build());
        String good = "POST " + CHAT + " HTTP/1.1\r\nHost: tollgate\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked;
        assertThat(statusAndCode(raw(good.getBytes(StandardCharsets.US_ASCII)))).isEqualTo("200");
        assertThat(provider.getRequestCount()).isEqualTo(1);
    }

    @Test
    void afterHostileInputTheProxyServesAndItsViewsStayClean() throws Exception {
        raw(post(CHAT, GOOD.getBytes(StandardCharsets.UTF_8), "X-Agent-Id: bad\u0001agent"));
        raw(post(CHAT, "{\"model\":5}".getBytes(StandardCharsets.UTF_8), "X-Agent-Id: fuzzer"));
        raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\u0000\u0001\u0002 garbage that is not HTTP\r\n\r\n"
                .getBytes(StandardCharsets.ISO_8859_1));
        assertThat(provider.getRequestCount()).isZero();

        provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "application/json")
                .body("{\"model\":\"gpt-4o-mini\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}").build());
        HttpResponse<String> ok = proxy.http().send(HttpRequest.newBuilder(proxy.uri(CHAT)).header("X-Agent-Id", "good-agent")
                .POST(HttpRequest.BodyPublishers.ofString(GOOD)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(ok.statusCode()).isEqualTo(200);

        List<CallRecord> calls = proxy.drainCallsAfter(2);
        assertThat(calls).extracting(CallRecord::agent).allSatisfy(agent -> assertThat(agent).matches("[A-Za-z0-9][A-Za-z0-9._:@/-]*"));
        assertThat(calls).anySatisfy(call -> {
            assertThat(call.agent()).isEqualTo("fuzzer");
            assertThat(call.status()).isEqualTo(400);
            assertThat(call.refused()).isTrue();
        });

        HttpResponse<String> metrics = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).doesNotContain("\u0001").contains("tollgate_requests_total{agent=\"good-agent\",status=\"200\"} 1");
        HttpResponse<String> agents = proxy.http().send(HttpRequest.newBuilder(URI.create(proxy.uri("/tollgate/agents").toString())).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(agents.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(agents.body()).toString()).doesNotContain("\\u0001");
    }

    @Test
    void adminApiWithoutATokenAnswersLoopbackClientsOnly() throws Exception {
        String get = "GET /tollgate/agents HTTP/1.1\r\nHost: tollgate\r\nConnection: close\r\n\r\n";
        assertThat(statusAndCode(raw(get.getBytes(StandardCharsets.US_ASCII)))).isEqualTo("200");

        InetAddress outside = Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
                .flatMap(nic -> Collections.list(nic.getInetAddresses()).stream())
                .filter(a -> a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress())
                .findFirst().orElse(null);
        assertThat(outside).as("a non-loopback IPv4 address of this machine to connect from").isNotNull();
        // The same port, reached from this machine's own non-loopback address: refused.
        try (Socket socket = new Socket()) {
            socket.bind(new InetSocketAddress(outside, 0));
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            socket.setSoTimeout(5_000);
            socket.getOutputStream().write(get.getBytes(StandardCharsets.US_ASCII));
            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(statusAndCode(response)).as("from %s", outside).isEqualTo("401 admin_unauthorized");
        }
    }
}
