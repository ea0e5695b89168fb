package dev.tollgate.proxy.admin;

import dev.tollgate.proxy.admission.Gate;
import dev.tollgate.proxy.alerts.AlertEvent;
import dev.tollgate.proxy.alerts.Alerts;
import dev.tollgate.proxy.http.ErrorResponse;
import dev.tollgate.proxy.http.JsonStrings;
import dev.tollgate.storage.AgentStateRow;
import dev.tollgate.storage.Ledger;
import dev.tollgate.storage.LedgerReports;
import dev.tollgate.storage.ReportFormat;
import dev.tollgate.storage.ReportQuery;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Clock;
import java.time.ZoneId;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API under {@code /tollgate/} (SPEC §7). Its work reads SQLite, so it runs on its own
 * thread and never on an event loop; the caller writes the answer back on the connection's loop.
 *
 * <p>With {@code admin.token} set, callers present it as a bearer token; without it, the admin API answers
 * loopback clients only. Served: {@code GET /tollgate/agents}, {@code GET /tollgate/agents/{agent}},
 * {@code GET /tollgate/events}, {@code GET /tollgate/report} and {@code POST /tollgate/agents/{agent}/pause|resume}.
 */
public final class AdminApi implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminApi.class);

    /** An answer: status, JSON body. */
    public record Answer(HttpResponseStatus status, byte[] json) {
        static Answer ok(String json) {
            return new Answer(HttpResponseStatus.OK, json.getBytes(StandardCharsets.UTF_8));
        }
    }

    private static final java.util.regex.Pattern AGENT_ACTION =
            java.util.regex.Pattern.compile("/tollgate/agents/([A-Za-z0-9][A-Za-z0-9._:@/-]{0,127})/(pause|resume)");
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    private final Ledger ledger;
    private final Gate gate;
    private final Alerts alerts;
    private final LedgerReports reports;
    private final ZoneId zone;
    private final Clock clock;
    private final ExecutorService worker;

    private final AgentViews views;

    public AdminApi(Ledger ledger, Gate gate, Alerts alerts, ZoneId zone, Clock clock) {
        this.views = new AgentViews(ledger, gate.budgets(), zone, clock);
        this.ledger = ledger;
        this.gate = gate;
        this.alerts = alerts;
        this.reports = ledger.reports();
        this.zone = zone;
        this.clock = clock;
        this.worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(256), runnable -> {
            Thread thread = new Thread(runnable, "tollgate-admin");
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Whether a client may use the admin API: with {@code admin.token} configured, any client presenting it
     * (compared in constant time); without one, loopback clients only.
     */
    public boolean allows(InetAddress client, String authorization) {
        String token = gate.config().admin().token();
        if (token == null) {
            return client != null && client.isLoopbackAddress();
        }
        String presented = authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)
                ? authorization.substring(7).trim() : "";
        return java.security.MessageDigest.isEqual(token.getBytes(StandardCharsets.UTF_8), presented.getBytes(StandardCharsets.UTF_8));
    }

    /** Serves a request under {@code /tollgate/}; completes off the event loop. */
    public CompletableFuture<Answer> handle(HttpMethod method, String uri, String body) {
        QueryStringDecoder decoder = new QueryStringDecoder(uri);
        String path = decoder.path();
        java.util.regex.Matcher action = AGENT_ACTION.matcher(path);
        if (action.matches()) {
            if (!HttpMethod.POST.equals(method)) {
                return CompletableFuture.completedFuture(error(new ErrorResponse(HttpResponseStatus.METHOD_NOT_ALLOWED,
                        "invalid_request_error", "method_not_allowed", "tollgate: " + path + " answers POST only")));
            }
            return CompletableFuture.completedFuture(pauseOrResume(action.group(1), action.group(2).equals("pause"), body));
        }
        if (path.equals("/tollgate/agents") || path.startsWith("/tollgate/agents/") || path.equals("/tollgate/events")) {
            if (!HttpMethod.GET.equals(method)) {
                return CompletableFuture.completedFuture(error(new ErrorResponse(HttpResponseStatus.METHOD_NOT_ALLOWED,
                        "invalid_request_error", "method_not_allowed", "tollgate: " + path + " answers GET only")));
            }
            return CompletableFuture.supplyAsync(() -> views.answer(path, decoder), worker);
        }
        if (!path.equals("/tollgate/report")) {
            return CompletableFuture.completedFuture(error(ErrorResponse.notFound(method.name(), path)));
        }
        if (!HttpMethod.GET.equals(method)) {
            return CompletableFuture.completedFuture(error(new ErrorResponse(HttpResponseStatus.METHOD_NOT_ALLOWED,
                    "invalid_request_error", "method_not_allowed", "tollgate: " + path + " answers GET only")));
        }
        ReportQuery query;
        try {
            query = ReportQuery.of(first(decoder, "by"), first(decoder, "since"), first(decoder, "until"),
                    first(decoder, "agent"), limit(first(decoder, "limit")), zone, clock.instant());
        } catch (IllegalArgumentException e) {
            return CompletableFuture.completedFuture(error(ErrorResponse.badRequest("invalid_report_query",
                    e.getMessage().replace("--", ""))));
        }
        try {
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return Answer.ok(ReportFormat.JSON.render(reports.report(query)));
                } catch (SQLException e) {
                    log.error("report failed", e);
                    return error(new ErrorResponse(HttpResponseStatus.SERVICE_UNAVAILABLE, "api_error", "ledger_unavailable",
                            "tollgate: the ledger could not be read: " + e.getMessage()));
                }
            }, worker);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return CompletableFuture.completedFuture(error(new ErrorResponse(HttpResponseStatus.SERVICE_UNAVAILABLE,
                    "api_error", "admin_busy", "tollgate: too many admin requests at once; try again")));
        }
    }

    /** Takes effect for the agent's next request and is persisted, so it survives a restart. */
    private Answer pauseOrResume(String agent, boolean pause, String body) {
        String reason = null;
        if (pause && body != null && !body.isBlank()) {
            try {
                com.fasterxml.jackson.databind.JsonNode json = JSON.readTree(body);
                reason = json.path("reason").isTextual() ? json.path("reason").textValue() : null;
            } catch (java.io.IOException e) {
                return error(ErrorResponse.badRequest("invalid_json", "the body must be JSON like {\"reason\": \"...\"}"));
            }
        }
        long now = clock.millis();
        int cut = 0;
        if (pause) {
            cut = gate.pause(agent, reason);
        } else {
            gate.budgets().resume(agent);
        }
        ledger.append(new AgentStateRow(agent, pause, reason, now));
        java.util.Map<String, String> fields = new java.util.LinkedHashMap<>();
        fields.put("reason", reason);
        fields.put("calls_cut", Integer.toString(cut));
        alerts.raise(new AlertEvent(now, pause ? "paused" : "resumed", agent, null, null, "agent '" + agent + "' "
                + (pause ? "paused" : "resumed") + (reason == null ? "" : " (" + reason + ")")
                + (cut > 0 ? "; " + cut + " call(s) in flight cut" : ""), fields));
        return Answer.ok("{\"agent\":" + JsonStrings.quote(agent) + ",\"paused\":" + pause + ",\"reason\":"
                + (reason == null ? "null" : JsonStrings.quote(reason)) + "}");
    }

    private static Integer limit(String text) {
        if (text == null) {
            return null;
        }
        try {
            return Integer.valueOf(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("limit must be a whole number, got '" + text + "'");
        }
    }

    private static String first(QueryStringDecoder decoder, String name) {
        List<String> values = decoder.parameters().get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    private static Answer error(ErrorResponse error) {
        return new Answer(error.status(), error.jsonBytes());
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
