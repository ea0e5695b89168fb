package dev.tollgate.proxy.admission;

import dev.tollgate.proxy.http.JsonStrings;
import dev.tollgate.storage.EventRow;
import dev.tollgate.storage.Ledger;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Writes budget events to the ledger's {@code events} table and the log. */
public final class LedgerBudgetEvents implements Budgets.Events {

    private static final Logger log = LoggerFactory.getLogger("dev.tollgate.events");

    private final Ledger ledger;

    public LedgerBudgetEvents(Ledger ledger) {
        this.ledger = ledger;
    }

    @Override
    public void alert(long tsMs, String agent, String intent, Admission.Refused breach) {
        log.warn("alert: {} (let through: action_on_breach is alert)", breach.reason());
        ledger.append(new EventRow(tsMs, agent, intent, "alert", detail(breach)));
    }

    @Override
    public void blocked(long tsMs, String agent, String intent, Admission.Refused refusal) {
        log.warn("blocked: {}", refusal.reason());
        ledger.append(new EventRow(tsMs, agent, intent, "blocked", detail(refusal)));
    }

    static String detail(Admission.Refused refusal) {
        return "{\"code\":" + JsonStrings.quote(refusal.code())
                + ",\"scope\":" + JsonStrings.quote(refusal.scope())
                + ",\"limit\":" + JsonStrings.quote(refusal.limit())
                + ",\"limit_value\":" + (refusal.limitValue() == null ? "null" : JsonStrings.quote(refusal.limitValue()))
                + ",\"spent\":" + (refusal.spent() == null ? "null" : JsonStrings.quote(refusal.spent()))
                + ",\"resets_at\":" + (refusal.resetsAtMs() < 0 ? "null"
                        : JsonStrings.quote(Instant.ofEpochMilli(refusal.resetsAtMs()).toString()))
                + ",\"message\":" + JsonStrings.quote(refusal.reason()) + "}";
    }
}
