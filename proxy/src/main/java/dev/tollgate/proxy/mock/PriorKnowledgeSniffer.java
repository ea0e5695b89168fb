package dev.tollgate.proxy.mock;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import java.util.List;

/**
 * Tells an HTTP/2 client with prior knowledge from an HTTP/1.1 one by the first bytes of the connection
 * (RFC 9113 3.4: HTTP/2 starts with the fixed preface {@code PRI * HTTP/2.0...}), so the fake provider
 * serves both on one port, as a provider behind a TLS terminator does by ALPN. It reads only as many
 * bytes as it needs to decide, replaces itself with the chosen protocol's handlers and hands them the
 * bytes it read.
 */
final class PriorKnowledgeSniffer extends ByteToMessageDecoder {

    private static final ByteBuf PREFACE = Http2CodecUtil.connectionPrefaceBuf();

    private final ChannelHandler http1;
    private final ChannelHandler http2;

    /** @param http1 and @param http2: handlers (usually initializers) put in this one's place for each protocol */
    PriorKnowledgeSniffer(ChannelHandler http1, ChannelHandler http2) {
        this.http1 = http1;
        this.http2 = http2;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int seen = Math.min(in.readableBytes(), PREFACE.readableBytes());
        boolean prefaceSoFar = in.slice(in.readerIndex(), seen).equals(PREFACE.slice(PREFACE.readerIndex(), seen));
        if (!prefaceSoFar) {
            ctx.pipeline().replace(this, "http1", http1);
        } else if (seen == PREFACE.readableBytes()) {
            ctx.pipeline().replace(this, "http2", http2);
        }
    }
}
