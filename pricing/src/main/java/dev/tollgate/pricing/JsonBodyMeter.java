package dev.tollgate.pricing;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Meters a plain JSON response. A body of up to {@value #HELD_BYTES} bytes (a chat completion's, nearly
 * always) is held and read in one pass at its end by {@link EventJsonScanner}, several times faster than
 * Jackson; a body the scanner declines is read by Jackson's parser instead, so the reading is the same.
 * A larger body (an embeddings response can be megabytes of floats) is never held whole: from the piece
 * that passes the bound on, Jackson's non-blocking parser reads each piece as it passes. A body that is not
 * valid JSON stops metering quietly: the call is then counted, never failed.
 *
 * <p>Valid JSON reads the same either way. A malformed body may not: Jackson's blocking parser, which reads
 * a held body the scanner declined, is lenient with invalid UTF-8 in a key, and its non-blocking one is
 * not, so such a body may be metered a little further when small. Either way it is counted, never failed,
 * and the same body always reads the same ({@link UntrustedJson}).
 */
final class JsonBodyMeter implements ResponseMeter {

    /** The largest body held for one pass; past it, bytes are read as they pass. */
    static final int HELD_BYTES = 64 * 1024;
    private static final byte[] NOTHING = new byte[0];

    private static final JsonFactory JSON = UntrustedJson.FACTORY;

    private final UsageCollector collector = new UsageCollector();
    /** Null only in the tests that compare the two readers. */
    private final EventJsonScanner scanner;
    private final int heldBytes;
    /** The body so far while it is held; once it is read as it passes, a scratch copy of a direct piece. */
    private byte[] held = NOTHING;
    private int heldLength;
    /** Jackson's non-blocking parser, once the body outgrew {@link #held}. */
    private JsonParser streaming;
    private boolean broken;

    JsonBodyMeter() {
        this(true, HELD_BYTES);
    }

    /** @param fastScan false to read every body with Jackson (for tests that compare the two readers) */
    JsonBodyMeter(boolean fastScan) {
        this(fastScan, HELD_BYTES);
    }

    /** @param heldBytes the bound, smaller in the tests that read bodies as they pass */
    JsonBodyMeter(boolean fastScan, int heldBytes) {
        scanner = fastScan ? new EventJsonScanner(collector, true) : null;
        this.heldBytes = heldBytes;
        collector.startDocument();
    }

    @Override
    public void feed(ByteBuffer piece) {
        int length = piece.remaining();
        if (broken || length == 0) {
            return;
        }
        if (streaming == null && heldLength + length <= heldBytes) {
            hold(piece, length);
            return;
        }
        try {
            if (streaming == null) {
                streaming = JSON.createNonBlockingByteArrayParser();
                if (heldLength > 0) {
                    feedStreaming(held, 0, heldLength);
                }
                heldLength = 0;
                held = NOTHING; // the parser has the bytes; a scratch array is made when a direct piece needs one
            }
            if (piece.hasArray()) {
                int from = piece.arrayOffset() + piece.position();
                feedStreaming(piece.array(), from, length);
            } else {
                if (held.length < length) {
                    held = new byte[length];
                }
                piece.duplicate().get(held, 0, length);
                feedStreaming(held, 0, length);
            }
        } catch (IOException | RuntimeException e) {
            broken = true;
        }
    }

    private void hold(ByteBuffer piece, int length) {
        if (held.length < heldLength + length) {
            int size = Math.max(heldLength + length, Math.min(2 * held.length, heldBytes));
            byte[] grown = new byte[size];
            System.arraycopy(held, 0, grown, 0, heldLength);
            held = grown;
        }
        piece.duplicate().get(held, heldLength, length);
        heldLength += length;
    }

    /** Every byte fed is consumed before this returns, so the array may be reused afterwards. */
    private void feedStreaming(byte[] bytes, int from, int length) throws IOException {
        ((ByteArrayFeeder) streaming.getNonBlockingInputFeeder()).feedInput(bytes, from, from + length);
        drain(streaming);
    }

    private void drain(JsonParser parser) throws IOException {
        JsonToken token;
        while ((token = parser.nextToken()) != null && token != JsonToken.NOT_AVAILABLE) {
            collector.accept(token, parser);
        }
    }

    @Override
    public MeterReading finish() {
        if (!broken) {
            if (streaming != null) {
                try {
                    streaming.getNonBlockingInputFeeder().endOfInput();
                    drain(streaming);
                } catch (IOException | RuntimeException e) {
                    // Metered as far as it went.
                }
            } else if (heldLength > 0 && (scanner == null || !scanner.scan(held, 0, heldLength))) {
                try (JsonParser parser = JSON.createParser(held, 0, heldLength)) {
                    drain(parser);
                } catch (IOException | RuntimeException e) {
                    // Metered as far as it went.
                }
            }
        }
        broken = true; // read once: later pieces are ignored
        held = NOTHING;
        heldLength = 0;
        if (streaming != null) {
            try {
                streaming.close();
            } catch (IOException | RuntimeException ignored) {
                // Nothing to release beyond the parser's own buffers.
            }
            streaming = null;
        }
        return collector.reading();
    }
}
