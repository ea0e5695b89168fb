package dev.tollgate.pricing;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteBufferFeeder;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Meters a plain JSON response with Jackson's non-blocking parser, fed each piece as it passes, so the
 * body is never held whole (an embeddings response can be megabytes of floats). A body that is not
 * valid JSON stops metering quietly: the call is then counted, never failed.
 */
final class JsonBodyMeter implements ResponseMeter {

    private static final JsonFactory JSON = new JsonFactory();

    private final UsageCollector collector = new UsageCollector();
    private JsonParser parser;
    private boolean broken;

    JsonBodyMeter() {
        try {
            parser = JSON.createNonBlockingByteBufferParser();
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
            ((ByteBufferFeeder) parser.getNonBlockingInputFeeder()).feedInput(piece.duplicate());
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
