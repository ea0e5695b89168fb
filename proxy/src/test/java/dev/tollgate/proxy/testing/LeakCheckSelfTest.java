package dev.tollgate.proxy.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;

/** Proves the leak check can fail: a buffer dropped without release is reported. */
class LeakCheckSelfTest {

    @Test
    void anUnreleasedBufferIsReported() throws InterruptedException {
        leakOneBuffer();

        var leaks = NettyLeakCheck.collect();

        assertThat(leaks).isNotEmpty();
        assertThat(leaks.get(0)).startsWith("LEAK of ByteBuf");
    }

    private static void leakOneBuffer() {
        ByteBuf leaked = ByteBufAllocator.DEFAULT.directBuffer(64);
        leaked.writeLong(42);
    }
}
