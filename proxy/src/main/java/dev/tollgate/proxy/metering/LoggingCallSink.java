package dev.tollgate.proxy.metering;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs each metered call as one line on logger {@code dev.tollgate.calls} at INFO. The logger is off by
 * default (per-call console output would cost the event loop a write each); {@code TOLLGATE_CALL_LOG=INFO}
 * turns it on. It is where metered calls go until the ledger takes over.
 */
public final class LoggingCallSink implements CallRecordSink {

    private static final Logger log = LoggerFactory.getLogger("dev.tollgate.calls");

    @Override
    public void record(CallRecord call) {
        if (log.isInfoEnabled()) {
            log.info("{} agent={} intent={} model={} status={} in={} cached={} out={} reasoning={} cost={} source={} {}ms",
                    call.endpoint(), call.agent(), call.intent(), call.model(), call.status(), call.usage().inputTokens(),
                    call.usage().cachedInputTokens(), call.usage().outputTokens(), call.usage().reasoningTokens(),
                    call.cost().format(), call.usageSource().ledgerName(), call.latencyMs());
        }
    }
}
