package dev.tollgate.proxy.metering;

/**
 * Where finished calls go: the ledger, or a log. Called from event loops and from the counting thread,
 * so implementations are thread-safe and never block.
 */
@FunctionalInterface
public interface CallRecordSink {
    void record(CallRecord call);
}
