package dev.tollgate.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.proxy.testing.ProxyHarness;
import dev.tollgate.proxy.testing.RawHttp;
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
    private static final String REQUEST = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

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
        try (RawHttp agent = connect()) {
            long opened = System.nanoTime();
            assertThat(agent.readToEnd(IDLE_SECONDS * 5_000)).as("the proxy closes the connection").isEqualTo("eof");
            assertThat(secondsSince(opened)).isBetween(IDLE_SECONDS - 0.2, IDLE_SECONDS * 2.5);
        }
    }

    @Test
    void aCallLongerThanTheIdleTimeKeepsItsConnectionForTheNextCall() throws Exception {
        try (RawHttp agent = connect()) {
            String first = longCallThenAPause(agent);
            String both = agent.post("/v1/chat/completions", REQUEST, "X-Agent-Id: idle-agent").readUntil(body(2));
            assertThat(both.substring(first.length())).as("the second call on the same connection").startsWith("HTTP/1.1 200");
            long answered = System.nanoTime();
            assertThat(agent.readToEnd(IDLE_SECONDS * 5_000)).as("closed once quiet for the idle time").isEqualTo("eof");
            assertThat(secondsSince(answered)).isBetween(IDLE_SECONDS - 0.2, IDLE_SECONDS * 2.5);
        }
        assertThat(provider.getRequestCount()).isEqualTo(2);
    }

    @Test
    void aRequestWhoseBodyIsStillComingIsNotCutOff() throws Exception {
        // A second look is due one idle time after the idle handler's event that follows the long answer;
        // the next request's head arrives before that look and its body after it.
        try (RawHttp agent = connect()) {
            String first = longCallThenAPause(agent);
            byte[] request = REQUEST.getBytes(StandardCharsets.UTF_8);
            agent.send("POST /v1/chat/completions HTTP/1.1\r\nHost: tollgate\r\nX-Agent-Id: idle-agent\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + request.length + "\r\n\r\n", new byte[0]);
            Thread.sleep(IDLE_SECONDS * 500L);
            String both = agent.send("", request).readUntil(body(2));
            assertThat(both.substring(first.length())).as("a call whose body came after the look").startsWith("HTTP/1.1 200");
        }
        assertThat(provider.getRequestCount()).isEqualTo(2);
    }

    /**
     * Makes a first call whose answer takes 1.6 idle times, then waits 0.7 idle times; returns that answer. The
     * idle handler, counting from the request, fires during the call and again 0.4 idle times after its answer,
     * when the connection has been quiet for less than the idle time. The provider's second answer is queued.
     */
    private String longCallThenAPause(RawHttp agent) throws Exception {
        provider.enqueue(answer(1).headersDelay(IDLE_SECONDS * 1600L, TimeUnit.MILLISECONDS).build());
        provider.enqueue(answer(2).build());
        String first = agent.post("/v1/chat/completions", REQUEST, "X-Agent-Id: idle-agent").readUntil(body(1));
        assertThat(first).startsWith("HTTP/1.1 200");
        Thread.sleep(IDLE_SECONDS * 700L);
        return first;
    }

    private RawHttp connect() throws Exception {
        return new RawHttp(proxy.server().address().getPort());
    }

    /** The provider's answer to call {@code n}; its body ends with the call's own id, so that it is read whole. */
    private static MockResponse.Builder answer(int n) {
        return new MockResponse.Builder().addHeader("Content-Type", "application/json").body(body(n));
    }

    private static String body(int n) {
        return "{\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6},\"id\":\"chatcmpl-" + n + "\"}";
    }

    private static double secondsSince(long nanos) {
        return (System.nanoTime() - nanos) / 1e9;
    }
}
