package dev.tollgate.proxy.upstream;

import dev.tollgate.config.UpstreamConfig;
import dev.tollgate.proxy.net.Transport;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.Future;

/**
 * Where a call gets its channel to the provider. Over HTTP/1.1 that is a keep-alive connection of its own
 * ({@link UpstreamConnectionPool}); over HTTP/2 a stream of a shared connection
 * ({@link Http2ProviderConnections}). Either way the channel carries one exchange at a time, reads
 * {@code HttpResponse} and {@code HttpContent}, and takes a {@code FullHttpRequest}, so
 * {@link UpstreamExchange} does not know which it has.
 */
public interface ProviderConnections extends AutoCloseable {

    /** A channel for one call, on {@code loop}; the future completes on that loop. */
    Future<Channel> acquire(EventLoop loop);

    /** Gives back a channel whose exchange finished cleanly. */
    void release(Channel channel);

    /** Gives up a channel whose state is in doubt: it is closed, never reused. */
    void discard(Channel channel);

    /**
     * True when the provider can say it did not process a call ({@link StreamRefusedException}), so that the
     * call may be sent again: HTTP/2's refused streams. HTTP/1.1 has no such signal, and a call that may
     * have reached the provider is never sent twice (it could be charged twice).
     */
    default boolean refusalsAreRetryable() {
        return false;
    }

    @Override
    void close();

    /**
     * The provider connections {@code upstream} asks for.
     *
     * @param tls the client TLS context for an https provider, or null for the default one (the JVM's trust
     *     store, hostname verification on; with {@code http2}, ALPN offering {@code h2})
     */
    static ProviderConnections forUpstream(UpstreamConfig upstream, Transport transport, SslContext tls) {
        return upstream.http2()
                ? new Http2ProviderConnections(upstream, transport, tls)
                : new UpstreamConnectionPool(upstream, transport, tls);
    }
}
