package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.resolver.AddressResolver;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutorGroup;
import java.net.InetSocketAddress;
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

    @Test
    void aHostNameIsLookedUpOnTheLookupThreadsNotOnTheEventLoop() throws Exception {
        AddressResolver<InetSocketAddress> resolver = new HostLookups(threads).getResolver(loops.next());
        AtomicReference<String> answeredOn = new AtomicReference<>();

        InetSocketAddress resolved = resolver.resolve(HostLookups.address("localhost", 5432))
                .addListener(done -> answeredOn.set(Thread.currentThread().getName()))
                .get(10, TimeUnit.SECONDS);

        assertThat(resolved.isUnresolved()).isFalse();
        assertThat(resolved.getAddress().isLoopbackAddress()).isTrue();
        assertThat(resolved.getPort()).isEqualTo(5432);
        // the answer comes from the thread that waited for it; Netty's default waits on the loop itself
        await().untilAsserted(() -> assertThat(answeredOn.get()).startsWith("test-lookup"));
    }

    @Test
    void anIpLiteralNeedsNoLookupAndANameIsLeftForTheLookupThreads() {
        assertThat(HostLookups.address("127.0.0.1", 5432).isUnresolved()).isFalse();
        assertThat(HostLookups.address("::1", 5432).isUnresolved()).isFalse();
        assertThat(HostLookups.address("::1", 5432).getAddress().isLoopbackAddress()).isTrue();
        assertThat(HostLookups.address("db-blue.internal", 5432).isUnresolved()).isTrue();
        assertThat(HostLookups.address("db-blue.internal", 5432).getHostString()).isEqualTo("db-blue.internal");
    }
}
