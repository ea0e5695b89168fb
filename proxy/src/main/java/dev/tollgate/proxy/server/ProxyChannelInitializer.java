package dev.tollgate.proxy.server;

import dev.tollgate.config.TollgateConfig;
import dev.tollgate.proxy.admin.AdminApi;
import dev.tollgate.proxy.admission.Gate;
import dev.tollgate.proxy.metrics.TollgateMetrics;
import dev.tollgate.proxy.metering.Metering;
import dev.tollgate.proxy.upstream.ProviderRequests;
import dev.tollgate.proxy.upstream.ProviderConnections;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/** Assembles the pipeline of an agent connection, and nothing else. */
final class ProxyChannelInitializer extends ChannelInitializer<SocketChannel> {

    static final int MAX_INITIAL_LINE = 16_384;
    static final int MAX_HEADER_SIZE = 32_768;

    private final TollgateConfig config;
    private final ProviderConnections pool;
    private final Metering metering;
    private final AdminApi admin;
    private final Gate gate;
    private final TollgateMetrics metrics;
    private final ProviderRequests providerRequests;

    ProxyChannelInitializer(TollgateConfig config, ProviderConnections pool, Metering metering, AdminApi admin, Gate gate,
            TollgateMetrics metrics) {
        this.gate = gate;
        this.metrics = metrics;
        this.config = config;
        this.pool = pool;
        this.metering = metering;
        this.admin = admin;
        this.providerRequests = new ProviderRequests(config.upstream(), config.identity());
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        HttpDecoderConfig decoder = new HttpDecoderConfig()
                .setMaxInitialLineLength(MAX_INITIAL_LINE)
                .setMaxHeaderSize(MAX_HEADER_SIZE)
                .setMaxChunkSize(65_536)
                // Request smuggling: Content-Length with Transfer-Encoding, or a Transfer-Encoding that does not
                // end in chunked, is refused (400 malformed_request, then the connection closes) rather than
                // resolved one way here while a front proxy resolved it another (RFC 9112 6.1). Netty 4.2 does
                // this by default; it is said here so that it stays (HostileInputTest checks it).
                .setUseRfc9112TransferEncoding(true)
                // Strict line endings: a bare CR or LF in the request line or a header is an error.
                .setStrictLineParsing(true);
        ch.pipeline()
                // Reader idle only: watching writes too (all idle) would give every write a promise and a
                // listener, one per stream event; the agent handler knows when its last answer ended instead.
                .addLast("idle", new IdleStateHandler(config.limits().agentIdleSeconds(), 0, 0, TimeUnit.SECONDS))
                .addLast("http", new HttpServerCodec(decoder))
                .addLast("body", new RequestSizeLimiter(config.limits().maxRequestBytes()))
                .addLast("agent", new AgentConnectionHandler(pool, metering, admin, gate, metrics, providerRequests, config.identity(),
                        config.upstream().responseTimeoutMs(), TimeUnit.SECONDS.toNanos(config.limits().agentIdleSeconds())));
    }
}
