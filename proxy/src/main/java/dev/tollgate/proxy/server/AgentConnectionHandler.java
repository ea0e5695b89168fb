package dev.tollgate.proxy.server;

import dev.tollgate.config.IdentityConfig;
import dev.tollgate.proxy.admin.AdminApi;
import dev.tollgate.proxy.admission.Gate;
import dev.tollgate.proxy.metrics.TollgateMetrics;
import dev.tollgate.proxy.http.ErrorResponse;
import dev.tollgate.proxy.metering.CallMeter;
import dev.tollgate.proxy.metering.Metering;
import dev.tollgate.proxy.upstream.ProviderRequests;
import dev.tollgate.proxy.upstream.ProviderConnections;
import dev.tollgate.proxy.upstream.UpstreamExchange;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Queue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent connection: routes each complete request, forwards {@code /v1/*} to the provider, and
 * answers the rest locally.
 *
 * <p>Requests on one connection are served in order, one at a time. The connection keeps reading while
 * a call is in flight so that a disconnect is noticed at once (and the provider call cancelled); a
 * pipelined request that arrives meanwhile is held, and reading pauses until its turn.
 */
final class AgentConnectionHandler extends ChannelInboundHandlerAdapter implements UpstreamExchange.Completion {

    private static final Logger log = LoggerFactory.getLogger(AgentConnectionHandler.class);
    private static final long LEDGER_BACKOFF_MS = 5;

    private final ProviderConnections pool;
    private final Metering metering;
    private final AdminApi admin;
    private final Gate gate;
    private final TollgateMetrics metrics;
    private final CallAdmission admission;
    private final ProviderRequests providerRequests;
    private final long responseTimeoutMs;
    private final Queue<FullHttpRequest> pipelined = new ArrayDeque<>(2);

    private ChannelHandlerContext ctx;
    private UpstreamExchange current;
    private String currentAgent;
    /** True while a local answer is being prepared off the loop (an admin query). */
    private boolean answering;
    /** How long the connection may stay open with no call on it ({@code limits.agent_idle_seconds}). */
    private final long idleNanos;
    /** When the connection last finished an answer, or opened (System.nanoTime). */
    private long lastAnswerNanos = System.nanoTime();
    /** True when the agent sent bytes since the idle handler last said it had not: a request may be on its way. */
    private boolean readSinceIdleEvent;
    /** The one pending look at whether the connection has been quiet long enough, or null. */
    private ScheduledFuture<?> idleRecheck;

    AgentConnectionHandler(ProviderConnections pool, Metering metering, AdminApi admin, Gate gate, TollgateMetrics metrics,
            ProviderRequests providerRequests, IdentityConfig identity, long responseTimeoutMs, long idleNanos) {
        this.idleNanos = idleNanos;
        this.gate = gate;
        this.metrics = metrics;
        this.admission = new CallAdmission(gate, metering, identity);
        this.pool = pool;
        this.metering = metering;
        this.admin = admin;
        this.providerRequests = providerRequests;
        this.responseTimeoutMs = responseTimeoutMs;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest request)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (busy()) {
            pipelined.add(request);
            ctx.channel().config().setAutoRead(false);
            return;
        }
        dispatch(request);
    }

    private boolean busy() {
        return current != null || answering;
    }

    private void dispatch(FullHttpRequest request) {
        try {
            route(request);
        } catch (RuntimeException e) {
            log.error("unexpected error handling {} {}", request.method(), request.uri(), e);
            // The request may have been released or replaced already; release only what is still held.
            if (request.refCnt() > 0) {
                ReferenceCountUtil.safeRelease(request);
            }
            respond(new ErrorResponse(HttpResponseStatus.INTERNAL_SERVER_ERROR, "api_error", "internal_error",
                    "tollgate: internal error; see the proxy's log").toHttpResponse(ctx.alloc(), false), false);
        }
    }

    private void route(FullHttpRequest request) {
        if (request.decoderResult().isFailure()) {
            Throwable cause = request.decoderResult().cause();
            request.release();
            respond(malformed(cause), false);
            return;
        }
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        String uri = request.uri();
        if (!uri.startsWith("/")) {
            request.release();
            respond(ErrorResponse.badRequest("invalid_request_uri",
                    "only origin-form request targets (/v1/...) are accepted; this is not a forward proxy")
                    .toHttpResponse(ctx.alloc(), keepAlive), keepAlive);
            return;
        }
        String path;
        try {
            path = new QueryStringDecoder(uri).path();
            if (hasDotSegment(path)) {
                path = null;
            }
        } catch (IllegalArgumentException e) {
            path = null;
        }
        if (path == null) {
            request.release();
            respond(ErrorResponse.badRequest("invalid_request_uri",
                    "the path is not valid (bad percent-encoding, or '.' or '..' segments)")
                    .toHttpResponse(ctx.alloc(), keepAlive), keepAlive);
            return;
        }
        if (path.equals("/healthz") && (HttpMethod.GET.equals(request.method()) || HttpMethod.HEAD.equals(request.method()))) {
            request.release();
            respond(health(keepAlive), keepAlive);
            return;
        }
        if (path.equals(ProviderRequests.AGENT_PREFIX) || path.startsWith(ProviderRequests.AGENT_PREFIX + "/")) {
            forward(request, path, keepAlive);
            return;
        }
        if (path.startsWith("/tollgate/")) {
            answerAdmin(request, keepAlive);
            return;
        }
        if (path.equals("/dashboard") && HttpMethod.GET.equals(request.method())) {
            request.release();
            FullHttpResponse page = local(HttpResponseStatus.OK, "text/html; charset=utf-8", Dashboard.page(), keepAlive);
            page.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
            respond(page, keepAlive);
            return;
        }
        if (path.equals("/metrics") && HttpMethod.GET.equals(request.method())) {
            boolean allowed = adminAllowed(request);
            request.release();
            respond(allowed ? local(HttpResponseStatus.OK, TollgateMetrics.contentType(), metrics.scrape(), keepAlive)
                    : adminRefusal(keepAlive), keepAlive);
            return;
        }
        String method = request.method().name();
        request.release();
        respond(ErrorResponse.notFound(method, path).toHttpResponse(ctx.alloc(), keepAlive), keepAlive);
    }

    private void forward(FullHttpRequest request, String path, boolean keepAlive) {
        if (metering.ledgerOverloaded()) {
            // The ledger cannot keep up: hold this call (and stop reading more) rather than lose its row.
            answering = true;
            ctx.channel().config().setAutoRead(false);
            ctx.executor().schedule(() -> {
                answering = false;
                if (ctx.channel().isActive()) {
                    forward(request, path, keepAlive);
                    if (!busy()) {
                        serveNextPipelined();
                    }
                } else {
                    request.release();
                }
            }, LEDGER_BACKOFF_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
            return;
        }
        long started = System.nanoTime();
        CallAdmission.Decision decision = admission.decide(request, path, keepAlive, ctx.alloc());
        metrics.admitted(System.nanoTime() - started);
        if (decision.refusal() != null) {
            respond(decision.refusal(), keepAlive && decision.refusal().status().code() != 503);
            return;
        }
        CallMeter meter = decision.meter();
        current = new UpstreamExchange(ctx.channel(), meter.request(), decision.agent(), pool, providerRequests,
                responseTimeoutMs, meter, this);
        currentAgent = decision.agent();
        gate.started(decision.agent(), ctx.channel());
        current.start();
    }

    private void answerAdmin(FullHttpRequest request, boolean keepAlive) {
        HttpMethod method = request.method();
        String uri = request.uri();
        String body = request.content().toString(java.nio.charset.StandardCharsets.UTF_8);
        boolean allowed = adminAllowed(request);
        request.release();
        if (!allowed) {
            respond(adminRefusal(keepAlive), keepAlive);
            return;
        }
        answering = true;
        admin.handle(method, uri, body).whenComplete((answer, failure) -> ctx.executor().execute(() -> {
            answering = false;
            if (!ctx.channel().isActive()) {
                return;
            }
            FullHttpResponse response;
            if (failure != null) {
                log.error("admin request {} failed", uri, failure);
                response = new ErrorResponse(HttpResponseStatus.INTERNAL_SERVER_ERROR, "api_error", "internal_error",
                        "tollgate: internal error; see the proxy's log").toHttpResponse(ctx.alloc(), keepAlive);
            } else {
                response = local(answer.status(), HttpHeaderValues.APPLICATION_JSON, answer.json(), keepAlive);
            }
            respond(response, keepAlive);
            if (keepAlive) {
                serveNextPipelined();
            }
        }));
    }

    @Override
    public void exchangeFinished(UpstreamExchange exchange) {
        if (exchange != current) {
            return;
        }
        current = null;
        lastAnswerNanos = System.nanoTime();
        gate.finished(currentAgent, ctx.channel());
        if (exchange.closesAgentConnection() || !ctx.channel().isActive()) {
            return;
        }
        serveNextPipelined();
    }

    private void serveNextPipelined() {
        while (!busy() && ctx.channel().isActive()) {
            FullHttpRequest next = pipelined.poll();
            if (next == null) {
                ctx.channel().config().setAutoRead(true);
                return;
            }
            dispatch(next);
        }
    }

    private void respond(FullHttpResponse response, boolean keepAlive) {
        lastAnswerNanos = System.nanoTime();
        var written = ctx.writeAndFlush(response);
        if (!keepAlive) {
            written.addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (current != null) {
            current.onAgentWritabilityChanged(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        readSinceIdleEvent = true;
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (idleRecheck != null) {
            idleRecheck.cancel(false);
        }
        try {
            if (current != null) {
                UpstreamExchange gone = current;
                current = null;
                gate.finished(currentAgent, ctx.channel());
                gone.onAgentGone();
            }
        } finally {
            FullHttpRequest held;
            while ((held = pipelined.poll()) != null) {
                held.release();
            }
            ctx.fireChannelInactive();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            readSinceIdleEvent = false;
            closeIfIdle();
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    /**
     * Closes the connection once it has had no call on it for {@code limits.agent_idle_seconds}. The idle
     * handler counts only from the last request read, so a call that outlasts that time (a long stream)
     * would otherwise see its connection closed right after its answer, racing the agent's next call:
     * the quiet time is counted from the end of the last answer, and looked at again when it may be over.
     * Bytes read since the idle handler's event (the start of a request whose body is still on its way)
     * leave the connection open: the idle handler tells again once the agent has been silent for long enough.
     */
    private void closeIfIdle() {
        if (busy() || readSinceIdleEvent || !ctx.channel().isActive()) {
            // A call in flight may wait minutes for a reasoning model; its end starts the count again.
            return;
        }
        long quietNanos = System.nanoTime() - lastAnswerNanos;
        if (quietNanos >= idleNanos) {
            ctx.close();
        } else if (idleRecheck == null || idleRecheck.isDone()) {
            idleRecheck = ctx.executor().schedule(this::closeIfIdle, idleNanos - quietNanos,
                    java.util.concurrent.TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            log.debug("agent connection {} failed: {}", ctx.channel(), cause.toString());
        } else {
            log.warn("agent connection {} failed", ctx.channel(), cause);
        }
        ctx.close();
    }

    private FullHttpResponse malformed(Throwable cause) {
        ErrorResponse error;
        if (cause instanceof TooLongHttpLineException) {
            error = new ErrorResponse(HttpResponseStatus.REQUEST_URI_TOO_LONG, "invalid_request_error", "request_line_too_long",
                    "tollgate: the request line is too long");
        } else if (cause instanceof TooLongHttpHeaderException || cause instanceof TooLongFrameException) {
            error = new ErrorResponse(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "invalid_request_error",
                    "headers_too_large", "tollgate: the request headers are too large");
        } else {
            error = ErrorResponse.badRequest("malformed_request", "the request is not valid HTTP/1.1 ("
                    + (cause == null ? "unknown" : cause.getMessage()) + ")");
        }
        return error.toHttpResponse(ctx.alloc(), false);
    }

    private static final byte[] HEALTHY = "{\"status\":\"ok\"}".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private FullHttpResponse health(boolean keepAlive) {
        return local(HttpResponseStatus.OK, HttpHeaderValues.APPLICATION_JSON, HEALTHY, keepAlive);
    }

    /** A complete response Tollgate answers itself. */
    private FullHttpResponse local(HttpResponseStatus status, CharSequence contentType, byte[] body, boolean keepAlive) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                ctx.alloc().buffer(body.length).writeBytes(body));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType).setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        if (!keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return response;
    }

    /** The admin rule (SPEC §7): the admin token when one is configured, else loopback clients only. */
    private boolean adminAllowed(FullHttpRequest request) {
        java.net.SocketAddress remote = ctx.channel().remoteAddress();
        java.net.InetAddress client = remote instanceof java.net.InetSocketAddress address ? address.getAddress() : null;
        return admin.allows(client, request.headers().get(HttpHeaderNames.AUTHORIZATION));
    }

    private FullHttpResponse adminRefusal(boolean keepAlive) {
        return new ErrorResponse(HttpResponseStatus.UNAUTHORIZED, "invalid_request_error", "admin_unauthorized",
                "tollgate: the admin API needs Authorization: Bearer <admin.token> (without admin.token in the"
                        + " config, it answers loopback clients only)").toHttpResponse(ctx.alloc(), keepAlive);
    }

    /** True for {@code /v1/../x}, {@code /./x} and the like, percent-encoded or not. */
    static boolean hasDotSegment(String rawPath) {
        String decoded = QueryStringDecoder.decodeComponent(rawPath);
        int segment = 0;
        for (int i = 0; i <= decoded.length(); i++) {
            if (i == decoded.length() || decoded.charAt(i) == '/') {
                if (isDots(decoded, segment, i)) {
                    return true;
                }
                segment = i + 1;
            }
        }
        return decoded.indexOf('\\') >= 0;
    }

    /** Whether {@code path[from, to)} is {@code .} or {@code ..}. */
    private static boolean isDots(String path, int from, int to) {
        int length = to - from;
        return (length == 1 || length == 2) && path.charAt(from) == '.' && path.charAt(to - 1) == '.';
    }
}
