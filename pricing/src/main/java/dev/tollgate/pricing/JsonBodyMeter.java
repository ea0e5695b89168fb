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
 */
final class JsonBodyMeter implements ResponseMeter {

    /** The largest body held for one pass; past it, bytes are read as they pass. */
    static final int HELD_BYTES = 64 * 1024;

    private static final JsonFactory JSON = new JsonFactory();

    private final UsageCollector collector = new UsageCollector();
    /** Null only in the tests that compare the two readers. */
    private final EventJsonScanner scanner;
    private byte[] held = new byte[0];
    private int heldLength;
    /** Jackson's non-blocking parser, once the body outgrew {@link #held}. */
    private JsonParser streaming;
    private boolean broken;

    JsonBodyMeter() {
        this(true);
    }

    /** @param fastScan false to read every body with Jackson (for tests that compare the two readers) */
    JsonBodyMeter(boolean fastScan) {
        scanner = fastScan ? new EventJsonScanner(collector, true) : null;
        collector.startDocument();
    }

    @Override
    public void feed(ByteBuffer piece) {
        int length = piece.remaining();
        if (broken || length == 0) {
            return;
        }
        if (streaming == null && heldLength + length <= HELD_BYTES) {
            hold(piece, length);
            return;
        }
        try {
            if (streaming == null) {
                streaming = JSON.createNonBlockingByteArrayParser();
                if (heldLength > 0) {
                    feedStreaming(held, 0, heldLength);
                }
                heldLength = 0; // the bytes passed to the parser; the array now serves as its scratch
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
            int size = Math.max(heldLength + length, Math.min(2 * held.length, HELD_BYTES));
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
        if (broken) {
            return collector.reading();
        }
        if (streaming != null) {
            try (JsonParser parser = streaming) {
                parser.getNonBlockingInputFeeder().endOfInput();
                drain(parser);
            } catch (IOException | RuntimeException e) {
                broken = true;
            }
        } else if (heldLength > 0 && (scanner == null || !scanner.scan(held, 0, heldLength))) {
            try (JsonParser parser = JSON.createParser(held, 0, heldLength)) {
                drain(parser);
            } catch (IOException | RuntimeException e) {
                broken = true;
            }
        }
        broken = true; // read once: later pieces are ignored
        held = null;
        return collector.reading();
    }
}
