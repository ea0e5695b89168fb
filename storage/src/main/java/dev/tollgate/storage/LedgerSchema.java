package dev.tollgate.storage;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The ledger's schema (SPEC §6) and its migrations. The version lives in {@code PRAGMA user_version};
 * opening a file of an older version migrates it in place, in one transaction, so a file is always at
 * one version or the next, never between. A file newer than this build is refused rather than guessed at.
 */
final class LedgerSchema {

    /** Migration N takes a file from version N to N+1. */
    private static final List<List<String>> MIGRATIONS = List.of(List.of(
            """
            CREATE TABLE IF NOT EXISTS calls (
              id INTEGER PRIMARY KEY,
              ts_ms INTEGER NOT NULL,
              agent TEXT NOT NULL,
              intent TEXT,
              team TEXT,
              endpoint TEXT NOT NULL,
              model TEXT,
              status INTEGER NOT NULL,
              streamed INTEGER NOT NULL DEFAULT 0 CHECK (streamed IN (0, 1)),
              input_tokens INTEGER NOT NULL DEFAULT 0,
              cached_input_tokens INTEGER NOT NULL DEFAULT 0,
              output_tokens INTEGER NOT NULL DEFAULT 0,
              reasoning_tokens INTEGER NOT NULL DEFAULT 0,
              cost_nanos INTEGER NOT NULL DEFAULT 0,
              usage_source TEXT NOT NULL CHECK (usage_source IN ('reported', 'counted', 'none')),
              latency_ms INTEGER NOT NULL DEFAULT 0
            )""",
            // Every report and the start-up rebuild select a time range first. One index, in time order, is
            // appended to at the end like the table itself; indexes led by agent or intent would be random
            // inserts and cost the writer four times its throughput (docs/BENCHMARKS.md).
            "CREATE INDEX IF NOT EXISTS calls_by_time ON calls (ts_ms, agent, cost_nanos)",
            """
            CREATE TABLE IF NOT EXISTS events (
              id INTEGER PRIMARY KEY,
              ts_ms INTEGER NOT NULL,
              agent TEXT,
              intent TEXT,
              kind TEXT NOT NULL,
              detail TEXT
            )""",
            "CREATE INDEX IF NOT EXISTS events_by_time ON events (ts_ms)",
            """
            CREATE TABLE IF NOT EXISTS agent_state (
              agent TEXT PRIMARY KEY,
              paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
              reason TEXT,
              ts_ms INTEGER NOT NULL
            )""",
            """
            CREATE VIEW IF NOT EXISTS calls_usd AS
              SELECT *, cost_nanos / 1000000000.0 AS cost_usd FROM calls"""),
            // Version 2: calls Tollgate refused itself (a budget 429, an unpriced model) are told apart from
            // the provider's own errors, so a restart rebuilds budgets from admitted calls only.
            List.of("ALTER TABLE calls ADD COLUMN refused INTEGER NOT NULL DEFAULT 0 CHECK (refused IN (0, 1))",
                    "DROP VIEW IF EXISTS calls_usd",
                    "CREATE VIEW calls_usd AS SELECT *, cost_nanos / 1000000000.0 AS cost_usd FROM calls"),
            // Version 3: how far the crash journal beside the ledger is applied (LedgerJournal), updated in
            // the same transaction as the rows, so that a replay after a crash never inserts a row twice.
            List.of("""
                    CREATE TABLE journal_state (
                      id INTEGER PRIMARY KEY CHECK (id = 1),
                      journal_id INTEGER NOT NULL,
                      applied INTEGER NOT NULL
                    )"""));

    static final int CURRENT_VERSION = MIGRATIONS.size();

    private LedgerSchema() {
    }

    /** Brings the file to {@link #CURRENT_VERSION}; returns the version it was at. */
    static int migrate(Connection connection) throws SQLException {
        int version = version(connection);
        if (version > CURRENT_VERSION) {
            throw new SQLException("the ledger was written by a newer Tollgate (schema version " + version
                    + ", this build knows up to " + CURRENT_VERSION + "); upgrade Tollgate to open it");
        }
        if (version == CURRENT_VERSION) {
            return version;
        }
        boolean autoCommit = connection.getAutoCommit();
        connection.setAutoCommit(false);
        try (Statement statement = connection.createStatement()) {
            for (int step = version; step < CURRENT_VERSION; step++) {
                for (String sql : MIGRATIONS.get(step)) {
                    statement.execute(sql);
                }
            }
            statement.execute("PRAGMA user_version = " + CURRENT_VERSION);
            connection.commit();
        } catch (SQLException e) {
            connection.rollback();
            throw e;
        } finally {
            connection.setAutoCommit(autoCommit);
        }
        return version;
    }

    static int version(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery("PRAGMA user_version")) {
            return rs.next() ? rs.getInt(1) : 0;
        }
    }
}
