package dev.tollgate.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash journal. A crash is reproduced faithfully in-process: rows are appended to the journal
 * exactly as {@link LedgerWriter#enqueue} does, and the ledger never commits them, which is the state a
 * {@code kill -9} leaves between two commits. (The proxy's {@code CrashDurabilityTest} kills a real proxy.)
 */
class LedgerJournalTest {

    private static final int SMALL_RING = 4096;

    @TempDir
    Path dir;

    static CallRow call(long tsMs, String agent, long costNanos) {
        return new CallRow(tsMs, agent, "int-" + tsMs, null, "/v1/chat/completions", "gpt-4o", 200, false, 100, 0, 50, 0,
                costNanos, "reported", 12, false);
    }

    @Test
    void everyRowKindSurvivesTheJournalsBinaryForm() {
        List<Object> rows = List.of(
                new CallRow(1_700_000_000_123L, "agent-é", null, "team ✓", "/v1/responses", "gpt-4o-mini", 502, true,
                        Long.MAX_VALUE, 7, 0, 3, -5, "counted", 0, true),
                new EventRow(5, "a", "i", "alert", "{\"limit\":\"max_cost_per_day_usd\",\"note\":\"日本\"}"),
                new EventRow(6, "a", null, "paused", null),
                new AgentStateRow("a", true, "runaway", 7),
                new AgentStateRow("b", false, null, 8));
        for (Object row : rows) {
            ByteBuffer bytes = ByteBuffer.wrap(JournalCodec.encode(row)).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(JournalCodec.decode(bytes)).isEqualTo(row);
        }
        byte[] call = JournalCodec.encode(rows.get(0));
        assertThatThrownBy(() -> JournalCodec.decode(ByteBuffer.wrap(call, 0, call.length - 1).slice().order(ByteOrder.LITTLE_ENDIAN)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void rowsQueuedButNotCommittedBeforeACrashAreReplayedOnceAtTheNextStart() throws Exception {
        Path file = dir.resolve("t.db");
        try (Ledger ledger = Ledger.open(file)) {
            ledger.append(call(1, "a", 10));
        }
        crashWithUncommitted(file, LedgerJournal.DEFAULT_CAPACITY, call(2, "a", 20), new EventRow(3, "a", null, "alert", "{}"),
                new AgentStateRow("a", true, "runaway", 4), call(5, "b", 50));

        try (Ledger ledger = Ledger.open(file)) {
            assertThat(ledger.flush(5, TimeUnit.SECONDS)).isTrue();
            assertThat(ledger.agentStates().get("a").paused()).isTrue();
        }
        assertThat(LedgerTest.count(file, "SELECT COUNT(*) FROM calls")).isEqualTo(3);
        assertThat(LedgerTest.count(file, "SELECT SUM(cost_nanos) FROM calls")).isEqualTo(80);
        assertThat(LedgerTest.count(file, "SELECT COUNT(*) FROM events")).isEqualTo(1);

        try (Ledger reopened = Ledger.open(file)) {
            reopened.append(call(6, "c", 600));
        }
        assertThat(LedgerTest.count(file, "SELECT COUNT(*) FROM calls")).as("replayed rows are not replayed again").isEqualTo(4);
        assertThat(LedgerTest.count(file, "SELECT SUM(cost_nanos) FROM calls")).isEqualTo(680);
    }

    @Test
    void aRecordTornByTheCrashEndsTheReplayAndTheRowsBeforeItAreKept() throws Exception {
        Path file = dir.resolve("torn.db");
        try (Ledger ledger = Ledger.open(file)) {
            ledger.append(call(1, "a", 1));
        }
        long tornAt = crashWithUncommitted(file, LedgerJournal.DEFAULT_CAPACITY, call(2, "a", 2), call(3, "a", 4), call(4, "a", 8));
        try (RandomAccessFile journal = new RandomAccessFile(LedgerJournal.fileFor(file).toFile(), "rw")) {
            long payload = 4096 + tornAt + 16 + 20;  // inside the last record's payload
            journal.seek(payload);
            int b = journal.read();
            journal.seek(payload);
            journal.write(b ^ 0xff);
        }
        try (Ledger ledger = Ledger.open(file)) {
            assertThat(ledger.flush(5, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(LedgerTest.count(file, "SELECT SUM(cost_nanos) FROM calls")).isEqualTo(1 + 2 + 4);
    }

    @Test
    void theRingIsReusedLapAfterLapAndAReplayAfterTheWrapFindsItsRows() throws Exception {
        Path file = dir.resolve("ring.db");
        long expected = 0;
        try (Ledger ledger = Ledger.open(file, SMALL_RING)) {
            for (int i = 0; i < 200; i++) {            // ~100 bytes a record: about five laps of the ring
                ledger.append(call(i, "agent-" + (i % 3), i));
                expected += i;
                if (i % 10 == 9) {
                    assertThat(ledger.flush(5, TimeUnit.SECONDS)).isTrue();
                }
            }
        }
        long replayedCost = 0;
        Object[] rows = new Object[12];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = call(1_000 + i, "late", 1_000 + i);
            replayedCost += 1_000 + i;
        }
        crashWithUncommitted(file, SMALL_RING, rows);
        try (Ledger ledger = Ledger.open(file, SMALL_RING)) {
            assertThat(ledger.flush(5, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(LedgerTest.count(file, "SELECT COUNT(*) FROM calls")).isEqualTo(212);
        assertThat(LedgerTest.count(file, "SELECT SUM(cost_nanos) FROM calls")).isEqualTo(expected + replayedCost);
    }

    @Test
    void aFullRingNeitherBlocksNorLosesRowsItOnlyStopsJournalingThem() throws Exception {
        Path file = dir.resolve("full.db");
        try (Ledger ledger = Ledger.open(file, SMALL_RING)) {
            ledger.flush(5, TimeUnit.SECONDS);
        }
        long[] state = journalState(file);
        try (LedgerJournal journal = LedgerJournal.open(LedgerJournal.fileFor(file), state[0], SMALL_RING)) {
            journal.replay(state[1]);
            int journaled = 0;
            long last = 0;
            for (int i = 0; i < 100; i++) {
                long end = journal.append(JournalCodec.encode(call(i, "a", i)));
                if (end < 0) {
                    break;
                }
                journaled++;
                last = end;
            }
            assertThat(journaled).as("a 4 KiB ring holds some rows, not all 100").isBetween(10, 60);
            assertThat(journal.append(JournalCodec.encode(call(999, "a", 1)))).isEqualTo(-1);
            journal.applied(last);
            assertThat(journal.append(JournalCodec.encode(call(1_000, "a", 1)))).as("room again once applied").isPositive();
        }
    }

    @Test
    void aJournalLeftByAnotherLedgerIsSetAsideNotReplayedIntoThisOne() throws Exception {
        Path file = dir.resolve("gone.db");
        try (Ledger ledger = Ledger.open(file)) {
            ledger.append(call(1, "a", 1));
        }
        crashWithUncommitted(file, LedgerJournal.DEFAULT_CAPACITY, call(2, "old", 2));
        deleteLedger(file);
        try (Ledger ledger = Ledger.open(file)) {
            ledger.append(call(3, "new", 3));
        }
        assertThat(LedgerTest.count(file, "SELECT SUM(cost_nanos) FROM calls")).isEqualTo(3);
        assertThat(fileNames()).anyMatch(name -> name.startsWith("gone.db.journal.orphaned-"));
    }

    @Test
    void aJournalLeftFullyCommittedByADeletedLedgerIsSimplyReplaced() throws Exception {
        Path file = dir.resolve("fresh.db");
        try (Ledger ledger = Ledger.open(file)) {
            ledger.append(call(1, "a", 1));
        }
        deleteLedger(file);
        try (Ledger ledger = Ledger.open(file)) {
            ledger.append(call(2, "b", 2));
        }
        assertThat(LedgerTest.count(file, "SELECT SUM(cost_nanos) FROM calls")).isEqualTo(2);
        assertThat(fileNames()).noneMatch(name -> name.contains("orphaned"));
    }

    @Test
    void aFileThatIsNotAJournalIsReplacedNotSetAside() throws Exception {
        Path file = dir.resolve("cut.db");
        Files.write(LedgerJournal.fileFor(file), new byte[100]);   // a creation cut short before its header
        try (Ledger ledger = Ledger.open(file)) {
            ledger.append(call(1, "a", 1));
        }
        assertThat(LedgerTest.count(file, "SELECT COUNT(*) FROM calls")).isEqualTo(1);
        assertThat(Files.size(LedgerJournal.fileFor(file))).isEqualTo(4096 + LedgerJournal.DEFAULT_CAPACITY);
        assertThat(fileNames()).noneMatch(name -> name.contains("orphaned"));
    }

    @Test
    void aSecondLedgerOnTheSameFileIsRefusedWhileTheFirstIsOpen() throws Exception {
        Path file = dir.resolve("busy.db");
        try (Ledger first = Ledger.open(file)) {
            assertThatThrownBy(() -> Ledger.open(file)).isInstanceOf(IOException.class).hasMessageContaining("in use by another Tollgate");
            first.append(call(1, "a", 1));
        }
        assertThat(LedgerTest.count(file, "SELECT COUNT(*) FROM calls")).isEqualTo(1);
    }

    /**
     * Appends {@code rows} to the journal of the closed ledger at {@code file} as the writer would, and
     * leaves them uncommitted; returns the position of the last record.
     */
    private long crashWithUncommitted(Path file, int capacity, Object... rows) throws Exception {
        long[] state = journalState(file);
        try (LedgerJournal journal = LedgerJournal.open(LedgerJournal.fileFor(file), state[0], capacity)) {
            assertThat(journal.id()).isEqualTo(state[0]);
            assertThat(journal.replay(state[1])).isEmpty();
            long start = -1;
            long end = state[1];
            for (Object row : rows) {
                start = end;
                end = journal.append(JournalCodec.encode(row));
                assertThat(end).isPositive();
            }
            return start;
        }
    }

    private static long[] journalState(Path file) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT journal_id, applied FROM journal_state")) {
            assertThat(rs.next()).isTrue();
            return new long[] {rs.getLong(1), rs.getLong(2)};
        }
    }

    /** Deletes the ledger's database files, as an operator starting over would, and leaves its journal. */
    private static void deleteLedger(Path file) throws IOException {
        for (String suffix : List.of("", "-wal", "-shm")) {
            Files.deleteIfExists(file.resolveSibling(file.getFileName() + suffix));
        }
    }

    private List<String> fileNames() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).toList();
        }
    }
}
