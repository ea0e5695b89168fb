package dev.tollgate.proxy.mock;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.List;

/** What the fake provider sends for one request: a whole JSON body, or a list of SSE events. */
record MockAnswer(HttpResponseStatus status, ByteBuf body, List<ByteBuf> events) {

    static MockAnswer json(ByteBuf body) {
        return new MockAnswer(HttpResponseStatus.OK, body, null);
    }

    static MockAnswer error(HttpResponseStatus status, ByteBuf body) {
        return new MockAnswer(status, body, null);
    }

    static MockAnswer stream(List<ByteBuf> events) {
        return new MockAnswer(HttpResponseStatus.OK, null, events);
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
