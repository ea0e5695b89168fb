package dev.tollgate.pricing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ByteWordsTest {

    private static int naiveIndexOf(byte[] bytes, int from, int to, byte value) {
        for (int i = from; i < to; i++) {
            if (bytes[i] == value) {
                return i;
            }
        }
        return -1;
    }

    /** Every byte value, at every offset and word alignment, among neighbours that differ by one bit or borrow. */
    @Test
    void findsTheFirstOccurrenceLikeAByteLoop() {
        Random random = new Random(42);
        for (int round = 0; round < 20_000; round++) {
            byte value = (byte) random.nextInt(256);
            byte[] bytes = new byte[1 + random.nextInt(40)];
            for (int i = 0; i < bytes.length; i++) {
                int pick = random.nextInt(6);
                bytes[i] = (byte) switch (pick) {
                    case 0 -> value;
                    case 1 -> value + 1;
                    case 2 -> value - 1;
                    case 3 -> value ^ 0x80;
                    case 4 -> 0;
                    default -> random.nextInt(256);
                };
            }
            int from = random.nextInt(bytes.length);
            int to = from + random.nextInt(bytes.length - from + 1);
            assertThat(ByteWords.indexOf(bytes, from, to, value))
                    .as("%s in %s [%d, %d)", value, java.util.HexFormat.of().formatHex(bytes), from, to)
                    .isEqualTo(naiveIndexOf(bytes, from, to, value));
        }
    }

    @Test
    void zeroBytesIsNonzeroExactlyWhenAByteIsZero() {
        Random random = new Random(7);
        for (int round = 0; round < 100_000; round++) {
            long word = random.nextLong();
            if (random.nextBoolean()) {
                word &= ~(0xFFL << (8 * random.nextInt(8)));
            }
            boolean hasZero = false;
            for (int i = 0; i < 8; i++) {
                hasZero |= (word >>> (8 * i) & 0xFF) == 0;
            }
            assertThat(ByteWords.zeroBytes(word) != 0).as(Long.toHexString(word)).isEqualTo(hasZero);
        }
    }
}
