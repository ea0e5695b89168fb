package dev.tollgate.proxy.http;

import io.netty.util.AsciiString;

/** The response headers Tollgate adds (SPEC §4). */
public final class TollgateHeaders {

    /** The agent the call was charged to. */
    public static final AsciiString AGENT = AsciiString.cached("x-tollgate-agent");

    /** The smallest remaining amount across the agent's cost limits, before this call, in dollars. */
    public static final AsciiString BUDGET_REMAINING = AsciiString.cached("x-tollgate-budget-remaining-usd");

    /** Tells the official SDKs not to retry a refusal that cannot succeed. */
    public static final AsciiString SHOULD_RETRY = AsciiString.cached("x-should-retry");

    private TollgateHeaders() {
    }
}
