package dev.tollgate.proxy.testing;

import dev.tollgate.proxy.net.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP/2 provider (prior knowledge) whose first connection answers the first request with a
 * {@code GOAWAY} whose last stream id is 0: the request was not processed and the client may send it
 * elsewhere. Every later connection answers each request with {@code body}, as JSON.
 */
public final class GoingAwayProvider implements AutoCloseable {

    private final EventLoopGroup group;
    private final Channel server;
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger answered = new AtomicInteger();
    private final AtomicInteger firstConnectionStreams = new AtomicInteger();
    private final AtomicInteger resets = new AtomicInteger();

    public GoingAwayProvider(String body) throws InterruptedException {
        Transport transport = Transport.detect();
        group = transport.newEventLoopGroup(1);
        server = new ServerBootstrap().group(group).channel(transport.serverChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        Http2FrameCodec codec = Http2FrameCodecBuilder.forServer().build();
                        boolean first = connections.getAndIncrement() == 0;
                        ch.pipeline().addLast(codec).addLast(new Requests(codec, first, body, first ? firstConnectionStreams : null));
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort() + "/v1";
    }

    /** Connections accepted so far. */
    public int connections() {
        return connections.get();
    }

    /** Streams the first connection saw opened (HEADERS received), the one refused included. */
    public int streamsOnFirstConnection() {
        return firstConnectionStreams.get();
    }

    /** RST_STREAM frames received from the client. */
    public int resetsReceived() {
        return resets.get();
    }

    /** Requests answered with the body. */
    public int answered() {
        return answered.get();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Requests extends ChannelInboundHandlerAdapter {
        private final Http2FrameCodec codec;
        private final String body;
        private final AtomicInteger streams;
        private boolean goAway;

        Requests(Http2FrameCodec codec, boolean goAway, String body, AtomicInteger streams) {
            this.codec = codec;
            this.goAway = goAway;
            this.body = body;
            this.streams = streams;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2ResetFrame) {
                    resets.incrementAndGet();
                }
                if (!(msg instanceof Http2StreamFrame frame)) {
                    return;
                }
                if (streams != null && frame instanceof Http2HeadersFrame) {
                    streams.incrementAndGet();
                }
                if (goAway && frame instanceof Http2HeadersFrame) {
                    goAway = false;
                    codec.goAway(ctx.pipeline().context(codec), 0, Http2Error.NO_ERROR.code(), Unpooled.EMPTY_BUFFER,
                            ctx.newPromise());
                    ctx.flush();
                    return;
                }
                boolean ended = frame instanceof Http2HeadersFrame headers && headers.isEndStream()
                        || frame instanceof Http2DataFrame data && data.isEndStream();
                if (ended) {
                    answer(ctx, frame.stream());
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void answer(ChannelHandlerContext ctx, Http2FrameStream stream) {
            answered.incrementAndGet();
            ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")
                    .set("content-type", "application/json")).stream(stream));
            ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer(body, StandardCharsets.UTF_8), true).stream(stream));
        }
    }
}
