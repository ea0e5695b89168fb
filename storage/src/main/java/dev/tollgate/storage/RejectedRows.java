package dev.tollgate.storage;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rows the database refuses for what they hold (a constraint, a value of the wrong type or size), set
 * aside so that they cannot hold up every row queued after them. Retrying such a row can never succeed:
 * before this, the writer retried its batch forever, the queue grew until the proxy throttled every
 * agent, and a stop lost the whole backlog. Each rejected row is logged at ERROR with all its fields and
 * appended as one JSON line to {@code <ledger>.rejected.jsonl}, so it can be repaired and inserted by
 * hand: nothing the proxy acknowledged is dropped silently.
 *
 * <p>Only refusals caused by the row itself are rejected. A locked or full disk, an I/O error or a
 * missing table is the database's state, not the row's: those batches are retried until they commit.
 */
final class RejectedRows {

    private static final Logger log = LoggerFactory.getLogger(RejectedRows.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * SQLite primary result codes that a row's own values cause: TOOBIG, CONSTRAINT, MISMATCH, and RANGE
     * (a bind out of range: a bug, but one no retry can fix, so its rows are kept here rather than
     * stalling the ledger behind them).
     */
    private static final int SQLITE_TOOBIG = 18;
    private static final int SQLITE_CONSTRAINT = 19;
    private static final int SQLITE_MISMATCH = 20;
    private static final int SQLITE_RANGE = 25;

    /** One row the database refused, with why. */
    record Rejection(Object row, Throwable cause) {
    }

    private final Path file;
    private final AtomicLong count = new AtomicLong();

    RejectedRows(Path file) {
        this.file = file;
    }

    /**
     * Whether {@code failure} was caused by a row's own values, so that writing the same row again can
     * never succeed. A {@link RuntimeException} counts: it comes from binding the row, not from the disk.
     */
    static boolean causedByRow(Throwable failure) {
        if (failure instanceof RuntimeException) {
            return true;
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql) {
                int primary = sql.getErrorCode() & 0xff;
                if (primary == SQLITE_CONSTRAINT || primary == SQLITE_MISMATCH || primary == SQLITE_TOOBIG
                        || primary == SQLITE_RANGE) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Logs and appends {@code rejections}, after the rows around them were committed; never throws. */
    void record(List<Rejection> rejections) {
        if (rejections.isEmpty()) {
            return;
        }
        try {
            write(rejections);
        } catch (RuntimeException e) {
            log.error("could not record {} rejected ledger row(s): {}", rejections.size(), e.toString());
        }
    }

    private void write(List<Rejection> rejections) {
        count.addAndGet(rejections.size());
        StringBuilder lines = new StringBuilder();
        for (Rejection rejection : rejections) {
            log.error("ledger refused a row, set aside in {}: {} ({})", file, rejection.row(), rejection.cause().toString());
            lines.append(toJson(rejection)).append('\n');
        }
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND)) {
            out.write(lines.toString());
        } catch (IOException e) {
            // The rows are in the log lines above; the file is the convenient copy.
            log.error("could not append {} rejected ledger row(s) to {}: {}", rejections.size(), file, e.toString());
        }
    }

    /** Rows rejected since the ledger opened. */
    long count() {
        return count.get();
    }

    private static String toJson(Rejection rejection) {
        ObjectNode line = JSON.createObjectNode();
        line.put("rejected_at", Instant.now().toString());
        line.put("table", table(rejection.row()));
        line.put("reason", String.valueOf(rejection.cause().getMessage()));
        line.set("row", JSON.valueToTree(rejection.row()));
        return line.toString();
    }

    private static String table(Object row) {
        if (row instanceof CallRow) {
            return "calls";
        }
        if (row instanceof EventRow) {
            return "events";
        }
        return row instanceof AgentStateRow ? "agent_state" : row.getClass().getSimpleName();
    }
}
