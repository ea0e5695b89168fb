package dev.tollgate.proxy.admin;

import dev.tollgate.proxy.http.ErrorResponse;
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
 * <p>Until {@code admin.token} is supported, the admin API answers loopback clients only.
 */
public final class AdminApi implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminApi.class);

    /** An answer: status, JSON body. */
    public record Answer(HttpResponseStatus status, byte[] json) {
        static Answer ok(String json) {
            return new Answer(HttpResponseStatus.OK, json.getBytes(StandardCharsets.UTF_8));
        }
    }

    private final LedgerReports reports;
    private final ZoneId zone;
    private final Clock clock;
    private final ExecutorService worker;

    public AdminApi(LedgerReports reports, ZoneId zone, Clock clock) {
        this.reports = reports;
        this.zone = zone;
        this.clock = clock;
        this.worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(256), runnable -> {
            Thread thread = new Thread(runnable, "tollgate-admin");
            thread.setDaemon(true);
            return thread;
        });
    }

    /** Whether a client may use the admin API. */
    public boolean allows(InetAddress client) {
        return client != null && client.isLoopbackAddress();
    }

    /** Serves {@code GET /tollgate/...}; completes off the event loop. */
    public CompletableFuture<Answer> handle(HttpMethod method, String uri) {
        QueryStringDecoder decoder = new QueryStringDecoder(uri);
        String path = decoder.path();
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
