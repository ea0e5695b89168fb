package dev.tollgate.storage.bench;

import dev.tollgate.storage.CallRow;
import dev.tollgate.storage.Ledger;
import dev.tollgate.storage.Report;
import dev.tollgate.storage.ReportQuery;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The ledger under load: how many call rows per second the writer commits, and how long
 * {@code report --by agent --since today} takes over a million rows of today. Run with
 * {@code examples/bench/jmh.sh LedgerBenchmark} (module storage).
 */
@Fork(1)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
public class LedgerBenchmark {

    static final int ROWS_PER_WRITE = 200_000;

    static CallRow row(long i, long tsMs) {
        return new CallRow(tsMs, "agent-" + (i % 40), "intent-" + (i % 5_000), i % 3 == 0 ? "support" : null,
                "/v1/chat/completions", "gpt-4o-mini-2024-07-18", 200, (i & 1) == 0, 1_200, 256, 340, 0,
                380_000 + i % 1_000, "reported", 420, false);
    }

    private static void delete(Path dir) throws java.io.IOException {
        try (var files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    /** A fresh ledger per iteration, so every measured write starts from the same file size. */
    @State(Scope.Thread)
    public static class WriteState {
        Path dir;
        Ledger ledger;
        long next;

        @Setup(Level.Iteration)
        public void open() throws Exception {
            dir = Files.createTempDirectory("ledger-bench");
            ledger = Ledger.open(dir.resolve("w.db"));
        }

        @TearDown(Level.Iteration)
        public void close() throws Exception {
            ledger.close();
            delete(dir);
        }
    }

    /** Appends 200,000 rows from one thread and waits until all are committed: ns per row. */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    @OperationsPerInvocation(ROWS_PER_WRITE)
    public void writeAndCommitRows(WriteState state) throws InterruptedException {
        long now = System.currentTimeMillis();
        for (int i = 0; i < ROWS_PER_WRITE; i++) {
            state.ledger.append(row(state.next++, now));
        }
        if (!state.ledger.flush(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the writer did not catch up");
        }
    }

    /** One million calls of today in 40 agents, written once. */
    @State(Scope.Benchmark)
    public static class MillionRows {
        Path dir;
        Ledger ledger;
        ReportQuery query;

        @Setup(Level.Trial)
        public void fill() throws Exception {
            dir = Files.createTempDirectory("ledger-report-bench");
            ledger = Ledger.open(dir.resolve("r.db"));
            Instant now = Instant.now();
            long startOfDay = now.atZone(ZoneOffset.UTC).toLocalDate().atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
            long span = Math.max(1, now.toEpochMilli() - startOfDay);
            // Calls arrive in time order, as they do in production: row ids and times grow together.
            for (long i = 0; i < 1_000_000; i++) {
                ledger.append(row(i, startOfDay + i * span / 1_000_000));
                if (i % 100_000 == 0) {
                    ledger.flush(60, TimeUnit.SECONDS);
                }
            }
            ledger.flush(120, TimeUnit.SECONDS);
            query = ReportQuery.of("agent", "today", null, null, null, ZoneOffset.UTC, Instant.now());
        }

        @TearDown(Level.Trial)
        public void close() throws Exception {
            ledger.close();
            delete(dir);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public Report reportByAgentSinceTodayOverAMillionRows(MillionRows state) throws Exception {
        Report report = state.ledger.reports().report(state.query);
        if (report.total().calls() != 1_000_000) {
            throw new IllegalStateException("expected a million calls, got " + report.total().calls());
        }
        return report;
    }
}
