package dev.tollgate.pricing;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Byte searches eight bytes at a time ("SWAR"): a word of a byte array is read as a long and tested for
 * a byte value with a few arithmetic operations, instead of comparing byte by byte. Stream events are
 * searched like this for their ends and skipped strings, on the event loop, for every streamed call.
 */
final class ByteWords {

    private static final VarHandle WORDS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    static final long ONES = 0x0101010101010101L;
    static final long HIGH_BITS = 0x8080808080808080L;

    private ByteWords() {
    }

    /** The eight bytes at {@code index}, the first in the lowest byte of the result. */
    static long word(byte[] bytes, int index) {
        return (long) WORDS.get(bytes, index);
    }

    /** {@code value} in every byte of a word. */
    static long repeated(char value) {
        return ONES * value;
    }

    /**
     * Nonzero exactly when some byte of {@code word} is zero; the lowest flagged byte (a set high bit) is
     * the first zero byte, higher flags may be false.
     */
    static long zeroBytes(long word) {
        return (word - ONES) & ~word & HIGH_BITS;
    }

    /** The index of the first {@code value} in {@code bytes[from, to)}, or -1. */
    static int indexOf(byte[] bytes, int from, int to, byte value) {
        long pattern = ONES * (value & 0xFF);
        int i = from;
        for (; i + Long.BYTES <= to; i += Long.BYTES) {
            long found = zeroBytes(word(bytes, i) ^ pattern);
            if (found != 0) {
                return i + (Long.numberOfTrailingZeros(found) >>> 3);
            }
        }
        for (; i < to; i++) {
            if (bytes[i] == value) {
                return i;
            }
        }
        return -1;
    }
}
