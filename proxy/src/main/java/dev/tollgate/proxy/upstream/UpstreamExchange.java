package dev.tollgate.proxy.upstream;

import dev.tollgate.proxy.http.ChunkFrames;
import dev.tollgate.proxy.http.ErrorResponse;
import dev.tollgate.proxy.http.HopByHopHeaders;
import dev.tollgate.proxy.http.TollgateHeaders;
import dev.tollgate.proxy.metering.CallMeter;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One call forwarded to the provider and its response relayed back to the agent.
 *
 * <p>Everything here runs on the agent channel's event loop, which is also the provider channel's, so
 * the state needs no locks. The response is streamed: each piece the provider sends is written to the
 * agent as it arrives and flushed at the end of each read. The small pieces of one read (a stream's events
 * are one chunk each) are gathered into one chunk for the agent: one pass down the pipeline and one
 * chunk header instead of one per event; only a stream's first bytes (its first event, or the first
 * piece of one that is relayed unchanged) leave on their own, as soon as they are read, so they never
 * wait for the events read with them. When the agent cannot keep up, reading from
 * the provider stops until the agent's socket drains, so a slow agent holds back the provider instead of
 * filling the heap.
 *
 * <p>Faults end the exchange exactly once: before response headers, the agent gets a 502 or 504 (nothing
 * was charged); after them, the agent's connection is closed, because a half-sent response cannot be
 * turned into an error. The provider connection is returned to the pool only after a clean, complete,
 * keep-alive response.
 */
public final class UpstreamExchange {

    private static final Logger log = LoggerFactory.getLogger(UpstreamExchange.class);
    /** When the next failure before an answer may be logged at WARN (System.nanoTime). */
    private static final AtomicLong nextWarnNanos = new AtomicLong(System.nanoTime());
    /** Pieces at least this large are written as they are; smaller ones are gathered until the read ends. */
    private static final int GATHER_LIMIT = 16 * 1024;

    /** Told once when an exchange ends, on the event loop, so the agent connection can take its next request. */
    public interface Completion {
        void exchangeFinished(UpstreamExchange exchange);
    }

    private enum State { CONNECTING, AWAITING_HEADERS, STREAMING, DONE }

    private final Channel agent;
    private final ProviderConnections pool;
    private final ProviderRequests requests;
    private final long responseTimeoutMs;
    private final String agentId;
    private final boolean agentKeepAlive;
    private final boolean agentAcceptsChunked;
    private final boolean headRequest;
    private final Completion completion;
    private final CallMeter meter;

    private FullHttpRequest request;
    /**
     * The provider's request, kept (retained) until the response head arrives when it may be sent once more:
     * an HTTP/2 provider may refuse a stream it has not processed, and then the call is safely retried.
     */
    private FullHttpRequest replayable;
    /** True once a connection that closed before this call could use it was replaced by another. */
    private boolean acquireRetried;
    private State state = State.CONNECTING;
    private Channel provider;
    private ScheduledFuture<?> responseTimeout;
    private boolean providerKeepAlive;
    private boolean closeAgentAfterResponse;
    /** Bytes for the agent gathered during the current read from the provider, or null. */
    private ByteBuf gathered;
    /**
     * Where gathered chunks are written, already framed ({@link ChunkFrames}), when the agent's body is chunked:
     * the agent's HTTP codec, so that the write starts past its encoder. Null otherwise (the encoder frames).
     */
    private ChannelHandlerContext framedChunksOut;
    /** True once a stream's first event has been flushed to the agent. */
    private boolean firstEventFlushed;

    public UpstreamExchange(Channel agent, FullHttpRequest request, String agentId, ProviderConnections pool,
            ProviderRequests requests, long responseTimeoutMs, CallMeter meter, Completion completion) {
        this.agent = agent;
        this.meter = meter;
        this.request = request;
        this.agentId = agentId;
        this.pool = pool;
        this.requests = requests;
        this.responseTimeoutMs = responseTimeoutMs;
        this.completion = completion;
        this.agentKeepAlive = HttpUtil.isKeepAlive(request);
        this.agentAcceptsChunked = request.protocolVersion().compareTo(HttpVersion.HTTP_1_1) >= 0;
        this.headRequest = HttpMethod.HEAD.equals(request.method());
        meter.publishOn(agent.eventLoop());
    }

    /** Acquires a provider connection and sends the request. Takes ownership of the request. */
    public void start() {
        pool.acquire(agent.eventLoop()).addListener(this::onConnected);
    }

    private void onConnected(Future<? super Channel> connected) {
        if (!connected.isSuccess()) {
            if (state == State.DONE) {
                return;
            }
            Throwable cause = connected.cause();
            if (cause instanceof ClosedChannelException && !acquireRetried) {
                // The connection was closed before it became this call's: nothing was sent, so a second
                // connection is safe and spares the agent a 502 for a connection it never used.
                acquireRetried = true;
                logFailure("provider connection for agent {} closed before the call could use it: {}; trying another", cause);
                start();
                return;
            }
            logFailureBeforeAnswer(cause);
            failBeforeResponse(ErrorResponse.upstreamUnavailable(describe(cause)));
            return;
        }
        Channel channel = (Channel) connected.getNow();
        if (state == State.DONE) {
            // The agent left while we were connecting; the connection is clean and can serve someone else.
            pool.release(channel);
            return;
        }
        provider = channel;
        UpstreamChannelHandler.of(channel).attach(this);
        state = State.AWAITING_HEADERS;
        responseTimeout = agent.eventLoop().schedule(this::onResponseTimeout, responseTimeoutMs, TimeUnit.MILLISECONDS);
        FullHttpRequest outgoing;
        if (replayable != null) {
            // The replay itself: sent once more, never again.
            outgoing = replayable;
            replayable = null;
        } else {
            outgoing = requests.toProvider(request);
            request = null;
            if (pool.refusalsAreRetryable()) {
                replayable = outgoing.retainedDuplicate();
            }
        }
        meter.sent();
        Channel target = provider;
        provider.writeAndFlush(outgoing).addListener(written -> {
            // A write to a stream given up since (a refused one being replayed) fails as that stream closes.
            if (!written.isSuccess() && provider == target) {
                onUpstreamFault(written.cause());
            }
        });
    }

    void onUpstreamMessage(Object msg) {
        if (state == State.DONE) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpResponse response) {
            if (response.decoderResult().isFailure()) {
                ReferenceCountUtil.release(msg);
                onUpstreamFault(response.decoderResult().cause());
                return;
            }
            onResponseHead(response);
        }
        if (msg instanceof HttpContent content) {
            onResponseContent(content);
        }
    }

    private void onResponseHead(HttpResponse response) {
        responseTimeout.cancel(false);
        state = State.STREAMING;
        releaseReplayable();
        providerKeepAlive = HttpUtil.isKeepAlive(response);
        meter.onResponseHead(response);
        // The agent may still be draining an earlier response: start reading only as fast as it can take.
        provider.config().setAutoRead(agent.isWritable());
        // The head goes out with the body's first bytes: a stream's with its first event, as soon as that is
        // read (flushFirstEvent), anything else when the read ends (onUpstreamReadComplete): one write
        // instead of two. That holds back no byte an agent can use: a provider that sends its head before
        // the first event (as a streaming one does while the model starts) ends the read with the head,
        // which is then flushed at once.
        HttpResponse head = toAgentHead(response);
        agent.write(head, agent.voidPromise());
        // Chunks are framed here only while the head the encoder wrote still says chunked: the encoder has the
        // last word on whether a body may follow (it writes a 205's head with Content-Length: 0, say, and drops
        // any content after it), and a chunk written past it after such a head would corrupt the connection.
        if (HttpUtil.isTransferEncodingChunked(head)) {
            framedChunksOut = agent.pipeline().context(HttpServerCodec.class);
        }
    }

    private void onResponseContent(HttpContent content) {
        if (content.decoderResult().isFailure()) {
            Throwable cause = content.decoderResult().cause();
            content.release();
            onUpstreamFault(cause);
            return;
        }
        if (meter.rewritesBody() && !(content instanceof LastHttpContent)) {
            // The events this piece completes, rewritten, go straight into this read's gathered chunk.
            meter.rewriteInto(content, gatheredWithRoomFor(content.content().readableBytes()));
            flushFirstEvent();
            return;
        }
        HttpContent toAgent = meter.relay(content, agent.alloc());
        if (toAgent instanceof LastHttpContent) {
            finish(toAgent);
            return;
        }
        ByteBuf bytes = toAgent.content();
        if (!bytes.isReadable()) {
            toAgent.release();
            return;
        }
        if (bytes.readableBytes() >= GATHER_LIMIT) {
            writeGathered();
            agent.write(toAgent, agent.voidPromise());
            flushFirstEvent(true);
            return;
        }
        gatheredWithRoomFor(bytes.readableBytes()).writeBytes(bytes);
        toAgent.release();
        flushFirstEvent();
    }

    /**
     * Flushes a stream's first event as soon as it is gathered, with the head, instead of at the end of the
     * read: a provider that sends its first events in one burst would otherwise hold the agent's first token
     * back for as long as the whole burst takes to meter and rewrite. Once per call, so a stream costs at
     * most one write more than one flush per read.
     */
    private void flushFirstEvent() {
        flushFirstEvent(gathered != null && gathered.isReadable());
    }

    /** As {@link #flushFirstEvent()}, where {@code written} says whether bytes for the agent wait unflushed. */
    private void flushFirstEvent(boolean written) {
        if (!firstEventFlushed && written && meter.streamed()) {
            firstEventFlushed = true;
            flushToAgent();
        }
    }

    /** This read's gathered chunk, written out first if {@code incoming} more bytes would take it past the limit. */
    private ByteBuf gatheredWithRoomFor(int incoming) {
        if (gathered != null && gathered.readableBytes() + incoming > GATHER_LIMIT) {
            writeGathered();
        }
        if (gathered == null) {
            int size = Math.max(1024, incoming);
            gathered = framedChunksOut != null ? ChunkFrames.allocate(agent.alloc(), size) : agent.alloc().buffer(size);
        }
        return gathered;
    }

    /**
     * Writes what this read gathered, as one chunk framed in its own buffer when the agent's body is chunked.
     * Past the agent channel's high water mark the write makes it unwritable, and the writability event pauses
     * reading from the provider (onAgentWritabilityChanged).
     */
    private void writeGathered() {
        if (gathered != null) {
            ByteBuf out = gathered;
            gathered = null;
            if (!out.isReadable()) {
                // A piece that completed no event: an empty chunk would end a chunked body.
                out.release();
                return;
            }
            if (framedChunksOut != null) {
                // Past the encoder, which saw the head (and so expects chunks) and will see the last chunk: all of
                // these writes are made on the agent's loop, in order, into the one outbound buffer.
                ByteBuf chunk;
                try {
                    chunk = ChunkFrames.frame(out);
                } catch (RuntimeException e) {
                    out.release();
                    throw e;
                }
                framedChunksOut.write(chunk, agent.voidPromise());
            } else {
                agent.write(new DefaultHttpContent(out), agent.voidPromise());
            }
        }
    }

    /** The provider sent nothing for a whole response timeout in the middle of a response. */
    void onUpstreamStalled() {
        if (state == State.STREAMING && provider.config().isAutoRead()) {
            onUpstreamFault(new java.io.IOException("the provider sent nothing for " + responseTimeoutMs + " ms mid-response"));
        }
    }

    void onUpstreamReadComplete() {
        if (state == State.STREAMING) {
            flushToAgent();
        }
    }

    /** Writes what was gathered, flushes the agent's connection, and lets the meter read what was flushed. */
    private void flushToAgent() {
        writeGathered();
        agent.flush();
        meter.afterFlush();
    }

    /** The agent's socket drained or filled up: resume or pause reading from the provider. */
    public void onAgentWritabilityChanged(boolean writable) {
        if (state == State.STREAMING) {
            provider.config().setAutoRead(writable);
        }
    }

    /** The agent disconnected: cancel the provider call by closing its connection. */
    public void onAgentGone() {
        if (state == State.DONE) {
            return;
        }
        log.debug("agent {} disconnected mid-call; cancelling the provider request", agentId);
        end();
        if (provider != null) {
            pool.discard(provider);
        }
        meter.complete(0, CallMeter.Ending.AGENT_GONE);
    }

    void onUpstreamFault(Throwable cause) {
        switch (state) {
            case CONNECTING, AWAITING_HEADERS -> {
                if (cause instanceof StreamRefusedException && replayable != null && state == State.AWAITING_HEADERS) {
                    replay(cause);
                    return;
                }
                logFailureBeforeAnswer(cause);
                failBeforeResponse(ErrorResponse.upstreamUnavailable(describe(cause)));
            }
            case STREAMING -> {
                log.warn("provider connection failed mid-response for agent {}: {}; closing the agent's connection",
                        agentId, cause.toString());
                writeGathered();
                end();
                pool.discard(provider);
                agent.flush();
                agent.close();
                meter.complete(0, CallMeter.Ending.PROVIDER_CUT);
            }
            case DONE -> { }
        }
    }

    /**
     * Sends the request once more on a fresh stream: the provider said it did not process it
     * (RFC 9113 8.7: a refused stream, or one past a GOAWAY's last stream id, can be retried safely).
     * Once only, so a provider that refuses everything still gets the agent its 502 at once.
     */
    private void replay(Throwable cause) {
        log.debug("provider refused the stream for agent {} unprocessed ({}); sending the call once more", agentId, cause.getMessage());
        responseTimeout.cancel(false);
        pool.discard(provider);
        provider = null;
        state = State.CONNECTING;
        // Later, not from inside the refusal's event: Netty marks the connection as gone away only after
        // telling its streams, and the replay must not be sent on that same connection.
        agent.eventLoop().execute(() -> {
            if (state == State.CONNECTING) {
                start();
            }
        });
    }

    private void releaseReplayable() {
        if (replayable != null) {
            replayable.release();
            replayable = null;
        }
    }

    private void onResponseTimeout() {
        if (state == State.AWAITING_HEADERS) {
            if (warnNow()) {
                log.warn("provider sent agent {} no response headers within {} ms", agentId, responseTimeoutMs);
            }
            failBeforeResponse(ErrorResponse.upstreamTimeout(responseTimeoutMs));
        }
    }

    /**
     * A call that got a 502 or 504 is in the call log with its status; why it failed is logged here. At WARN
     * at most once a second, since a provider that is down fails every call; the rest at DEBUG.
     */
    private void logFailureBeforeAnswer(Throwable cause) {
        UpstreamChannelHandler relay = provider == null ? null : UpstreamChannelHandler.of(provider);
        int earlier = relay == null ? 0 : relay.earlierExchanges();
        String where = provider == null ? " while connecting"
                : earlier > 0 ? " on a kept-alive connection after " + earlier + " calls" : "";
        logFailure("provider failed before answering agent {}" + where + ": {}", cause);
    }

    /** Logs {@code format} with the agent and the cause: at WARN at most once a second, the rest at DEBUG. */
    private void logFailure(String format, Throwable cause) {
        if (warnNow()) {
            log.warn(format, agentId, withOrigin(cause));
        } else if (log.isDebugEnabled()) {
            log.debug(format, agentId, withOrigin(cause));
        }
    }

    /**
     * The cause, and for Netty's stackless exceptions (a closed channel, say) the one frame they keep: the
     * method that raised them, which is all that tells one "closed" from another.
     */
    private static String withOrigin(Throwable cause) {
        StackTraceElement[] trace = cause.getStackTrace();
        if (trace.length != 1) {
            return cause.toString();
        }
        return cause + " (raised in " + trace[0].getClassName() + "." + trace[0].getMethodName() + ")";
    }

    private static boolean warnNow() {
        long now = System.nanoTime();
        long next = nextWarnNanos.get();
        return now - next >= 0 && nextWarnNanos.compareAndSet(next, now + TimeUnit.SECONDS.toNanos(1));
    }

    private void failBeforeResponse(ErrorResponse error) {
        end();
        if (provider != null) {
            pool.discard(provider);
        }
        var response = error.toHttpResponse(agent.alloc(), agentKeepAlive);
        response.headers().set(TollgateHeaders.AGENT, agentId);
        var written = agent.writeAndFlush(response);
        if (!agentKeepAlive) {
            written.addListener(ChannelFutureListener.CLOSE);
        }
        meter.complete(error.status().code(), CallMeter.Ending.NO_RESPONSE);
        completion.exchangeFinished(this);
    }

    private void finish(HttpContent last) {
        writeGathered();
        end();
        // Settle the budget before the agent can see the end of the response: its next call, perhaps on
        // another connection and event loop, must find this one's reservation already replaced by its cost.
        meter.complete(0, CallMeter.Ending.COMPLETED);
        var written = agent.writeAndFlush(last);
        if (providerKeepAlive) {
            pool.release(provider);
        } else {
            pool.discard(provider);
        }
        if (closeAgentAfterResponse) {
            written.addListener(ChannelFutureListener.CLOSE);
        }
        completion.exchangeFinished(this);
    }

    /** Marks the exchange over and frees what it still holds; safe to call once per exchange. */
    private void end() {
        state = State.DONE;
        if (gathered != null) {
            gathered.release();
            gathered = null;
        }
        if (responseTimeout != null) {
            responseTimeout.cancel(false);
        }
        if (request != null) {
            request.release();
            request = null;
        }
        releaseReplayable();
    }

    /** True once the agent connection must close after this response (no keep-alive, or close-delimited). */
    public boolean closesAgentConnection() {
        return closeAgentAfterResponse;
    }

    private HttpResponse toAgentHead(HttpResponse response) {
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status());
        head.headers().set(response.headers());
        boolean chunkedFromProvider = HttpUtil.isTransferEncodingChunked(response);
        HopByHopHeaders.strip(head.headers());
        head.headers().set(TollgateHeaders.AGENT, agentId);
        if (meter.budgetRemainingNanos() >= 0) {
            head.headers().set(TollgateHeaders.BUDGET_REMAINING, dev.tollgate.pricing.UsdNanos.plainDollars(meter.budgetRemainingNanos()));
        }
        closeAgentAfterResponse = !agentKeepAlive;
        int code = response.status().code();
        // 205 Reset Content has no content either (RFC 9110 15.3.6), as Netty's encoder knows.
        boolean hasBody = !headRequest && code >= 200 && code != 204 && code != 205 && code != 304;
        boolean lengthUnknown = chunkedFromProvider || !head.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
                || meter.rewritesBody();
        if (hasBody && lengthUnknown) {
            head.headers().remove(HttpHeaderNames.CONTENT_LENGTH);
            if (agentAcceptsChunked) {
                head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            } else {
                // An HTTP/1.0 agent knows no chunks: the end of the body is the end of the connection.
                closeAgentAfterResponse = true;
            }
        }
        if (closeAgentAfterResponse) {
            head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        return head;
    }

    private static String describe(Throwable cause) {
        if (cause instanceof ConnectException) {
            return "connection refused or timed out";
        }
        if (cause instanceof UnknownHostException) {
            return "unknown host";
        }
        if (cause instanceof SSLException) {
            return "TLS handshake failed: " + cause.getMessage();
        }
        if (cause instanceof ClosedChannelException) {
            return "connection closed";
        }
        String message = cause.getMessage();
        return message == null ? cause.getClass().getSimpleName() : message;
    }
}
