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
 * The one thread that writes the ledger. Callers only enqueue immutable rows, each copied into the
 * {@link LedgerJournal} as it is queued; the thread takes whatever has arrived (up to {@link #MAX_BATCH}
 * rows), writes it in one transaction with the journal position it reaches, and commits. After the first
 * row of a batch it waits {@link #COMMIT_INTERVAL_NANOS} for more (group commit): under load every commit
 * costs the writer about 200 µs of CPU whatever it holds (file locks, whole WAL pages, caches gone cold
 * while it slept), so at 1,000 calls/s twenty rows a commit cost 10-16 µs a row and a few hundred 3-4 µs
 * (docs/BENCHMARKS.md). The interval costs no durability: a row is in the journal, which survives
 * {@code kill -9}, before it is queued. It bounds how stale a report read while the proxy runs can be;
 * a clean stop and {@link #awaitCommitted} skip it.
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
    static final long COMMIT_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
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
    private static final String UPDATE_APPLIED = "UPDATE journal_state SET applied = ? WHERE id = 1";

    /** A queued row and the journal position just after its record (-1: not in the journal). */
    private record Queued(Object row, long journalEnd) {
    }

    /**
     * Put on the queue by {@link #beginClose()}: the writer waits for rows without a timeout (an idle
     * ledger costs no wake-ups), so closing must wake it.
     */
    private static final Queued WAKE = new Queued(null, -1);

    private final Connection connection;
    private final LedgerJournal journal;
    private final RejectedRows rejected;
    private final LinkedBlockingQueue<Queued> queue = new LinkedBlockingQueue<>();
    /** Orders journal appends and the queue alike, so the queue is in journal order. */
    private final Object appendLock = new Object();
    private final AtomicLong enqueued = new AtomicLong();
    private final AtomicLong committed = new AtomicLong();
    private final Object commitMonitor = new Object();
    private volatile boolean closing;
    private volatile Thread thread;

    LedgerWriter(Connection connection, LedgerJournal journal, RejectedRows rejected) {
        this.connection = connection;
        this.journal = journal;
        this.rejected = rejected;
    }

    /** Queues a row ({@link CallRow}, {@link EventRow} or {@link AgentStateRow}); never blocks. */
    long enqueue(Object row) {
        byte[] record = JournalCodec.encode(row);
        synchronized (appendLock) {
            // Under the lock, like beginClose: a row either precedes the close in the queue or is refused.
            if (closing) {
                throw new IllegalStateException("the ledger is closed");
            }
            long journalEnd;
            try {
                journalEnd = journal.append(record);
            } catch (InternalError e) {
                // A fault in the mapping reported late by compiled code (LedgerJournal.append catches the rest).
                journalEnd = journal.failed(e);
            }
            queue.add(new Queued(row, journalEnd));
            return enqueued.incrementAndGet();
        }
    }

    /** Queues rows found in the journal at start-up, before the writer runs: they are in it already. */
    void requeue(List<LedgerJournal.Replayed> replayed) {
        for (LedgerJournal.Replayed row : replayed) {
            queue.add(new Queued(row.row(), row.end()));
            enqueued.incrementAndGet();
        }
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

    /** Commits what is queued now, without waiting out the interval, and blocks until it is or the timeout passes. */
    boolean awaitCommitted(long timeoutMillis) throws InterruptedException {
        long target = enqueued.get();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        synchronized (commitMonitor) {
            while (committed.get() < target) {
                Thread writer = thread;
                if (writer != null) {
                    LockSupport.unpark(writer);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(commitMonitor, Math.min(left, TimeUnit.MILLISECONDS.toNanos(10)));
            }
        }
        return true;
    }

    void beginClose() {
        synchronized (appendLock) {
            closing = true;
            queue.add(WAKE);
        }
    }

    @Override
    public void run() {
        thread = Thread.currentThread();
        List<Queued> batch = new ArrayList<>(MAX_BATCH);
        try {
            while (!closing || !queue.isEmpty()) {
                Queued first = queue.take();
                if (first == WAKE) {
                    continue;
                }
                batch.add(first);
                if (!closing) {
                    LockSupport.parkNanos(COMMIT_INTERVAL_NANOS);
                }
                queue.drainTo(batch, MAX_BATCH - 1);
                batch.removeIf(row -> row == WAKE);
                writeUntilCommitted(batch);
                batch.clear();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            log.error("ledger writer interrupted with {} row(s) uncommitted (they stay in the journal)", queue.size());
        } catch (Throwable e) {
            // Never silently: the backlog would only grow, and admission slows once it is large.
            log.error("ledger writer stopped by an unexpected error with {} row(s) uncommitted (they stay in the"
                    + " journal for the next start)", queue.size(), e);
        } finally {
            closeStatements();
        }
    }

    /** The writer's prepared statements, prepared again after any failure that was not a row's. */
    private record Statements(PreparedStatement calls, PreparedStatement events, PreparedStatement states,
            PreparedStatement applied) {

        static Statements prepare(Connection connection) throws SQLException {
            List<PreparedStatement> prepared = new ArrayList<>(4);
            try {
                for (String sql : List.of(INSERT_CALL, INSERT_EVENT, UPSERT_STATE, UPDATE_APPLIED)) {
                    prepared.add(connection.prepareStatement(sql));
                }
            } catch (SQLException | RuntimeException e) {
                closeQuietly(prepared);
                throw e;
            }
            return new Statements(prepared.get(0), prepared.get(1), prepared.get(2), prepared.get(3));
        }

        /** The statement that writes {@code row}, with the row's values bound to it. */
        PreparedStatement bound(Object row) throws SQLException {
            if (row instanceof CallRow call) {
                bind(calls, call);
                return calls;
            }
            if (row instanceof EventRow event) {
                bind(events, event);
                return events;
            }
            if (row instanceof AgentStateRow state) {
                bind(states, state);
                return states;
            }
            throw new IllegalArgumentException("not a ledger row: " + row);
        }

        /**
         * Drops rows bound by a failed attempt that never ran (sqlite-jdbc clears only the batch that
         * failed): added again, they would be inserted twice.
         */
        void clearBatches() throws SQLException {
            calls.clearBatch();
            events.clearBatch();
        }

        void close() {
            closeQuietly(List.of(calls, events, states, applied));
        }

        private static void closeQuietly(List<PreparedStatement> statements) {
            for (PreparedStatement statement : statements) {
                try {
                    statement.close();
                } catch (SQLException ignored) {
                    // Being replaced or the writer is stopping: nothing to do with it either way.
                }
            }
        }
    }

    /** Only the writer thread touches it; null until prepared, and after a failure that was not a row's. */
    private Statements statements;

    private Statements statements() throws SQLException {
        if (statements == null) {
            statements = Statements.prepare(connection);
        }
        return statements;
    }

    private void closeStatements() {
        Statements closing = statements;
        statements = null;
        if (closing != null) {
            closing.close();
        }
    }

    private void writeUntilCommitted(List<Queued> batch) throws InterruptedException {
        long journalEnd = -1;
        for (Queued queued : batch) {
            journalEnd = Math.max(journalEnd, queued.journalEnd());
        }
        List<RejectedRows.Rejection> refused = List.of();
        long backoff = 10;
        while (true) {
            try {
                try {
                    write(batch, statements(), journalEnd);
                } catch (SQLException | RuntimeException e) {
                    rollbackQuietly();
                    if (!RejectedRows.causedByRow(e)) {
                        throw e;
                    }
                    refused = writeRowByRow(batch, statements(), journalEnd);
                }
                break;
            } catch (SQLException | RuntimeException e) {
                rollbackQuietly();
                // A statement whose re-preparation failed (a schema change, an I/O error) stays unusable
                // ("statement is not executing") even once the database is well again.
                closeStatements();
                log.error("ledger commit of {} row(s) failed, retrying in {} ms: {}", batch.size(), backoff, e.getMessage());
                Thread.sleep(backoff);
                backoff = Math.min(backoff * 2, 2_000);
            }
        }
        // Committed: nothing below may send the batch round again.
        rejected.record(refused);
        if (journalEnd >= 0) {
            journal.applied(journalEnd);
        }
        committed.addAndGet(batch.size());
        synchronized (commitMonitor) {
            commitMonitor.notifyAll();
        }
    }

    private void write(List<Queued> batch, Statements statements, long journalEnd) throws SQLException {
        statements.clearBatches();
        int pendingCalls = 0;
        int pendingEvents = 0;
        for (Queued queued : batch) {
            PreparedStatement statement = statements.bound(queued.row());
            if (statement == statements.calls()) {
                statement.addBatch();
                if (++pendingCalls == JDBC_BATCH) {
                    statement.executeBatch();
                    pendingCalls = 0;
                }
            } else if (statement == statements.events()) {
                statement.addBatch();
                if (++pendingEvents == JDBC_BATCH) {
                    statement.executeBatch();
                    pendingEvents = 0;
                }
            } else {
                // State changes are rare and ordered: written one by one, in queue order.
                statement.executeUpdate();
            }
        }
        if (pendingCalls > 0) {
            statements.calls().executeBatch();
        }
        if (pendingEvents > 0) {
            statements.events().executeBatch();
        }
        commit(statements, journalEnd);
    }

    /**
     * The slow path after a batch failed on a row's values: every row is inserted on its own within one
     * transaction. SQLite undoes only the statement that breaks a constraint, so the good rows stay and
     * commit together, and the refused ones are returned, for {@link RejectedRows} once they have. A failure
     * that is not the row's (the disk) propagates, and the whole batch is retried.
     */
    private List<RejectedRows.Rejection> writeRowByRow(List<Queued> batch, Statements statements, long journalEnd)
            throws SQLException {
        statements.clearBatches();
        List<RejectedRows.Rejection> refused = new ArrayList<>();
        for (Queued queued : batch) {
            try {
                statements.bound(queued.row()).executeUpdate();
            } catch (SQLException | RuntimeException e) {
                if (!RejectedRows.causedByRow(e)) {
                    throw e;
                }
                refused.add(new RejectedRows.Rejection(queued.row(), e));
            }
        }
        commit(statements, journalEnd);
        return refused;
    }

    /** Commits, recording in the same transaction how far the journal is now applied. */
    private void commit(Statements statements, long journalEnd) throws SQLException {
        if (journalEnd >= 0) {
            statements.applied().setLong(1, journalEnd);
            statements.applied().executeUpdate();
        }
        connection.commit();
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
