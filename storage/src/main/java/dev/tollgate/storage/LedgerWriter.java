package dev.tollgate.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that writes the ledger. Callers only enqueue immutable rows; the thread takes whatever
 * has arrived (up to {@link #MAX_BATCH} rows), writes it in one transaction and commits, then takes the
 * next batch. After the first row of a batch it lingers {@link #LINGER_NANOS} for more (group commit):
 * every commit pays for file locks and whole WAL pages, so at 1,000 calls/s one commit per row cost the
 * writer about 42 µs of CPU per row and twenty rows a commit about 21 µs (docs/BENCHMARKS.md). A row thus
 * waits at most the linger, the commit in progress and its own, a few tens of milliseconds, inside the
 * documented crash bound of 100 ms; a clean stop skips the linger.
 *
 * <p>A failed commit (disk full, file locked by a stray writer) is retried with backoff, never dropped;
 * the queue then grows and {@link #backlog()} tells the proxy to slow admission. A batch that fails
 * because of a row's own values (a constraint) is written again row by row in one transaction, and the
 * rows the database refuses are set aside in {@link RejectedRows}, so one bad row cannot stall the
 * ledger.
 */
final class LedgerWriter implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(LedgerWriter.class);
    static final int MAX_BATCH = 16_384;
    static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /**
     * Rows bound into one JDBC batch before it is executed (within the same transaction). sqlite-jdbc keeps
     * its batch array at the largest size it has ever held and clears all of it after every execution, so
     * one 16,384-row batch under a burst would make every later one-row commit clear 260,000 slots
     * (100 µs, the writer's hottest frame in a profile). Executing every 256 rows keeps that array small.
     */
    static final int JDBC_BATCH = 256;

    private static final String INSERT_CALL = "INSERT INTO calls (ts_ms, agent, intent, team, endpoint, model, status,"
            + " streamed, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, cost_nanos, usage_source,"
            + " latency_ms, refused) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    private static final String INSERT_EVENT = "INSERT INTO events (ts_ms, agent, intent, kind, detail) VALUES (?, ?, ?, ?, ?)";
    private static final String UPSERT_STATE = "INSERT INTO agent_state (agent, paused, reason, ts_ms) VALUES (?, ?, ?, ?)"
            + " ON CONFLICT (agent) DO UPDATE SET paused = excluded.paused, reason = excluded.reason, ts_ms = excluded.ts_ms";

    /**
     * Put on the queue by {@link #beginClose()}: the writer waits for rows without a timeout (an idle
     * ledger costs no wake-ups), so closing must wake it.
     */
    private static final Object WAKE = new Object();

    private final Connection connection;
    private final RejectedRows rejected;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final AtomicLong enqueued = new AtomicLong();
    private final AtomicLong committed = new AtomicLong();
    private final Object commitMonitor = new Object();
    private volatile boolean closing;

    LedgerWriter(Connection connection, RejectedRows rejected) {
        this.connection = connection;
        this.rejected = rejected;
    }

    /** Queues a row ({@link CallRow}, {@link EventRow} or {@link AgentStateRow}); never blocks. */
    long enqueue(Object row) {
        if (closing) {
            throw new IllegalStateException("the ledger is closed");
        }
        queue.add(row);
        return enqueued.incrementAndGet();
    }

    int backlog() {
        return queue.size();
    }

    long rejected() {
        return rejected.count();
    }

    long committed() {
        return committed.get();
    }

    /** Blocks until every row enqueued before this call is committed, or the timeout passes. */
    boolean awaitCommitted(long timeoutMillis) throws InterruptedException {
        long target = enqueued.get();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        synchronized (commitMonitor) {
            while (committed.get() < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(commitMonitor, left);
            }
        }
        return true;
    }

    void beginClose() {
        closing = true;
        queue.add(WAKE);
    }

    @Override
    public void run() {
        List<Object> batch = new ArrayList<>(MAX_BATCH);
        try (PreparedStatement calls = connection.prepareStatement(INSERT_CALL);
                PreparedStatement events = connection.prepareStatement(INSERT_EVENT);
                PreparedStatement states = connection.prepareStatement(UPSERT_STATE)) {
            while (!closing || !queue.isEmpty()) {
                Object first = queue.take();
                if (first == WAKE) {
                    continue;
                }
                batch.add(first);
                if (!closing) {
                    LockSupport.parkNanos(LINGER_NANOS);
                }
                queue.drainTo(batch, MAX_BATCH - 1);
                batch.removeIf(row -> row == WAKE);
                writeUntilCommitted(batch, calls, events, states);
                batch.clear();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            log.error("ledger writer interrupted with {} row(s) unwritten", queue.size());
        } catch (SQLException e) {
            log.error("ledger writer could not prepare its statements; {} row(s) unwritten", queue.size(), e);
        }
    }

    private void writeUntilCommitted(List<Object> batch, PreparedStatement calls, PreparedStatement events,
            PreparedStatement states) throws InterruptedException {
        long backoff = 10;
        while (true) {
            try {
                try {
                    write(batch, calls, events, states);
                } catch (SQLException | RuntimeException e) {
                    rollbackQuietly();
                    if (!RejectedRows.causedByRow(e)) {
                        throw e;
                    }
                    writeRowByRow(batch, calls, events, states);
                }
                committed.addAndGet(batch.size());
                synchronized (commitMonitor) {
                    commitMonitor.notifyAll();
                }
                return;
            } catch (SQLException | RuntimeException e) {
                rollbackQuietly();
                log.error("ledger commit of {} row(s) failed, retrying in {} ms: {}", batch.size(), backoff, e.getMessage());
                Thread.sleep(backoff);
                backoff = Math.min(backoff * 2, 2_000);
            }
        }
    }

    private void write(List<Object> batch, PreparedStatement calls, PreparedStatement events, PreparedStatement states)
            throws SQLException {
        int pendingCalls = 0;
        int pendingEvents = 0;
        for (Object row : batch) {
            if (row instanceof CallRow call) {
                bind(calls, call);
                calls.addBatch();
                if (++pendingCalls == JDBC_BATCH) {
                    calls.executeBatch();
                    pendingCalls = 0;
                }
            } else if (row instanceof EventRow event) {
                bind(events, event);
                events.addBatch();
                if (++pendingEvents == JDBC_BATCH) {
                    events.executeBatch();
                    pendingEvents = 0;
                }
            } else if (row instanceof AgentStateRow state) {
                // State changes are rare and ordered: written one by one, in queue order.
                bind(states, state);
                states.executeUpdate();
            }
        }
        if (pendingCalls > 0) {
            calls.executeBatch();
        }
        if (pendingEvents > 0) {
            events.executeBatch();
        }
        connection.commit();
    }

    /**
     * The slow path after a batch failed on a row's values: every row is inserted on its own within one
     * transaction. SQLite undoes only the statement that breaks a constraint, so the good rows stay and
     * commit together, and the refused ones are handed to {@link RejectedRows} once they have. A failure
     * that is not the row's (the disk) propagates, and the whole batch is retried.
     */
    private void writeRowByRow(List<Object> batch, PreparedStatement calls, PreparedStatement events,
            PreparedStatement states) throws SQLException {
        calls.clearBatch();
        events.clearBatch();
        List<RejectedRows.Rejection> refused = new ArrayList<>();
        for (Object row : batch) {
            try {
                if (row instanceof CallRow call) {
                    bind(calls, call);
                    calls.executeUpdate();
                } else if (row instanceof EventRow event) {
                    bind(events, event);
                    events.executeUpdate();
                } else if (row instanceof AgentStateRow state) {
                    bind(states, state);
                    states.executeUpdate();
                }
            } catch (SQLException | RuntimeException e) {
                if (!RejectedRows.causedByRow(e)) {
                    throw e;
                }
                refused.add(new RejectedRows.Rejection(row, e));
            }
        }
        connection.commit();
        rejected.record(refused);
    }

    private static void bind(PreparedStatement statement, CallRow call) throws SQLException {
        statement.setLong(1, call.tsMs());
        statement.setString(2, call.agent());
        statement.setString(3, call.intent());
        statement.setString(4, call.team());
        statement.setString(5, call.endpoint());
        statement.setString(6, call.model());
        statement.setInt(7, call.status());
        statement.setInt(8, call.streamed() ? 1 : 0);
        statement.setLong(9, call.inputTokens());
        statement.setLong(10, call.cachedInputTokens());
        statement.setLong(11, call.outputTokens());
        statement.setLong(12, call.reasoningTokens());
        statement.setLong(13, call.costNanos());
        statement.setString(14, call.usageSource());
        statement.setLong(15, call.latencyMs());
        statement.setInt(16, call.refused() ? 1 : 0);
    }

    private static void bind(PreparedStatement statement, EventRow event) throws SQLException {
        statement.setLong(1, event.tsMs());
        statement.setString(2, event.agent());
        statement.setString(3, event.intent());
        statement.setString(4, event.kind());
        statement.setString(5, event.detailJson());
    }

    private static void bind(PreparedStatement statement, AgentStateRow state) throws SQLException {
        statement.setString(1, state.agent());
        statement.setInt(2, state.paused() ? 1 : 0);
        statement.setString(3, state.reason());
        statement.setLong(4, state.tsMs());
    }

    private void rollbackQuietly() {
        try {
            connection.rollback();
        } catch (SQLException ignored) {
            // The next attempt starts a fresh transaction either way.
        }
    }
}
