package dev.tollgate.proxy.metering;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.tollgate.proxy.cli.TollgateCli;
import dev.tollgate.proxy.mock.MockUpstreamServer;
import dev.tollgate.proxy.testing.ProxyHarness;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Calls through the proxy land in the SQLite ledger, and the CLI and the admin API report them alike. */
class LedgerIntegrationTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private MockUpstreamServer mock;
    private ProxyHarness proxy;

    @BeforeEach
    void start() throws Exception {
        mock = MockUpstreamServer.start("127.0.0.1", 0, 0, 0);
        proxy = ProxyHarness.start(mock.baseUrl(), "");
    }

    @AfterEach
    void stop() {
        proxy.close();
        mock.close();
    }

    private Path db() {
        return proxy.server().ledger().path();
    }

    @Test
    void everyCallBecomesOneRowAndReportsAgree() throws Exception {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(ChatModel.GPT_4O)
                .addUserMessage("Summarise the ticket backlog.").build();
        for (int i = 0; i < 3; i++) {
            proxy.agent("research-agent").chat().completions().create(params);
        }
        proxy.agent("billing-agent").chat().completions().create(params);
        proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/models")).header("X-Agent-Id", "billing-agent").build(),
                HttpResponse.BodyHandlers.ofString());
        proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions")).header("X-Agent-Id", "billing-agent")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"nope-1\",\"messages\":[]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        long sum = proxy.drainCallsAfter(6).stream().mapToLong(c -> c.cost().value()).sum();
        assertThat(proxy.server().ledger().flush(5, TimeUnit.SECONDS)).isTrue();

        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db()); Statement s = c.createStatement()) {
            ResultSet rows = s.executeQuery("SELECT COUNT(*), SUM(cost_nanos), SUM(usage_source = 'none'),"
                    + " SUM(status = 400) FROM calls");
            rows.next();
            assertThat(rows.getLong(1)).isEqualTo(6);
            assertThat(rows.getLong(2)).isEqualTo(sum).isPositive();
            assertThat(rows.getLong(3)).as("models list and refused call are not metered").isEqualTo(2);
            assertThat(rows.getLong(4)).as("the refused unpriced call is recorded with its status").isEqualTo(1);
        }

        HttpResponse<String> api = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/tollgate/report?by=agent&since=1h"))
                .build(), HttpResponse.BodyHandlers.ofString());
        String cli = runCli("report", "--db", db().toString(), "--by", "agent", "--since", "1h", "--format", "json");

        assertThat(api.statusCode()).isEqualTo(200);
        JsonNode fromApi = JSON.readTree(api.body());
        JsonNode fromCli = JSON.readTree(cli);
        assertThat(fromApi.path("rows")).isEqualTo(fromCli.path("rows"));
        assertThat(fromApi.path("total").path("cost_nanos").asLong()).isEqualTo(sum);
        assertThat(fromApi.path("rows").get(0).path("key").asText()).isEqualTo("research-agent");
        assertThat(fromApi.path("rows").get(0).path("calls").asLong()).isEqualTo(3);
    }

    @Test
    void reportTableAndBadQueries() throws Exception {
        proxy.agent("research-agent").chat().completions().create(ChatCompletionCreateParams.builder()
                .model(ChatModel.GPT_4O_MINI).addUserMessage("hi").build());
        proxy.nextCall();
        proxy.server().ledger().flush(5, TimeUnit.SECONDS);

        String table = runCli("report", "--db", db().toString(), "--by", "model");
        HttpResponse<String> bad = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/tollgate/report?by=colour")).build(),
                HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> unknown = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/tollgate/nothing")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(table).contains("gpt-4o-mini-2024-07-18").contains("TOTAL");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("by must be agent, intent, team, model, day or hour");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(runCliExit("report", "--db", "/nonexistent/x.db")).isEqualTo(1);
    }

    private static String runCli(String... args) {
        PrintStream original = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            assertThat(TollgateCli.run(args)).isZero();
        } finally {
            System.setOut(original);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static int runCliExit(String... args) {
        PrintStream original = System.err;
        System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        try {
            return TollgateCli.run(args);
        } finally {
            System.setErr(original);
        }
    }
}
