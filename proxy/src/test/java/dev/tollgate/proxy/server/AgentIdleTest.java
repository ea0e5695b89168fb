package dev.tollgate.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.proxy.testing.ProxyHarness;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An agent's kept-alive connection is closed after {@code limits.agent_idle_seconds} with no call on it,
 * counted from the end of its last answer, never while a call is in flight, and never right after a call
 * that outlasted the idle time (which would race the agent's next call on the connection).
 */
class AgentIdleTest {

    private static final int IDLE_SECONDS = 2;
    private static final String CHAT = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}";

    private MockWebServer provider;
    private ProxyHarness proxy;

    @BeforeEach
    void start() throws Exception {
        provider = new MockWebServer();
        provider.start();
        proxy = ProxyHarness.start(provider.url("/v1").toString(), "limits:\n  agent_idle_seconds: " + IDLE_SECONDS + "\n");
    }

    @AfterEach
    void stop() {
        proxy.close();
        provider.close();
    }

    @Test
    void aConnectionThatSendsNothingIsClosedAfterTheIdleTime() throws Exception {
        try (Socket agent = connect()) {
            long opened = System.nanoTime();
            assertThat(agent.getInputStream().read()).as("the proxy closes the connection").isEqualTo(-1);
            assertThat(secondsSince(opened)).isBetween(IDLE_SECONDS - 0.2, IDLE_SECONDS * 2.5);
        }
    }

    @Test
    void aCallLongerThanTheIdleTimeKeepsItsConnectionForTheNextCall() throws Exception {
        // The first answer takes 1.6 idle times: the idle handler, counting from the request, fires during
        // the call and again 0.4 idle times after its answer, when the connection has been quiet for less.
        provider.enqueue(json().headersDelay(IDLE_SECONDS * 1600L, TimeUnit.MILLISECONDS).build());
        provider.enqueue(json().build());
        try (Socket agent = connect()) {
            assertThat(call(agent)).startsWith("HTTP/1.1 200");
            Thread.sleep(IDLE_SECONDS * 700L);
            assertThat(call(agent)).as("the second call on the same connection").startsWith("HTTP/1.1 200");
            long answered = System.nanoTime();
            assertThat(agent.getInputStream().read()).as("closed once quiet for the idle time").isEqualTo(-1);
            assertThat(secondsSince(answered)).isBetween(IDLE_SECONDS - 0.2, IDLE_SECONDS * 2.5);
        }
        assertThat(provider.getRequestCount()).isEqualTo(2);
    }

    @Test
    void aRequestWhoseBodyIsStillComingIsNotCutOff() throws Exception {
        // As above, the idle handler fires 0.4 idle times after the long answer and a second look is due
        // one idle time after it; the next request's head arrives before that look and its body after it.
        provider.enqueue(json().headersDelay(IDLE_SECONDS * 1600L, TimeUnit.MILLISECONDS).build());
        provider.enqueue(json().build());
        try (Socket agent = connect()) {
            assertThat(call(agent, 0)).startsWith("HTTP/1.1 200");
            Thread.sleep(IDLE_SECONDS * 700L);
            assertThat(call(agent, IDLE_SECONDS * 500L)).as("a call whose body came after the look").startsWith("HTTP/1.1 200");
        }
        assertThat(provider.getRequestCount()).isEqualTo(2);
    }

    private Socket connect() throws IOException {
        Socket agent = new Socket("127.0.0.1", proxy.server().address().getPort());
        agent.setSoTimeout(IDLE_SECONDS * 5_000);
        return agent;
    }

    private static String call(Socket agent) throws IOException, InterruptedException {
        return call(agent, 0);
    }

    /**
     * Sends one chat call on the connection, its body {@code bodyDelayMs} after its head, and reads its whole
     * answer (the provider's Content-Length).
     */
    private static String call(Socket agent, long bodyDelayMs) throws IOException, InterruptedException {
        byte[] body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                .getBytes(StandardCharsets.UTF_8);
        OutputStream out = agent.getOutputStream();
        out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: tollgate\r\nX-Agent-Id: idle-agent\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        Thread.sleep(bodyDelayMs);
        out.write(body);
        out.flush();
        InputStream in = agent.getInputStream();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("the proxy closed the connection mid-answer: " + head);
            }
            head.write(b);
        }
        String headers = head.toString(StandardCharsets.US_ASCII);
        int length = headers.lines().filter(line -> line.toLowerCase().startsWith("content-length:"))
                .mapToInt(line -> Integer.parseInt(line.substring("content-length:".length()).trim()))
                .findFirst().orElseThrow(() -> new AssertionError("no Content-Length in " + headers));
        in.readNBytes(length);
        return headers;
    }

    private static MockResponse.Builder json() {
        return new MockResponse.Builder().addHeader("Content-Type", "application/json").body(CHAT);
    }

    private static double secondsSince(long nanos) {
        return (System.nanoTime() - nanos) / 1e9;
    }
}
