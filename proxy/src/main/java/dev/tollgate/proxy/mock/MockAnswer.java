package dev.tollgate.proxy.mock;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.List;

/**
 * What the fake provider sends for one request: a whole JSON body, or a list of SSE events.
 *
 * @param pacedEvents for a stream sent with a delay between events, how many of its first events are the
 *     model's tokens, one delay apart; the rest (the finish, the usage, {@code [DONE]}) follow the last of
 *     them at once, as a provider sends them the moment generation ends
 */
record MockAnswer(HttpResponseStatus status, ByteBuf body, List<ByteBuf> events, int pacedEvents) {

    static MockAnswer json(ByteBuf body) {
        return new MockAnswer(HttpResponseStatus.OK, body, null, 0);
    }

    static MockAnswer error(HttpResponseStatus status, ByteBuf body) {
        return new MockAnswer(status, body, null, 0);
    }

    static MockAnswer stream(List<ByteBuf> events, int pacedEvents) {
        return new MockAnswer(HttpResponseStatus.OK, null, events, pacedEvents);
    }

    boolean streamed() {
        return events != null;
    }

    void release() {
        if (body != null) {
            body.release();
        }
        if (events != null) {
            events.forEach(ByteBuf::release);
        }
    }
}
