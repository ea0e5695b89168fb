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
    /** The kernel does not know the advice (before 5.14). */
    static final int EINVAL = 22;

    private static final Throwable UNAVAILABLE = load();
    /** The kernel's page size (4 KiB on x86-64; 16 or 64 KiB on some ARM kernels); 0 when unavailable. */
    private static final long PAGE_SIZE = UNAVAILABLE == null ? getpagesize() : 0;

    private WritablePages() {
    }

    /**
     * Every use of JNA is inside the {@code try}: its {@code Native} class loads its native part when first
     * touched, and fails there (an {@link UnsatisfiedLinkError}, or an {@link Error} for an incompatible copy
     * installed on the system) where the temporary directory is mounted noexec or the platform has no build.
     * Escaping this initialiser, that would fail the ledger's opening and so the proxy's start.
     */
    private static Throwable load() {
        try {
            if (!Platform.isLinux() || Native.SIZE_T_SIZE != Long.BYTES) {
                return new UnsupportedOperationException("madvise(MADV_POPULATE_WRITE) is called on 64-bit Linux only");
            }
            Native.register(WritablePages.class, Platform.C_LIBRARY_NAME);
            return null;
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Error | RuntimeException e) {
            return e;                                        // JNA's native part could not be loaded here
        }
    }

    /** Null where {@link #populate} can be called; otherwise why it cannot. */
    static Throwable unavailable() {
        return UNAVAILABLE;
    }

    /**
     * Makes the pages holding {@code mapping[offset, offset + length)} writable and dirty. The range is
     * widened to whole pages of the kernel's size, which {@code madvise} requires: a mapping from
     * {@link java.nio.channels.FileChannel#map} starts on a page only where its file offset is a multiple of
     * the page size, and the journal's ring (at 4 KiB into its file) is not on a 16 or 64 KiB page kernel.
     * The bytes so included before the range belong to the same mapping, which Java starts on a page.
     *
     * @return 0, or the call's {@code errno}
     */
    static int populate(MappedByteBuffer mapping, long offset, long length) {
        if (UNAVAILABLE != null) {
            throw new IllegalStateException("madvise is not available", UNAVAILABLE);
        }
        long address = Pointer.nativeValue(Native.getDirectBufferPointer(mapping)) + offset;
        long pageStart = address & -PAGE_SIZE;
        try {
            madvise(new Pointer(pageStart), length + (address - pageStart), MADV_POPULATE_WRITE);
            return 0;
        } catch (LastErrorException e) {
            return e.getErrorCode();
        }
    }

    private static native int madvise(Pointer address, long length, int advice) throws LastErrorException;

    private static native int getpagesize();
}
