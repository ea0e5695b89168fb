package dev.tollgate.proxy.testing;

import dev.tollgate.proxy.net.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2FrameLogger;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.handler.logging.LogLevel;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTP/2 provider (prior knowledge) that declines the first request unprocessed, in one of the two ways
 * RFC 9113 8.7 makes safe to send again, and answers every later request with {@code body}, as JSON.
 *
 * <p>Written on Netty rather than MockWebServer because the order of its frames must be exact: MockWebServer
 * forgets a stream before it writes the stream's reset, so the request body still arriving can draw a
 * {@code PROTOCOL_ERROR} reset that overtakes the {@code REFUSED_STREAM} one, and a correct client then
 * (rightly) does not retry. Here everything happens on one event loop, in order.
 */
public final class DecliningHttp2Provider implements AutoCloseable {

    /** How the first request is declined. */
    public enum Refusal {
        /** A {@code GOAWAY} with last stream id 0 on the first connection, which then takes no more streams. */
        GOAWAY,
        /** A {@code RST_STREAM REFUSED_STREAM} as soon as the request's headers arrive, before its body. */
        REFUSED_STREAM
    }

    private final Refusal refusal;
    private final String body;
    private final EventLoopGroup group;
    private final Channel server;
    private final AtomicBoolean declined = new AtomicBoolean();
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger firstConnectionStreams = new AtomicInteger();
    private final AtomicInteger resets = new AtomicInteger();
    private final List<String> answeredBodies = new CopyOnWriteArrayList<>();

    public DecliningHttp2Provider(Refusal refusal, String body) throws InterruptedException {
        this.refusal = refusal;
        this.body = body;
        Transport transport = Transport.detect();
        group = transport.newEventLoopGroup(1);
        server = new ServerBootstrap().group(group).channel(transport.serverChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        Http2FrameCodec codec = Http2FrameCodecBuilder.forServer().frameLogger(new ResetCounter()).build();
                        boolean first = connections.getAndIncrement() == 0;
                        ch.pipeline().addLast(codec).addLast(new Requests(codec, first));
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

    /** Streams the first connection saw opened (HEADERS received), the declined one included. */
    public int streamsOnFirstConnection() {
        return firstConnectionStreams.get();
    }

    /** RST_STREAM frames received from the client, on any stream, open or already closed. */
    public int resetsReceived() {
        return resets.get();
    }

    /** Requests answered with the body. */
    public int answered() {
        return answeredBodies.size();
    }

    /** The bodies of the requests answered, in the order they were answered. */
    public List<String> answeredRequestBodies() {
        return List.copyOf(answeredBodies);
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * Counts the client's RST_STREAM frames as they are read off the wire: the codec drops one for a stream
     * it has already closed before any handler sees it, and those count too.
     */
    private final class ResetCounter extends Http2FrameLogger {
        ResetCounter() {
            super(LogLevel.TRACE, DecliningHttp2Provider.class);
        }

        @Override
        public void logRstStream(Direction direction, ChannelHandlerContext ctx, int streamId, long errorCode) {
            if (direction == Direction.INBOUND) {
                resets.incrementAndGet();
            }
            super.logRstStream(direction, ctx, streamId, errorCode);
        }
    }

    /** One connection's requests; touched only on its event loop. */
    private final class Requests extends ChannelInboundHandlerAdapter {
        private final Http2FrameCodec codec;
        private final boolean firstConnection;
        private final Map<Integer, ByteArrayOutputStream> bodies = new HashMap<>();

        Requests(Http2FrameCodec codec, boolean firstConnection) {
            this.codec = codec;
            this.firstConnection = firstConnection;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2StreamFrame frame) {
                    onStreamFrame(ctx, frame);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void onStreamFrame(ChannelHandlerContext ctx, Http2StreamFrame frame) {
            if (frame instanceof Http2HeadersFrame) {
                if (firstConnection) {
                    firstConnectionStreams.incrementAndGet();
                }
                if (decline(ctx, frame.stream())) {
                    return;
                }
                bodies.put(frame.stream().id(), new ByteArrayOutputStream());
            }
            ByteArrayOutputStream requestBody = bodies.get(frame.stream().id());
            if (frame instanceof Http2DataFrame data) {
                // The codec leaves the flow-control window to the application: give the bytes back as read.
                if (data.initialFlowControlledBytes() > 0) {
                    ctx.write(new DefaultHttp2WindowUpdateFrame(data.initialFlowControlledBytes()).stream(data.stream()));
                }
                if (requestBody != null) {
                    requestBody.writeBytes(ByteBufUtil.getBytes(data.content()));
                }
            }
            boolean ended = frame instanceof Http2HeadersFrame headers && headers.isEndStream()
                    || frame instanceof Http2DataFrame data && data.isEndStream();
            if (ended && requestBody != null) {
                bodies.remove(frame.stream().id());
                answer(ctx, frame.stream(), requestBody.toString(StandardCharsets.UTF_8));
            }
            ctx.flush();
        }

        private boolean decline(ChannelHandlerContext ctx, Http2FrameStream stream) {
            boolean now = switch (refusal) {
                case GOAWAY -> firstConnection && declined.compareAndSet(false, true);
                case REFUSED_STREAM -> declined.compareAndSet(false, true);
            };
            if (!now) {
                return false;
            }
            if (refusal == Refusal.GOAWAY) {
                codec.goAway(ctx.pipeline().context(codec), 0, Http2Error.NO_ERROR.code(), Unpooled.EMPTY_BUFFER,
                        ctx.newPromise());
            } else {
                ctx.write(new DefaultHttp2ResetFrame(Http2Error.REFUSED_STREAM).stream(stream));
            }
            ctx.flush();
            return true;
        }

        private void answer(ChannelHandlerContext ctx, Http2FrameStream stream, String requestBody) {
            answeredBodies.add(requestBody);
            ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")
                    .set("content-type", "application/json")).stream(stream));
            ctx.write(new DefaultHttp2DataFrame(Unpooled.copiedBuffer(body, StandardCharsets.UTF_8), true).stream(stream));
        }
    }
}
