package dev.tollgate.proxy.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.RateLimitException;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.tollgate.proxy.mock.MockUpstreamServer;
import dev.tollgate.proxy.testing.ProxyHarness;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Budgets as agents meet them: hard caps under concurrency, SDK-friendly 429s, restarts, kill switch, keys. */
class BudgetEnforcementTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private MockUpstreamServer mock;

    @BeforeEach
    void start() throws Exception {
        mock = MockUpstreamServer.start("127.0.0.1", 0, 20, 5);
    }

    @AfterEach
    void stop() {
        mock.close();
    }

    private String config(String extra) {
        return "storage:\n  path: " + dir.resolve("ledger.db") + "\nupstream:\n  base_url: UPSTREAM\n" + extra;
    }

    private static long ledgerSum(Path db, String agent) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
                var statement = c.prepareStatement("SELECT COALESCE(SUM(cost_nanos), 0) FROM calls WHERE agent = ?")) {
            statement.setString(1, agent);
            try (ResultSet rs = statement.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    @Test
    void concurrentStreamsCannotCarryAnAgentPastItsCap() throws Exception {
        String prompt = "Review this log line by line and find the loop. ".repeat(400);   // ~20 KB, ~5,000 tokens
        String body = JSON.writeValueAsString(JSON.createObjectNode().put("model", "o1").put("stream", true)
                .set("messages", JSON.createArrayNode().add(JSON.createObjectNode().put("role", "user").put("content", prompt))));
        List<Integer> statuses = new ArrayList<>();
        try (ProxyHarness proxy = ProxyHarness.start(mock.baseUrl(), config("agents:\n  research-agent:\n    max_cost_per_day_usd: 1.00\n"))) {
            List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                calls.add(proxy.http().sendAsync(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                        .header("Content-Type", "application/json").header("X-Agent-Id", "research-agent")
                        .header("X-Intent-Id", "run-" + i).timeout(Duration.ofSeconds(30))
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()));
            }
            for (CompletableFuture<HttpResponse<String>> call : calls) {
                statuses.add(call.get(60, TimeUnit.SECONDS).statusCode());
            }
            // Then one call at a time until the budget is spent: what was only reserved becomes usable again.
            for (int i = 0; i < 40; i++) {
                int status = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                        .header("Content-Type", "application/json").header("X-Agent-Id", "research-agent")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
                if (status == 429) {
                    break;
                }
            }
            assertThat(proxy.server().ledger().flush(10, TimeUnit.SECONDS)).isTrue();
        }

        long spent = ledgerSum(dir.resolve("ledger.db"), "research-agent");
        long admitted = statuses.stream().filter(s -> s == 200).count();
        long refused = statuses.stream().filter(s -> s == 429).count();
        long overshoot = Math.max(0, spent - 1_000_000_000L);
        System.out.printf("64 concurrent streams, $1.00 cap: %d admitted, %d refused; after sequential calls until"
                + " refused, ledger total $%s, overshoot %d nano-dollars%n",
                admitted, refused, java.math.BigDecimal.valueOf(spent, 9).toPlainString(), overshoot);
        assertThat(admitted + refused).isEqualTo(64);
        assertThat(admitted).isPositive();
        assertThat(refused).as("a $1.00 cap cannot pay for 64 calls of ~$0.08 each").isPositive();
        // Reservations are worst cases and the provider honours the lowered output cap: no settle error at all.
        assertThat(overshoot).isZero();
        // A prompt reserved at one token per byte (~$0.30 here) is refused once less than that is left.
        assertThat(spent).isGreaterThan(600_000_000L);
    }

    @Test
    void officialClientGetsItsRateLimitExceptionOnceAndARestartKeepsTheBudget() throws Exception {
        try (MockWebServer provider = new MockWebServer()) {
            provider.start();
            for (int i = 0; i < 5; i++) {
                provider.enqueue(new MockResponse.Builder().addHeader("Content-Type", "application/json").body(
                        "{\"id\":\"x\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],"
                                + "\"usage\":{\"prompt_tokens\":100000,\"completion_tokens\":60000,\"total_tokens\":160000}}").build());
            }
            String yaml = "storage:\n  path: " + dir.resolve("ledger.db") + "\nupstream:\n  base_url: " + provider.url("/v1")
                    + "\ntime_zone: Europe/Berlin\nagents:\n  research-agent:\n    max_cost_per_day_usd: 0.50\n";
            ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(ChatModel.GPT_4O)
                    .addUserMessage("hi").build();
            try (ProxyHarness proxy = ProxyHarness.start(provider.url("/v1").toString(), yaml)) {
                OpenAIClient agent = OpenAIOkHttpClient.builder().baseUrl(proxy.baseUrl()).apiKey("sk-x")
                        .putHeader("X-Agent-Id", "research-agent").maxRetries(2).build();
                // $0.25 input + $0.60 output: one call is enough to go over $0.50.
                var first = agent.chat().completions().withRawResponse().create(params);
                assertThat(first.headers().values("x-tollgate-budget-remaining-usd")).containsExactly("0.50");
                // A raw response is in the agent's hands once its headers are; the budget is settled before the
                // end of its body, which is what the next call may count on: read it whole first.
                assertThat(first.parse().usage().orElseThrow().totalTokens()).isEqualTo(160_000);

                assertThatThrownBy(() -> agent.chat().completions().create(params))
                        .isInstanceOf(RateLimitException.class)
                        .hasMessageContaining("max_cost_per_day_usd");
                assertThat(provider.getRequestCount()).as("the refused call reached no provider and was not retried").isEqualTo(1);
                // In any order: the 200's record is published after its last bytes, on its event loop, and the
                // SDK's next call may be refused on the other loop before that task runs.
                assertThat(proxy.drainCallsAfter(2)).extracting(c -> c.status()).containsExactlyInAnyOrder(200, 429);

                HttpResponse<String> raw = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                        .header("X-Agent-Id", "research-agent").header("X-Intent-Id", "int_abc123")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[]}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(raw.statusCode()).isEqualTo(429);
                assertThat(raw.headers().firstValue("x-should-retry")).hasValue("false");
                long retryAfter = Long.parseLong(raw.headers().firstValue("retry-after").orElseThrow());
                assertThat(retryAfter).isBetween(1L, 25L * 3600);
                JsonNode error = JSON.readTree(raw.body()).path("error");
                assertThat(error.path("type").asText()).isEqualTo("insufficient_quota");
                assertThat(error.path("code").asText()).isEqualTo("budget_exceeded");
                JsonNode tollgate = error.path("tollgate");
                assertThat(tollgate.path("agent").asText()).isEqualTo("research-agent");
                assertThat(tollgate.path("intent").asText()).isEqualTo("int_abc123");
                assertThat(tollgate.path("limit").asText()).isEqualTo("max_cost_per_day_usd");
                assertThat(tollgate.path("limit_value").asText()).isEqualTo("0.50");
                assertThat(tollgate.path("spent").asText()).isEqualTo("0.85");
                assertThat(tollgate.path("resets_at").asText()).endsWith(":00:00Z");
                agent.close();
            }
            // A new proxy on the same ledger remembers what was spent today.
            try (ProxyHarness restarted = ProxyHarness.start(provider.url("/v1").toString(), yaml)) {
                HttpResponse<String> again = restarted.http().send(HttpRequest.newBuilder(restarted.uri("/v1/chat/completions"))
                        .header("X-Agent-Id", "research-agent")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[]}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(again.statusCode()).isEqualTo(429);
                assertThat(provider.getRequestCount()).isEqualTo(1);
            }
        }
    }

    @Test
    void pauseTakesEffectForTheNextCallAndSurvivesARestart() throws Exception {
        String yaml = config("");
        try (ProxyHarness proxy = ProxyHarness.start(mock.baseUrl(), yaml)) {
            HttpResponse<String> pause = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/tollgate/agents/looper/pause"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"reason\":\"retry loop\"}")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(pause.statusCode()).isEqualTo(200);
            assertThat(call(proxy, "looper").statusCode()).isEqualTo(429);
            assertThat(call(proxy, "someone-else").statusCode()).isEqualTo(200);
        }
        try (ProxyHarness restarted = ProxyHarness.start(mock.baseUrl(), yaml)) {
            HttpResponse<String> refused = call(restarted, "looper");
            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(refused.headers().firstValue("retry-after")).isEmpty();
            assertThat(JSON.readTree(refused.body()).path("error").path("code").asText()).isEqualTo("agent_paused");
            assertThat(refused.body()).contains("retry loop");
            restarted.http().send(HttpRequest.newBuilder(restarted.uri("/tollgate/agents/looper/resume"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(call(restarted, "looper").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void theAdminApiTakesItsTokenWhenOneIsConfigured() throws Exception {
        try (ProxyHarness proxy = ProxyHarness.start(mock.baseUrl(), config("admin:\n  token: 0123456789abcdef0123\n"))) {
            HttpResponse<String> without = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/tollgate/report")).build(),
                    HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> wrong = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/tollgate/report"))
                    .header("Authorization", "Bearer 0123456789abcdef0124").build(), HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> right = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/tollgate/report"))
                    .header("Authorization", "Bearer 0123456789abcdef0123").build(), HttpResponse.BodyHandlers.ofString());

            assertThat(without.statusCode()).isEqualTo(401);
            assertThat(wrong.statusCode()).isEqualTo(401);
            assertThat(right.statusCode()).isEqualTo(200);
        }
    }

    @Test
    void anAgentKeyDecidesWhoPaysWhateverTheHeadersSay() throws Exception {
        String yaml = config("  api_key: sk-org\nidentity:\n  require_key: true\nagents:\n  agent-a: {api_key: tg-key-a}\n"
                + "  agent-b: {api_key: tg-key-b}\n");
        try (ProxyHarness proxy = ProxyHarness.start(mock.baseUrl(), yaml)) {
            HttpResponse<String> spoofed = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                    .header("Authorization", "Bearer tg-key-a").header("X-Agent-Id", "agent-b")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> keyless = call(proxy, "agent-b");

            assertThat(spoofed.statusCode()).isEqualTo(200);
            assertThat(spoofed.headers().firstValue("x-tollgate-agent")).hasValue("agent-a");
            assertThat(proxy.nextCall().agent()).isEqualTo("agent-a");
            assertThat(keyless.statusCode()).isEqualTo(401);
            assertThat(JSON.readTree(keyless.body()).path("error").path("code").asText()).isEqualTo("invalid_agent_key");
        }
    }

    private static HttpResponse<String> call(ProxyHarness proxy, String agent) throws Exception {
        return proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions")).header("X-Agent-Id", agent)
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

}
