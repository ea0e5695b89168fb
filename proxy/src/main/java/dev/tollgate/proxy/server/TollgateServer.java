package dev.tollgate.proxy.server;

import dev.tollgate.config.TollgateConfig;
import dev.tollgate.pricing.PriceFileException;
import dev.tollgate.config.Window;
import dev.tollgate.proxy.admin.AdminApi;
import dev.tollgate.proxy.admission.Budgets;
import dev.tollgate.proxy.admission.Gate;
import dev.tollgate.proxy.alerts.AlertEvent;
import dev.tollgate.proxy.alerts.Alerts;
import dev.tollgate.proxy.metrics.TollgateMetrics;
import dev.tollgate.proxy.http.JsonStrings;
import dev.tollgate.proxy.metering.CallRecordSink;
import dev.tollgate.proxy.metering.LedgerCallSink;
import dev.tollgate.proxy.metering.LoggingCallSink;
import dev.tollgate.proxy.metering.Metering;
import dev.tollgate.storage.EventRow;
import dev.tollgate.storage.Ledger;
import java.io.IOException;
import java.sql.SQLException;
import java.time.Clock;
import java.util.function.UnaryOperator;
import dev.tollgate.proxy.net.Transport;
import dev.tollgate.proxy.upstream.ProviderConnections;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running proxy: one listening socket, one event loop group shared by agent and provider
 * connections, one provider connection pool. {@link #close()} stops accepting, then shuts the loops down
 * gracefully.
 */
public final class TollgateServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TollgateServer.class);

    /** Per-connection write buffer bounds: past the high mark, reading from the provider pauses. */
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(32 * 1024, 64 * 1024);

    private final TollgateConfig config;
    private final Transport transport;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ProviderConnections pool;
    private final Metering metering;
    private final Ledger ledger;
    private final AdminApi admin;
    private final Channel serverChannel;
    private final Gate gate;
    private final Alerts alerts;
    private ConfigWatcher watcher;

    /** Past this many unwritten ledger rows, admission of new calls slows down until the writer catches up. */
    static final int MAX_LEDGER_BACKLOG = 200_000;

    private TollgateServer(TollgateConfig config, Transport transport, EventLoopGroup boss, EventLoopGroup workers,
            ProviderConnections pool, Metering metering, Ledger ledger, AdminApi admin, Gate gate, Alerts alerts,
            Channel serverChannel) {
        this.gate = gate;
        this.alerts = alerts;
        this.config = config;
        this.transport = transport;
        this.boss = boss;
        this.workers = workers;
        this.pool = pool;
        this.metering = metering;
        this.ledger = ledger;
        this.admin = admin;
        this.serverChannel = serverChannel;
    }

    /** Binds and starts serving; throws if the address cannot be bound. */
    public static TollgateServer start(TollgateConfig config) throws InterruptedException, PriceFileException,
            SQLException, IOException {
        return start(config, null, null);
    }

    /**
     * Binds and starts serving.
     *
     * @param upstreamTls the TLS context for an https provider; null for the default (JVM trust store)
     * @param alsoRecordTo where metered calls go besides the ledger and the call log (tests watch here); may be null
     */
    public static TollgateServer start(TollgateConfig config, SslContext upstreamTls, CallRecordSink alsoRecordTo)
            throws InterruptedException, PriceFileException, SQLException, IOException {
        return start(config, upstreamTls, alsoRecordTo, UnaryOperator.identity());
    }

    /**
     * Binds and starts serving, with the provider connections wrapped by {@code providerConnections}: the
     * seam through which tests put faults no real provider can be made to produce on cue (a connection
     * closed just as a call takes it) between the calls and the real connections.
     */
    public static TollgateServer start(TollgateConfig config, SslContext upstreamTls, CallRecordSink alsoRecordTo,
            UnaryOperator<ProviderConnections> providerConnections)
            throws InterruptedException, PriceFileException, SQLException, IOException {
        Ledger ledger = Ledger.open(config.storage().path());
        Clock clock = Clock.systemUTC();
        Alerts alerts = new Alerts(ledger, config.alerts().webhookUrl());
        Budgets budgets = new Budgets(config, clock, alerts::raise);
        TollgateMetrics metrics = new TollgateMetrics(config.agents().keySet(), budgets);
        metrics.watchLedger(ledger::backlog, ledger::rejected);
        CallRecordSink toLedger = new LedgerCallSink(ledger);
        CallRecordSink toLog = new LoggingCallSink();
        CallRecordSink calls = call -> {
            toLedger.record(call);
            metrics.record(call);
            toLog.record(call);
            if (alsoRecordTo != null) {
                alsoRecordTo.record(call);
            }
        };
        Metering metering;
        try {
            metering = Metering.from(config.pricing(), calls);
        } catch (PriceFileException | RuntimeException e) {
            alerts.close();
            ledger.close();
            throw e;
        }
        metering.watchLedger(() -> ledger.backlog() > MAX_LEDGER_BACKLOG);
        metering.recordEventsTo(new Metering.EventSink() {
            @Override
            public void unpricedModel(long tsMs, String agent, String intent, String model) {
                alerts.raise(new AlertEvent(tsMs, "unpriced_model", agent, intent, null, "model '" + model
                        + "' has no price; its calls are metered at $0 (pricing.unknown_model: allow)",
                        java.util.Map.of("model", model, "policy", "allow")));
            }

            @Override
            public void loop(long tsMs, String agent, String intent, String team, String message, boolean blocked) {
                alerts.raise(new AlertEvent(tsMs, "loop", agent, intent, team, message + (blocked ? "; repeats are refused" : ""),
                        java.util.Map.of("action", blocked ? "block" : "alert")));
            }
        });
        Gate gate = new Gate(config, budgets);
        try {
            seed(budgets, ledger, config, clock);
        } catch (SQLException e) {
            metering.close();
            alerts.close();
            ledger.close();
            throw e;
        }
        AdminApi admin = new AdminApi(ledger, gate, alerts, config.timeZone(), clock);
        Transport transport = Transport.detect();
        EventLoopGroup boss = transport.newEventLoopGroup(1);
        EventLoopGroup workers = transport.newEventLoopGroup(0);
        ProviderConnections pool = providerConnections.apply(ProviderConnections.forUpstream(config.upstream(), transport, upstreamTls));
        try {
            Channel channel = new ServerBootstrap()
                    .group(boss, workers)
                    .channel(transport.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                    .childOption(ChannelOption.ALLOCATOR, Transport.BUFFERS)
                    .childHandler(new ProxyChannelInitializer(config, pool, metering, admin, gate, metrics))
                    .bind(config.listen().host(), config.listen().port())
                    .sync()
                    .channel();
            TollgateServer server = new TollgateServer(config, transport, boss, workers, pool, metering, ledger, admin, gate, alerts, channel);
            log.info("Tollgate listening on {} ({}), forwarding /v1/* to {}, ledger {}", server.address(),
                    transport.name().toLowerCase(), config.upstream().baseUrl(), config.storage().path());
            return server;
        } catch (Exception e) {
            // Bind failures arrive as checked native exceptions too: nothing may be left running.
            alerts.close();
            pool.close();
            metering.close();
            admin.close();
            ledger.close();
            boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw e;
        }
    }

    /** Starts the budget counters from the ledger, so budgets and pauses survive a restart. */
    private static void seed(Budgets budgets, Ledger ledger, TollgateConfig config, Clock clock) throws SQLException {
        java.util.Map<Window, dev.tollgate.storage.SpendSnapshot> spent = new java.util.EnumMap<>(Window.class);
        for (Window window : Window.values()) {
            spent.put(window, ledger.spendSince(window.start(clock.instant(), config.timeZone()).toEpochMilli()));
        }
        java.util.Map<String, Boolean> paused = new java.util.HashMap<>();
        java.util.Map<String, String> reasons = new java.util.HashMap<>();
        ledger.agentStates().forEach((agent, state) -> {
            paused.put(agent, state.paused());
            if (state.reason() != null) {
                reasons.put(agent, state.reason());
            }
        });
        budgets.seed(spent, paused, reasons);
    }

    /** The bound address; with port 0 in the config, the port the system chose. */
    public InetSocketAddress address() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /** The base URL agents put in {@code OPENAI_BASE_URL}. */
    public String baseUrl() {
        InetSocketAddress address = address();
        String host = address.getAddress().isAnyLocalAddress() ? "127.0.0.1" : address.getAddress().getHostAddress();
        if (host.indexOf(':') >= 0) {
            host = "[" + host + "]";
        }
        return "http://" + host + ":" + address.getPort() + "/v1";
    }

    public TollgateConfig config() {
        return config;
    }

    /** Reloads {@code configFile} whenever it changes (see {@link ConfigWatcher}). */
    public void watch(java.nio.file.Path configFile, java.util.function.UnaryOperator<TollgateConfig> overrides) {
        watcher = new ConfigWatcher(configFile, gate, overrides);
    }

    /** Checks the watched config file now instead of within a second. */
    void checkConfigNow() {
        if (watcher != null) {
            watcher.check();
        }
    }

    /** The config in force (the last good one, after reloads). */
    public TollgateConfig currentConfig() {
        return gate.config();
    }

    /** How long a stop waits for calls in flight (a long stream may still be cut after it). */
    static final long DRAIN_MILLIS = 10_000;

    /** Stops admitting calls and waits, bounded, for the ones in flight to finish. */
    private void drain() {
        gate.beginDrain();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_MILLIS);
        while (gate.callsInFlight() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (gate.callsInFlight() > 0) {
            log.warn("{} call(s) still in flight after {} ms; cutting them", gate.callsInFlight(), DRAIN_MILLIS);
        }
    }

    /** The ledger this proxy writes. */
    public Ledger ledger() {
        return ledger;
    }

    public Transport transport() {
        return transport;
    }

    /** Blocks until the listening socket is closed. */
    public void awaitClose() throws InterruptedException {
        serverChannel.closeFuture().sync();
    }

    @Override
    public void close() {
        if (watcher != null) {
            watcher.close();
        }
        serverChannel.close().syncUninterruptibly();
        drain();
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        pool.close();
        // Order matters: no more calls, then the last counted ones, then every queued row to disk.
        metering.close();
        admin.close();
        alerts.close();
        ledger.close();
        log.info("Tollgate stopped");
    }
}
