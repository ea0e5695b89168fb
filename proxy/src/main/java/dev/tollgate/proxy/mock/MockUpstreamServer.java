package dev.tollgate.proxy.mock;

import dev.tollgate.proxy.net.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * A fake OpenAI-compatible provider ({@code tollgate mock-upstream}): chat completions with and without
 * streaming, completions, embeddings, responses and models, each with realistic {@code usage}. It serves
 * trials, the demo, the examples and the benchmarks, so it is built on the same event loops as the
 * proxy and does no blocking work.
 */
public final class MockUpstreamServer implements AutoCloseable {

    private static final int MAX_BODY = 64 * 1024 * 1024;

    private final EventLoopGroup group;
    private final Channel channel;

    private MockUpstreamServer(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    /**
     * Starts serving on {@code host:port} (port 0 picks a free one).
     *
     * @param latencyMs delay before each response's headers
     * @param chunkDelayMs delay between the events of a stream
     */
    public static MockUpstreamServer start(String host, int port, long latencyMs, long chunkDelayMs)
            throws InterruptedException {
        Transport transport = Transport.detect();
        EventLoopGroup group = transport.newEventLoopGroup(0);
        MockProviderHandler handler = new MockProviderHandler(latencyMs, chunkDelayMs);
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
                            ch.pipeline()
                                    .addLast(new HttpServerCodec())
                                    .addLast(new HttpServerKeepAliveHandler())
                                    .addLast(new HttpObjectAggregator(MAX_BODY))
                                    .addLast(handler);
                        }
                    })
                    .bind(host, port)
                    .sync()
                    .channel();
            return new MockUpstreamServer(group, channel);
        } catch (InterruptedException | RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw e;
        }
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
