package dev.tollgate.pricing;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The ways the network may cut a body into pieces, for the fuzz tests: whole, one byte at a time, and
 * pieces of pseudo-random size drawn from the body itself (so that every input replays the same way).
 * Each piece is a window into a larger buffer with other bytes around it, as a Netty buffer's NIO view
 * is, so that a meter reading past its piece's limit or assuming position 0 shows; the three ways use a
 * heap buffer, a read-only view and a direct buffer, the kinds a meter is handed.
 */
final class Splits {

    private static final int PAD = 8;

    private Splits() {
    }

    static List<ByteBuffer> whole(byte[] body) {
        return List.of(window(padded(body), 0, body.length));
    }

    static List<ByteBuffer> byteByByte(byte[] body) {
        ByteBuffer all = padded(body).asReadOnlyBuffer();
        List<ByteBuffer> pieces = new ArrayList<>(body.length);
        for (int i = 0; i < body.length; i++) {
            pieces.add(window(all, i, 1));
        }
        return pieces;
    }

    /** Pieces of 0 to 64 bytes (empty pieces included), cut where a generator seeded by the body says. */
    static List<ByteBuffer> random(byte[] body) {
        ByteBuffer heap = padded(body);
        ByteBuffer all = ByteBuffer.allocateDirect(heap.capacity()).put(heap);
        Random random = new Random(Arrays.hashCode(body));
        List<ByteBuffer> pieces = new ArrayList<>();
        int at = 0;
        while (at < body.length) {
            int n = Math.min(body.length - at, random.nextInt(65));
            pieces.add(window(all, at, n));
            at += n;
        }
        return pieces;
    }

    private static ByteBuffer padded(byte[] body) {
        byte[] padded = new byte[body.length + 2 * PAD];
        Arrays.fill(padded, (byte) '\n');
        System.arraycopy(body, 0, padded, PAD, body.length);
        return ByteBuffer.wrap(padded);
    }

    private static ByteBuffer window(ByteBuffer all, int from, int length) {
        ByteBuffer piece = all.duplicate();
        piece.limit(PAD + from + length).position(PAD + from);
        return piece;
    }

    /** Feeds the pieces, checking that the meter leaves each piece's position and limit alone, then finishes. */
    static MeterReading meter(ResponseMeter meter, List<ByteBuffer> pieces) {
        for (ByteBuffer piece : pieces) {
            int position = piece.position();
            int limit = piece.limit();
            meter.feed(piece);
            if (piece.position() != position || piece.limit() != limit) {
                throw new AssertionError("the meter moved the piece's position or limit");
            }
        }
        return meter.finish();
    }
}
