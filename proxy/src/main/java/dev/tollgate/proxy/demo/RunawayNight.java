package dev.tollgate.proxy.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.proxy.mock.MockUpstreamServer;
import dev.tollgate.proxy.server.TollgateServer;
import dev.tollgate.storage.Ledger;
import dev.tollgate.storage.LedgerReports;
import dev.tollgate.storage.ReportFormat;
import dev.tollgate.storage.ReportQuery;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.concurrent.TimeUnit;

/**
 * The runaway-agent night, replayed in seconds with no network and no key: the fake provider and the
 * proxy on free loopback ports, and an agent whose dedup bug makes it ask the same four questions over
 * and over. Prices are scaled up a thousand times so that a night's spend fits in a few seconds; the
 * clock shown is the simulated night (one loop iteration is 72 simulated seconds).
 */
public final class RunawayNight {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String AGENT = "research-agent";
    private static final String INTENT = "nightly-digest-2026-11-21";
    private static final String[] STEPS = {
        "Plan tonight's research digest on retry-loop incidents in agent fleets.",
        "Search the ticket archive for incidents tagged runaway-agent.",
        "Summarise the incidents found so far into five bullet points.",
        "Check whether this digest was already sent today (dedup).",
    };
    private static final int SIMULATED_SECONDS_PER_ITERATION = 72;
    /** The ticket context every step carries, as agents do: about 2,000 tokens. */
    private static final String CONTEXT = "Ticket archive excerpt: agent retried the same tool call after a timeout. ".repeat(110);
    private static final java.time.format.DateTimeFormatter HH_MM_SS = java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss");

    private final Path ledger;
    private final PrintStream out;

    public RunawayNight(Path ledger, PrintStream out) {
        this.ledger = ledger;
        this.out = out;
    }

    /** Runs the night; returns 0 when the agent was stopped by its budget as it should be. */
    public int run() throws Exception {
        Files.deleteIfExists(ledger);
        Files.deleteIfExists(Path.of(ledger + "-wal"));
        Files.deleteIfExists(Path.of(ledger + "-shm"));
        Files.deleteIfExists(Ledger.journalFile(ledger));
        Path prices = Files.createTempFile("tollgate-demo-prices", ".yaml");
        // Scaled: gpt-4o-mini's real price is $0.15 / $0.60 per million tokens.
        Files.writeString(prices, "models:\n  gpt-4o-mini: { input: 150.00, cached_input: 75.00, output: 600.00 }\n");
        try (MockUpstreamServer provider = MockUpstreamServer.start("127.0.0.1", 0, 2, 0)) {
            TollgateConfig config = new ConfigLoader(name -> null).parse("""
                    listen: 127.0.0.1:0
                    upstream:
                      base_url: %s
                    storage:
                      path: %s
                    pricing:
                      file: %s
                    agents:
                      research-agent:
                        team: research
                        max_cost_per_day_usd: 50.00
                        alert_at: 0.8
                    teams:
                      research: { max_cost_per_month_usd: 1000 }
                    loop_detection:
                      max_identical_requests: 5
                      window_seconds: 600
                      action: alert
                    """.formatted(provider.baseUrl(), ledger.toAbsolutePath(), prices));
            try (TollgateServer proxy = TollgateServer.start(config)) {
                banner(proxy);
                replay(proxy);
                proxy.ledger().flush(10, TimeUnit.SECONDS);
                report(proxy.currentConfig().timeZone());
            }
        } finally {
            Files.deleteIfExists(prices);
        }
        out.println();
        out.println("The ledger stays behind: " + ledger.toAbsolutePath());
        out.println("  ./tollgate report --db " + ledger + " --by intent --since 7d");
        out.println("  sqlite3 " + ledger + " \"SELECT kind, detail FROM events\"");
        return 0;
    }

    private void banner(TollgateServer proxy) {
        out.println("Tollgate demo: the runaway-agent night, replayed in seconds.");
        out.println("  fake provider and proxy on loopback, no network, no key. Proxy: " + proxy.baseUrl());
        out.println("  research-agent has max_cost_per_day_usd: 50.00 and alert_at: 0.8; loop_detection alerts after 5 repeats.");
        out.println("  Prices are scaled x1000 so a night of spend fits in seconds. Times on the left are the simulated night;");
        out.println("  the proxy's own alerts (the projection) use the real clock.");
        out.println("  The agent's dedup bug makes it ask the same 4 questions again and again, from 22:00.");
        out.println();
    }

    private void replay(TollgateServer proxy) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        long lastEvent = 0;
        int call = 0;
        for (int iteration = 0; iteration < 500; iteration++) {
            for (int step = 0; step < STEPS.length; step++) {
                call++;
                String clock = HH_MM_SS.format(LocalTime.of(22, 0).plusSeconds((long) iteration * SIMULATED_SECONDS_PER_ITERATION + step * 18L));
                String body = JSON.writeValueAsString(JSON.createObjectNode().put("model", "gpt-4o-mini").put("max_tokens", 60)
                        .set("messages", JSON.createArrayNode()
                                .add(JSON.createObjectNode().put("role", "system").put("content", CONTEXT))
                                .add(JSON.createObjectNode().put("role", "user").put("content", STEPS[step]))));
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(proxy.baseUrl() + "/chat/completions"))
                        .header("Content-Type", "application/json").header("X-Agent-Id", AGENT).header("X-Intent-Id", INTENT)
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                proxy.ledger().flush(5, TimeUnit.SECONDS);
                if (response.statusCode() == 429) {
                    lastEvent = printEvents(clock, lastEvent);
                    JsonNode error = JSON.readTree(response.body()).path("error");
                    out.printf("%s  call %3d  HTTP 429 %s%n", clock, call, error.path("code").asText());
                    out.printf("               %s%n", error.path("message").asText());
                    out.printf("               x-should-retry: %s, Retry-After: %s s; the SDK raises RateLimitError once and the agent stops.%n",
                            response.headers().firstValue("x-should-retry").orElse("?"),
                            response.headers().firstValue("retry-after").orElse("?"));
                    return;
                }
                if (call == 1 || call % 12 == 0) {
                    out.printf("%s  call %3d  HTTP %d  spent today $%s%n", clock, call, response.statusCode(), spentToday());
                }
                lastEvent = printEvents(clock, lastEvent);
            }
        }
        out.println("The agent was never stopped: that is a bug in the demo.");
    }

    private String spentToday() throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + ledger);
                PreparedStatement s = c.prepareStatement("SELECT COALESCE(SUM(cost_nanos), 0) FROM calls WHERE agent = ?")) {
            s.setString(1, AGENT);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return ReportFormat.dollars(rs.getLong(1));
            }
        }
    }

    private boolean loopShown;

    /** Prints the events raised since {@code after}; the loop is shown once (each of the four steps raises one). */
    private long printEvents(String clock, long after) throws Exception {
        long last = after;
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + ledger);
                PreparedStatement s = c.prepareStatement("SELECT id, kind, detail FROM events WHERE id > ? ORDER BY id")) {
            s.setLong(1, after);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    last = rs.getLong(1);
                    String message = JSON.readTree(rs.getString(3)).path("message").asText();
                    if (rs.getString(2).equals("loop")) {
                        if (loopShown) {
                            continue;
                        }
                        loopShown = true;
                    }
                    out.printf("%s  >> %-7s %s%n", clock, rs.getString(2).toUpperCase(), message);
                }
            }
        }
        return last;
    }

    private void report(ZoneId zone) throws Exception {
        Instant now = Instant.now();
        out.println();
        for (String by : new String[] {"agent", "intent"}) {
            out.print(ReportFormat.TABLE.render(LedgerReports.of(ledger).report(ReportQuery.of(by, "today", null, null, null, zone, now))));
            out.println();
        }
    }
}
