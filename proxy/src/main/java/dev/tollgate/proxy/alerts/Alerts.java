package dev.tollgate.proxy.alerts;

import dev.tollgate.proxy.http.JsonStrings;
import dev.tollgate.storage.EventRow;
import dev.tollgate.storage.Ledger;
import java.net.URI;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where every event goes: a row of the ledger's {@code events}, a WARN line on logger
 * {@code dev.tollgate.events}, and, with {@code alerts.webhook_url}, a webhook post. Cheap to call from
 * an event loop: each of the three only enqueues.
 */
public final class Alerts implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("dev.tollgate.events");

    private final Ledger ledger;
    private final WebhookSender webhook;

    public Alerts(Ledger ledger, URI webhookUrl) {
        this(ledger, webhookUrl, 1_000);
    }

    Alerts(Ledger ledger, URI webhookUrl, long firstBackoffMs) {
        this.ledger = ledger;
        this.webhook = webhookUrl == null ? null : new WebhookSender(webhookUrl, firstBackoffMs);
    }

    public void raise(AlertEvent event) {
        log.warn("{}: {}", event.kind(), event.message());
        ledger.append(new EventRow(event.tsMs(), event.agent(), event.intent(), event.kind(), detail(event)));
        if (webhook != null) {
            webhook.send(event);
        }
    }

    static String detail(AlertEvent event) {
        StringBuilder json = new StringBuilder("{\"message\":").append(JsonStrings.quote(event.message()));
        if (event.team() != null) {
            json.append(",\"team\":").append(JsonStrings.quote(event.team()));
        }
        for (Map.Entry<String, String> field : event.fields().entrySet()) {
            json.append(',').append(JsonStrings.quote(field.getKey())).append(':')
                    .append(field.getValue() == null ? "null" : JsonStrings.quote(field.getValue()));
        }
        return json.append('}').toString();
    }

    @Override
    public void close() {
        if (webhook != null) {
            webhook.close();
        }
    }
}
