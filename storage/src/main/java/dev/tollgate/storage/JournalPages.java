package dev.tollgate.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The thread that keeps the crash journal's next pages writable ({@link LedgerJournal#dirtyAhead}), woken
 * after each commit, so that the event loops' appends do not fault into the filesystem.
 *
 * <p>It is a thread of its own, not the ledger writer's: a fault in the mapping is reported to the thread
 * that took it, and from compiled code only later, wherever that thread then is; here it can never cut a
 * commit short or stop the writer. It runs only on filesystems that overwrite the ring's blocks in place
 * (ext4, XFS), because a write fault that the filesystem refuses is a SIGBUS, which the JVM turns into an
 * error for plain reads and writes (appends use those, and survive it) but not for a compare-and-set run
 * by the interpreter, which would crash the process. On a copy-on-write filesystem (btrfs, ZFS) a full
 * disk refuses such faults; on ext4 and XFS, with the ring's blocks written at creation, only a failing
 * disk or a reflinked copy of the file on a full disk still can (a file cut short is checked before each
 * pass). tmpfs never writes pages back, so there is nothing to prepare there.
 */
final class JournalPages implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(JournalPages.class);
    private static final Set<String> IN_PLACE = Set.of("ext2", "ext3", "ext4", "xfs");

    private final LedgerJournal journal;
    private final Thread thread;
    private volatile boolean stopped;
    /** Passes made, for tests that wait for one. */
    private volatile long passes;

    private JournalPages(LedgerJournal journal) {
        this.journal = journal;
        this.thread = new Thread(this, "tollgate-journal-pages");
        thread.setDaemon(true);
    }

    /** Starts the thread for {@code journal}; null, and nothing started, where its filesystem does not suit. */
    static JournalPages startFor(LedgerJournal journal) {
        String type = fileSystemOf(journal.file());
        if (!IN_PLACE.contains(type)) {
            log.info("the ledger journal {} is on {}, not ext4 or XFS: its pages are not prepared ahead of the event"
                    + " loops' appends", journal.file(), type);
            return null;
        }
        JournalPages pages = new JournalPages(journal);
        pages.thread.start();
        return pages;
    }

    private static String fileSystemOf(Path file) {
        try {
            return Files.getFileStore(file).type().toLowerCase(Locale.ROOT);
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** Prepares the pages ahead of the journal's next append, soon; never blocks. */
    void wake() {
        LockSupport.unpark(thread);
    }

    /** Stops the thread and waits (up to a second) for a pass under way, before the journal's file is released. */
    void stop() {
        stopped = true;
        LockSupport.unpark(thread);
        try {
            thread.join(1_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    long passes() {
        return passes;
    }

    @Override
    public void run() {
        boolean faultReported = false;
        while (!stopped) {
            try {
                LockSupport.park(this);
                Thread.interrupted();                       // nothing interrupts it; a stray flag must not make park spin
                if (!stopped) {
                    journal.dirtyAhead();
                    passes++;
                }
            } catch (Throwable e) {
                // The mapping faulted (InternalError, maybe raised late), or the journal was closed: appends
                // report faults themselves and keep their rows in memory.
                if (!faultReported) {
                    faultReported = true;
                    log.warn("preparing the pages of the ledger journal {}: {}", journal.file(), e.toString());
                }
            }
        }
    }
}
