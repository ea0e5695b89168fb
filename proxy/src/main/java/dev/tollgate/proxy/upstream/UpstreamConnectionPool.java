package dev.tollgate.proxy.upstream;

import dev.tollgate.config.UpstreamConfig;
import dev.tollgate.proxy.net.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.pool.AbstractChannelPoolHandler;
import io.netty.channel.pool.AbstractChannelPoolMap;
import io.netty.channel.pool.ChannelHealthChecker;
import io.netty.channel.pool.SimpleChannelPool;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * Keep-alive connections to the provider, one pool per event loop so that a call's outbound channel
 * lives on the same thread as its inbound channel: no locks, no hand-offs between threads.
 *
 * <p>A connection goes back to the pool only after a complete, keep-alive response. Anything else (a
 * fault, a timeout, an agent that went away mid-call) closes it: a connection whose state is in doubt is
 * never reused. Idle pooled connections are closed after {@link #IDLE_SECONDS}, before the provider's
 * own idle timeout is likely to close them under a request.
 */
public final class UpstreamConnectionPool implements AutoCloseable {

    static final int IDLE_SECONDS = 30;
    private static final int MAX_INITIAL_LINE = 8_192;
    private static final int MAX_HEADER_SIZE = 65_536;
    private static final int MAX_CHUNK_SIZE = 65_536;

    private final UpstreamConfig upstream;
    private final SslContext tls;
    private final DnsAddressResolverGroup resolver;
    private final AbstractChannelPoolMap<EventLoop, SimpleChannelPool> pools;

    /**
     * @param tls the client TLS context for an https provider, or null for the default one (the JVM's
     *     trust store, hostname verification on)
     */
    public UpstreamConnectionPool(UpstreamConfig upstream, Transport transport, SslContext tls) {
        this.upstream = upstream;
        this.tls = upstream.tls() ? (tls != null ? tls : defaultTls()) : null;
        this.resolver = new DnsAddressResolverGroup(new DnsNameResolverBuilder()
                .datagramChannelType(transport.datagramChannel())
                .socketChannelType(transport.socketChannel()));
        InetSocketAddress remote = InetSocketAddress.createUnresolved(upstream.baseUrl().getHost(), upstream.port());
        this.pools = new AbstractChannelPoolMap<>() {
            @Override
            protected SimpleChannelPool newPool(EventLoop loop) {
                Bootstrap bootstrap = new Bootstrap()
                        .group(loop)
                        .channel(transport.socketChannel())
                        .resolver(resolver)
                        .remoteAddress(remote)
                        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, upstream.connectTimeoutMs()))
                        .option(ChannelOption.TCP_NODELAY, true)
                        .option(ChannelOption.SO_KEEPALIVE, true)
                        .option(ChannelOption.ALLOCATOR, Transport.BUFFERS);
                // Last-recently-used first: the warmest connection serves the next call, and surplus
                // connections sit idle at the bottom until the idle timer closes them.
                return new SimpleChannelPool(bootstrap, new PipelineSetup(), ChannelHealthChecker.ACTIVE, true, true);
            }
        };
    }

    /** A pooled or new connection on {@code loop}; completes on that loop. */
    public Future<Channel> acquire(EventLoop loop) {
        return pools.get(loop).acquire(loop.newPromise());
    }

    /** Returns a connection that finished a keep-alive exchange cleanly. */
    public void release(Channel channel) {
        UpstreamChannelHandler.of(channel).detach();
        channel.config().setAutoRead(true);
        pools.get(channel.eventLoop()).release(channel);
    }

    /** Closes a connection whose state is in doubt; it is never reused. */
    public void discard(Channel channel) {
        UpstreamChannelHandler.of(channel).detach();
        channel.close();
    }

    @Override
    public void close() {
        pools.close();
        resolver.close();
    }

    private static SslContext defaultTls() {
        try {
            return SslContextBuilder.forClient().build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot create the TLS context for the provider: " + e.getMessage(), e);
        }
    }

    /** Builds the pipeline of every new provider connection: TLS when https, HTTP/1.1, idle close, relay. */
    private final class PipelineSetup extends AbstractChannelPoolHandler {
        @Override
        public void channelCreated(Channel ch) {
            if (tls != null) {
                String host = upstream.baseUrl().getHost();
                // The host and port given here become the SNI name and the name the certificate must match.
                SslHandler ssl = tls.newHandler(ch.alloc(), host, upstream.port());
                SSLEngine engine = ssl.engine();
                SSLParameters params = engine.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS");
                engine.setSSLParameters(params);
                ssl.setHandshakeTimeoutMillis(upstream.connectTimeoutMs());
                ch.pipeline().addLast("tls", ssl);
            }
            ch.pipeline()
                    .addLast("http", new HttpClientCodec(MAX_INITIAL_LINE, MAX_HEADER_SIZE, MAX_CHUNK_SIZE, true))
                    // Reader idle: a provider silent for a whole response timeout mid-stream is cut off.
                    // All idle: a pooled connection unused for IDLE_SECONDS is closed.
                    .addLast("idle", new IdleStateHandler(upstream.responseTimeoutMs(), 0,
                            TimeUnit.SECONDS.toMillis(IDLE_SECONDS), TimeUnit.MILLISECONDS))
                    .addLast("relay", new UpstreamChannelHandler());
        }
    }
}
