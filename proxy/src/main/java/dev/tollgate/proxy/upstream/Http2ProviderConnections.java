package dev.tollgate.proxy.upstream;

import dev.tollgate.config.UpstreamConfig;
import dev.tollgate.proxy.net.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calls to the provider as streams of a few shared HTTP/2 connections ({@code upstream.http2: true}): ALPN
 * {@code h2} over https, prior knowledge over http.
 *
 * <p>Why: over HTTP/1.1 every call in flight holds a provider connection of its own, so 10,000 open streams
 * hold 10,000 sockets to the provider besides the agents' 10,000, with their file descriptors, kernel
 * buffers and TLS sessions. Over HTTP/2 they share as many connections as the provider's
 * {@code SETTINGS_MAX_CONCURRENT_STREAMS} requires.
 *
 * <p>Connections belong to an event loop, as in the HTTP/1.1 pool, so a call's stream lives on its agent
 * channel's thread and this class needs no locks. A connection takes new streams while it is open, has not
 * been told to go away, and has fewer streams open than the provider allows; the oldest such connection is
 * used first, so spare ones empty and close after {@link UpstreamConnectionPool#IDLE_SECONDS} without
 * traffic. When none has room, one more connection is opened, and the calls waiting for it get their streams
 * once the provider's first SETTINGS frame has said how many it takes. A stream serves one call and is never
 * reused: a released one (finished by both sides) closes by itself; a discarded one is closed, which resets
 * it with {@code CANCEL} when the provider has not finished it, so an agent that hangs up stops the
 * generation.
 */
public final class Http2ProviderConnections implements ProviderConnections {

    private static final Logger log = LoggerFactory.getLogger(Http2ProviderConnections.class);
    /** The largest header list accepted from the provider, as for an HTTP/1.1 response head. */
    private static final int MAX_HEADER_LIST = 65_536;
    /**
     * Streams a connection may reset before it takes no new ones. Servers count the resets a client sends
     * (the defence against HTTP/2 "rapid reset" floods, CVE-2023-44487) and cut the whole connection past a
     * limit: Netty's default is 200 in 30 s. Every agent that hangs up mid-call resets its stream, so a busy
     * connection would reach such a limit and take every call on it down; retiring it after this many keeps
     * each connection well below, whatever the provider's window.
     */
    static final int RESETS_PER_CONNECTION = 100;
    /** Stream ids are odd and at most 2^31-1; a connection this close to the end takes no more streams. */
    private static final int LAST_STREAM_ID = Integer.MAX_VALUE - 2 * 65_536;
    private static final String ADVICE = "; set upstream.http2: false for this provider";

    private final UpstreamConfig upstream;
    private final ProviderSockets sockets;
    private final Map<EventLoop, LoopConnections> loops = new ConcurrentHashMap<>();
    private final ChannelGroup open = new DefaultChannelGroup("provider-h2", GlobalEventExecutor.INSTANCE);
    private final StreamSetup streamSetup = new StreamSetup();
    private volatile boolean closed;

    /**
     * @param tls the client TLS context for an https provider, or null for the default one (the JVM's trust
     *     store, hostname verification on, ALPN offering {@code h2}); a context given here must offer
     *     {@code h2} by ALPN itself
     */
    public Http2ProviderConnections(UpstreamConfig upstream, Transport transport, SslContext tls) {
        this.upstream = upstream;
        this.sockets = new ProviderSockets(upstream, transport, tls, true);
    }

    @Override
    public Future<Channel> acquire(EventLoop loop) {
        Promise<Channel> stream = loop.newPromise();
        LoopConnections connections = loops.computeIfAbsent(loop, LoopConnections::new);
        if (loop.inEventLoop()) {
            connections.acquire(stream);
        } else {
            loop.execute(() -> connections.acquire(stream));
        }
        return stream;
    }

    @Override
    public boolean refusalsAreRetryable() {
        return true;
    }

    @Override
    public void release(Channel stream) {
        // Both sides ended the stream, and Netty closes it once the provider's last frame is handled.
        // Closing it here, before that, would reset it (RST_STREAM CANCEL) after every call, and a provider
        // counting resets would cut the connection.
        UpstreamChannelHandler.of(stream).detach();
    }

    @Override
    public void discard(Channel stream) {
        UpstreamChannelHandler relay = UpstreamChannelHandler.of(stream);
        relay.detach();
        if (relay.endedByProvider()) {
            // Reset by the provider, or refused by its GOAWAY: Netty closes the stream once the frame is
            // handled; closing it here would answer the provider's reset with one of ours (RFC 9113 5.4.2).
            return;
        }
        if (stream instanceof Http2StreamChannel h2 && isLive(h2.stream().state())
                && stream.parent() != null && stream.parent().pipeline().get("connection") instanceof ProviderConnection connection) {
            // Closing an unfinished stream resets it (an agent hung up, a fault): count it against its connection.
            connection.resetting();
        }
        stream.close();
    }

    /** A stream in these states is reset when closed; an idle or closed one closes without a frame. */
    private static boolean isLive(Http2Stream.State state) {
        return state == Http2Stream.State.OPEN || state == Http2Stream.State.HALF_CLOSED_LOCAL
                || state == Http2Stream.State.HALF_CLOSED_REMOTE;
    }

    @Override
    public void close() {
        closed = true;
        // Connections on loops already shutting down are closed by their loops.
        open.forEach(connection -> {
            if (!connection.eventLoop().isShuttingDown()) {
                connection.close();
            }
        });
        sockets.close();
    }

    /** The provider connections of one event loop; touched only on that loop. */
    private final class LoopConnections {
        private final EventLoop loop;
        private final Bootstrap bootstrap;
        /** Connections that received the provider's SETTINGS, oldest first. */
        private final List<ProviderConnection> ready = new ArrayList<>();
        /** Calls waiting for a connection with room. */
        private final ArrayDeque<Promise<Channel>> waiting = new ArrayDeque<>();
        private boolean connecting;

        LoopConnections(EventLoop loop) {
            this.loop = loop;
            this.bootstrap = sockets.bootstrap(loop)
                    .handler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            setUp(ch, new ProviderConnection(LoopConnections.this));
                        }
                    });
        }

        void acquire(Promise<Channel> stream) {
            if (closed) {
                stream.tryFailure(new ClosedChannelException());
                return;
            }
            waiting.add(stream);
            serveWaiting();
        }

        /** Opens streams for the waiting calls while a connection has room, and one more connection if needed. */
        void serveWaiting() {
            while (!waiting.isEmpty()) {
                if (waiting.peek().isDone()) {
                    waiting.poll();
                    continue;
                }
                ProviderConnection connection = withRoom();
                if (connection == null) {
                    if (!connecting && !closed) {
                        connect();
                    }
                    return;
                }
                connection.openStream(waiting.poll());
            }
        }

        private ProviderConnection withRoom() {
            for (ProviderConnection connection : ready) {
                if (connection.takesStreams()) {
                    return connection;
                }
            }
            return null;
        }

        private void connect() {
            connecting = true;
            ProviderSockets.openOutsideIoBatch(loop, () -> bootstrap.connect().addListener(connected -> {
                if (!connected.isSuccess()) {
                    notReady(connected.cause());
                }
            }));
        }

        void becameReady(ProviderConnection connection) {
            connecting = false;
            ready.add(connection);
            serveWaiting();
        }

        /** The connection being opened failed before it could carry a stream: the calls waiting for it fail too. */
        void notReady(Throwable cause) {
            connecting = false;
            Promise<Channel> stream;
            while ((stream = waiting.poll()) != null) {
                stream.tryFailure(cause);
            }
        }

        void closed(ProviderConnection connection) {
            ready.remove(connection);
        }
    }

    private void setUp(Channel ch, ProviderConnection connection) {
        sockets.addTls(ch);
        Http2FrameCodec codec = Http2FrameCodecBuilder.forClient()
                .initialSettings(Http2Settings.defaultSettings().pushEnabled(false).maxHeaderListSize(MAX_HEADER_LIST))
                .build();
        ch.pipeline()
                // Before the codec, so that every frame of every stream counts as traffic.
                .addLast("idle", new IdleStateHandler(0, 0, UpstreamConnectionPool.IDLE_SECONDS, TimeUnit.SECONDS))
                .addLast("h2", codec)
                .addLast("streams", new Http2MultiplexHandler(new RefusePushedStreams()))
                .addLast("connection", connection);
        connection.codec = codec;
        open.add(ch);
    }

    /** Push is disabled in our SETTINGS; a provider that opens a stream anyway gets it closed. */
    private static final class RefusePushedStreams extends ChannelInboundHandlerAdapter {
        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.channel().close();
        }
    }

    /** One HTTP/2 connection to the provider: its readiness, its open streams, its end. */
    private final class ProviderConnection extends ChannelInboundHandlerAdapter {
        private final LoopConnections owner;
        private Http2FrameCodec codec;
        private Channel channel;
        private int streams;
        /** Streams this side reset (RST_STREAM): agents that hung up mid-call, faults. */
        private int resets;
        private boolean ready;
        private Throwable failure;
        private ScheduledFuture<?> settingsTimeout;

        ProviderConnection(LoopConnections owner) {
            this.owner = owner;
        }

        boolean takesStreams() {
            var local = codec.connection().local();
            return channel.isActive()
                    && !retired()
                    && Math.max(streams, local.numActiveStreams()) < local.maxActiveStreams()
                    && local.lastStreamCreated() + 2L * streams < LAST_STREAM_ID;
        }

        /** Told to go away, or reset too many streams: it takes no new ones and closes when its last ends. */
        private boolean retired() {
            return codec.connection().goAwayReceived() || resets >= RESETS_PER_CONNECTION;
        }

        /** One of this connection's streams is about to be reset by this side. */
        void resetting() {
            if (++resets == RESETS_PER_CONNECTION) {
                log.debug("provider connection {} reset {} streams; it takes no new ones and closes when its last ends",
                        channel, resets);
            }
        }

        void openStream(Promise<Channel> promise) {
            streams++;
            new Http2StreamChannelBootstrap(channel).handler(streamSetup).open().addListener(opened -> {
                if (!opened.isSuccess()) {
                    streams--;
                    promise.tryFailure(opened.cause());
                    owner.serveWaiting();
                    return;
                }
                Http2StreamChannel stream = (Http2StreamChannel) opened.getNow();
                // The slot is freed in a task after the close: Netty closes its side of the stream (and marks
                // a connection that received GOAWAY) only after the frame that ended it has been handled, so a
                // waiting call given the slot at once could exceed the provider's limit or meet the GOAWAY.
                stream.closeFuture().addListener(streamClosed -> channel.eventLoop().execute(() -> {
                    streams--;
                    if (streams == 0 && retired()) {
                        channel.close();
                    }
                    owner.serveWaiting();
                }));
                if (!promise.trySuccess(stream)) {
                    stream.close();
                }
            });
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            channel = ctx.channel();
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            // The provider's SETTINGS must follow its side of the handshake at once; without them the
            // connection is not HTTP/2 (an HTTP/1.1 server given the preface answers 400 or nothing).
            settingsTimeout = ctx.executor().schedule(() -> fail(ctx,
                    new IOException("no HTTP/2 SETTINGS from the provider within " + upstream.connectTimeoutMs() + " ms")),
                    upstream.connectTimeoutMs(), TimeUnit.MILLISECONDS);
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2SettingsFrame && !ready) {
                    settingsTimeout.cancel(false);
                    if (codec.connection().local().maxActiveStreams() == 0) {
                        fail(ctx, new IOException("the provider allows no HTTP/2 streams (SETTINGS_MAX_CONCURRENT_STREAMS 0)"));
                        return;
                    }
                    raiseConnectionWindow();
                    ready = true;
                    owner.becameReady(this);
                } else if (msg instanceof Http2GoAwayFrame goAway) {
                    log.debug("provider connection {} going away (error {}); its open streams finish, new calls go elsewhere",
                            ctx.channel(), goAway.errorCode());
                    if (streams == 0) {
                        ctx.close();
                    }
                }
            } catch (Exception e) {
                fail(ctx, e);
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        /**
         * Each stream keeps HTTP/2's 64 KiB receive window, which bounds what the provider can send for one
         * slow agent, as a socket buffer does over HTTP/1.1. The connection's window (stream 0) starts at the
         * same 64 KiB, so one paused stream could stall every other on the connection; it is raised to what
         * all the streams the provider allows could hold at once (a WINDOW_UPDATE on stream 0).
         */
        private void raiseConnectionWindow() throws Http2Exception {
            var connectionStream = codec.connection().connectionStream();
            var flow = codec.connection().local().flowController();
            long all = (long) flow.initialWindowSize() * codec.connection().local().maxActiveStreams();
            long raise = Math.min(Integer.MAX_VALUE, all) - flow.windowSize(connectionStream);
            if (raise > 0) {
                flow.incrementWindowSize(connectionStream, (int) raise);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent handshake && handshake.isSuccess()) {
                String protocol = ctx.pipeline().get(SslHandler.class).applicationProtocol();
                if (!ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                    fail(ctx, new SSLException("the provider did not agree to HTTP/2 by ALPN (it chose "
                            + (protocol == null ? "no protocol" : protocol) + ")" + ADVICE));
                }
            } else if (evt instanceof IdleStateEvent idle && idle.state() == IdleState.ALL_IDLE && streams == 0) {
                ctx.close();
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(ctx, cause);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (settingsTimeout != null) {
                settingsTimeout.cancel(false);
            }
            if (ready) {
                owner.closed(this);
            } else {
                owner.notReady(failure != null ? failure : new IOException("the provider closed the connection before"
                        + " its HTTP/2 SETTINGS" + (sockets.tls() ? "" : "; does it take HTTP/2 without TLS (prior knowledge)?")));
            }
            ctx.fireChannelInactive();
        }

        private void fail(ChannelHandlerContext ctx, Throwable cause) {
            if (failure == null) {
                failure = ready ? cause : explained(cause);
                log.debug("provider connection {} failed: {}", ctx.channel(), cause.toString());
            }
            ctx.close();
        }

        /** Says what a failure before the first SETTINGS most likely means: a provider without HTTP/2. */
        private Throwable explained(Throwable cause) {
            if (cause instanceof Http2Exception) {
                return new IOException("the provider does not speak HTTP/2" + (sockets.tls() ? "" : " without TLS (prior knowledge)")
                        + " (" + cause.getMessage() + ")" + ADVICE, cause);
            }
            for (Throwable c = cause; c != null; c = c.getCause()) {
                if (c instanceof SSLException && String.valueOf(c.getMessage()).contains("no_application_protocol")) {
                    return new SSLException("the provider did not agree to HTTP/2 by ALPN (" + c.getMessage() + ")" + ADVICE, cause);
                }
            }
            return cause;
        }
    }

    /**
     * The pipeline of a call's stream: HTTP/2 frames to and from Netty's HTTP/1.1 messages, which
     * {@link UpstreamExchange} reads and writes on either protocol; the provider's silence mid-response cut
     * off after the response timeout; then the relay to the exchange.
     */
    private final class StreamSetup extends ChannelInitializer<Http2StreamChannel> {
        @Override
        protected void initChannel(Http2StreamChannel stream) {
            stream.pipeline()
                    .addLast("http", new Http2StreamFrameToHttpObjectCodec(false))
                    .addLast("plain", new ConversionHeaders())
                    .addLast("idle", new IdleStateHandler(upstream.responseTimeoutMs(), 0, 0, TimeUnit.MILLISECONDS))
                    .addLast("relay", new UpstreamChannelHandler());
        }
    }
}
