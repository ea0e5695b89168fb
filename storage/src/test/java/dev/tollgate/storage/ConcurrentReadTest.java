package dev.tollgate.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.ZoneId;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reports run while the writer commits batch after batch, and never fail with SQLITE_BUSY. */
class ConcurrentReadTest {

    @Test
    void reportsWhileTheWriterCommits(@TempDir Path dir) throws Exception {
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicLong appended = new AtomicLong();
        try (Ledger ledger = Ledger.open(dir.resolve("busy.db"))) {
            Thread producer = new Thread(() -> {
                long i = 0;
                while (writing.get()) {
                    ledger.append(LedgerTest.call(i, "agent-" + (i % 5), "i-" + (i % 50), null, 1));
                    i++;
                    if (i % 200 == 0) {
                        // About 40,000 calls/s: a busy proxy, not a flood the writer could never drain.
                        try {
                            Thread.sleep(5);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }
                appended.set(i);
            });
            producer.start();
            long previous = -1;
            int reports = 0;
            long deadline = System.currentTimeMillis() + 2_000;
            while (System.currentTimeMillis() < deadline) {
                Report report = ledger.reports().report(new ReportQuery(ReportQuery.GroupBy.AGENT, 0, Long.MAX_VALUE, null,
                        10, ZoneId.of("UTC")));
                assertThat(report.total().calls()).isGreaterThanOrEqualTo(previous);
                previous = report.total().calls();
                ledger.spendSince(0);
                reports++;
            }
            writing.set(false);
            producer.join();
            assertThat(ledger.flush(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();

            assertThat(reports).isGreaterThan(5);
            assertThat(previous).isPositive();
            Report last = ledger.reports().report(new ReportQuery(ReportQuery.GroupBy.AGENT, 0, Long.MAX_VALUE, null,
                    10, ZoneId.of("UTC")));
            assertThat(last.total().calls()).isEqualTo(appended.get());
        }
    }
}
