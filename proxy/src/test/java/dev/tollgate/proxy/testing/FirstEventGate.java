package dev.tollgate.proxy.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * For the tests that a stream's head reaches the agent before the provider sends its first event: the
 * provider's body waits here until the agent saw the head, and the agent's side checks that it did.
 */
public final class FirstEventGate {

    private final CountDownLatch agentSawHead = new CountDownLatch(1);
    private final AtomicBoolean sentFirst = new AtomicBoolean();

    /** In the provider's body, before its first event: waits (at most 10 s) until the agent saw the head. */
    public void awaitAgentSawHead() {
        try {
            agentSawHead.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sentFirst.set(true);
    }

    /**
     * Makes a streamed chat call as {@code agent}, checks that its head arrived before the provider sent
     * the first event, and that the whole stream, with an event saying {@code first}, followed.
     */
    public void callAndCheck(ProxyHarness proxy, String agent) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                .header("X-Agent-Id", agent).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"go\"}]}"))
                .build();

        // send returns once the head arrived; the body is read afterwards.
        HttpResponse<InputStream> response = proxy.http().send(request, HttpResponse.BodyHandlers.ofInputStream());
        boolean firstSentWhenHeadArrived = sentFirst.get();
        agentSawHead.countDown();
        String body;
        try (InputStream in = response.body()) {
            body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(firstSentWhenHeadArrived).as("the provider had sent its first event when the head arrived").isFalse();
        assertThat(body).contains("\"first\"").endsWith("data: [DONE]\n\n");
    }
}
