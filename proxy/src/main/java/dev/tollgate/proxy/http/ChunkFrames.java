package dev.tollgate.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * HTTP/1.1 chunks (RFC 9112 7.1) framed inside the buffer that holds their data, for a stream's bytes written
 * to the agent past Netty's HTTP encoder.
 *
 * <p>Why: the encoder frames each piece of content with a size line in a buffer of its own and a shared CRLF,
 * three buffers and a pass through its output list per piece. A paced stream sends the agent one piece per
 * event, so that was an allocation, two more entries in the socket's outbound buffer and two more iovecs in
 * its {@code writev} for every event. Here the buffer is allocated with room in front for the size line and
 * behind for the CRLF, so a chunk is one buffer, written as it is.
 */
public final class ChunkFrames {

    /** Room in front of a chunk's data for its size line: up to 8 hex digits (any int length) and CRLF. */
    static final int HEADROOM = 10;
    /** Room behind it for the CRLF that ends the chunk. */
    static final int TAILROOM = 2;
    private static final short CRLF = ('\r' << 8) | '\n';
    private static final byte[] HEX = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private ChunkFrames() {
    }

    /** An empty buffer for a chunk of about {@code dataBytes} (it grows as any buffer does), its data to be written after the headroom. */
    public static ByteBuf allocate(ByteBufAllocator alloc, int dataBytes) {
        ByteBuf buffer = alloc.buffer(HEADROOM + dataBytes + TAILROOM);
        return buffer.setIndex(HEADROOM, HEADROOM);
    }

    /**
     * Frames the readable bytes of {@code chunk}, a buffer from {@link #allocate} that nothing has read from,
     * as one chunk: the size line goes into the headroom in front of them and CRLF after them.
     *
     * @throws IllegalArgumentException for an empty chunk (the zero-size chunk ends a body; the encoder writes it)
     *     or one without the headroom
     */
    public static ByteBuf frame(ByteBuf chunk) {
        int length = chunk.readableBytes();
        if (length == 0) {
            throw new IllegalArgumentException("an empty chunk would end the body");
        }
        int digits = (Integer.SIZE - Integer.numberOfLeadingZeros(length) + 3) / 4;
        int start = chunk.readerIndex() - digits - 2;
        if (start < 0) {
            throw new IllegalArgumentException("no room for the chunk's size line in front of its data");
        }
        for (int at = start + digits - 1, rest = length; at >= start; at--, rest >>>= 4) {
            chunk.setByte(at, HEX[rest & 0xF]);
        }
        chunk.setShort(start + digits, CRLF);
        chunk.readerIndex(start);
        return chunk.writeShort(CRLF);
    }
}
