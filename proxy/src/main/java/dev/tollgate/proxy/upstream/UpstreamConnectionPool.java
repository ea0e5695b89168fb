package dev.tollgate.proxy.upstream;

import dev.tollgate.config.UpstreamConfig;
import dev.tollgate.proxy.net.Transport;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.pool.AbstractChannelPoolHandler;
import io.netty.channel.pool.AbstractChannelPoolMap;
import io.netty.channel.pool.ChannelHealthChecker;
import io.netty.channel.pool.SimpleChannelPool;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.util.concurrent.TimeUnit;

/**
 * Keep-alive HTTP/1.1 connections to the provider, one pool per event loop so that a call's outbound channel
 * lives on the same thread as its inbound channel: no locks, no hand-offs between threads.
 *
 * <p>A connection goes back to the pool only after a complete, keep-alive response. Anything else (a
 * fault, a timeout, an agent that went away mid-call) closes it: a connection whose state is in doubt is
 * never reused. Idle pooled connections are closed after {@link #IDLE_SECONDS}, before the provider's
 * own idle timeout is likely to close them under a request.
 */
public final class UpstreamConnectionPool implements ProviderConnections {

    static final int IDLE_SECONDS = 30;
    private static final int MAX_INITIAL_LINE = 8_192;
    private static final int MAX_HEADER_SIZE = 65_536;
    private static final int MAX_CHUNK_SIZE = 65_536;

    private final UpstreamConfig upstream;
    private final ProviderSockets sockets;
    private final AbstractChannelPoolMap<EventLoop, SimpleChannelPool> pools;

    /**
     * @param tls the client TLS context for an https provider, or null for the default one (the JVM's
     *     trust store, hostname verification on)
     */
    public UpstreamConnectionPool(UpstreamConfig upstream, Transport transport, SslContext tls) {
        this.upstream = upstream;
        this.sockets = new ProviderSockets(upstream, transport, tls, false);
        this.pools = new AbstractChannelPoolMap<>() {
            @Override
            protected SimpleChannelPool newPool(EventLoop loop) {
                // Last-recently-used first: the warmest connection serves the next call, and surplus
                // connections sit idle at the bottom until the idle timer closes them.
                return new SimpleChannelPool(sockets.bootstrap(loop), new PipelineSetup(), ChannelHealthChecker.ACTIVE, true, true);
            }
        };
    }

    /**
     * A pooled or new connection on {@code loop}; completes on that loop. Taken in a task of the loop, after
     * the batch of I/O events it may be handling: see {@link ProviderSockets#openOutsideIoBatch}.
     */
    @Override
    public Future<Channel> acquire(EventLoop loop) {
        Promise<Channel> connection = loop.newPromise();
        ProviderSockets.openOutsideIoBatch(loop, () -> pools.get(loop).acquire(connection));
        return connection;
    }

    /** Returns a connection that finished a keep-alive exchange cleanly. */
    @Override
    public void release(Channel channel) {
        UpstreamChannelHandler.of(channel).detach();
        channel.config().setAutoRead(true);
        pools.get(channel.eventLoop()).release(channel);
    }

    /** Closes a connection whose state is in doubt; it is never reused. */
    @Override
    public void discard(Channel channel) {
        UpstreamChannelHandler.of(channel).detach();
        channel.close();
    }

    @Override
    public void close() {
        pools.close();
        sockets.close();
    }

    /** Builds the pipeline of every new provider connection: TLS when https, HTTP/1.1, idle close, relay. */
    private final class PipelineSetup extends AbstractChannelPoolHandler {
        @Override
        public void channelCreated(Channel ch) {
            sockets.addTls(ch);
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
