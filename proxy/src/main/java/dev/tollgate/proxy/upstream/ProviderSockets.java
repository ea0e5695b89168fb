package dev.tollgate.proxy.upstream;

import dev.tollgate.config.UpstreamConfig;
import dev.tollgate.proxy.net.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import java.net.InetSocketAddress;
import java.util.concurrent.RejectedExecutionException;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * What every connection to the provider shares, over HTTP/1.1 or HTTP/2: the asynchronous resolver, the
 * socket options, and TLS with SNI and hostname verification.
 */
final class ProviderSockets implements AutoCloseable {

    private final UpstreamConfig upstream;
    private final Transport transport;
    private final SslContext tls;
    private final DnsAddressResolverGroup resolver;

    /**
     * @param tls the client TLS context for an https provider, or null for the default one (the JVM's trust
     *     store; with {@code alpnH2}, offering {@code h2} by ALPN)
     */
    ProviderSockets(UpstreamConfig upstream, Transport transport, SslContext tls, boolean alpnH2) {
        this.upstream = upstream;
        this.transport = transport;
        this.tls = upstream.tls() ? (tls != null ? tls : defaultTls(alpnH2)) : null;
        this.resolver = new DnsAddressResolverGroup(new DnsNameResolverBuilder()
                .datagramChannelType(transport.datagramChannel())
                .socketChannelType(transport.socketChannel()));
    }

    /**
     * Runs {@code open}, which may create a socket, as a task of {@code loop}: after the batch of I/O events
     * the loop may be handling, never inside it. Netty's epoll loop hands each event of a batch to the
     * channel registered under the event's file descriptor number. A socket created while the batch is
     * handled can get the number of one closed earlier in the same batch (an agent hung up, its provider
     * connection was closed), and then receives that closed socket's pending event: a read on a socket
     * not yet connected, which closes it, and the connect fails with "channel closed" (seen in the soak,
     * reproduced in ProviderSocketReuseTest). After the batch, only live descriptors can have events.
     */
    static void openOutsideIoBatch(EventLoop loop, Runnable open) {
        try {
            loop.execute(open);
        } catch (RejectedExecutionException stopping) {
            // A loop that is shutting down takes no more tasks; the proxy is stopping, so open it now (the
            // callers are on this loop) and let it fail or close with everything else.
            open.run();
        }
    }

    /** True when connections to the provider use TLS. */
    boolean tls() {
        return tls != null;
    }

    /** A bootstrap for connections to the provider from {@code loop}; the caller adds the handler. */
    Bootstrap bootstrap(EventLoop loop) {
        return new Bootstrap()
                .group(loop)
                .channel(transport.socketChannel())
                .resolver(resolver)
                .remoteAddress(InetSocketAddress.createUnresolved(upstream.baseUrl().getHost(), upstream.port()))
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, upstream.connectTimeoutMs()))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.ALLOCATOR, Transport.BUFFERS);
    }

    /**
     * Puts TLS first in a new connection's pipeline when the provider is https. The host and port of
     * {@code base_url} become the SNI name and the name the certificate must match.
     */
    void addTls(Channel ch) {
        if (tls == null) {
            return;
        }
        SslHandler ssl = tls.newHandler(ch.alloc(), upstream.baseUrl().getHost(), upstream.port());
        SSLEngine engine = ssl.engine();
        SSLParameters params = engine.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        engine.setSSLParameters(params);
        ssl.setHandshakeTimeoutMillis(upstream.connectTimeoutMs());
        ch.pipeline().addLast("tls", ssl);
    }

    @Override
    public void close() {
        resolver.close();
    }

    private static SslContext defaultTls(boolean alpnH2) {
        try {
            SslContextBuilder builder = SslContextBuilder.forClient();
            if (alpnH2) {
                builder.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_2));
            }
            return builder.build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot create the TLS context for the provider: " + e.getMessage(), e);
        }
    }
}
