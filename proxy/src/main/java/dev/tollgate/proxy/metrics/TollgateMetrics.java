package dev.tollgate.proxy.metrics;

import dev.tollgate.proxy.admission.Budgets;
import dev.tollgate.proxy.metering.CallRecord;
import dev.tollgate.proxy.metering.CallRecordSink;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Tollgate's Prometheus metrics, through the official client library: cost, requests by status, tokens
 * by kind, refusals, budget remaining per limit, and the time Tollgate takes to admit a call before
 * forwarding it. The {@code agent} label is bounded: agents named in the config plus the first
 * {@link #MAX_OTHER_AGENTS} others; beyond that, calls are labelled {@code other}.
 *
 * <p>Exemplars are off. Tollgate has no trace spans to link them to, and with them on the client samples
 * anyway: every data point, once per sample interval (90 ms), schedules a task on the client's own
 * thread, so with seven data points per agent that thread woke about 80 times a second under load, each
 * time at the cost of a wake-up call from an event loop (docs/BENCHMARKS-HISTORY.md, eighth round).
 */
public final class TollgateMetrics implements CallRecordSink {

    static final int MAX_OTHER_AGENTS = 100;
    static final String OTHER = "other";

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Set<String> configured;
    private final Set<String> others = ConcurrentHashMap.newKeySet();
    private final Counter cost;
    private final Counter requests;
    private final Counter tokens;
    private final Counter refusals;
    private final Histogram admission;
    /** Each labelled agent's series, looked up once: resolving label values costs more than counting. */
    private final ConcurrentHashMap<String, AgentSeries> series = new ConcurrentHashMap<>();

    /** The data points of one agent label; there are at most as many of these as agent labels. */
    private final class AgentSeries {
        final CounterDataPoint input;
        final CounterDataPoint cachedInput;
        final CounterDataPoint output;
        final CounterDataPoint reasoning;
        final ConcurrentHashMap<Integer, CounterDataPoint> byStatus = new ConcurrentHashMap<>();
        final ConcurrentHashMap<String, CounterDataPoint> costByModel = new ConcurrentHashMap<>();
        final String agent;

        AgentSeries(String agent) {
            this.agent = agent;
            input = tokens.labelValues(agent, "input");
            cachedInput = tokens.labelValues(agent, "cached_input");
            output = tokens.labelValues(agent, "output");
            reasoning = tokens.labelValues(agent, "reasoning");
        }

        CounterDataPoint status(int status) {
            return byStatus.computeIfAbsent(status, code -> requests.labelValues(agent, Integer.toString(code)));
        }

        CounterDataPoint cost(String model) {
            return costByModel.computeIfAbsent(model, m -> cost.labelValues(agent, m));
        }
    }

    public TollgateMetrics(Set<String> configuredAgents, Budgets budgets) {
        this.configured = Set.copyOf(configuredAgents);
        cost = Counter.builder().name("tollgate_cost_usd").help("Cost charged, in US dollars")
                .labelNames("agent", "model").withoutExemplars().register(registry);
        requests = Counter.builder().name("tollgate_requests").help("Calls by the status the agent got")
                .labelNames("agent", "status").withoutExemplars().register(registry);
        tokens = Counter.builder().name("tollgate_tokens").help("Tokens by kind (input, cached_input, output, reasoning)")
                .labelNames("agent", "kind").withoutExemplars().register(registry);
        refusals = Counter.builder().name("tollgate_refusals").help("Calls Tollgate refused itself, by error code")
                .labelNames("agent", "code").withoutExemplars().register(registry);
        admission = Histogram.builder().name("tollgate_admission_seconds")
                .help("Time Tollgate takes between a complete request and forwarding it (the latency it adds before the provider)")
                .classicUpperBounds(0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05)
                // Classic buckets only: /metrics is the text format, which has no native histograms, and keeping
                // the native buckets as well cost every call a second, map-backed observation on the event loop.
                .classicOnly()
                .withoutExemplars()
                .register(registry);
        GaugeWithCallback.builder().name("tollgate_budget_remaining")
                .help("What remains of each limit of each known agent (US dollars for cost limits, units otherwise)")
                .labelNames("agent", "scope", "limit")
                .callback(callback -> {
                    for (String agent : budgets.knownAgents()) {
                        if (!configured.contains(agent) && !others.contains(agent)) {
                            continue;
                        }
                        for (Budgets.LimitView limit : budgets.view(agent).limits()) {
                            double remaining = limit.key().contains("_usd") ? limit.remaining() / 1e9 : limit.remaining();
                            callback.call(remaining, agent, limit.scope(), limit.key());
                        }
                    }
                })
                .register(registry);
    }

    /**
     * Exposes the ledger's health: rows queued for the writer (a growing figure means the disk is not
     * keeping up, and the proxy slows admission past a bound), and rows the database refused and set aside
     * in {@code <ledger>.rejected.jsonl} (any at all is a bug worth an alert).
     */
    public void watchLedger(LongSupplier backlog, LongSupplier rejected) {
        GaugeWithCallback.builder().name("tollgate_ledger_backlog")
                .help("Ledger rows queued and not yet committed")
                .callback(callback -> callback.call(backlog.getAsLong()))
                .register(registry);
        CounterWithCallback.builder().name("tollgate_ledger_rejected_rows")
                .help("Ledger rows the database refused, set aside in <ledger>.rejected.jsonl")
                .callback(callback -> callback.call(rejected.getAsLong()))
                .register(registry);
    }

    private String label(String agent) {
        if (configured.contains(agent) || others.contains(agent)) {
            return agent;
        }
        if (others.size() < MAX_OTHER_AGENTS && others.add(agent)) {
            return agent;
        }
        return others.contains(agent) ? agent : OTHER;
    }

    @Override
    public void record(CallRecord call) {
        String agent = label(call.agent());
        AgentSeries of = series.computeIfAbsent(agent, AgentSeries::new);
        of.status(call.status()).inc();
        if (call.refused()) {
            refusals.labelValues(agent, call.refusalCode() == null ? "" : call.refusalCode()).inc();
        }
        if (call.cost().value() > 0) {
            // Metrics are for graphs: the exact amounts are in the ledger.
            of.cost(call.model() == null ? "" : call.model()).inc(call.cost().value() / 1e9);
        }
        var usage = call.usage();
        of.input.inc(usage.inputTokens());
        of.cachedInput.inc(usage.cachedInputTokens());
        of.output.inc(usage.outputTokens());
        of.reasoning.inc(usage.reasoningTokens());
    }

    /** Records how long admitting one call took. */
    public void admitted(long nanos) {
        admission.observe(nanos / 1e9);
    }

    /** The metrics in the Prometheus text format. */
    public byte[] scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public static String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }
}
