package dev.tollgate.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Chunks framed in their own buffers read back, byte for byte, through Netty's own HTTP decoder. */
class ChunkFramesTest {

    /** Lengths whose size lines take one to six hex digits, each at the edges where one more digit is needed. */
    private static final int[] LENGTHS = {1, 9, 15, 16, 255, 256, 4095, 4096, 65_535, 65_536, 1 << 20, (1 << 20) + 7};

    @Test
    void framedChunksDecodeToTheirDataInOrder() {
        ByteBuf wire = Unpooled.buffer();
        wire.writeCharSequence("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", StandardCharsets.US_ASCII);
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        for (int i = 0; i < LENGTHS.length; i++) {
            // Allocated small, so that the larger chunks grow their buffer as a gathered read does.
            ByteBuf chunk = ChunkFrames.allocate(ByteBufAllocator.DEFAULT, 16);
            byte[] data = pattern(LENGTHS[i], i);
            chunk.writeBytes(data);
            expected.writeBytes(data);
            ByteBuf framed = ChunkFrames.frame(chunk);
            String sizeLine = Integer.toHexString(LENGTHS[i]) + "\r\n";
            assertThat(framed.toString(framed.readerIndex(), sizeLine.length(), StandardCharsets.US_ASCII)).isEqualTo(sizeLine);
            assertThat(framed.readableBytes()).isEqualTo(sizeLine.length() + LENGTHS[i] + 2);
            wire.writeBytes(framed);
            framed.release();
        }
        wire.writeCharSequence("0\r\n\r\n", StandardCharsets.US_ASCII);

        assertThat(decodedBody(wire)).isEqualTo(expected.toByteArray());
    }

    @Test
    void anEmptyChunkIsRefusedBecauseItWouldEndTheBody() {
        ByteBuf chunk = ChunkFrames.allocate(ByteBufAllocator.DEFAULT, 16);
        try {
            assertThatThrownBy(() -> ChunkFrames.frame(chunk)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("end the body");
        } finally {
            chunk.release();
        }
    }

    @Test
    void aBufferWithoutTheHeadroomIsRefused() {
        ByteBuf chunk = Unpooled.buffer(64).writeBytes(pattern(20, 0));
        try {
            assertThatThrownBy(() -> ChunkFrames.frame(chunk)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("no room");
        } finally {
            chunk.release();
        }
    }

    /** The body Netty's response decoder reads from {@code wire}, which must hold one whole response. */
    private static byte[] decodedBody(ByteBuf wire) {
        EmbeddedChannel client = new EmbeddedChannel(new HttpResponseDecoder());
        client.writeInbound(wire);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        boolean ended = false;
        HttpObject message;
        while ((message = client.readInbound()) != null) {
            assertThat(message.decoderResult().isSuccess()).as("decoded without error: %s", message.decoderResult()).isTrue();
            assertThat(ended).as("nothing after the last chunk").isFalse();
            if (message instanceof HttpResponse response) {
                assertThat(response.status().code()).isEqualTo(200);
            }
            if (message instanceof HttpContent content) {
                byte[] bytes = new byte[content.content().readableBytes()];
                content.content().readBytes(bytes);
                body.writeBytes(bytes);
                ended = content instanceof LastHttpContent;
                content.release();
            }
        }
        assertThat(ended).as("the body ended with the zero-size chunk").isTrue();
        assertThat(client.finish()).isFalse();
        return body.toByteArray();
    }

    /** {@code length} bytes that differ from chunk to chunk, CR and LF among them, so a misplaced frame shows. */
    private static byte[] pattern(int length, int seed) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) ((i * 31 + seed * 7) % 251);
        }
        return bytes;
    }
}
