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
 * <p>It is a thread of its own, not the ledger writer's, so that the filesystem's work for those faults
 * (and any wait on its journal) never delays a commit. It runs wherever {@link WritablePages} can be called
 * (Linux 5.14 or later, with JNA's native part loadable) and the journal is not in memory only: tmpfs
 * never writes pages back, so there is nothing to prepare there.
 */
final class JournalPages implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(JournalPages.class);
    /** Filesystems that never write a mapping's pages back, so they are never write-protected again. */
    private static final Set<String> IN_MEMORY = Set.of("tmpfs", "ramfs");

    private final LedgerJournal journal;
    private final Thread thread;
    private volatile boolean stopped;
    /** Passes made, for tests that wait for one. */
    private volatile long passes;
    private boolean faultReported;

    private JournalPages(LedgerJournal journal) {
        this.journal = journal;
        this.thread = new Thread(this, "tollgate-journal-pages");
        thread.setDaemon(true);
    }

    /**
     * Prepares the journal's first pages and starts the thread for it; null, and nothing started, where the
     * pages cannot or need not be prepared.
     */
    static JournalPages startFor(LedgerJournal journal) {
        String type = fileSystemOf(journal.file());
        if (IN_MEMORY.contains(type)) {
            log.debug("the ledger journal {} is on {}, which never writes its pages back: nothing to prepare", journal.file(), type);
            return null;
        }
        if (WritablePages.unavailable() != null) {
            log.info("the ledger journal's pages are not prepared ahead of the event loops' appends: {}",
                    WritablePages.unavailable().toString());
            return null;
        }
        int error;
        try {
            error = journal.dirtyAhead();
        } catch (IOException e) {
            error = -1;
        }
        if (error == WritablePages.EINVAL) {
            log.info("this kernel has no madvise(MADV_POPULATE_WRITE) (Linux 5.14 and later do): the ledger journal's"
                    + " pages are not prepared ahead of the event loops' appends");
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

    /**
     * A refused page (a full or failing disk) is the appends' to report: they keep their rows in memory then,
     * and say so. Here it is logged once, as the early sign.
     */
    private void reportOnce(String problem) {
        if (!faultReported) {
            faultReported = true;
            log.warn("preparing the pages of the ledger journal {}: {}", journal.file(), problem);
        }
    }

    @Override
    public void run() {
        while (!stopped) {
            try {
                LockSupport.park(this);
                Thread.interrupted();                       // nothing interrupts it; a stray flag must not make park spin
                if (!stopped) {
                    int error = journal.dirtyAhead();
                    passes++;
                    if (error != 0) {
                        reportOnce("madvise(MADV_POPULATE_WRITE) failed with errno " + error);
                    }
                }
            } catch (IOException | RuntimeException e) {
                reportOnce(e.toString());                   // the journal was closed under us, or its file is gone
            }
        }
    }
}
