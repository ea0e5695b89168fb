package dev.tollgate.storage;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import java.nio.MappedByteBuffer;

/**
 * Faults pages of a shared file mapping in writable and dirty without touching a byte of them: Linux's
 * {@code madvise(MADV_POPULATE_WRITE)} (kernel 5.14 and later), called through JNA.
 *
 * <p>Why a system call and not a write from Java: a write into a mapping that the filesystem refuses (a
 * full copy-on-write disk, a failing disk, a file cut short) is a SIGBUS, which the JVM turns into an error
 * for plain reads and writes but not for every other access, and a write from a second thread can race the
 * appends into the same page. The system call writes nothing, so it races nothing, and reports what would
 * have been a SIGBUS as an error code ({@code EFAULT}).
 */
final class WritablePages {

    /** {@code MADV_POPULATE_WRITE} from Linux's {@code <linux/mman.h>}. */
    private static final int MADV_POPULATE_WRITE = 23;
    /** The kernel does not know the advice (before 5.14), or the range is not page-aligned. */
    static final int EINVAL = 22;

    private static final Throwable UNAVAILABLE = load();

    private WritablePages() {
    }

    private static Throwable load() {
        if (!Platform.isLinux() || Native.SIZE_T_SIZE != Long.BYTES) {
            return new UnsupportedOperationException("madvise(MADV_POPULATE_WRITE) is called on 64-bit Linux only");
        }
        try {
            Native.register(WritablePages.class, Platform.C_LIBRARY_NAME);
            return null;
        } catch (LinkageError | RuntimeException e) {
            return e;                                        // JNA's native part could not be loaded here
        }
    }

    /** Null where {@link #populate} can be called; otherwise why it cannot. */
    static Throwable unavailable() {
        return UNAVAILABLE;
    }

    /**
     * Makes {@code mapping[offset, offset + length)} writable and dirty. {@code offset} must be a multiple of
     * the page size and the mapping must start on a page.
     *
     * @return 0, or the call's {@code errno}
     */
    static int populate(MappedByteBuffer mapping, long offset, long length) {
        if (UNAVAILABLE != null) {
            throw new IllegalStateException("madvise is not available", UNAVAILABLE);
        }
        try {
            madvise(Native.getDirectBufferPointer(mapping).share(offset), length, MADV_POPULATE_WRITE);
            return 0;
        } catch (LastErrorException e) {
            return e.getErrorCode();
        }
    }

    private static native int madvise(Pointer address, long length, int advice) throws LastErrorException;
}
