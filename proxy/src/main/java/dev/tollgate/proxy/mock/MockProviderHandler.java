package dev.tollgate.proxy.mock;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.AsciiString;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Serves the fake provider's API. Latency is simulated with timers on the event loop, never by
 * sleeping, so one mock process can hold thousands of slow calls.
 */
@ChannelHandler.Sharable
final class MockProviderHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final AsciiString EVENT_STREAM = AsciiString.cached("text/event-stream; charset=utf-8");
    private static final AsciiString REQUEST_ID = AsciiString.cached("x-request-id");
    /**
     * A request header that sets the delay between this response's events, overriding
     * {@code --chunk-delay-ms}: the load test paces some streams as a model would, through every proxy alike,
     * without a second fake provider.
     */
    static final AsciiString CHUNK_DELAY_HEADER = AsciiString.cached("x-mock-chunk-delay-ms");
    /** Longer delays would only hold connections open; a minute between events is already a stalled stream. */
    private static final long MAX_CHUNK_DELAY_MS = 60_000;

    private final long latencyMs;
    private final long chunkDelayMs;

    MockProviderHandler(long latencyMs, long chunkDelayMs) {
        this.latencyMs = latencyMs;
        this.chunkDelayMs = chunkDelayMs;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        long eventDelayMs = chunkDelayOf(request);
        MockAnswer answer = answer(ctx, request);
        if (latencyMs > 0) {
            ctx.executor().schedule(() -> send(ctx, answer, keepAlive, eventDelayMs), latencyMs, TimeUnit.MILLISECONDS);
        } else {
            send(ctx, answer, keepAlive, eventDelayMs);
        }
    }

    /** The request's own delay between events ({@link #CHUNK_DELAY_HEADER}), else the server's; bad values are ignored. */
    private long chunkDelayOf(FullHttpRequest request) {
        String asked = request.headers().get(CHUNK_DELAY_HEADER);
        if (asked == null) {
            return chunkDelayMs;
        }
        try {
            long delay = Long.parseLong(asked.trim());
            return delay >= 0 && delay <= MAX_CHUNK_DELAY_MS ? delay : chunkDelayMs;
        } catch (NumberFormatException e) {
            return chunkDelayMs;
        }
    }

    private MockAnswer answer(ChannelHandlerContext ctx, FullHttpRequest request) {
        MockEndpoints endpoints = new MockEndpoints(ctx.alloc());
        String path = new QueryStringDecoder(request.uri()).path();
        if (path.equals("/v1/models") && HttpMethod.GET.equals(request.method())) {
            return endpoints.models(null);
        }
        if (path.startsWith("/v1/models/") && HttpMethod.GET.equals(request.method())) {
            return endpoints.models(path.substring("/v1/models/".length()));
        }
        if (!HttpMethod.POST.equals(request.method())) {
            return endpoints.error(HttpResponseStatus.NOT_FOUND, "invalid_request_error", null, "unknown_url",
                    "Invalid URL (" + request.method() + " " + path + ")");
        }
        JsonNode body;
        try {
            body = parse(request.content());
        } catch (IOException e) {
            return endpoints.error(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", null, null,
                    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your"
                            + " HTTP library correctly.)");
        }
        if (!body.path("model").isTextual()) {
            return endpoints.invalid("model", "you must provide a model parameter");
        }
        return switch (path) {
            case "/v1/chat/completions" -> endpoints.chatCompletions(body);
            case "/v1/completions" -> endpoints.completions(body);
            case "/v1/embeddings" -> endpoints.embeddings(body);
            case "/v1/responses" -> endpoints.responses(body);
            default -> endpoints.error(HttpResponseStatus.NOT_FOUND, "invalid_request_error", null, "unknown_url",
                    "Invalid URL (POST " + path + ")");
        };
    }

    private static JsonNode parse(ByteBuf content) throws IOException {
        try (ByteBufInputStream in = new ByteBufInputStream(content.duplicate())) {
            JsonNode node = MAPPER.readTree((java.io.InputStream) in);
            if (node == null || !node.isObject()) {
                throw new JsonProcessingException("not an object") { };
            }
            return node;
        }
    }

    private void send(ChannelHandlerContext ctx, MockAnswer answer, boolean keepAlive, long eventDelayMs) {
        if (!ctx.channel().isActive()) {
            answer.release();
            return;
        }
        if (!answer.streamed()) {
            var response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, answer.status(), answer.body());
            response.headers()
                    .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, answer.body().readableBytes())
                    .set(REQUEST_ID, MockReplies.id("req_"));
            finish(ctx.writeAndFlush(response), keepAlive);
            return;
        }
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, EVENT_STREAM)
                .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED)
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE)
                .set(REQUEST_ID, MockReplies.id("req_"));
        ctx.write(head);
        if (eventDelayMs <= 0) {
            for (ByteBuf event : answer.events()) {
                ctx.write(new DefaultHttpContent(event));
            }
            finish(ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT), keepAlive);
        } else {
            ctx.flush();
            new PacedStream(ctx, answer.events(), answer.pacedEvents(), keepAlive, eventDelayMs).next();
        }
    }

    /**
     * Sends the model's tokens one per {@code delayMs}, like a model producing them, and what follows the
     * last of them (the finish, the usage, {@code [DONE]}) at once with it. Events not sent when the
     * connection closes (or the server stops, cancelling the timer) are released by the close listener.
     *
     * <p>Token {@code i} is due at the stream's start plus {@code i} delays, not one delay after the token
     * before it: a model's pace does not depend on who reads it, and a timer that fires late (a busy
     * machine, a loop with other work) must not push every later token back. Otherwise a proxy measured
     * against this provider would be charged the provider's own accumulated lateness, which grows with the
     * load the proxy puts on the shared cores, as "delay between events".
     */
    private final class PacedStream {
        private final ChannelHandlerContext ctx;
        private final List<ByteBuf> events;
        private final int paced;
        private final boolean keepAlive;
        private final long delayNanos;
        /** When the first token was sent (System.nanoTime); token i is due i delays later. */
        private final long startNanos = System.nanoTime();
        private int next;

        PacedStream(ChannelHandlerContext ctx, List<ByteBuf> events, int paced, boolean keepAlive, long delayMs) {
            this.ctx = ctx;
            this.events = events;
            this.paced = paced;
            this.keepAlive = keepAlive;
            this.delayNanos = TimeUnit.MILLISECONDS.toNanos(delayMs);
            // Channel future listeners run on the channel's event loop, where the stream lives.
            ctx.channel().closeFuture().addListener(closed -> releaseRest());
        }

        void next() {
            if (!ctx.channel().isActive()) {
                releaseRest();
                return;
            }
            ctx.write(new DefaultHttpContent(events.get(next++)));
            if (next < paced) {
                ctx.flush();
                long due = startNanos + next * delayNanos;
                ctx.executor().schedule(this::next, Math.max(0, due - System.nanoTime()), TimeUnit.NANOSECONDS);
                return;
            }
            while (next < events.size()) {
                ctx.write(new DefaultHttpContent(events.get(next++)));
            }
            finish(ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT), keepAlive);
        }

        private void releaseRest() {
            while (next < events.size()) {
                events.get(next++).release();
            }
        }
    }

    private static void finish(io.netty.channel.ChannelFuture written, boolean keepAlive) {
        if (!keepAlive) {
            written.addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
