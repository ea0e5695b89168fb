package dev.tollgate.proxy.metering;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Logs each metered call at DEBUG: what the proxy records until the ledger takes over. */
public final class LoggingCallSink implements CallRecordSink {

    private static final Logger log = LoggerFactory.getLogger("dev.tollgate.calls");

    @Override
    public void record(CallRecord call) {
        if (log.isDebugEnabled()) {
            log.debug("{} agent={} intent={} model={} status={} in={} cached={} out={} reasoning={} cost={} source={} {}ms",
                    call.endpoint(), call.agent(), call.intent(), call.model(), call.status(), call.usage().inputTokens(),
                    call.usage().cachedInputTokens(), call.usage().outputTokens(), call.usage().reasoningTokens(),
                    call.cost().format(), call.usageSource().ledgerName(), call.latencyMs());
        }
    }
}
