package dev.tollgate.proxy.alerts;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.proxy.mock.MockUpstreamServer;
import dev.tollgate.proxy.testing.ProxyHarness;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.Test;

/**
 * Events reach a webhook receiver (mockwebserver3) exactly once each, after retries while it answers
 * 500, and calls keep flowing meanwhile: one threshold alert, one {@code blocked} per limit and window,
 * one {@code loop}.
 */
class AlertsWebhookTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static int call(ProxyHarness proxy, String agent, String content) throws Exception {
        return proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions")).header("X-Agent-Id", agent)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\""
                        + content + "\"}]}")).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    @Test
    void everyEventIsDeliveredOnceThroughAnOutage() throws Exception {
        try (MockWebServer receiver = new MockWebServer(); MockUpstreamServer provider = MockUpstreamServer.start("127.0.0.1", 0, 0, 0)) {
            receiver.enqueue(new MockResponse.Builder().code(500).build());
            receiver.enqueue(new MockResponse.Builder().code(500).build());
            for (int i = 0; i < 10; i++) {
                receiver.enqueue(new MockResponse.Builder().code(200).body("ok").build());
            }
            receiver.start();
            String yaml = "alerts:\n  webhook_url: " + receiver.url("/hooks/T000") + "\n"
                    + "loop_detection:\n  max_identical_requests: 2\n  window_seconds: 600\n  action: block\n"
                    + "agents:\n  capped: {max_requests_per_day: 4, alert_at: 0.5, team: support}\n";
            List<Integer> statuses = new ArrayList<>();
            try (ProxyHarness proxy = ProxyHarness.start(provider.baseUrl(), yaml)) {
                for (int i = 0; i < 6; i++) {
                    statuses.add(call(proxy, "capped", "question " + i));
                }
                for (int i = 0; i < 4; i++) {
                    statuses.add(call(proxy, "looper", "the same question"));
                }
                statuses.add(call(proxy, "looper", "a different question"));

                // Calls flowed while the receiver failed: budget and loop decisions only.
                assertThat(statuses).containsExactly(200, 200, 200, 200, 429, 429, 200, 200, 429, 429, 200);

                List<JsonNode> delivered = new ArrayList<>();
                int posts = 0;
                for (RecordedRequest post; delivered.size() < 3 && (post = receiver.takeRequest(15, TimeUnit.SECONDS)) != null; ) {
                    posts++;
                    if (posts > 2) {
                        delivered.add(JSON.readTree(post.getBody().utf8()));
                    }
                }
                assertThat(posts).as("two failed attempts, then one post per event").isEqualTo(5);
                assertThat(delivered).extracting(p -> p.path("tollgate").path("kind").asText())
                        .containsExactlyInAnyOrder("alert", "blocked", "loop");
                JsonNode alert = delivered.stream().filter(p -> p.path("tollgate").path("kind").asText().equals("alert"))
                        .findFirst().orElseThrow();
                assertThat(alert.path("text").asText()).contains("agent 'capped' has used 50% of max_requests_per_day");
                assertThat(alert.path("tollgate").path("agent").asText()).isEqualTo("capped");
                assertThat(alert.path("tollgate").path("team").asText()).isEqualTo("support");
                assertThat(alert.path("tollgate").path("limit").asText()).isEqualTo("max_requests_per_day");
                assertThat(alert.path("tollgate").path("limit_value").asText()).isEqualTo("4");
                assertThat(alert.path("tollgate").path("resets_at").asText()).endsWith("Z");
                assertThat(receiver.takeRequest(2, TimeUnit.SECONDS)).as("nothing is delivered twice").isNull();
            }
        }
    }
}
