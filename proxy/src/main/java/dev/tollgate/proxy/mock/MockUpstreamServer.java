package dev.tollgate.proxy.mock;

import dev.tollgate.proxy.net.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fake OpenAI-compatible provider ({@code tollgate mock-upstream}): chat completions with and without
 * streaming, completions, embeddings, responses and models, each with realistic {@code usage}, over
 * HTTP/1.1 or HTTP/2 with prior knowledge. It serves
 * trials, the demo, the examples and the benchmarks, so it is built on the same event loops as the
 * proxy and does no blocking work.
 */
public final class MockUpstreamServer implements AutoCloseable {

    private static final int MAX_BODY = 64 * 1024 * 1024;
    /** Streams one HTTP/2 connection may carry at once: a provider's figure, so clients must open more than one. */
    public static final int DEFAULT_H2_MAX_STREAMS = 256;

    private final EventLoopGroup group;
    private final Channel channel;
    private final AtomicInteger connections;

    private MockUpstreamServer(EventLoopGroup group, Channel channel, AtomicInteger connections) {
        this.group = group;
        this.channel = channel;
        this.connections = connections;
    }

    /** Starts serving on {@code host:port} with the default limit on HTTP/2 streams per connection. */
    public static MockUpstreamServer start(String host, int port, long latencyMs, long chunkDelayMs)
            throws InterruptedException {
        return start(host, port, latencyMs, chunkDelayMs, DEFAULT_H2_MAX_STREAMS);
    }

    /**
     * Starts serving on {@code host:port} (port 0 picks a free one), HTTP/1.1 and HTTP/2 with prior
     * knowledge alike.
     *
     * @param latencyMs delay before each response's headers
     * @param chunkDelayMs delay between the tokens of a stream (the events after the last token follow it at once)
     * @param h2MaxStreams the {@code SETTINGS_MAX_CONCURRENT_STREAMS} announced to HTTP/2 clients
     */
    public static MockUpstreamServer start(String host, int port, long latencyMs, long chunkDelayMs, int h2MaxStreams)
            throws InterruptedException {
        if (h2MaxStreams < 1) {
            throw new IllegalArgumentException("the HTTP/2 stream limit must be at least 1, got " + h2MaxStreams);
        }
        Transport transport = Transport.detect();
        EventLoopGroup group = transport.newEventLoopGroup(0);
        MockProviderHandler handler = new MockProviderHandler(latencyMs, chunkDelayMs);
        AtomicInteger connections = new AtomicInteger();
        try {
            Channel channel = new ServerBootstrap()
                    .group(group)
                    .channel(transport.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 4096)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            connections.incrementAndGet();
                            ch.pipeline().addLast(new PriorKnowledgeSniffer(http1(handler), http2(handler, h2MaxStreams)));
                        }
                    })
                    .bind(host, port)
                    .sync()
                    .channel();
            return new MockUpstreamServer(group, channel, connections);
        } catch (InterruptedException | RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw e;
        }
    }

    private static ChannelHandler http1(MockProviderHandler handler) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline()
                        .addLast(new HttpServerCodec())
                        .addLast(new HttpServerKeepAliveHandler())
                        .addLast(new HttpObjectAggregator(MAX_BODY))
                        .addLast(handler);
            }
        };
    }

    /** Each HTTP/2 stream gets the HTTP/1.1 handlers' view of its request: one full request, answered alike. */
    private static ChannelHandler http2(MockProviderHandler handler, int maxStreams) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline()
                        .addLast(Http2FrameCodecBuilder.forServer()
                                .initialSettings(Http2Settings.defaultSettings().maxConcurrentStreams(maxStreams))
                                .build())
                        .addLast(new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                            @Override
                            protected void initChannel(Http2StreamChannel stream) {
                                stream.pipeline()
                                        .addLast(new Http2StreamFrameToHttpObjectCodec(true))
                                        .addLast(new HttpObjectAggregator(MAX_BODY))
                                        .addLast(handler);
                            }
                        }));
            }
        };
    }

    /** Connections accepted since the start, HTTP/1.1 and HTTP/2 alike. */
    public int connectionsAccepted() {
        return connections.get();
    }

    /** The server's event loops, for tests that must make them late (a busy machine) on purpose. */
    EventLoopGroup eventLoops() {
        return group;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** The URL to put in {@code upstream.base_url}. */
    public String baseUrl() {
        return "http://" + address().getAddress().getHostAddress() + ":" + address().getPort() + "/v1";
    }

    public void awaitClose() throws InterruptedException {
        channel.closeFuture().sync();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
