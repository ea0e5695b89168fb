package dev.tollgate.proxy.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.List;

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) concern one connection only, so a proxy never passes them on:
 * the fixed list, plus every header that the {@code Connection} header itself names.
 */
public final class HopByHopHeaders {

    private static final List<AsciiString> FIXED = List.of(
            HttpHeaderNames.CONNECTION,
            HttpHeaderNames.KEEP_ALIVE,
            AsciiString.cached("proxy-connection"),
            HttpHeaderNames.PROXY_AUTHENTICATE,
            HttpHeaderNames.PROXY_AUTHORIZATION,
            HttpHeaderNames.TE,
            HttpHeaderNames.TRAILER,
            HttpHeaderNames.TRANSFER_ENCODING,
            HttpHeaderNames.UPGRADE);

    private HopByHopHeaders() {
    }

    /** Removes the hop-by-hop headers from {@code headers}, in place. */
    public static void strip(HttpHeaders headers) {
        for (String connection : headers.getAll(HttpHeaderNames.CONNECTION)) {
            for (String named : connection.split(",")) {
                String name = named.trim();
                if (!name.isEmpty()) {
                    headers.remove(name);
                }
            }
        }
        for (AsciiString name : FIXED) {
            headers.remove(name);
        }
    }
}
