package dev.tollgate.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SQLite ledger ({@code storage.path}): every call, event and pause, readable with {@code sqlite3}
 * while the proxy runs.
 *
 * <p>One writer thread owns the one writing connection ({@link LedgerWriter}); readers (reports, the
 * start-up rebuild) open their own connections, which WAL lets them do while the writer commits. Rows
 * are enqueued without blocking; {@link #close()} writes everything queued before it returns, which is
 * what SIGTERM and Ctrl-C run. After {@code kill -9} what was committed is on disk (SQLite in WAL mode
 * with {@code synchronous=NORMAL} loses no committed transaction to a process crash, only to a power
 * loss), and what was queued but not committed is in the {@link LedgerJournal}, whose rows the next
 * {@link #open} commits before it returns.
 */
public final class Ledger implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Ledger.class);

    private final Path path;
    private final Connection writeConnection;
    private final LedgerJournal journal;
    private final LedgerWriter writer;
    private final Thread writerThread;

    private Ledger(Path path, Connection writeConnection, LedgerJournal journal, List<LedgerJournal.Replayed> replayed) {
        this.path = path;
        this.writeConnection = writeConnection;
        this.journal = journal;
        this.writer = new LedgerWriter(writeConnection, journal, new RejectedRows(rejectedFile(path)));
        writer.requeue(replayed);
        this.writerThread = new Thread(writer, "tollgate-ledger-writer");
        writerThread.setDaemon(false);
        writerThread.start();
    }

    /**
     * Opens (creating or migrating) the ledger at {@code path} and its journal, queues the rows the journal
     * holds beyond what the ledger committed (a crash), and starts the writer.
     */
    public static Ledger open(Path path) throws SQLException, IOException {
        return open(path, LedgerJournal.DEFAULT_CAPACITY);
    }

    static Ledger open(Path path, int journalCapacity) throws SQLException, IOException {
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Connection connection = connect(path, false);
        LedgerJournal journal = null;
        try {
            try (Statement statement = connection.createStatement()) {
                statement.execute("PRAGMA journal_mode = WAL");
                statement.execute("PRAGMA synchronous = NORMAL");
                // The writer's working set (index pages of recent rows) stays in memory, and the WAL is
                // checkpointed every ~40 MB rather than every 4 MB: fewer fsyncs per row under load.
                statement.execute("PRAGMA cache_size = -65536");
                statement.execute("PRAGMA wal_autocheckpoint = 10000");
            }
            int from = LedgerSchema.migrate(connection);
            if (from != LedgerSchema.CURRENT_VERSION) {
                log.info("ledger {} migrated from schema version {} to {}", path, from, LedgerSchema.CURRENT_VERSION);
            }
            long[] state = journalState(connection);
            journal = LedgerJournal.open(LedgerJournal.fileFor(path), state[0], journalCapacity);
            boolean recorded = journal.id() == state[0];
            long applied = recorded ? state[1] : 0;
            if (!recorded) {
                try (PreparedStatement statement = connection.prepareStatement(
                        "INSERT OR REPLACE INTO journal_state (id, journal_id, applied) VALUES (1, ?, 0)")) {
                    statement.setLong(1, journal.id());
                    statement.executeUpdate();
                }
            }
            List<LedgerJournal.Replayed> replayed = journal.replay(applied);
            journal.keepPagesWritable();
            if (!replayed.isEmpty()) {
                log.warn("ledger {}: {} row(s) recorded before the last stop but not committed are replayed from {}",
                        path, replayed.size(), journal.file());
            }
            connection.setAutoCommit(false);
            Ledger ledger = new Ledger(path, connection, journal, replayed);
            if (!replayed.isEmpty() && !ledger.awaitReplayed()) {
                ledger.close();
                throw new IOException("the " + replayed.size() + " row(s) replayed from " + journal.file()
                        + " could not be committed within 30 s (is the ledger locked or the disk full?); they stay"
                        + " in the journal for the next start");
            }
            return ledger;
        } catch (SQLException | IOException | RuntimeException e) {
            if (journal != null) {
                journal.close();
            }
            connection.close();
            throw e;
        }
    }

    /**
     * Commits the replayed rows before anyone reads the ledger: budgets are rebuilt from it right after,
     * and must not start without spend the journal holds.
     */
    private boolean awaitReplayed() {
        try {
            return flush(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Waits for the writer thread; false if this thread was interrupted meanwhile. */
    private boolean join(long millis) {
        try {
            writerThread.join(millis);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    /** The journal id and applied position the ledger recorded, {0, 0} when it has none yet. */
    private static long[] journalState(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery("SELECT journal_id, applied FROM journal_state WHERE id = 1")) {
            return rs.next() ? new long[] {rs.getLong(1), rs.getLong(2)} : new long[] {0, 0};
        }
    }

    static Connection connect(Path path, boolean readOnly) throws SQLException {
        Properties properties = new Properties();
        // Readers and the writer wait for each other's locks instead of failing with SQLITE_BUSY.
        properties.setProperty("busy_timeout", "10000");
        if (readOnly) {
            properties.setProperty("open_mode", "1");
            // Reports scan whole windows: a 64 MB page cache keeps a day of a busy fleet in memory.
            properties.setProperty("cache_size", "-65536");
        }
        return DriverManager.getConnection("jdbc:sqlite:" + path.toAbsolutePath(), properties);
    }

    public Path path() {
        return path;
    }

    /** The crash journal beside the ledger at {@code ledger}: {@code <ledger>.journal} (see {@link LedgerJournal}). */
    public static Path journalFile(Path ledger) {
        return LedgerJournal.fileFor(ledger);
    }

    /** Where rows the database refused are set aside, one JSON line each: {@code <ledger>.rejected.jsonl}. */
    public static Path rejectedFile(Path ledger) {
        return ledger.resolveSibling(ledger.getFileName() + ".rejected.jsonl");
    }

    /** Rows the database refused for their values since the ledger opened (see {@link RejectedRows}). */
    public long rejected() {
        return writer.rejected();
    }

    /** Queues a call row; never blocks. */
    public void append(CallRow row) {
        writer.enqueue(row);
    }

    public void append(EventRow row) {
        writer.enqueue(row);
    }

    public void append(AgentStateRow row) {
        writer.enqueue(row);
    }

    /** Rows queued and not yet committed: the proxy slows admission when this grows too large. */
    public int backlog() {
        return writer.backlog();
    }

    /** Waits until every row queued so far is committed. */
    public boolean flush(long timeout, TimeUnit unit) throws InterruptedException {
        return writer.awaitCommitted(unit.toMillis(timeout));
    }

    /** Reports over this ledger, each on a connection of its own. */
    public LedgerReports reports() {
        return new LedgerReports(path);
    }

    /** Spend since {@code sinceMs} per agent, team, intent and overall (see {@link SpendSnapshot}). */
    public SpendSnapshot spendSince(long sinceMs) throws SQLException {
        try (Connection connection = connect(path, true)) {
            Map<String, Spend> byAgent = new HashMap<>();
            Map<String, Spend> byTeam = new HashMap<>();
            Spend global = Spend.ZERO;
            String scopes = "SELECT agent, team, SUM(cost_nanos), COUNT(*), SUM(input_tokens + output_tokens)"
                    + " FROM calls WHERE ts_ms >= ? AND refused = 0 GROUP BY agent, team";
            try (PreparedStatement statement = connection.prepareStatement(scopes)) {
                statement.setLong(1, sinceMs);
                try (ResultSet rs = statement.executeQuery()) {
                    while (rs.next()) {
                        Spend spend = new Spend(rs.getLong(3), rs.getLong(4), rs.getLong(5));
                        byAgent.merge(rs.getString(1), spend, Spend::plus);
                        if (rs.getString(2) != null) {
                            byTeam.merge(rs.getString(2), spend, Spend::plus);
                        }
                        global = global.plus(spend);
                    }
                }
            }
            Map<String, Spend> byIntent = new HashMap<>();
            String intents = "SELECT agent, intent, SUM(cost_nanos), COUNT(*), SUM(input_tokens + output_tokens) FROM calls"
                    + " WHERE refused = 0 AND intent IN (SELECT DISTINCT intent FROM calls WHERE ts_ms >= ? AND intent IS NOT NULL)"
                    + " GROUP BY agent, intent";
            try (PreparedStatement statement = connection.prepareStatement(intents)) {
                statement.setLong(1, sinceMs);
                try (ResultSet rs = statement.executeQuery()) {
                    while (rs.next()) {
                        byIntent.put(SpendSnapshot.intentKey(rs.getString(1), rs.getString(2)),
                                new Spend(rs.getLong(3), rs.getLong(4), rs.getLong(5)));
                    }
                }
            }
            Map<String, Long> started = new HashMap<>();
            String firstCalls = "SELECT agent, COUNT(*) FROM (SELECT agent, intent, MIN(ts_ms) AS first_ms FROM calls"
                    + " WHERE intent IS NOT NULL AND refused = 0 GROUP BY agent, intent) WHERE first_ms >= ? GROUP BY agent";
            try (PreparedStatement statement = connection.prepareStatement(firstCalls)) {
                statement.setLong(1, sinceMs);
                try (ResultSet rs = statement.executeQuery()) {
                    while (rs.next()) {
                        started.put(rs.getString(1), rs.getLong(2));
                    }
                }
            }
            return new SpendSnapshot(sinceMs, byAgent, byTeam, global, byIntent, started);
        }
    }

    /** One event as stored ({@code detail} is JSON text). */
    public record StoredEvent(long id, long tsMs, String agent, String intent, String kind, String detail) {
    }

    /** Events since {@code sinceMs}, newest last, at most {@code limit}. */
    public java.util.List<StoredEvent> events(long sinceMs, int limit) throws SQLException {
        java.util.List<StoredEvent> out = new java.util.ArrayList<>();
        try (Connection connection = connect(path, true);
                PreparedStatement statement = connection.prepareStatement("SELECT id, ts_ms, agent, intent, kind, detail FROM"
                        + " (SELECT * FROM events WHERE ts_ms >= ? ORDER BY id DESC LIMIT ?) ORDER BY id")) {
            statement.setLong(1, sinceMs);
            statement.setInt(2, limit);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    out.add(new StoredEvent(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getString(5),
                            rs.getString(6)));
                }
            }
        }
        return out;
    }

    /** Every agent's latest pause state. */
    public Map<String, AgentStateRow> agentStates() throws SQLException {
        Map<String, AgentStateRow> states = new HashMap<>();
        try (Connection connection = connect(path, true);
                Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery("SELECT agent, paused, reason, ts_ms FROM agent_state")) {
            while (rs.next()) {
                states.put(rs.getString(1), new AgentStateRow(rs.getString(1), rs.getInt(2) == 1, rs.getString(3), rs.getLong(4)));
            }
        }
        return states;
    }

    /** Writes everything queued, then closes. Safe to call twice. */
    @Override
    public void close() {
        writer.beginClose();
        boolean interrupted = !join(TimeUnit.SECONDS.toMillis(30));
        if (writerThread.isAlive()) {
            // Stopped, never left running: its connection and journal are closed below.
            log.error("the ledger writer did not finish{}; {} row(s) are left in the journal {} for the next start",
                    interrupted ? " (the closing thread was interrupted)" : " within 30 s", writer.backlog(), journal.file());
            writerThread.interrupt();
            interrupted |= !join(TimeUnit.SECONDS.toMillis(5));
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        journal.close();
        try {
            writeConnection.close();
        } catch (SQLException e) {
            log.warn("closing the ledger: {}", e.getMessage());
        }
    }
}
