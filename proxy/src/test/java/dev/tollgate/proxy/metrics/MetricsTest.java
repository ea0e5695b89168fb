package dev.tollgate.proxy.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.proxy.mock.MockUpstreamServer;
import dev.tollgate.proxy.testing.ProxyHarness;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code /metrics} parses under the Prometheus text format's rules and agrees with the calls made. */
class MetricsTest {

    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\",?)*\\})? (\\S+)( -?\\d+)?");

    /** Parses the text format strictly: every line is HELP, TYPE or a sample of a declared family. */
    static Map<String, Double> parse(String text) {
        Map<String, Double> samples = new HashMap<>();
        Set<String> families = new HashSet<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
                String[] parts = line.split(" ", 4);
                assertThat(parts[2]).matches(NAME);
                if (line.startsWith("# TYPE ")) {
                    assertThat(parts[3]).isIn("counter", "gauge", "histogram", "summary", "untyped");
                    families.add(parts[2]);
                }
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertThat(m.matches()).as("a valid sample line: " + line).isTrue();
            String name = m.group(1);
            assertThat(families.stream().anyMatch(f -> name.equals(f) || name.startsWith(f + "_")))
                    .as("sample %s belongs to a declared family", name).isTrue();
            samples.put(name + (m.group(2) == null ? "" : m.group(2)), Double.parseDouble(m.group(3)));
        }
        return samples;
    }

    @Test
    void scrapeParsesAndCountsTheCalls() throws Exception {
        try (MockUpstreamServer provider = MockUpstreamServer.start("127.0.0.1", 0, 0, 0);
                ProxyHarness proxy = ProxyHarness.start(provider.baseUrl(),
                        "agents:\n  research-agent: {max_cost_per_day_usd: 5, max_requests_per_day: 3}\n")) {
            for (int i = 0; i < 4; i++) {
                proxy.http().send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions")).header("X-Agent-Id", "research-agent")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"q" + i + "\"}]}"))
                        .build(), HttpResponse.BodyHandlers.ofString());
            }
            proxy.drainCallsAfter(4);

            HttpResponse<String> scrape = proxy.http().send(HttpRequest.newBuilder(proxy.uri("/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            Map<String, Double> samples = parse(scrape.body());

            assertThat(scrape.statusCode()).isEqualTo(200);
            assertThat(scrape.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
            assertThat(samples).containsEntry("tollgate_requests_total{agent=\"research-agent\",status=\"200\"}", 3.0)
                    .containsEntry("tollgate_requests_total{agent=\"research-agent\",status=\"429\"}", 1.0)
                    .containsEntry("tollgate_refusals_total{agent=\"research-agent\",code=\"rate_limit_exceeded\"}", 1.0)
                    .containsEntry("tollgate_budget_remaining{agent=\"research-agent\",limit=\"max_requests_per_day\",scope=\"agent 'research-agent'\"}", 0.0);
            assertThat(samples.get("tollgate_cost_usd_total{agent=\"research-agent\",model=\"gpt-4o-2024-08-06\"}")).isPositive();
            assertThat(samples.get("tollgate_tokens_total{agent=\"research-agent\",kind=\"output\"}")).isPositive();
            assertThat(samples.get("tollgate_admission_seconds_count")).isEqualTo(4.0);
            assertThat(samples).containsEntry("tollgate_ledger_rejected_rows_total", 0.0);
            assertThat(samples.get("tollgate_ledger_backlog")).isBetween(0.0, 4.0);
        }
    }
}
