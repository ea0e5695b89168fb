package dev.tollgate.proxy.durability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.pricing.UsdNanos;
import dev.tollgate.proxy.mock.MockUpstreamServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the proxy as a child JVM under load, kills it, and counts ledger rows against the calls the agents
 * saw answered. After {@code kill -9} the rows not yet committed are in the ledger's journal, and the
 * restart commits them: the ledger is counted after it, and no call answered more than 100 ms before the
 * kill may be missing (in practice none is). With SIGTERM none may. The measured figures are written to {@code target/durability.txt}.
 */
class CrashDurabilityTest {

    /** The documented bound: a call answered longer ago than this before a kill -9 is in the ledger. */
    private static final long LOSS_WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final int AGENTS = 8;

    @TempDir
    Path dir;
    private MockUpstreamServer provider;
    private Process proxy;

    @BeforeEach
    void startProvider() throws Exception {
        provider = MockUpstreamServer.start("127.0.0.1", 0, 0, 0);
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.destroyForcibly();
        }
        provider.close();
    }

    private String startProxy() throws Exception {
        Path config = dir.resolve("tollgate.yaml");
        Files.writeString(config, "listen: 127.0.0.1:0\nupstream:\n  base_url: " + provider.baseUrl()
                + "\nstorage:\n  path: " + dir.resolve("ledger.db") + "\n");
        String java = ProcessHandle.current().info().command().orElse("java");
        proxy = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                "-Dlogback.configurationFile=" + Path.of("src/main/resources/logback.xml").toAbsolutePath(),
                "dev.tollgate.proxy.cli.TollgateCli", "serve", "--config", config.toString())
                .redirectError(dir.resolve("proxy.log").toFile())
                .start();
        BufferedReader out = new BufferedReader(new InputStreamReader(proxy.getInputStream(), StandardCharsets.UTF_8));
        for (String line = out.readLine(); line != null; line = out.readLine()) {
            int at = line.indexOf("OPENAI_BASE_URL=");
            if (at >= 0) {
                return line.substring(at + "OPENAI_BASE_URL=".length()).trim();
            }
        }
        throw new IllegalStateException("the proxy exited: " + Files.readString(dir.resolve("proxy.log")));
    }

    /** Agents sending calls until told to stop; each answered call's intent id and the time it was answered. */
    private Map<String, Long> runAgents(String baseUrl, AtomicBoolean running) throws InterruptedException {
        Map<String, Long> answered = new ConcurrentHashMap<>();
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        List<Thread> agents = new ArrayList<>();
        for (int a = 0; a < AGENTS; a++) {
            int agent = a;
            Thread thread = new Thread(() -> {
                for (int n = 0; running.get(); n++) {
                    String intent = "call-" + agent + "-" + n;
                    try {
                        HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(baseUrl + "/chat/completions"))
                                .timeout(Duration.ofSeconds(5))
                                .header("Content-Type", "application/json")
                                .header("X-Agent-Id", "agent-" + agent).header("X-Intent-Id", intent)
                                .POST(HttpRequest.BodyPublishers.ofString(
                                        "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                                .build(), HttpResponse.BodyHandlers.ofString());
                        if (response.statusCode() == 200) {
                            answered.put(intent, System.nanoTime());
                        }
                    } catch (IOException e) {
                        return;
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            });
            thread.start();
            agents.add(thread);
        }
        Thread.sleep(3_000);
        return answered;
    }

    private Set<String> intentsInLedger() throws Exception {
        Set<String> intents = new HashSet<>();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("ledger.db"));
                Statement s = c.createStatement()) {
            try (ResultSet check = s.executeQuery("PRAGMA integrity_check")) {
                check.next();
                assertThat(check.getString(1)).isEqualTo("ok");
            }
            long rows = 0;
            try (ResultSet rs = s.executeQuery("SELECT intent FROM calls")) {
                while (rs.next()) {
                    intents.add(rs.getString(1));
                    rows++;
                }
            }
            assertThat(rows).as("every call is one row: none inserted twice (each has its own intent)").isEqualTo(intents.size());
        }
        return intents;
    }

    @Test
    void killNineLosesNothingOnceTheRestartReplaysTheJournalAndTheBudgetsContinue() throws Exception {
        String baseUrl = startProxy();
        AtomicBoolean running = new AtomicBoolean(true);
        Map<String, Long> answered = runAgents(baseUrl, running);

        long killedAt = System.nanoTime();
        proxy.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        running.set(false);
        Thread.sleep(200);
        int committedAtTheKill = intentsInLedger().size();

        // Restarted on the same ledger, the proxy first commits what its journal holds beyond the ledger.
        String restarted = startProxy();
        Set<String> rows = intentsInLedger();
        long lost = answered.keySet().stream().filter(i -> !rows.contains(i)).count();
        long lostOlderThanWindow = answered.entrySet().stream()
                .filter(e -> !rows.contains(e.getKey()) && e.getValue() < killedAt - LOSS_WINDOW_NANOS).count();
        long newestLossAgeMs = answered.entrySet().stream().filter(e -> !rows.contains(e.getKey()))
                .mapToLong(e -> TimeUnit.NANOSECONDS.toMillis(killedAt - e.getValue())).max().orElse(0);
        Files.writeString(Path.of("target/durability.txt"), String.format(
                "kill -9 under load (%d agents, 3 s): %d calls answered, %d committed at the kill, %d in the ledger after"
                        + " the restart replayed the journal, %d lost; oldest lost call answered %d ms before the kill%n",
                AGENTS, answered.size(), committedAtTheKill, rows.size(), lost, newestLossAgeMs), StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);

        assertThat(answered.size()).as("calls answered before the kill").isGreaterThan(500);
        assertThat(lostOlderThanWindow).as("calls answered more than 100 ms before the kill but missing").isZero();
        // Only a call whose answer left the proxy in the microseconds before its record was journaled can be
        // missing: at most one per agent.
        assertThat(lost).as("calls missing after the restart").isLessThanOrEqualTo(AGENTS);

        // The budgets continue from what was persisted, replayed rows included, to the nano-dollar.
        String admin = restarted.substring(0, restarted.length() - "/v1".length());
        JsonNode day = new ObjectMapper().readTree(HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(admin + "/tollgate/agents/agent-0")).build(),
                HttpResponse.BodyHandlers.ofString()).body()).path("windows").path("day");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("ledger.db"));
                Statement s = c.createStatement();
                ResultSet persisted = s.executeQuery(
                        "SELECT count(*), coalesce(sum(cost_nanos), 0) FROM calls WHERE agent = 'agent-0' AND refused = 0")) {
            persisted.next();
            assertThat(persisted.getLong(1)).isPositive();
            assertThat(day.path("requests").asLong()).as("requests today after the restart").isEqualTo(persisted.getLong(1));
            assertThat(day.path("spent_usd").asText()).as("spend today after the restart")
                    .isEqualTo(UsdNanos.plainDollars(persisted.getLong(2)));
        }
    }

    @Test
    void sigtermWritesEverythingBeforeExit() throws Exception {
        String baseUrl = startProxy();
        AtomicBoolean running = new AtomicBoolean(true);
        Map<String, Long> answered = runAgents(baseUrl, running);

        running.set(false);
        proxy.destroy();
        assertThat(proxy.waitFor(30, TimeUnit.SECONDS)).as("the proxy exits on SIGTERM").isTrue();

        Set<String> rows = intentsInLedger();
        long lost = answered.keySet().stream().filter(i -> !rows.contains(i)).count();
        Files.writeString(Path.of("target/durability.txt"), String.format(
                "SIGTERM under load (%d agents, 3 s): %d calls answered, %d in the ledger, %d lost%n",
                AGENTS, answered.size(), rows.size(), lost), StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);

        assertThat(answered.size()).isGreaterThan(500);
        assertThat(lost).as("answered calls missing after SIGTERM").isZero();
    }
}
