package dev.tollgate.pricing;

import java.nio.ByteBuffer;

/**
 * Reads a response as it streams through the proxy and tells what it cost in tokens. Implementations
 * keep no copy of a large body: a plain response is held only up to 64 KiB (then read in one pass) and
 * read as it passes beyond that; server-sent events are split and read one event at a time.
 */
public interface ResponseMeter {

    /** Reads the next piece of the body. The buffer's position is not moved. */
    void feed(ByteBuffer piece);

    /** What the body said, as far as it went; call once the body ended or was cut off. */
    MeterReading finish();

    /** A meter for a response of {@code endpoint}: streamed or not, as the response's content type says. */
    static ResponseMeter forResponse(Endpoint endpoint, boolean eventStream) {
        return eventStream ? new SseStreamMeter(null) : new JsonBodyMeter();
    }
}
