package dev.tollgate.proxy.metering;

import dev.tollgate.storage.CallRow;
import dev.tollgate.storage.Ledger;

/** Writes each metered call to the ledger as one {@code calls} row; enqueueing never blocks. */
public final class LedgerCallSink implements CallRecordSink {

    private final Ledger ledger;

    public LedgerCallSink(Ledger ledger) {
        this.ledger = ledger;
    }

    @Override
    public void record(CallRecord call) {
        ledger.append(new CallRow(call.startedAtMs(), call.agent(), call.intent(), call.team(), call.endpoint(),
                call.model(), call.status(), call.streamed(), call.usage().inputTokens(), call.usage().cachedInputTokens(),
                call.usage().outputTokens(), call.usage().reasoningTokens(), call.cost().value(),
                call.usageSource().ledgerName(), call.latencyMs(), call.refused()));
    }
}
