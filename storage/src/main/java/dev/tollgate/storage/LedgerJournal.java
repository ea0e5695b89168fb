package dev.tollgate.storage;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A crash journal in front of the SQLite ledger: every row is copied into a memory-mapped ring file the
 * moment it is queued, before the writer commits it. A copy into a shared file mapping is in the kernel's
 * page cache at once, with no system call, so it survives the process being killed; at the next start the
 * rows the ledger had not committed yet are replayed from it. That is what lets the writer commit rarely
 * (each commit costs the writer about 200 µs of CPU under load, whatever it holds, docs/BENCHMARKS.md)
 * while a {@code kill -9} loses nothing that was queued. A power loss can still lose what the kernel had
 * not written back, as it can for the WAL under {@code synchronous=NORMAL}.
 *
 * <p>Layout: a 4 KiB header (magic, the journal's id, the ring's capacity, whether it was closed with
 * every record committed), then the ring. A record is a
 * 16-byte header (payload length, CRC-32C of the payload, the record's position) and the payload of
 * {@link JournalCodec}, padded to 16 bytes. A position counts bytes since the journal was created, and
 * only grows; the ledger stores, in the same transaction as the rows, the position up to which the
 * journal is applied ({@code journal_state}), so a replay never inserts a row twice. A record's position
 * is written last and checked on replay, so a record torn by a crash, or an older lap's bytes, end the
 * replay. Appends are serialised by the caller (one lock, which also orders the writer's queue).
 */
final class LedgerJournal implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LedgerJournal.class);
    private static final long MAGIC = 0x31304c4e524a4754L; // "TGJRNL01" little-endian
    private static final int FILE_HEADER = 4096;
    /** Header offset of a flag: 1 when the journal was closed with every record committed, 0 while in use. */
    private static final int CLOSED_CLEANLY = 24;
    private static final int HEADER_FIELDS = 32;
    private static final int RECORD_HEADER = 16;
    private static final int PAD = -1;
    static final int DEFAULT_CAPACITY = 8 << 20;
    /** The smallest page a kernel tracks a shared mapping's writes by. */
    static final int PAGE = 4096;
    /** The least {@link #dirtyAhead} prepares (if the ring has four times that): 16 pages, about 400 call rows. */
    static final int MIN_DIRTY_AHEAD = 64 << 10;
    private static final VarHandle NEXT;

    static {
        try {
            NEXT = MethodHandles.lookup().findVarHandle(LedgerJournal.class, "next", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** One row found on replay, and the position just after its record. */
    record Replayed(Object row, long end) {
    }

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;
    private final MappedByteBuffer ring;
    private final long id;
    private final int capacity;
    private final CRC32C crc = new CRC32C();
    /**
     * Where the next record goes. {@link JournalPages} reads it without the append lock, through
     * {@link #NEXT}: appends publish it with a release store, which on x86 is a plain store, where a volatile
     * field would put a fence into every append on the event loops.
     */
    private long next;
    private volatile long applied;
    private boolean fullReported;
    private boolean faultReported;
    /** Where the last {@link #dirtyAhead} started; only {@link JournalPages}' thread touches it. */
    private long dirtiedFrom;
    /** Set before the ledger writer starts, where the filesystem suits it; null otherwise. */
    private JournalPages pages;

    private LedgerJournal(Path file, FileChannel channel, FileLock lock, MappedByteBuffer ring, long id, int capacity) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
        this.ring = ring;
        this.id = id;
        this.capacity = capacity;
    }

    /** The journal beside {@code ledger}: {@code <ledger>.journal}. */
    static Path fileFor(Path ledger) {
        return ledger.resolveSibling(ledger.getFileName() + ".journal");
    }

    /**
     * Opens the journal at {@code file}, creating it (with a new id and {@code capacity}) when it is missing
     * or belongs to another ledger ({@code expectedId} differs; 0 when the ledger has none yet). A journal
     * set aside that way is renamed, never deleted: its rows can still be read by hand.
     */
    static LedgerJournal open(Path file, long expectedId, int capacity) throws IOException {
        if (Files.exists(file)) {
            ByteBuffer header = readHeader(file);
            long found = header.getLong(8);
            if (found != 0 && found == expectedId) {
                return map(file, 0, 0);
            }
            if (found == 0) {
                // Not a journal (a creation cut short, say by a full disk): it cannot hold rows.
                log.info("{} is not a ledger journal: replaced", file);
            } else if (header.getLong(CLOSED_CLEANLY) == 1) {
                // Its ledger committed every row before it closed (then was deleted or replaced): nothing to keep.
                log.info("the ledger journal {} was left by another ledger, which committed all of it: replaced", file);
            } else {
                Path aside = file.resolveSibling(file.getFileName() + ".orphaned-" + System.currentTimeMillis());
                Files.move(file, aside);
                log.warn("the ledger journal {} does not belong to this ledger (journal id {}, ledger expects {}) and may"
                        + " hold rows it never committed: set aside as {}", file, found, expectedId, aside);
            }
        }
        long newId = new SecureRandom().nextLong() & Long.MAX_VALUE | 1;
        return map(file, newId, capacity);
    }

    /** The file's header, all zeros where it is not a journal's. */
    private static ByteBuffer readHeader(Path file) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(HEADER_FIELDS).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            channel.read(header, 0);
        }
        return header.position() == HEADER_FIELDS && header.getLong(0) == MAGIC
                ? header : ByteBuffer.allocate(HEADER_FIELDS).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Maps {@code file}; a {@code newId} other than 0 creates it with that id and capacity. */
    private static LedgerJournal map(Path file, long newId, int newCapacity) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new IOException("the ledger journal " + file + " is in use by another Tollgate; one proxy per ledger");
            }
            if (newId != 0) {
                try {
                    create(channel, newId, newCapacity);
                } catch (IOException | RuntimeException e) {
                    Files.deleteIfExists(file);                     // ours (locked): a half-made journal holds nothing
                    throw e;
                }
            }
            ByteBuffer header = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
            channel.read(header, 0);
            writeClosedCleanly(channel, 0);
            long id = header.getLong(8);
            int capacity = header.getInt(16);
            if (header.getLong(0) != MAGIC || capacity <= 0 || capacity % RECORD_HEADER != 0) {
                throw new IOException("the ledger journal " + file + " has a damaged header");
            }
            MappedByteBuffer ring = channel.map(FileChannel.MapMode.READ_WRITE, FILE_HEADER, capacity);
            ring.order(ByteOrder.LITTLE_ENDIAN);
            return new LedgerJournal(file, channel, lock, ring, id, capacity);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    long id() {
        return id;
    }

    Path file() {
        return file;
    }

    /**
     * The rows recorded from {@code from} on, in order, and makes the journal append after the last of
     * them. Stops at the first record that is not there, torn, or from an older lap.
     */
    List<Replayed> replay(long from) {
        List<Replayed> rows = new ArrayList<>();
        long position = from;
        while (true) {
            int offset = (int) (position % capacity);
            if (ring.getLong(offset + 8) != position) {
                break;
            }
            int length = ring.getInt(offset);
            if (length == PAD) {
                position += capacity - offset;
                continue;
            }
            if (length <= 0 || length > capacity - offset - RECORD_HEADER) {
                break;
            }
            byte[] payload = new byte[length];
            ring.get(offset + RECORD_HEADER, payload);
            crc.reset();
            crc.update(payload);
            if ((int) crc.getValue() != ring.getInt(offset + 4)) {
                break;
            }
            long end = position + align(RECORD_HEADER + length);
            try {
                rows.add(new Replayed(JournalCodec.decode(ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN)), end));
            } catch (IllegalArgumentException e) {
                log.error("skipped an unreadable record at position {} of the ledger journal {}: {}", position, file, e.getMessage());
            }
            position = end;
        }
        next = position;
        applied = from;
        return rows;
    }

    /**
     * Copies a row's {@code payload} into the ring and returns the position after it, or -1 when the ring
     * has no room (the writer is that far behind, for example on a stalled disk): the row is then only in
     * memory until committed, as without a journal, and that is logged once per episode. Callers hold the
     * one append lock.
     */
    long append(byte[] payload) {
        int size = align(RECORD_HEADER + payload.length);
        long start = next;
        int offset = (int) (start % capacity);
        long padTo = offset + size > capacity ? start + (capacity - offset) : start;
        if (size > capacity / 4 || padTo + size - applied > capacity) {
            if (!fullReported) {
                fullReported = true;
                log.warn("the ledger journal {} is full ({} bytes not yet committed): rows are kept in memory only"
                        + " until the ledger catches up", file, start - applied);
            }
            return -1;
        }
        if (fullReported && start - applied < capacity / 2) {
            fullReported = false;
            log.info("the ledger journal {} has room again", file);
        }
        try {
            if (padTo != start) {
                ring.putInt(offset, PAD);
                ring.putLong(offset + 8, start);
                start = padTo;
                offset = 0;
            }
            ring.put(offset + RECORD_HEADER, payload);
            crc.reset();
            crc.update(payload);
            ring.putInt(offset + 4, (int) crc.getValue());
            ring.putInt(offset, payload.length);
            ring.putLong(offset + 8, start);
        } catch (InternalError e) {
            return failed(e);
        }
        faultReported = false;
        long end = start + size;
        NEXT.setRelease(this, end);
        return end;
    }

    /**
     * A fault in the mapping (the JVM's report of an I/O error under it, a full copy-on-write disk): the
     * row stays in memory only; logged once until an append succeeds again. Returns -1, for "not journaled".
     */
    long failed(InternalError fault) {
        if (!faultReported) {
            faultReported = true;
            log.error("the ledger journal {} could not be written, rows are kept in memory only until it can: {}", file,
                    fault.toString());
        }
        return -1;
    }

    /**
     * Keeps the ring's next pages writable from now on, on a thread of their own ({@link JournalPages}),
     * where the filesystem overwrites the ring in place. Called once, before the ledger writer starts.
     */
    void keepPagesWritable() {
        pages = JournalPages.startFor(this);
    }

    /** The thread started by {@link #keepPagesWritable}, or null. */
    JournalPages pages() {
        return pages;
    }

    /**
     * Makes the ring's pages from the next append on writable and dirty, so that the appends, made on the
     * proxy's event loops, take no page fault. Runs on {@link JournalPages}' thread after each commit.
     *
     * <p>Why: the kernel writes a shared mapping's dirty pages back to the file about every 30 seconds, and
     * then write-protects them, so the first write into each page afterwards faults into the filesystem
     * (ext4's {@code page_mkwrite}, which updates the file's time and can wait on the filesystem's own
     * journal). Appends took that fault once a page, every 20-30 call rows, on an event loop
     * (docs/BENCHMARKS-HISTORY.md, ninth round).
     *
     * <p>How: {@link WritablePages#populate}, which takes those faults here without writing a byte, so it
     * cannot disturb an append into the same page, and reports a fault the filesystem refuses as an error
     * instead of a SIGBUS. It covers twice the bytes appended since the last call, from the page being
     * appended to, at least {@link #MIN_DIRTY_AHEAD} and at most a quarter of the ring.
     *
     * @return 0, or the {@code errno} of the first range the kernel refused
     */
    int dirtyAhead() throws IOException {
        if (channel.size() < FILE_HEADER + (long) capacity) {
            return 0;                                        // cut short under us: nothing past the end to prepare
        }
        long position = (long) NEXT.getAcquire(this);
        long appended = position - dirtiedFrom;
        dirtiedFrom = position;
        long bytes = Math.min(Math.max(2 * appended, MIN_DIRTY_AHEAD), capacity / 4);
        long page = position % capacity & -PAGE;             // the page being appended to
        long first = Math.min(bytes, capacity - page);       // up to the ring's end, then on from its start
        int error = WritablePages.populate(ring, page, first);
        if (error == 0 && first < bytes) {
            error = WritablePages.populate(ring, 0, bytes - first);
        }
        return error;
    }

    /** Every record before {@code position} is committed to the ledger: its space may be reused. */
    void applied(long position) {
        if (position > applied) {
            applied = position;
        }
        if (pages != null) {
            pages.wake();
        }
    }

    /**
     * Writes the header and the whole ring as zeros, then forces them: a ring left sparse would take its
     * disk blocks on the first lap, from writes into the mapping, where a full disk is a SIGBUS on the
     * event loop instead of an error at start-up.
     */
    private static void create(FileChannel channel, long id, int capacity) throws IOException {
        channel.truncate(0);
        writeFully(channel, ByteBuffer.allocate(FILE_HEADER), 0);     // no magic yet: not a journal until filled
        ByteBuffer zeros = ByteBuffer.allocate(64 << 10);
        for (long at = FILE_HEADER; at < FILE_HEADER + (long) capacity; at += zeros.capacity()) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), FILE_HEADER + (long) capacity - at));
            writeFully(channel, zeros, at);
        }
        channel.force(true);
        ByteBuffer header = ByteBuffer.allocate(FILE_HEADER).order(ByteOrder.LITTLE_ENDIAN);
        header.putLong(0, MAGIC).putLong(8, id).putInt(16, capacity);
        writeFully(channel, header, 0);
        channel.force(true);
    }

    private static void writeFully(FileChannel channel, ByteBuffer bytes, long at) throws IOException {
        while (bytes.hasRemaining()) {
            channel.write(bytes, at + bytes.position());
        }
    }

    private static void writeClosedCleanly(FileChannel channel, long flag) throws IOException {
        channel.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, flag), CLOSED_CLEANLY);
    }

    private static int align(int size) {
        return (size + RECORD_HEADER - 1) & -RECORD_HEADER;
    }

    /** Releases the file (and the lock on it); safe to call twice. */
    @Override
    public void close() {
        if (pages != null) {
            pages.stop();
        }
        if (!channel.isOpen()) {
            return;
        }
        try {
            if (next == applied) {
                writeClosedCleanly(channel, 1);
            }
            lock.release();
        } catch (IOException e) {
            log.warn("closing the ledger journal {}: {}", file, e.getMessage());
        } finally {
            try {
                channel.close();
            } catch (IOException e) {
                log.warn("closing the ledger journal {}: {}", file, e.getMessage());
            }
        }
    }
}
