package dev.tollgate.proxy.http;

import io.netty.util.AsciiString;

/** The response headers Tollgate adds (SPEC §4). */
public final class TollgateHeaders {

    /** The agent the call was charged to. */
    public static final AsciiString AGENT = AsciiString.cached("x-tollgate-agent");

    private TollgateHeaders() {
    }
}
