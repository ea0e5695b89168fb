package dev.tollgate.proxy.metering;

import dev.tollgate.config.PricingConfig;
import dev.tollgate.config.UnknownModelPolicy;
import dev.tollgate.pricing.PriceFileException;
import dev.tollgate.pricing.PriceTable;
import dev.tollgate.pricing.TokenCounter;
import java.time.Clock;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything the proxy needs to meter calls, shared by all connections: the price table, the token
 * counter, the unknown-model policy, where records go, and one thread for counting tokens, which is CPU
 * work (milliseconds for a long prompt) that must not run on an event loop.
 */
public final class Metering implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Metering.class);
    /** Counting jobs waiting beyond this run on the caller, slowing the event loop instead of dropping records. */
    private static final int COUNTING_QUEUE = 10_000;

    final PriceTable prices;
    final TokenCounter tokens;
    final UnknownModelPolicy unknownModels;
    final CallRecordSink sink;
    final Clock clock;
    final ExecutorService counting;
    private volatile java.util.function.BooleanSupplier ledgerOverloaded = () -> false;
    private final Set<String> unpricedSeen = ConcurrentHashMap.newKeySet();

    public Metering(PriceTable prices, TokenCounter tokens, UnknownModelPolicy unknownModels, CallRecordSink sink, Clock clock) {
        this.prices = prices;
        this.tokens = tokens;
        this.unknownModels = unknownModels;
        this.sink = sink;
        this.clock = clock;
        ThreadPoolExecutor executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(COUNTING_QUEUE), runnable -> {
                    Thread thread = new Thread(runnable, "tollgate-token-counting");
                    thread.setDaemon(true);
                    return thread;
                }, new ThreadPoolExecutor.CallerRunsPolicy());
        this.counting = executor;
    }

    /** Metering as the config says: the bundled prices plus {@code pricing.file}. */
    public static Metering from(PricingConfig pricing, CallRecordSink sink) throws PriceFileException {
        PriceTable table = PriceTable.bundled();
        if (pricing.file() != null) {
            table = table.withOverrides(pricing.file());
        }
        return new Metering(table, new TokenCounter(), pricing.unknownModel(), sink, Clock.systemUTC());
    }

    /** Tells metering how to see that the ledger's queue is too long (admission then slows down). */
    public void watchLedger(java.util.function.BooleanSupplier overloaded) {
        this.ledgerOverloaded = overloaded;
    }

    /** True while the ledger writer is too far behind: new calls wait instead of rows piling up. */
    public boolean ledgerOverloaded() {
        return ledgerOverloaded.getAsBoolean();
    }

    public PriceTable prices() {
        return prices;
    }

    /**
     * Logs the first call of each unpriced model that was let through and records an
     * {@code unpriced_model} event for it; later calls of that model are only recorded as calls.
     */
    void noteUnpriced(String model, String agent, String intent) {
        if (unpricedSeen.add(model)) {
            log.warn("model '{}' has no price; metering its tokens at $0 (pricing.unknown_model: allow)", model);
            events.unpricedModel(clock.millis(), agent, intent, model);
        }
    }

    /** Where metering's events go (the ledger's {@code events} table, the log, the webhook). */
    public interface EventSink {
        void unpricedModel(long tsMs, String agent, String intent, String model);

        void loop(long tsMs, String agent, String intent, String team, String message, boolean blocked);
    }

    private volatile EventSink events = new EventSink() {
        @Override
        public void unpricedModel(long tsMs, String agent, String intent, String model) {
        }

        @Override
        public void loop(long tsMs, String agent, String intent, String team, String message, boolean blocked) {
        }
    };

    /** Raises the {@code loop} event of a detected loop (once per loop and window). */
    public void loopDetected(String agent, String intent, String team, String message, boolean blocked) {
        events.loop(clock.millis(), agent, intent, team, message, blocked);
    }

    public void recordEventsTo(EventSink sink) {
        this.events = sink;
    }

    @Override
    public void close() {
        counting.shutdown();
        try {
            if (!counting.awaitTermination(5, TimeUnit.SECONDS)) {
                // Still queued at shutdown: record them here rather than lose their rows.
                java.util.List<Runnable> left = counting.shutdownNow();
                log.warn("token counting did not finish within 5 s; recording {} call(s) on the shutdown thread", left.size());
                left.forEach(Runnable::run);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
