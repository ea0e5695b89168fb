package dev.tollgate.proxy.server;

import dev.tollgate.proxy.http.ErrorResponse;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpUtil;
import java.util.concurrent.TimeUnit;

/**
 * Reads each request body whole, up to {@code limits.max_request_bytes}, and answers anything larger
 * with the SPEC's {@code 413 request_too_large} body instead of Netty's empty one.
 *
 * <p>After a 413 the connection is closed the way httpd does it ("lingering close"): the response is
 * sent, our side of the socket is shut for writing, and the rest of the body is read and discarded for a
 * short while. Closing outright while the agent is still sending would make the kernel answer with a
 * reset that can destroy the 413 before the agent reads it.
 */
final class RequestSizeLimiter extends HttpObjectAggregator {

    private static final long LINGER_SECONDS = 5;

    private final int maxRequestBytes;

    RequestSizeLimiter(int maxRequestBytes) {
        super(maxRequestBytes);
        this.maxRequestBytes = maxRequestBytes;
    }

    @Override
    protected Object newContinueResponse(HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
        if (HttpUtil.is100ContinueExpected(start) && HttpUtil.getContentLength(start, -1L) > maxContentLength) {
            // The agent asked first; it will not send the body, so the connection can stay open.
            return ErrorResponse.requestTooLarge(maxRequestBytes).toHttpResponse(pipeline.channel().alloc(), true);
        }
        return super.newContinueResponse(start, maxContentLength, pipeline);
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
        var response = ErrorResponse.requestTooLarge(maxRequestBytes).toHttpResponse(ctx.alloc(), false);
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(response).addListener((ChannelFutureListener) written -> lingeringClose(written.channel()));
    }

    static void lingeringClose(Channel channel) {
        if (channel instanceof DuplexChannel duplex && channel.isActive()) {
            duplex.shutdownOutput();
            channel.eventLoop().schedule(() -> channel.close(), LINGER_SECONDS, TimeUnit.SECONDS);
        } else {
            channel.close();
        }
    }
}
