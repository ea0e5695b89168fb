package dev.tollgate.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Whether a buffer holds well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF), as {@link io.netty.buffer.ByteBufUtil#isText} decides it, at a fraction of its cost.
 *
 * <p>Every metered request body is checked before anything reads it, on the event loop, and a prompt of
 * a working agent runs to many kilobytes. Netty's check reads byte by byte through {@code getByte}, with a
 * bounds and reference-count check on each: with 8 KB prompts it was 12% of the event loops' samples
 * (docs/BENCHMARKS.md). This one reads eight bytes at a time while they are ASCII, as prose, code and
 * JSON mostly are, and walks the multi-byte sequences byte by byte; a sequence may straddle the
 * components of a composite buffer (an aggregated request is one).
 */
public final class Utf8 {

    private static final long HIGH_BITS = 0x8080808080808080L;

    /**
     * Between components: how many continuation bytes are still due (low byte), and the range the next one
     * must lie in (the second and third bytes). 0 when a sequence is not open.
     */
    private static final int DUE_MASK = 0xFF;

    private Utf8() {
    }

    /** True when the readable bytes of {@code buffer} are well-formed UTF-8. */
    public static boolean isWellFormed(ByteBuf buffer) {
        if (!buffer.isReadable()) {
            return true;
        }
        int components = buffer.nioBufferCount();
        if (components <= 0) {
            // No NIO view of its memory (no buffer the proxy meets): Netty's own check, byte by byte.
            return ByteBufUtil.isText(buffer, StandardCharsets.UTF_8);
        }
        int state = 0;
        if (components == 1) {
            state = scan(buffer.nioBuffer(), state);
        } else {
            for (ByteBuffer component : buffer.nioBuffers()) {
                state = scan(component, state);
                if (state < 0) {
                    return false;
                }
            }
        }
        return state == 0;
    }

    /** Scans {@code in} (position to limit) from the open sequence {@code state}; the state after, or -1. */
    static int scan(ByteBuffer in, int state) {
        // The view is read in whatever byte order it has (it is not ours to change): that decides only
        // which end of a word holds its first byte.
        boolean bigEndian = in.order() == ByteOrder.BIG_ENDIAN;
        int i = in.position();
        int end = in.limit();
        while (i < end) {
            if ((state & DUE_MASK) != 0) {
                int b = in.get(i++) & 0xFF;
                if (b < (state >>> 8 & 0xFF) || b > (state >>> 16 & 0xFF)) {
                    return -1;
                }
                int due = (state & DUE_MASK) - 1;
                state = due == 0 ? 0 : due | 0x80 << 8 | 0xBF << 16;
                continue;
            }
            // Eight bytes at a time while none has its high bit set; then straight to the first that has.
            while (i + Long.BYTES <= end) {
                long high = in.getLong(i) & HIGH_BITS;
                if (high != 0) {
                    i += (bigEndian ? Long.numberOfLeadingZeros(high) : Long.numberOfTrailingZeros(high)) >>> 3;
                    break;
                }
                i += Long.BYTES;
            }
            if (i >= end) {
                break;
            }
            int lead = in.get(i++) & 0xFF;
            if (lead < 0x80) {
                continue;
            }
            state = opened(lead);
            if (state < 0) {
                return -1;
            }
        }
        return state;
    }

    /** The state a lead byte opens: the continuation bytes due and the range of the first; -1 when no lead. */
    private static int opened(int lead) {
        if (lead >= 0xC2 && lead <= 0xDF) {
            return 1 | 0x80 << 8 | 0xBF << 16;
        }
        if (lead >= 0xE0 && lead <= 0xEF) {
            int low = lead == 0xE0 ? 0xA0 : 0x80;   // E0 80..9F would be overlong
            int high = lead == 0xED ? 0x9F : 0xBF;  // ED A0..BF would be a surrogate
            return 2 | low << 8 | high << 16;
        }
        if (lead >= 0xF0 && lead <= 0xF4) {
            int low = lead == 0xF0 ? 0x90 : 0x80;   // F0 80..8F would be overlong
            int high = lead == 0xF4 ? 0x8F : 0xBF;  // F4 90.. would be past U+10FFFF
            return 3 | low << 8 | high << 16;
        }
        return -1;  // a continuation byte without a lead, C0 and C1 (overlong), F5 and above
    }
}
