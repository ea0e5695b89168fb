package dev.tollgate.proxy.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.config.Window;
import dev.tollgate.pricing.UsdNanos;
import dev.tollgate.proxy.admission.Budgets;
import dev.tollgate.proxy.http.ErrorResponse;
import dev.tollgate.storage.Ledger;
import dev.tollgate.storage.LedgerReports;
import dev.tollgate.storage.Report;
import dev.tollgate.storage.ReportQuery;
import dev.tollgate.storage.ReportTime;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;

/**
 * The read-only admin views (SPEC §7): agents with their spend and limits, one agent with its ten
 * costliest intents today, and recent events. Stable JSON: money as exact dollar strings, times as
 * ISO instants. Runs on the admin thread (it reads SQLite).
 */
final class AgentViews {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Window[] SHOWN = {Window.HOUR, Window.DAY, Window.WEEK, Window.MONTH};

    private final Ledger ledger;
    private final Budgets budgets;
    private final ZoneId zone;
    private final Clock clock;

    AgentViews(Ledger ledger, Budgets budgets, ZoneId zone, Clock clock) {
        this.ledger = ledger;
        this.budgets = budgets;
        this.zone = zone;
        this.clock = clock;
    }

    AdminApi.Answer answer(String path, QueryStringDecoder query) {
        try {
            if (path.equals("/tollgate/agents")) {
                ArrayNode agents = JSON.createArrayNode();
                for (String agent : budgets.knownAgents()) {
                    agents.add(agent(budgets.view(agent)));
                }
                return ok(JSON.createObjectNode().set("agents", agents));
            }
            if (path.equals("/tollgate/events")) {
                return ok(events(query));
            }
            String agent = path.substring("/tollgate/agents/".length());
            if (!budgets.knownAgents().contains(agent)) {
                return error(ErrorResponse.notFound("GET", path));
            }
            ObjectNode view = agent(budgets.view(agent));
            Report intents = LedgerReports.of(ledger.path()).report(ReportQuery.of("intent", "today", null, agent, 10, zone,
                    clock.instant()));
            ArrayNode top = view.putArray("top_intents_today");
            for (Report.Line line : intents.lines()) {
                top.addObject().put("intent", line.key()).put("calls", line.calls())
                        .put("cost_usd", UsdNanos.plainDollars(line.costNanos()));
            }
            return ok(view);
        } catch (IllegalArgumentException e) {
            return error(ErrorResponse.badRequest("invalid_query", e.getMessage()));
        } catch (SQLException | IOException e) {
            return error(new ErrorResponse(HttpResponseStatus.SERVICE_UNAVAILABLE, "api_error", "ledger_unavailable",
                    "tollgate: the ledger could not be read: " + e.getMessage()));
        }
    }

    private ObjectNode agent(Budgets.AgentView view) {
        ObjectNode out = JSON.createObjectNode();
        out.put("agent", view.agent());
        out.put("team", view.team());
        out.put("paused", view.paused());
        out.put("pause_reason", view.pauseReason());
        ObjectNode windows = out.putObject("windows");
        for (Window window : SHOWN) {
            long[] use = view.usePerWindow().get(window);
            windows.putObject(window.word())
                    .put("spent_usd", UsdNanos.plainDollars(use[0]))
                    .put("requests", use[1])
                    .put("tokens", use[2]);
        }
        ArrayNode limits = out.putArray("limits");
        for (Budgets.LimitView limit : view.limits()) {
            boolean cost = limit.key().contains("_usd");
            limits.addObject()
                    .put("scope", limit.scope())
                    .put("limit", limit.key())
                    .put("value", cost ? UsdNanos.plainDollars(limit.value()) : Long.toString(limit.value()))
                    .put("used", cost ? UsdNanos.plainDollars(limit.used()) : Long.toString(limit.used()))
                    .put("remaining", cost ? UsdNanos.plainDollars(limit.remaining()) : Long.toString(limit.remaining()))
                    .put("resets_at", Instant.ofEpochMilli(limit.resetsAtMs()).toString());
        }
        return out;
    }

    private JsonNode events(QueryStringDecoder query) throws SQLException, IOException {
        List<String> since = query.parameters().get("since");
        long from = since == null || since.isEmpty() ? clock.millis() - 86_400_000L
                : ReportTime.parse(since.get(0), zone, clock.instant()).toEpochMilli();
        ArrayNode events = JSON.createArrayNode();
        for (Ledger.StoredEvent event : ledger.events(from, 500)) {
            ObjectNode node = events.addObject()
                    .put("id", event.id())
                    .put("ts", Instant.ofEpochMilli(event.tsMs()).toString())
                    .put("agent", event.agent())
                    .put("intent", event.intent())
                    .put("kind", event.kind());
            node.set("detail", event.detail() == null ? null : JSON.readTree(event.detail()));
        }
        return JSON.createObjectNode().set("events", events);
    }

    private static AdminApi.Answer ok(JsonNode json) {
        try {
            return new AdminApi.Answer(HttpResponseStatus.OK, JSON.writeValueAsBytes(json));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static AdminApi.Answer error(ErrorResponse error) {
        return new AdminApi.Answer(error.status(), error.jsonBytes());
    }

}
