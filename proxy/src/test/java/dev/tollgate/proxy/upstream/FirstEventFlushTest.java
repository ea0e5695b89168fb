package dev.tollgate.proxy.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tollgate.config.IdentityConfig;
import dev.tollgate.config.UnknownModelPolicy;
import dev.tollgate.config.UpstreamConfig;
import dev.tollgate.pricing.PriceTable;
import dev.tollgate.pricing.TokenCounter;
import dev.tollgate.pricing.Usage;
import dev.tollgate.pricing.UsageSource;
import dev.tollgate.proxy.metering.CallMeter;
import dev.tollgate.proxy.metering.CallRecord;
import dev.tollgate.proxy.metering.Metering;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A stream's first event leaves for the agent as soon as it is read, with the head, not when the read that
 * brought it ends: a provider that sends its first events in one burst must not hold the first token back
 * while the rest of the burst is metered and rewritten. Later events, and every piece of a response that is
 * not a stream, are still gathered and flushed once per read.
 *
 * <p>Embedded channels stand in for the two sockets because only they can deliver several reads' worth of
 * pieces and then end the read on cue; a real socket decides for itself where one read ends.
 */
class FirstEventFlushTest {

    private static final String FIRST = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"first\"}}]}\n\n";
    private static final String SECOND = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"second\"}}]}\n\n";
    private static final String DONE = "data: [DONE]\n\n";
    /** No stream_options: Tollgate asks for usage itself and takes it out of the events again (a rewrite). */
    private static final String REWRITTEN = "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[]}";
    /** The agent asked for usage itself: the events pass unchanged, read by the meter after each flush. */
    private static final String RELAYED =
            "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[]}";

    private final EmbeddedChannel agent = new EmbeddedChannel();
    private final EmbeddedChannel provider = new EmbeddedChannel();
    private final List<CallRecord> recorded = new CopyOnWriteArrayList<>();
    private final Metering metering = new Metering(PriceTable.bundled(), new TokenCounter(), UnknownModelPolicy.ALLOW,
            recorded::add, Clock.systemUTC());
    private UpstreamExchange exchange;

    @AfterEach
    void closeChannels() {
        if (exchange != null) {
            // The agent leaves mid-response (a no-op once it ended): the exchange frees what it still holds.
            exchange.onAgentGone();
        }
        // Counting ends before the record it posts to the agent's loop is run there, on this thread.
        metering.close();
        agent.runPendingTasks();
        agent.finishAndReleaseAll();
        provider.finishAndReleaseAll();
    }

    @Test
    void aRewrittenStreamsFirstEventIsFlushedBeforeTheReadEnds() {
        assertFirstLeavesBeforeItsReadEnds(REWRITTEN, FIRST);
    }

    @Test
    void aRelayedStreamsFirstEventIsFlushedBeforeTheReadEnds() {
        assertFirstLeavesBeforeItsReadEnds(RELAYED, FIRST);
    }

    @Test
    void aRewrittenStreamsFirstPieceThatEndsNoEventWaitsForTheRestOfIt() {
        startExchange(REWRITTEN);
        int half = FIRST.length() / 2;

        readWithoutEnd(streamHead(), event(FIRST.substring(0, half)));

        assertThat(flushedToAgent()).as("half an event, which a rewrite cannot pass on yet").isEmpty();

        readWithoutEnd(event(FIRST.substring(half)), event(SECOND));

        assertThat(flushedToAgent()).containsExactly("head", FIRST);
    }

    @Test
    void aRewrittenStreamWholeInOneReadReachesTheAgentWithoutTheUsageItDidNotAskFor() {
        startExchange(REWRITTEN);
        String usage = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":2,\"total_tokens\":13}}\n\n";

        readWithoutEnd(streamHead(), event(FIRST), event(SECOND), event(usage), event(DONE), LastHttpContent.EMPTY_LAST_CONTENT);

        assertThat(flushedToAgent()).containsExactly("head", FIRST, SECOND + DONE);
        CallRecord call = onlyRecord();
        assertThat(call.usageSource()).isEqualTo(UsageSource.REPORTED);
        assertThat(call.usage()).isEqualTo(new Usage(11, 0, 2, 0));
    }

    @Test
    void aRewrittenStreamsEventsAreMeteredOnceEachAroundTheEarlyFlush() {
        assertOutputCountedOnce(REWRITTEN);
    }

    @Test
    void aRelayedStreamsEventsAreMeteredOnceEachAroundTheEarlyFlush() {
        assertOutputCountedOnce(RELAYED);
    }

    /**
     * A whole stream in one read, without usage from the provider: its output is counted from the text the
     * meter read, so an event read twice or missed after the early flush would change the count.
     */
    private void assertOutputCountedOnce(String request) {
        startExchange(request);

        readWithoutEnd(streamHead(), event(FIRST), event(SECOND), event(DONE), LastHttpContent.EMPTY_LAST_CONTENT);

        assertThat(flushedToAgent()).containsExactly("head", FIRST, SECOND + DONE);
        metering.close();                   // waits for the counting thread, which posts the record to the loop
        CallRecord call = onlyRecord();
        assertThat(call.usageSource()).isEqualTo(UsageSource.COUNTED);
        assertThat(call.usage().outputTokens()).isEqualTo(new TokenCounter().countText("gpt-4o", "first" + "second"))
                .isPositive();
    }

    @Test
    void aFirstPieceTooLargeToGatherIsFlushedBeforeTheReadEndsToo() {
        // 20 KiB, above the 16 KiB that are gathered: such a piece is written as it is, not copied.
        String large = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + "x".repeat(20 * 1024) + "\"}}]}\n\n";
        assertFirstLeavesBeforeItsReadEnds(RELAYED, large);
    }

    /** One read brings the head, {@code first} and a second event: the head and {@code first} leave before it ends. */
    private void assertFirstLeavesBeforeItsReadEnds(String request, String first) {
        startExchange(request);

        readWithoutEnd(streamHead(), event(first), event(SECOND));

        assertThat(flushedToAgent()).as("before the read ends: the head and the first event")
                .containsExactly("head", first);

        provider.pipeline().fireChannelReadComplete();

        assertThat(flushedToAgent()).as("the rest of the read, once it ends").containsExactly(SECOND);
    }

    @Test
    void onlyTheFirstEventLeavesEarlyLaterReadsAreFlushedWhenTheyEnd() {
        startExchange(REWRITTEN);
        readWithoutEnd(streamHead(), event(FIRST));
        provider.pipeline().fireChannelReadComplete();
        assertThat(flushedToAgent()).containsExactly("head", FIRST);

        readWithoutEnd(event(SECOND), event(SECOND));

        assertThat(flushedToAgent()).as("a later read's events wait for its end, to leave as one chunk").isEmpty();

        provider.pipeline().fireChannelReadComplete();

        assertThat(flushedToAgent()).containsExactly(SECOND + SECOND);
    }

    @Test
    void aResponseThatIsNotAStreamIsFlushedOnlyWhenTheReadEnds() {
        startExchange("{\"model\":\"gpt-4o\",\"messages\":[]}");
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, "chunked");

        readWithoutEnd(head, event("{\"id\":\"chatcmpl-1\","), event("\"object\":\"chat.completion\""));

        assertThat(flushedToAgent()).as("a JSON body's pieces are gathered until the read ends").isEmpty();

        provider.pipeline().fireChannelReadComplete();

        assertThat(flushedToAgent()).containsExactly("head", "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\"");
    }

    /**
     * With the agent's HTTP codec in place, as on a real connection, gathered chunks are framed in their own
     * buffers and written past its encoder, while the head, a piece too large to gather and the end of the body
     * still go through it: what reaches the socket must read back, through Netty's client decoder, as one
     * well-formed chunked response with every event in order, and each gathered chunk must have left as one
     * buffer (through the encoder it would be three: size line, data, CRLF).
     */
    @Test
    void aRelayedStreamsChunksFramedPastTheEncoderAndThoseItFramesMakeOneWellFormedBody() {
        assertWellFormedOnTheWire(RELAYED, "");
    }

    /** The same for a stream being rewritten, whose events are written into the framed buffer by the meter. */
    @Test
    void aRewrittenStreamsChunksFramedPastTheEncoderAndThoseItFramesMakeOneWellFormedBody() {
        assertWellFormedOnTheWire(REWRITTEN,
                "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":2,\"total_tokens\":13}}\n\n");
    }

    /** Three reads, the second with a piece too large to gather between two that are gathered; {@code usage} before [DONE]. */
    private void assertWellFormedOnTheWire(String request, String usage) {
        agent.pipeline().addLast("http", new HttpServerCodec());
        startExchange(request);
        String large = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + "y".repeat(20 * 1024) + "\"}}]}\n\n";

        readWithoutEnd(streamHead(), event(FIRST), event(SECOND));
        provider.pipeline().fireChannelReadComplete();
        readWithoutEnd(event(SECOND), event(large), event(FIRST));
        provider.pipeline().fireChannelReadComplete();
        readWithoutEnd(event(usage + DONE), LastHttpContent.EMPTY_LAST_CONTENT);
        provider.pipeline().fireChannelReadComplete();

        List<String> buffers = buffersOnTheAgentsWire();
        for (String gathered : List.of(FIRST, SECOND, DONE)) {
            assertThat(buffers).as("the gathered chunk of %s left as one framed buffer", gathered.strip())
                    .contains(Integer.toHexString(gathered.length()) + "\r\n" + gathered + "\r\n");
        }
        String wire = String.join("", buffers);
        assertThat(wire).startsWith("HTTP/1.1 200 OK\r\n").containsIgnoringCase("\r\ntransfer-encoding: chunked\r\n");
        EmbeddedChannel reader = new EmbeddedChannel(new HttpClientCodec(), new HttpObjectAggregator(1 << 20));
        reader.writeInbound(Unpooled.copiedBuffer(wire, StandardCharsets.UTF_8));
        FullHttpResponse response = reader.readInbound();
        try {
            assertThat(response.decoderResult().isSuccess()).as("%s", response.decoderResult()).isTrue();
            assertThat(response.content().toString(StandardCharsets.UTF_8))
                    .as("every event in order, and no usage the agent did not ask for")
                    .isEqualTo(FIRST + SECOND + SECOND + large + FIRST + DONE);
        } finally {
            response.release();
        }
        assertThat((Object) reader.readInbound()).as("nothing after the response").isNull();
        reader.finishAndReleaseAll();
    }

    /**
     * A 205 has no content (RFC 9110), and Netty's encoder writes its head with Content-Length: 0 whatever the
     * provider sent: a body the provider sends anyway must not follow that head on the agent's connection,
     * where the agent would read it as the start of its next response.
     */
    @Test
    void aResetContentAnswersBodyNeverReachesTheAgentsConnection() {
        agent.pipeline().addLast("http", new HttpServerCodec());
        startExchange(RELAYED);
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.RESET_CONTENT);
        head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, "chunked");

        readWithoutEnd(head, event("{\"forged\":true}"), LastHttpContent.EMPTY_LAST_CONTENT);
        provider.pipeline().fireChannelReadComplete();

        String text = String.join("", buffersOnTheAgentsWire());
        assertThat(text).startsWith("HTTP/1.1 205 Reset Content\r\n").doesNotContain("forged")
                .endsWith("\r\n\r\n");
        assertThat(text.indexOf("\r\n\r\n")).as("nothing after the head").isEqualTo(text.length() - 4);
    }

    /** With the agent's HTTP codec in place: each buffer written to the agent's socket since the last look, as text. */
    private List<String> buffersOnTheAgentsWire() {
        List<String> buffers = new ArrayList<>();
        Object bytes;
        while ((bytes = agent.readOutbound()) != null) {
            try {
                assertThat(bytes).as("the agent's codec turns everything into bytes").isInstanceOf(ByteBuf.class);
                buffers.add(((ByteBuf) bytes).toString(StandardCharsets.UTF_8));
            } finally {
                ReferenceCountUtil.release(bytes);
            }
        }
        return buffers;
    }

    /** An exchange for a chat call with {@code body}, already sent to the provider channel. */
    private UpstreamExchange startExchange(String body) {
        provider.pipeline().addLast("relay", new UpstreamChannelHandler());
        CallMeter meter = CallMeter.start(metering, "first-event", null, "/v1/chat/completions", HttpMethod.POST);
        FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions",
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        request.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        assertThat(meter.inspect(request)).isEmpty();
        exchange = new UpstreamExchange(agent, meter.request(), "first-event", new OneChannel(provider),
                new ProviderRequests(UpstreamConfig.DEFAULTS, IdentityConfig.DEFAULTS), 60_000, meter, finished -> { });
        exchange.start();
        Object sent = provider.readOutbound();
        assertThat(sent).as("the call went out to the provider").isInstanceOf(FullHttpRequest.class);
        ReferenceCountUtil.release(sent);
        return exchange;
    }

    /**
     * Delivers {@code pieces} as one read from the provider that has not ended yet ({@code writeInbound}
     * would end it at once).
     */
    private void readWithoutEnd(Object... pieces) {
        for (Object piece : pieces) {
            provider.pipeline().fireChannelRead(piece);
        }
    }

    private static HttpResponse streamHead() {
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, "chunked");
        return head;
    }

    private static HttpContent event(String text) {
        return new DefaultHttpContent(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
    }

    /** The one call recorded so far, once the agent's loop ran the task that publishes it. */
    private CallRecord onlyRecord() {
        agent.runPendingTasks();
        assertThat(recorded).hasSize(1);
        CallRecord call = recorded.get(0);
        assertThat(call.status()).isEqualTo(200);
        assertThat(call.streamed()).isTrue();
        return call;
    }

    /** What reached the agent's socket since the last look: "head" for a response head, else a chunk's text. */
    private List<String> flushedToAgent() {
        List<String> flushed = new ArrayList<>();
        Object message;
        while ((message = agent.readOutbound()) != null) {
            try {
                if (message instanceof HttpResponse) {
                    flushed.add("head");
                }
                if (message instanceof HttpContent content && !(content instanceof LastHttpContent && !content.content().isReadable())) {
                    flushed.add(content.content().toString(StandardCharsets.UTF_8));
                }
            } finally {
                ReferenceCountUtil.release(message);
            }
        }
        return flushed;
    }

    /** The provider connections of one call: the embedded provider channel, handed out at once. */
    private record OneChannel(Channel channel) implements ProviderConnections {
        @Override
        public Future<Channel> acquire(EventLoop loop) {
            return loop.newSucceededFuture(channel);
        }

        @Override
        public void release(Channel released) { }

        @Override
        public void discard(Channel discarded) { }

        @Override
        public void close() { }
    }
}
