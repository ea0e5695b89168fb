package dev.tollgate.proxy.upstream;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.HttpConversionUtil;

/**
 * Removes the {@code x-http2-*} headers that Netty's HTTP/2-to-HTTP/1.1 conversion adds to a provider's
 * response (the stream id, for one): they describe Tollgate's connection to the provider, not the response,
 * and the agent must see the same headers whichever protocol carried them.
 */
final class ConversionHeaders extends ChannelInboundHandlerAdapter {

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpResponse response) {
            strip(response.headers());
        }
        if (msg instanceof LastHttpContent last) {
            strip(last.trailingHeaders());
        }
        ctx.fireChannelRead(msg);
    }

    private static void strip(HttpHeaders headers) {
        if (headers.isEmpty()) {
            return;
        }
        for (HttpConversionUtil.ExtensionHeaderNames name : HttpConversionUtil.ExtensionHeaderNames.values()) {
            headers.remove(name.text());
        }
    }
}
