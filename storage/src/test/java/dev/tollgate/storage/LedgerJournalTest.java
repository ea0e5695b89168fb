package dev.tollgate.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
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
    /** This thread's counters, page faults among them (Linux). */
    private static final Path THREAD_STAT = Path.of("/proc/thread-self/stat");
    /** The ring of the page-fault tests, and the row they append again and again. */
    private static final int FAULTS_RING = 4 << 20;
    private static final byte[] ROW = JournalCodec.encode(call(1, "agent", 1));

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

    @Test
    void pagesDirtiedAheadTakeAppendsWithoutAPageFault() throws Exception {
        assumeTrue(Files.isReadable(THREAD_STAT), "counts the thread's page faults in Linux's /proc");
        Path file = dir.resolve("faults.journal");
        int pages = 256;                                          // a quarter of the ring: what one call prepares at most
        try (LedgerJournal journal = LedgerJournal.open(file, 0, FAULTS_RING);
                FileChannel fsync = FileChannel.open(file, StandardOpenOption.WRITE)) {
            long end = lapWrittenBack(journal, fsync);
            journal.applied(end);

            long before = minorFaults();
            end = appendAcross(journal, end, pages);
            long without = minorFaults() - before;

            journal.applied(end);
            fsync.force(false);
            assumeTrue(WritablePages.unavailable() == null, "pages are prepared with Linux's madvise, through JNA");
            assertThat(journal.dirtyAhead()).as("errno of madvise").isZero();
            before = minorFaults();
            appendAcross(journal, end, pages);
            long with = minorFaults() - before;

            // Where pages are not write-protected after fsync (tmpfs), or are larger than 4 KiB, this shows nothing.
            assumeTrue(without >= pages / 2, "this kernel and filesystem write-protect a mapping's pages once written back");
            // A few faults remain: the last page of the appends (one past those prepared) and fresh heap pages of the counting.
            assertThat(with).as("the same, once dirtied ahead").isLessThanOrEqualTo(pages / 16);
        }
    }

    @Test
    void theLedgersPageThreadPreparesPagesAfterACommit() throws Exception {
        assumeTrue(Files.isReadable(THREAD_STAT), "counts the thread's page faults in Linux's /proc");
        Path file = dir.resolve("thread.journal");
        int pages = 128;
        try (LedgerJournal journal = LedgerJournal.open(file, 0, FAULTS_RING);
                FileChannel fsync = FileChannel.open(file, StandardOpenOption.WRITE)) {
            String type = Files.getFileStore(file).type();
            assumeTrue(!List.of("tmpfs", "ramfs").contains(type), "pages in memory only are never written back");
            assumeTrue(WritablePages.unavailable() == null, "pages are prepared with Linux's madvise, through JNA");
            journal.keepPagesWritable();
            assertThat(journal.pages()).as("the page thread on %s", type).isNotNull();
            long end = lapWrittenBack(journal, fsync);

            long passes = journal.pages().passes();
            journal.applied(end);                                 // what the writer calls after a commit
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (journal.pages().passes() == passes && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertThat(journal.pages().passes()).as("passes of the page thread after a commit").isGreaterThan(passes);

            long before = minorFaults();
            appendAcross(journal, end, pages);
            long faults = minorFaults() - before;
            assertThat(faults).as("faults appending into %d pages written back, then prepared", pages)
                    .isLessThanOrEqualTo(pages / 16);
        }
    }

    @Test
    void dirtyingAheadChangesNoByteEvenWhileRowsAreAppended() throws Exception {
        Path file = dir.resolve("same.journal");
        int capacity = 1 << 20;
        List<Object> rows = new ArrayList<>();
        long id;
        try (LedgerJournal journal = LedgerJournal.open(file, 0, capacity)) {
            id = journal.id();
            AtomicBoolean appending = new AtomicBoolean(true);
            AtomicLong rounds = new AtomicLong();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread pages = new Thread(() -> {
                try {
                    while (appending.get()) {
                        assertThat(journal.dirtyAhead()).isZero(); // the page being appended to, and on
                        rounds.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            pages.start();
            try {
                while (rounds.get() == 0 && failure.get() == null) {
                    Thread.onSpinWait();                          // dirtying has begun before the first append
                }
                long end = 0;
                for (int i = 0; end < capacity - LedgerJournal.PAGE; i++) {   // into the ring's last page
                    Object row = call(i, "agent-" + (i % 7), i);
                    end = journal.append(JournalCodec.encode(row));
                    assertThat(end).isPositive();
                    rows.add(row);
                }
            } finally {
                appending.set(false);
                pages.join();
            }
            assertThat(failure.get()).isNull();

            byte[] before = Files.readAllBytes(file);
            assertThat(journal.dirtyAhead()).isZero();            // from the last page across the ring's end
            assertThat(Arrays.equals(Files.readAllBytes(file), before)).as("the file after dirtying").isTrue();
        }
        try (LedgerJournal reopened = LedgerJournal.open(file, id, capacity)) {
            assertThat(reopened.replay(0)).extracting(LedgerJournal.Replayed::row).containsExactlyElementsOf(rows);
        }
    }

    @Test
    void aPageTheFileNoLongerHasIsAnErrorCodeNotACrash() throws Exception {
        assumeTrue(WritablePages.unavailable() == null, "pages are prepared with Linux's madvise, through JNA");
        try (FileChannel channel = zeroedFile(dir.resolve("short.map"), 4 * LedgerJournal.PAGE)) {
            MappedByteBuffer mapping = channel.map(FileChannel.MapMode.READ_WRITE, 0, 4 * LedgerJournal.PAGE);
            assertThat(WritablePages.populate(mapping, 0, 4 * LedgerJournal.PAGE)).as("errno, whole file").isZero();
            channel.truncate(LedgerJournal.PAGE);
            // A write into these pages now would be a SIGBUS; the system call says so instead.
            int error = WritablePages.populate(mapping, LedgerJournal.PAGE, 3 * LedgerJournal.PAGE);
            assertThat(error).as("errno for pages past the end (EFAULT)").isEqualTo(14);
            assertThat(mapping.get(0)).isZero();
        }
    }

    /**
     * A range that does not start on a page is widened to whole pages, as the journal's ring needs on a
     * kernel whose pages are larger than the 4 KiB its file header takes (madvise alone answers EINVAL).
     */
    @Test
    void aRangeOffThePageBoundaryIsPreparedWhole() throws Exception {
        assumeTrue(WritablePages.unavailable() == null, "pages are prepared with Linux's madvise, through JNA");
        Path file = dir.resolve("unaligned.map");
        try (FileChannel channel = zeroedFile(file, 4 * LedgerJournal.PAGE)) {
            MappedByteBuffer mapping = channel.map(FileChannel.MapMode.READ_WRITE, 100, 3 * LedgerJournal.PAGE);
            assertThat(WritablePages.populate(mapping, 0, LedgerJournal.PAGE)).as("errno, from 100 bytes into the file").isZero();
            assertThat(WritablePages.populate(mapping, 1_000, 2 * LedgerJournal.PAGE)).as("errno, from 1,100").isZero();
        }
        assertThat(Files.readAllBytes(file)).as("the file after preparing").containsOnly(0);
    }

    private static FileChannel zeroedFile(Path file, int bytes) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        channel.write(ByteBuffer.allocate(bytes), 0);
        return channel;
    }

    /**
     * Appends a lap of the ring and forces it to disk, as the kernel writes pages back every 30 s or so:
     * every page is then mapped, and write-protected. Returns the position reached.
     */
    private static long lapWrittenBack(LedgerJournal journal, FileChannel file) throws IOException {
        long end = appendAcross(journal, 0, FAULTS_RING / LedgerJournal.PAGE - 2);
        file.force(false);
        return end;
    }

    /**
     * Appends copies of {@link #ROW} from {@code position} until {@code pages} more pages are written.
     * Allocates nothing on the way: a fresh heap page touched here would count as a fault too.
     */
    private static long appendAcross(LedgerJournal journal, long position, int pages) {
        long end = position;
        while (end >= 0 && end < position + (long) pages * LedgerJournal.PAGE) {
            end = journal.append(ROW);
        }
        if (end < 0) {
            throw new AssertionError("the journal refused an append at " + position);
        }
        return end;
    }

    /** This thread's minor page faults so far: field 10 of its {@code /proc} stat line. */
    private static long minorFaults() throws IOException {
        String line = Files.readString(THREAD_STAT);
        String[] fields = line.substring(line.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[7]);
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
