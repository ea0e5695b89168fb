package dev.tollgate.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link Utf8} must decide exactly as Netty's {@link ByteBufUtil#isText}, which it replaces on the hot path. */
class Utf8Test {

    private static final ByteBufAllocator POOLED = PooledByteBufAllocator.DEFAULT;

    @Test
    void everySequenceOfOneOrTwoBytesIsJudgedAsNettyJudgesIt() {
        byte[] bytes = new byte[2];
        for (int b0 = 0; b0 < 256; b0++) {
            assertSameVerdict(new byte[] {(byte) b0});
            for (int b1 = 0; b1 < 256; b1++) {
                bytes[0] = (byte) b0;
                bytes[1] = (byte) b1;
                assertSameVerdict(bytes);
            }
        }
    }

    /** Every three-byte sequence led by a byte of a multi-byte form, where the overlong and surrogate rules live. */
    @Test
    void everyThreeByteSequenceAfterALeadByteIsJudgedAsNettyJudgesIt() {
        byte[] bytes = new byte[3];
        ByteBuf wrapped = Unpooled.wrappedBuffer(bytes);
        for (int b0 = 0xC0; b0 < 256; b0++) {
            for (int b1 = 0; b1 < 256; b1++) {
                for (int b2 = 0; b2 < 256; b2++) {
                    bytes[0] = (byte) b0;
                    bytes[1] = (byte) b1;
                    bytes[2] = (byte) b2;
                    wrapped.setIndex(0, 3);
                    if (Utf8.isWellFormed(wrapped) != ByteBufUtil.isText(wrapped, StandardCharsets.UTF_8)) {
                        assertSameVerdict(bytes.clone());  // fails with the bytes in its message
                    }
                }
            }
        }
    }

    @Test
    void fourByteFormsAtTheEdgesOfTheirRanges() {
        int[][] cases = {
            {0xF0, 0x90, 0x80, 0x80}, {0xF0, 0x8F, 0xBF, 0xBF}, {0xF4, 0x8F, 0xBF, 0xBF}, {0xF4, 0x90, 0x80, 0x80},
            {0xF5, 0x80, 0x80, 0x80}, {0xF3, 0xBF, 0xBF, 0xBF}, {0xF0, 0x9F, 0x98, 0x80}, {0xF0, 0x9F, 0x98, 0x7F},
            {0xF0, 0x9F, 0x98}, {0xED, 0x9F, 0xBF}, {0xED, 0xA0, 0x80}, {0xE0, 0x9F, 0xBF}, {0xE0, 0xA0, 0x80},
        };
        for (int[] c : cases) {
            byte[] bytes = new byte[c.length];
            for (int i = 0; i < c.length; i++) {
                bytes[i] = (byte) c[i];
            }
            assertSameVerdict(bytes);
        }
    }

    /**
     * Prompts as agents send them (long ASCII runs, then accents, CJK and emoji) with a byte changed now and
     * then, in direct, heap and composite buffers cut at random places, through multi-byte sequences too.
     */
    @Test
    void randomTextInEveryKindOfBufferIsJudgedAsNettyJudgesIt() {
        Random random = new Random(20261207);
        String[] pieces = {"Summarise the open tickets. ", "naïve café ", "東京の天気 ", "🙂 ", "{\"role\":\"user\"} ", "\n", "x"};
        int wellFormed = 0;
        for (int round = 0; round < 3_000; round++) {
            StringBuilder text = new StringBuilder();
            int n = random.nextInt(40);
            for (int i = 0; i < n; i++) {
                text.append(pieces[random.nextInt(pieces.length)]);
            }
            byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
            if (bytes.length > 0 && random.nextInt(3) == 0) {
                bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
            }
            boolean expected = ByteBufUtil.isText(Unpooled.wrappedBuffer(bytes), StandardCharsets.UTF_8);
            wellFormed += expected ? 1 : 0;
            assertThat(Utf8.isWellFormed(Unpooled.wrappedBuffer(bytes))).as("heap, round %d", round).isEqualTo(expected);
            ByteBuf direct = POOLED.directBuffer(bytes.length).writeBytes(bytes);
            // An offset reader index, as a buffer read part way has.
            ByteBuf offset = POOLED.directBuffer(bytes.length + 3).writeBytes(new byte[] {(byte) 0xFF, 1, 2}).writeBytes(bytes);
            offset.skipBytes(3);
            CompositeByteBuf composite = POOLED.compositeDirectBuffer(Integer.MAX_VALUE);  // never consolidated
            int at = 0;
            while (at < bytes.length) {
                int length = Math.min(bytes.length - at, 1 + random.nextInt(12));
                composite.addComponent(true, POOLED.directBuffer(length).writeBytes(bytes, at, length));
                at += length;
            }
            try {
                assertThat(Utf8.isWellFormed(direct)).as("direct, round %d", round).isEqualTo(expected);
                assertThat(Utf8.isWellFormed(offset)).as("offset, round %d", round).isEqualTo(expected);
                assertThat(Utf8.isWellFormed(composite)).as("composite, round %d", round).isEqualTo(expected);
                assertThat(direct.readerIndex()).as("nothing is consumed").isZero();
                assertThat(offset.readerIndex()).isEqualTo(3);
                assertThat(composite.readerIndex()).isZero();
            } finally {
                direct.release();
                offset.release();
                composite.release();
            }
        }
        assertThat(wellFormed).as("both verdicts are exercised").isBetween(750, 2_850);
    }

    /** Views that start part way into their memory, read-only ones, and words read in either byte order. */
    @Test
    void viewsOfAnyPositionAndByteOrderAreJudgedAsNettyJudgesThem() {
        byte[] text = "xx Summarise the tickets, caf\u00e9 \u6771\u4eac \ud83d\ude42 and more plain text after it"
                .getBytes(StandardCharsets.UTF_8);
        for (int cut = 0; cut < text.length; cut++) {
            byte[] broken = text.clone();
            broken[cut] = (byte) 0xC0;  // never valid anywhere
            for (byte[] bytes : new byte[][] {text, broken}) {
                java.nio.ByteBuffer view = java.nio.ByteBuffer.wrap(bytes, 2, bytes.length - 2).slice();
                boolean expected = ByteBufUtil.isText(Unpooled.wrappedBuffer(view.duplicate()), StandardCharsets.UTF_8);
                assertThat(Utf8.isWellFormed(Unpooled.wrappedBuffer(view.duplicate()))).isEqualTo(expected);
                assertThat(Utf8.isWellFormed(Unpooled.wrappedBuffer(view.asReadOnlyBuffer()))).isEqualTo(expected);
                // Netty's views are big-endian; one in the other order reads its words from the other end.
                java.nio.ByteBuffer little = view.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
                assertThat(Utf8.scan(little, 0) == 0).as("little-endian, cut %d", cut).isEqualTo(expected);
                assertThat(little.order()).as("the view's order is left as it was").isEqualTo(java.nio.ByteOrder.LITTLE_ENDIAN);
                assertThat(expected).isEqualTo(bytes == text || cut < 2);
            }
        }
    }

    @Test
    void anEmptyBufferIsWellFormed() {
        assertThat(Utf8.isWellFormed(Unpooled.EMPTY_BUFFER)).isTrue();
        CompositeByteBuf composite = POOLED.compositeDirectBuffer();
        try {
            assertThat(Utf8.isWellFormed(composite)).isTrue();
        } finally {
            composite.release();
        }
    }

    private static void assertSameVerdict(byte[] bytes) {
        ByteBuf buffer = Unpooled.wrappedBuffer(bytes);
        assertThat(Utf8.isWellFormed(buffer)).as("bytes %s", ByteBufUtil.hexDump(bytes))
                .isEqualTo(ByteBufUtil.isText(buffer, StandardCharsets.UTF_8));
    }
}
