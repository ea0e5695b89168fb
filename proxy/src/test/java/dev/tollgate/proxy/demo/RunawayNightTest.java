package dev.tollgate.proxy.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tollgate demo} tells the whole story, stops the agent at its cap and leaves the ledger behind. */
class RunawayNightTest {

    @Test
    void theNightEndsWithA429AndTheReport(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Path ledger = dir.resolve("demo.db");

        int code = new RunawayNight(ledger, new PrintStream(out, true, StandardCharsets.UTF_8)).run();

        String timeline = out.toString(StandardCharsets.UTF_8);
        assertThat(code).isZero();
        assertThat(timeline)
                .contains(">> LOOP")
                .contains("is projected to reach $50.00")
                .contains("has used 80% of max_cost_per_day_usd")
                .contains("HTTP 429 budget_exceeded")
                .contains("x-should-retry: false")
                .contains("Cost by agent").contains("Cost by intent")
                .contains("The ledger stays behind: " + ledger.toAbsolutePath());
        assertThat(timeline.indexOf("80%")).isLessThan(timeline.indexOf("HTTP 429"));
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + ledger);
                ResultSet rs = c.createStatement().executeQuery(
                        "SELECT SUM(cost_nanos), SUM(refused), COUNT(*) FROM calls WHERE agent = 'research-agent'")) {
            rs.next();
            assertThat(rs.getLong(1)).as("the agent stopped at its $50 cap").isLessThanOrEqualTo(50_000_000_000L)
                    .isGreaterThan(45_000_000_000L);
            assertThat(rs.getLong(2)).as("exactly one refused call: the SDK does not retry").isEqualTo(1);
        }
    }
}
