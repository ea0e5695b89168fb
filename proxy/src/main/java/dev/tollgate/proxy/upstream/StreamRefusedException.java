package dev.tollgate.proxy.upstream;

import java.io.IOException;

/**
 * The provider closed an HTTP/2 stream before processing it: a {@code REFUSED_STREAM} reset, or a stream
 * past the last one a {@code GOAWAY} accepted. RFC 9113 8.7 makes such a request safe to send again,
 * which {@link UpstreamExchange} does once.
 */
final class StreamRefusedException extends IOException {

    StreamRefusedException(String message) {
        super(message);
    }
}
