package dev.tollgate.proxy.admission;

import dev.tollgate.config.ConfigException;
import dev.tollgate.config.ConfigLoader;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.pricing.ModelPrice;
import dev.tollgate.pricing.PriceTable;
import dev.tollgate.pricing.PricedModel;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Admission on the hot path: a call checked against an agent's, its team's and the fleet's calendar
 * windows (cost, requests and tokens), reserved, then settled at its real cost; and the loop detector's
 * fingerprint of a request body. Run with {@code examples/bench/jmh.sh AdmissionBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AdmissionBenchmark {

    private static final String CONFIG = """
            defaults:
              max_cost_per_day_usd: 1000000
              max_requests_per_minute: 100000000
            agents:
              bench-agent:
                team: research
                max_cost_per_hour_usd: 1000000
                max_tokens_per_day: 100000000000
                max_cost_per_intent_usd: 1000000
                alert_at: 0.9
            teams:
              research: { max_cost_per_month_usd: 10000000 }
            global:
              max_cost_per_day_usd: 10000000
            """;

    private Budgets budgets;
    private ModelPrice price;
    private byte[] body;

    @Setup
    public void setUp() throws ConfigException {
        TollgateConfig config = new ConfigLoader(name -> null).parse(CONFIG);
        budgets = new Budgets(config, Clock.systemUTC(), event -> { });
        price = PriceTable.bundled().resolve("gpt-4o-mini").map(PricedModel::price).orElseThrow();
        body = ("{\"model\":\"gpt-4o-mini\",\"max_tokens\":256,\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
                + "{\"role\":\"user\",\"content\":\"" + "Summarise the open tickets of the support queue. ".repeat(20) + "\"}]}")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** Admit a 1 KB prompt with a 256-token cap against 6 windows and an intent limit, then settle it. */
    @Benchmark
    public Admission admitAndSettle() {
        Admission admission = budgets.admit("bench-agent", "ticket-4711", 1_200, 256, 1, price, true);
        if (admission instanceof Admission.Admitted admitted) {
            budgets.settle(admitted.reservation(), 4_500, 300);
        }
        return admission;
    }

    /**
     * The same for an agent working through many tasks, as agents that send {@code X-Intent-Id} do: each call
     * is charged to one of 200 intents in turn, so the agent always has its 100 most recent ones, and the
     * spike check compares each intent's total with the median of the other 99.
     */
    @Benchmark
    public Admission admitAndSettleAcrossIntents() {
        String intent = INTENTS[Math.floorMod(next++, INTENTS.length)];
        Admission admission = budgets.admit("bench-agent", intent, 1_200, 256, 1, price, true);
        if (admission instanceof Admission.Admitted admitted) {
            budgets.settle(admitted.reservation(), 4_500, 300);
        }
        return admission;
    }

    private static final String[] INTENTS = java.util.stream.IntStream.range(0, 200).mapToObj(i -> "task-" + i)
            .toArray(String[]::new);
    private int next;

    /**
     * An 8 KB request body as the proxy holds an agent's request after aggregating it: a composite of the
     * pieces the HTTP decoder read, here four of about 2 KB in pooled direct buffers.
     */
    private io.netty.buffer.ByteBuf request8k;

    @Setup
    public void setUpRequest() {
        String prompt = " Ticket 4711: the \\\"export\\\" button times out after 30 s on large accounts, café.\\n".repeat(90);
        byte[] bytes = ("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}")
                .getBytes(StandardCharsets.UTF_8);
        io.netty.buffer.PooledByteBufAllocator pooled = io.netty.buffer.PooledByteBufAllocator.DEFAULT;
        io.netty.buffer.CompositeByteBuf composite = pooled.compositeDirectBuffer();
        int piece = (bytes.length + 3) / 4;
        for (int at = 0; at < bytes.length; at += piece) {
            int length = Math.min(piece, bytes.length - at);
            composite.addComponent(true, pooled.directBuffer(length).writeBytes(bytes, at, length));
        }
        request8k = composite;
    }

    @TearDown
    public void tearDown() {
        request8k.release();
    }

    /** The UTF-8 check every metered request body passes first (8 KB, mostly ASCII, a few accents). */
    @Benchmark
    public boolean utf8Check8k() {
        return dev.tollgate.proxy.http.Utf8.isWellFormed(request8k);
    }

    /** The same with Netty's own check, which it replaced. */
    @Benchmark
    public boolean utf8CheckNetty8k() {
        return io.netty.buffer.ByteBufUtil.isText(request8k, StandardCharsets.UTF_8);
    }

    /** The loop detector's fingerprint of a 1.2 KB chat request (SHA-256 over the compared fields). */
    @Benchmark
    public String loopFingerprint() {
        return LoopDetector.fingerprint(new ByteArrayInputStream(body));
    }
}
