package dev.bluegreen.proxy;

import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class whose code leaked a Netty buffer. After the class, the collector runs until a
 * canary object is gone (so unreachable buffers have been found too) and Netty's detector is nudged
 * (it looks for leaks whenever it tracks a new allocation); whatever {@link LeakRecorder} heard is
 * the verdict. A leak the collector has not reclaimed yet can still escape; any leak found fails.
 */
public final class NoLeaks implements AfterAllCallback {

    @Override
    public void afterAll(ExtensionContext context) {
        check(context.getDisplayName());
    }

    static void check(String after) {
        for (int round = 0; round < 2; round++) {
            WeakReference<Object> canary = new WeakReference<>(new Object());
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                System.gc();
                return canary.get() == null;
            });
            for (int i = 0; i < 64; i++) {
                ByteBuf pooled = PooledByteBufAllocator.DEFAULT.directBuffer(16);
                ByteBuf unpooled = UnpooledByteBufAllocator.DEFAULT.heapBuffer(16);
                pooled.release();
                unpooled.release();
            }
        }
        List<String> leaks = LeakRecorder.drain();
        if (!leaks.isEmpty()) {
            throw new AssertionError(leaks.size() + " Netty buffer leak(s) after " + after + ":\n"
                    + String.join("\n---\n", leaks));
        }
    }
}
