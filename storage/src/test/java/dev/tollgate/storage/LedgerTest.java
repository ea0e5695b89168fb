package dev.tollgate.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LedgerTest {

    @TempDir
    Path dir;

    static CallRow call(long tsMs, String agent, String intent, String team, long costNanos) {
        return new CallRow(tsMs, agent, intent, team, "/v1/chat/completions", "gpt-4o-2024-08-06", 200, false,
                100, 20, 50, 0, costNanos, "reported", 12, false);
    }

    static long count(Path file, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void newFileGetsTheSpecSchemaAtTheCurrentVersion() throws Exception {
        Path file = dir.resolve("sub/tollgate.db");
        try (Ledger ledger = Ledger.open(file)) {
            ledger.append(call(1_000, "a", null, null, 2_500_000_000L));
            assertThat(ledger.flush(5, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(count(file, "PRAGMA user_version")).isEqualTo(LedgerSchema.CURRENT_VERSION);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT agent, intent, cost_nanos, cost_usd, usage_source, streamed,"
                        + " cached_input_tokens, reasoning_tokens, latency_ms FROM calls_usd")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("a");
            assertThat(rs.getString(2)).isNull();
            assertThat(rs.getLong(3)).isEqualTo(2_500_000_000L);
            assertThat(rs.getDouble(4)).isEqualTo(2.5);
            assertThat(rs.getString(5)).isEqualTo("reported");
        }
        assertThat(count(file, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('events', 'agent_state')")).isEqualTo(2);
        assertThat(count(file, "PRAGMA journal_mode = WAL")).isNotNull();
    }

    @Test
    void anEmptyOldFileIsMigratedInPlaceAndANewerOneIsRefused() throws Exception {
        Path old = dir.resolve("old.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + old); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE notes (x TEXT)");
            s.execute("INSERT INTO notes VALUES ('kept')");
        }
        try (Ledger ledger = Ledger.open(old)) {
            assertThat(ledger.path()).isEqualTo(old);
        }
        assertThat(count(old, "SELECT COUNT(*) FROM notes")).isEqualTo(1);
        assertThat(count(old, "PRAGMA user_version")).isEqualTo(LedgerSchema.CURRENT_VERSION);

        Path newer = dir.resolve("newer.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + newer); Statement s = c.createStatement()) {
            s.execute("PRAGMA user_version = 99");
        }
        assertThatThrownBy(() -> Ledger.open(newer)).isInstanceOf(SQLException.class).hasMessageContaining("newer Tollgate");
    }

    @Test
    void closeWritesEverythingQueued() throws Exception {
        Path file = dir.resolve("t.db");
        try (Ledger ledger = Ledger.open(file)) {
            for (int i = 0; i < 20_000; i++) {
                ledger.append(call(i, "agent-" + (i % 7), "int-" + (i % 100), null, i));
            }
            ledger.append(new EventRow(5, "agent-1", null, "alert", "{\"limit\":\"max_cost_per_day_usd\"}"));
            ledger.append(new AgentStateRow("agent-1", true, "runaway", 6));
            ledger.append(new AgentStateRow("agent-1", false, null, 7));
        }
        assertThat(count(file, "SELECT COUNT(*) FROM calls")).isEqualTo(20_000);
        assertThat(count(file, "SELECT SUM(cost_nanos) FROM calls")).isEqualTo(19_999L * 20_000 / 2);
        assertThat(count(file, "SELECT COUNT(*) FROM events WHERE kind = 'alert'")).isEqualTo(1);
        assertThat(count(file, "SELECT paused FROM agent_state WHERE agent = 'agent-1'")).isZero();
        try (Ledger reopened = Ledger.open(file)) {
            assertThat(reopened.agentStates().get("agent-1").tsMs()).isEqualTo(7);
        }
    }

    @Test
    void aVersionOneFileGainsTheRefusedColumnAndKeepsItsRows() throws Exception {
        Path file = dir.resolve("v1.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE calls (id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, agent TEXT NOT NULL, intent TEXT,"
                    + " team TEXT, endpoint TEXT NOT NULL, model TEXT, status INTEGER NOT NULL, streamed INTEGER NOT NULL DEFAULT 0,"
                    + " input_tokens INTEGER NOT NULL DEFAULT 0, cached_input_tokens INTEGER NOT NULL DEFAULT 0,"
                    + " output_tokens INTEGER NOT NULL DEFAULT 0, reasoning_tokens INTEGER NOT NULL DEFAULT 0,"
                    + " cost_nanos INTEGER NOT NULL DEFAULT 0, usage_source TEXT NOT NULL, latency_ms INTEGER NOT NULL DEFAULT 0)");
            s.execute("CREATE VIEW calls_usd AS SELECT *, cost_nanos / 1000000000.0 AS cost_usd FROM calls");
            s.execute("INSERT INTO calls (ts_ms, agent, endpoint, status, cost_nanos, usage_source) VALUES (5, 'old', '/v1/x', 200, 7, 'reported')");
            s.execute("PRAGMA user_version = 1");
        }

        try (Ledger ledger = Ledger.open(file)) {
            assertThat(ledger.spendSince(0).byAgent().get("old")).isEqualTo(new Spend(7, 1, 0));
        }

        assertThat(count(file, "PRAGMA user_version")).isEqualTo(LedgerSchema.CURRENT_VERSION);
        assertThat(count(file, "SELECT COUNT(*) FROM calls_usd WHERE refused = 0 AND agent = 'old'")).isEqualTo(1);
    }

    @Test
    void refusedCallsDoNotCountAgainstBudgetsAfterARestart() throws Exception {
        try (Ledger ledger = Ledger.open(dir.resolve("refused.db"))) {
            ledger.append(call(1_000, "a", "i1", null, 5));
            ledger.append(new CallRow(1_001, "a", "i2", null, "/v1/chat/completions", "gpt-4o", 429, false, 0, 0, 0, 0, 0,
                    "none", 0, true));
            ledger.flush(5, TimeUnit.SECONDS);

            SpendSnapshot spend = ledger.spendSince(0);

            assertThat(spend.byAgent().get("a").requests()).isEqualTo(1);
            assertThat(spend.intentsStartedByAgent().get("a")).isEqualTo(1);
        }
    }

    @Test
    void spendSinceRebuildsAgentTeamIntentAndGlobalSpend() throws Exception {
        try (Ledger ledger = Ledger.open(dir.resolve("s.db"))) {
            ledger.append(call(100, "a", "i1", "support", 5));      // before the window
            ledger.append(call(1_000, "a", "i1", "support", 7));
            ledger.append(call(1_001, "a", "i2", "support", 11));
            ledger.append(call(1_002, "b", "i3", null, 13));
            ledger.append(call(1_003, "c", "i4", "support", 17));
            ledger.flush(5, TimeUnit.SECONDS);

            SpendSnapshot spend = ledger.spendSince(1_000);

            assertThat(spend.byAgent().get("a")).isEqualTo(new Spend(18, 2, 300));
            assertThat(spend.byTeam().get("support")).isEqualTo(new Spend(35, 3, 450));
            assertThat(spend.global()).isEqualTo(new Spend(48, 4, 600));
            assertThat(spend.byIntent().get(SpendSnapshot.intentKey("a", "i1"))).as("intents are lifetime totals")
                    .isEqualTo(new Spend(12, 2, 300));
            assertThat(spend.intentsStartedByAgent()).containsEntry("a", 1L).containsEntry("b", 1L).containsEntry("c", 1L);
        }
    }

    @Test
    void rowsTheDatabaseRefusesAreSetAsideWithoutHoldingUpTheRest() throws Exception {
        Path file = dir.resolve("poison.db");
        try (Ledger ledger = Ledger.open(file)) {
            ledger.append(call(1_000, "a", "i1", null, 5));
            ledger.append(new CallRow(1_001, "a", "i2", null, "/v1/chat/completions", "gpt-4o", 200, false, 1, 0, 1, 0, 7,
                    "guessed", 3, false));                                           // CHECK on usage_source
            ledger.append(call(1_002, null, "i3", null, 11));                        // NOT NULL on agent
            ledger.append(new EventRow(1_003, "a", null, null, "{}"));               // NOT NULL on kind
            ledger.append(new EventRow(1_004, "a", null, "alert", "{}"));
            ledger.append(call(1_005, "b", "i4", null, 13));
            assertThat(ledger.flush(5, TimeUnit.SECONDS)).as("the batch commits despite three bad rows").isTrue();

            ledger.append(call(1_006, "c", "i5", null, 17));
            assertThat(ledger.flush(5, TimeUnit.SECONDS)).as("the writer goes on with the next batch").isTrue();
            assertThat(ledger.rejected()).isEqualTo(3);
        }
        assertThat(count(file, "SELECT COUNT(*) FROM calls")).isEqualTo(3);
        assertThat(count(file, "SELECT SUM(cost_nanos) FROM calls")).isEqualTo(5 + 13 + 17);
        assertThat(count(file, "SELECT COUNT(*) FROM events")).isEqualTo(1);

        List<String> lines = Files.readAllLines(Ledger.rejectedFile(file));
        assertThat(lines).hasSize(3);
        ObjectMapper json = new ObjectMapper();
        JsonNode check = json.readTree(lines.get(0));
        assertThat(check.get("table").asText()).isEqualTo("calls");
        assertThat(check.get("reason").asText()).contains("CHECK constraint failed");
        assertThat(check.get("row").get("usageSource").asText()).isEqualTo("guessed");
        assertThat(check.get("row").get("costNanos").asLong()).isEqualTo(7);
        assertThat(json.readTree(lines.get(1)).get("reason").asText()).contains("NOT NULL constraint failed: calls.agent");
        assertThat(json.readTree(lines.get(2)).get("table").asText()).isEqualTo("events");
    }

    @Test
    void aBatchRetriedAfterAFailureOfTheDatabaseIsWrittenOnceNotOncePerAttempt() throws Exception {
        Path file = dir.resolve("retry.db");
        try (Ledger ledger = Ledger.open(file);
                Connection other = DriverManager.getConnection("jdbc:sqlite:" + file);
                Statement ddl = other.createStatement()) {
            // Not the rows' fault: every write to agent_state fails until the trigger goes (SQLITE_ERROR).
            ddl.execute("CREATE TRIGGER broken BEFORE INSERT ON agent_state BEGIN SELECT json('not json'); END");
            for (int i = 0; i < 5; i++) {
                ledger.append(call(1_000 + i, "a", "i" + i, null, 1));          // bound into a JDBC batch first
            }
            ledger.append(new AgentStateRow("a", true, "runaway", 2_000));      // then fails the transaction
            assertThat(ledger.flush(300, TimeUnit.MILLISECONDS)).as("the database refuses for now").isFalse();
            Thread.sleep(100);                                                   // a few attempts with backoff

            ddl.execute("DROP TRIGGER broken");
            assertThat(ledger.flush(10, TimeUnit.SECONDS)).isTrue();
            assertThat(ledger.rejected()).as("a failure of the database rejects no row").isZero();
        }
        assertThat(count(file, "SELECT COUNT(*) FROM calls")).isEqualTo(5);
        assertThat(count(file, "SELECT paused FROM agent_state WHERE agent = 'a'")).isEqualTo(1);
    }

    private static java.util.Properties noWaiting() {
        java.util.Properties properties = new java.util.Properties();
        properties.setProperty("busy_timeout", "0");
        return properties;
    }

    @Test
    void onlyFailuresCausedByTheRowItselfAreRejectedNotABusyDatabase() throws Exception {
        Path file = dir.resolve("busy.db");
        try (Ledger ledger = Ledger.open(file)) {
            ledger.flush(5, TimeUnit.SECONDS);
        }
        try (Connection holder = DriverManager.getConnection("jdbc:sqlite:" + file);
                Connection other = DriverManager.getConnection("jdbc:sqlite:" + file, noWaiting());
                Statement hold = holder.createStatement();
                Statement insert = other.createStatement()) {
            hold.execute("BEGIN EXCLUSIVE");
            SQLException busy = catchThrowableOfType(() -> insert.execute("INSERT INTO events (ts_ms, agent, kind)"
                    + " VALUES (1, 'a', 'alert')"), SQLException.class);
            hold.execute("ROLLBACK");
            SQLException check = catchThrowableOfType(() -> insert.execute("INSERT INTO agent_state (agent, paused, ts_ms)"
                    + " VALUES ('a', 7, 1)"), SQLException.class);

            assertThat(busy.getMessage()).contains("SQLITE_BUSY");
            assertThat(RejectedRows.causedByRow(busy)).isFalse();
            assertThat(check.getMessage()).contains("CHECK");
            assertThat(RejectedRows.causedByRow(check)).isTrue();
            assertThat(RejectedRows.causedByRow(new SQLException("wrapped", check))).isTrue();
        }
    }
}
