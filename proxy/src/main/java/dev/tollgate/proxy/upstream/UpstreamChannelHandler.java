package dev.tollgate.proxy.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler of a provider connection (or of an HTTP/2 stream). It hands what the provider sends to
 * the exchange that currently owns the connection; while the connection sits in the pool, anything but a
 * close is unexpected and closes it.
 */
final class UpstreamChannelHandler extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(UpstreamChannelHandler.class);

    private UpstreamExchange exchange;
    private int exchanges;
    private boolean endedByProvider;

    static UpstreamChannelHandler of(Channel channel) {
        return (UpstreamChannelHandler) channel.pipeline().get("relay");
    }

    void attach(UpstreamExchange owner) {
        this.exchange = owner;
        exchanges++;
    }

    /** True once the provider reset this HTTP/2 stream or refused it by GOAWAY: Netty closes it itself. */
    boolean endedByProvider() {
        return endedByProvider;
    }

    /**
     * Marks the stream as ended by the provider, and keeps Netty from resetting it back: closing the stream
     * fails the request body still waiting for flow-control window, and a stream channel that closes itself
     * on a failed write sends {@code RST_STREAM CANCEL} for it, which answers a reset with a reset
     * (RFC 9113 5.4.2 forbids it) and counts against us with providers that limit client resets. Without
     * auto-close the channel still closes when Netty closes the stream, without a frame.
     */
    private void markEndedByProvider(ChannelHandlerContext ctx) {
        endedByProvider = true;
        ctx.channel().config().setAutoClose(false);
    }

    /** Exchanges this connection carried before the current one: above zero, it was kept alive and reused. */
    int earlierExchanges() {
        return exchanges - 1;
    }

    void detach() {
        this.exchange = null;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (exchange != null) {
            exchange.onUpstreamMessage(msg);
        } else {
            ReferenceCountUtil.release(msg);
            log.debug("provider sent data on an idle pooled connection {}; closing it", ctx.channel());
            ctx.close();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (exchange != null) {
            exchange.onUpstreamReadComplete();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (exchange != null) {
            exchange.onUpstreamFault(new IOException("the provider closed the connection"));
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (exchange != null) {
            exchange.onUpstreamFault(cause);
        } else {
            log.debug("error on idle provider connection {}: {}", ctx.channel(), cause.toString());
        }
        ctx.close();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof Http2ResetFrame reset) {
            // An HTTP/2 stream the provider reset; the stream's close follows, but this says why.
            markEndedByProvider(ctx);
            if (exchange != null) {
                Http2Error error = Http2Error.valueOf(reset.errorCode());
                String why = "the provider reset the stream (" + (error != null ? error : "error " + reset.errorCode()) + ")";
                exchange.onUpstreamFault(error == Http2Error.REFUSED_STREAM ? new StreamRefusedException(why) : new IOException(why));
            }
        } else if (evt instanceof Http2GoAwayFrame goAway) {
            // Delivered to the streams past the GOAWAY's last stream id: the provider will not process them.
            goAway.release();
            markEndedByProvider(ctx);
            if (exchange != null) {
                exchange.onUpstreamFault(new StreamRefusedException("the provider is going away (GOAWAY) and did not take the stream"));
            }
        } else if (!(evt instanceof IdleStateEvent idle)) {
            ctx.fireUserEventTriggered(evt);
        } else if (exchange == null) {
            // Only idle pooled connections expire this way; a call may wait minutes for a reasoning model.
            if (idle.state() == IdleState.ALL_IDLE) {
                ctx.close();
            }
        } else if (idle.state() == IdleState.READER_IDLE) {
            exchange.onUpstreamStalled();
        }
    }
}
