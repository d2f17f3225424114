package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutorGroup;
import java.net.InetSocketAddress;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HostLookupsTest {

    private final EventLoopGroup loops = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final EventExecutorGroup threads = new DefaultEventExecutorGroup(1, new DefaultThreadFactory("test-lookup"));

    @AfterEach
    void stop() {
        loops.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).syncUninterruptibly();
        threads.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).syncUninterruptibly();
    }

    /**
     * The lookup waits on a lookup thread: with that thread busy, resolve() returns at once, unanswered,
     * and the answer comes when the thread is free, to the loop that asked. Netty's default resolver
     * would look the name up inside resolve(), on the caller's thread.
     */
    @Test
    void aHostNameIsLookedUpOnALookupThreadAndAnsweredOnTheLoop() throws Exception {
        CountDownLatch lookupThreadBusy = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        threads.next().execute(() -> {
            lookupThreadBusy.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(lookupThreadBusy.await(10, TimeUnit.SECONDS)).isTrue();
        EventLoop loop = loops.next();
        AtomicReference<String> answeredOn = new AtomicReference<>();

        Future<InetSocketAddress> resolved = loop.submit(
                () -> new HostLookups(threads).getResolver(loop).resolve(HostLookups.address("localhost", 5432))
                        .addListener(done -> answeredOn.set(Thread.currentThread().getName())))
                .get(10, TimeUnit.SECONDS);

        assertThat(resolved.isDone()).as("answered while the lookup thread is busy").isFalse();
        release.countDown();
        InetSocketAddress address = resolved.get(10, TimeUnit.SECONDS);
        assertThat(address.isUnresolved()).isFalse();
        assertThat(address.getAddress().isLoopbackAddress()).isTrue();
        assertThat(address.getPort()).isEqualTo(5432);
        await().untilAsserted(() -> assertThat(answeredOn.get()).isNotNull().doesNotStartWith("test-lookup"));
    }

    @Test
    void anIpLiteralNeedsNoLookupAndANameIsLeftForTheLookupThreads() {
        assertThat(HostLookups.address("127.0.0.1", 5432).isUnresolved()).isFalse();
        assertThat(HostLookups.address("::1", 5432).isUnresolved()).isFalse();
        assertThat(HostLookups.address("::1", 5432).getAddress().isLoopbackAddress()).isTrue();
        assertThat(HostLookups.address("db-blue.internal", 5432).isUnresolved()).isTrue();
        assertThat(HostLookups.address("db-blue.internal", 5432).getHostString()).isEqualTo("db-blue.internal");
        assertThat(HostLookups.address("fe80::1%lo", 5432).isUnresolved()).as("a zone only the system resolver keeps").isTrue();
    }
}
