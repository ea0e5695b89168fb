package dev.tollgate.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.proxy.metering.CallRecord;
import dev.tollgate.proxy.mock.MockUpstreamServer;
import dev.tollgate.proxy.testing.ProxyHarness;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The admin API's views agree with what the proxy charged. */
class AdminApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static HttpResponse<String> get(ProxyHarness proxy, String path) throws Exception {
        return proxy.http().send(HttpRequest.newBuilder(proxy.uri(path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void call(ProxyHarness proxy, String agent, String intent) throws Exception {
        proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions")).header("X-Agent-Id", agent)
                .header("X-Intent-Id", intent)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi " + intent + "\"}]}"))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void agentsAgentAndEventsViews() throws Exception {
        try (MockUpstreamServer provider = MockUpstreamServer.start("127.0.0.1", 0, 0, 0);
                ProxyHarness proxy = ProxyHarness.start(provider.baseUrl(),
                        "agents:\n  research-agent: {team: support, max_cost_per_day_usd: 5, max_requests_per_hour: 100}\n"
                                + "  idle-agent: {}\n")) {
            call(proxy, "research-agent", "task-a");
            call(proxy, "research-agent", "task-a");
            call(proxy, "research-agent", "task-b");
            call(proxy, "walk-in", "task-x");
            long spent = 0;
            for (CallRecord record : proxy.drainCallsAfter(4)) {
                if (record.agent().equals("research-agent")) {
                    spent += record.cost().value();
                }
            }
            proxy.http().send(HttpRequest.newBuilder(proxy.uri("/tollgate/agents/walk-in/pause"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"reason\":\"who is this\"}")).build(), HttpResponse.BodyHandlers.ofString());
            proxy.server().ledger().flush(5, TimeUnit.SECONDS);

            JsonNode agents = JSON.readTree(get(proxy, "/tollgate/agents").body()).path("agents");
            JsonNode one = JSON.readTree(get(proxy, "/tollgate/agents/research-agent").body());
            JsonNode events = JSON.readTree(get(proxy, "/tollgate/events?since=1h").body()).path("events");

            assertThat(agents.findValuesAsText("agent")).containsExactly("idle-agent", "research-agent", "walk-in");
            assertThat(one.path("team").asText()).isEqualTo("support");
            assertThat(one.path("windows").path("day").path("requests").asLong()).isEqualTo(3);
            assertThat(new java.math.BigDecimal(one.path("windows").path("day").path("spent_usd").asText()))
                    .isEqualByComparingTo(java.math.BigDecimal.valueOf(spent, 9));
            JsonNode dayLimit = one.path("limits").get(0);
            assertThat(dayLimit.path("limit").asText()).isEqualTo("max_cost_per_day_usd");
            assertThat(new java.math.BigDecimal(dayLimit.path("remaining").asText()))
                    .isEqualByComparingTo(java.math.BigDecimal.valueOf(5_000_000_000L - spent, 9));
            assertThat(one.path("top_intents_today").get(0).path("intent").asText()).isEqualTo("task-a");
            assertThat(one.path("top_intents_today").get(0).path("calls").asLong()).isEqualTo(2);
            assertThat(agents.get(2).path("paused").asBoolean()).isTrue();
            assertThat(events.findValuesAsText("kind")).contains("paused");
            assertThat(get(proxy, "/tollgate/agents/nobody").statusCode()).isEqualTo(404);
            assertThat(proxy.http().send(HttpRequest.newBuilder(proxy.uri("/tollgate/agents"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(405);
        }
    }
}
