package dev.tollgate.pricing;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Meters a plain JSON response with Jackson's non-blocking parser, fed each piece as it passes, so the
 * body is never held whole (an embeddings response can be megabytes of floats). A body that is not
 * valid JSON stops metering quietly: the call is then counted, never failed.
 *
 * <p>It uses the byte-array flavour of the parser: a piece in direct memory (as Netty's are) is copied
 * into a small scratch array first, which is cheaper than the parser reading a direct buffer byte by byte.
 */
final class JsonBodyMeter implements ResponseMeter {

    private static final JsonFactory JSON = new JsonFactory();

    private final UsageCollector collector = new UsageCollector();
    private JsonParser parser;
    private byte[] scratch = new byte[0];
    private boolean broken;

    JsonBodyMeter() {
        try {
            parser = JSON.createNonBlockingByteArrayParser();
        } catch (IOException e) {
            broken = true;
        }
        collector.startDocument();
    }

    @Override
    public void feed(ByteBuffer piece) {
        if (broken || !piece.hasRemaining()) {
            return;
        }
        try {
            ByteArrayFeeder feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
            int length = piece.remaining();
            if (piece.hasArray()) {
                int from = piece.arrayOffset() + piece.position();
                feeder.feedInput(piece.array(), from, from + length);
            } else {
                if (scratch.length < length) {
                    scratch = new byte[Math.max(length, Math.min(2 * scratch.length, 1 << 16))];
                }
                piece.duplicate().get(scratch, 0, length);
                feeder.feedInput(scratch, 0, length);
            }
            // Every byte fed is consumed here, so the array may be reused (or given back) afterwards.
            drain();
        } catch (IOException | RuntimeException e) {
            broken = true;
        }
    }

    private void drain() throws IOException {
        JsonToken token;
        while ((token = parser.nextToken()) != null && token != JsonToken.NOT_AVAILABLE) {
            collector.accept(token, parser);
        }
    }

    @Override
    public MeterReading finish() {
        if (!broken) {
            try {
                parser.getNonBlockingInputFeeder().endOfInput();
                drain();
            } catch (IOException | RuntimeException e) {
                broken = true;
            }
        }
        closeQuietly();
        return collector.reading();
    }

    private void closeQuietly() {
        try {
            parser.close();
        } catch (IOException | RuntimeException ignored) {
            // Nothing to release beyond the parser's own buffers.
        }
    }
}
