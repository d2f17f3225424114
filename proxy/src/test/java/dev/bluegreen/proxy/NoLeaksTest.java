package dev.bluegreen.proxy;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The leak check can fail: a buffer dropped without release is reported. */
class NoLeaksTest {

    @Test
    void aBufferDroppedWithoutReleaseFailsTheCheck() {
        leakOne();

        // references are enqueued by the JVM after the collection, so the report may take a pass or two
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThatThrownBy(() -> NoLeaks.check("a deliberate leak"))
                        .isInstanceOf(AssertionError.class)
                        .hasMessageContaining("leak"));
    }

    @Test
    void releasedBuffersPassTheCheck() {
        ByteBuf buffer = PooledByteBufAllocator.DEFAULT.directBuffer(32).writeInt(1);
        buffer.release();

        NoLeaks.check("a released buffer");
    }

    private static void leakOne() {
        ByteBuf leaked = PooledByteBufAllocator.DEFAULT.directBuffer(32);
        leaked.writeLong(42); // touched, then dropped without release
    }
}
