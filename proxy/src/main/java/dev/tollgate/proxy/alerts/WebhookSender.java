package dev.tollgate.proxy.alerts;

import dev.tollgate.proxy.http.JsonStrings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts events to {@code alerts.webhook_url} as Slack-compatible JSON: {@code text} for Slack, and a
 * {@code tollgate} object with the structured fields for other receivers.
 *
 * <p>One thread of its own sends them in order; the event loops only enqueue. A failed post (a 5xx, a
 * 429, a timeout, a refused connection) is retried with exponential backoff, up to
 * {@link #MAX_ATTEMPTS} times, before the event is given up (it stays in the ledger). The queue is
 * bounded: while the receiver is down, at most {@link #CAPACITY} events wait, and the oldest is dropped
 * (and counted in the log) rather than memory growing; calls are never slowed.
 */
final class WebhookSender implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WebhookSender.class);
    static final int CAPACITY = 10_000;
    static final int MAX_ATTEMPTS = 8;

    private final URI url;
    private final HttpClient http;
    private final BlockingQueue<AlertEvent> queue = new ArrayBlockingQueue<>(CAPACITY);
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong delivered = new AtomicLong();
    private final long firstBackoffMs;
    private final Thread thread;
    private volatile boolean running = true;

    WebhookSender(URI url, long firstBackoffMs) {
        this.url = url;
        this.firstBackoffMs = firstBackoffMs;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        this.thread = new Thread(this::run, "tollgate-webhook");
        thread.setDaemon(true);
        thread.start();
    }

    /** Queues an event; never blocks. */
    void send(AlertEvent event) {
        while (!queue.offer(event)) {
            if (queue.poll() != null) {
                long n = dropped.incrementAndGet();
                if (n == 1 || n % 1_000 == 0) {
                    log.warn("webhook {} is not keeping up; {} oldest event(s) dropped from its queue (they stay in the ledger)", url, n);
                }
            }
        }
    }

    long delivered() {
        return delivered.get();
    }

    private void run() {
        while (running || !queue.isEmpty()) {
            AlertEvent event;
            try {
                event = queue.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (event != null) {
                deliver(event);
            }
        }
    }

    private void deliver(AlertEvent event) {
        HttpRequest request = HttpRequest.newBuilder(url)
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(payload(event)))
                .build();
        long backoff = firstBackoffMs;
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            try {
                int status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
                if (status >= 200 && status < 300) {
                    delivered.incrementAndGet();
                    return;
                }
                if (status < 500 && status != 429 && status != 408) {
                    log.warn("webhook {} refused a {} event with {}; not retrying", url, event.kind(), status);
                    return;
                }
                log.debug("webhook {} answered {}; retry {} in {} ms", url, status, attempt, backoff);
            } catch (java.io.IOException e) {
                log.debug("webhook {} unreachable ({}); retry {} in {} ms", url, e.toString(), attempt, backoff);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            backoff = Math.min(backoff * 2, 60_000);
        }
        log.warn("webhook {} failed {} times; a {} event for agent {} is given up (it stays in the ledger)", url,
                MAX_ATTEMPTS, event.kind(), event.agent());
    }

    /** The JSON posted: Slack reads {@code text}; other receivers read {@code tollgate}. */
    static String payload(AlertEvent event) {
        StringBuilder json = new StringBuilder(512);
        json.append("{\"text\":").append(JsonStrings.quote(":rotating_light: " + event.message()))
                .append(",\"tollgate\":{\"kind\":").append(JsonStrings.quote(event.kind()))
                .append(",\"ts\":").append(JsonStrings.quote(Instant.ofEpochMilli(event.tsMs()).toString()))
                .append(",\"agent\":").append(quoteOrNull(event.agent()))
                .append(",\"intent\":").append(quoteOrNull(event.intent()))
                .append(",\"team\":").append(quoteOrNull(event.team()))
                .append(",\"message\":").append(JsonStrings.quote(event.message()));
        for (Map.Entry<String, String> field : event.fields().entrySet()) {
            json.append(',').append(JsonStrings.quote(field.getKey())).append(':').append(quoteOrNull(field.getValue()));
        }
        return json.append("}}").toString();
    }

    private static String quoteOrNull(String value) {
        return value == null ? "null" : JsonStrings.quote(value);
    }

    @Override
    public void close() {
        running = false;
        try {
            thread.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        thread.interrupt();
    }
}
