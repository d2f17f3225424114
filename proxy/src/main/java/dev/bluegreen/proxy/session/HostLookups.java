package dev.bluegreen.proxy.session;

import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.InetNameResolver;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.EventExecutorGroup;
import io.netty.util.concurrent.Promise;
import io.netty.util.internal.SocketUtils;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;

/**
 * Looks cluster host names up on threads of their own. Netty's default resolver asks the system on the
 * thread that calls it, the event loop that opens the connection, so one slow DNS answer would stall
 * every session on that loop. This keeps the system resolver (/etc/hosts, nsswitch, the JVM's cache):
 * the lookup waits on a lookup thread, and the answer comes back to the session's loop, where the
 * connect happens.
 */
public final class HostLookups extends AddressResolverGroup<InetSocketAddress> {

    private final EventExecutorGroup threads;

    /** @param threads where lookups wait; the caller shuts them down */
    public HostLookups(EventExecutorGroup threads) {
        this.threads = threads;
    }

    @Override
    protected AddressResolver<InetSocketAddress> newResolver(EventExecutor loop) {
        return new OffTheLoop(loop, threads.next()).asAddressResolver();
    }

    /** Resolves on {@code lookups}; its promises belong to {@code loop}, so their listeners run there. */
    private static final class OffTheLoop extends InetNameResolver {
        private final EventExecutor lookups;

        OffTheLoop(EventExecutor loop, EventExecutor lookups) {
            super(loop);
            this.lookups = lookups;
        }

        @Override
        protected void doResolve(String host, Promise<InetAddress> promise) {
            lookups.execute(() -> {
                try {
                    promise.trySuccess(SocketUtils.addressByName(host));
                } catch (UnknownHostException e) {
                    promise.tryFailure(e);
                }
            });
        }

        @Override
        protected void doResolveAll(String host, Promise<List<InetAddress>> promise) {
            lookups.execute(() -> {
                try {
                    promise.trySuccess(Arrays.asList(SocketUtils.allAddressesByName(host)));
                } catch (UnknownHostException e) {
                    promise.tryFailure(e);
                }
            });
        }
    }

    /**
     * The address to connect to: an IP literal as it is, so that the common case needs no lookup and
     * no hop to another thread, and a name (or a literal with an IPv6 zone, which only the system
     * resolver keeps) unresolved, for the lookup threads.
     */
    static InetSocketAddress address(String host, int port) {
        byte[] literal = host.indexOf('%') >= 0 ? null : NetUtil.createByteArrayFromIpAddressString(host);
        if (literal == null) {
            return InetSocketAddress.createUnresolved(host, port);
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(host, literal), port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("an IP literal of " + literal.length + " bytes", e); // 4 or 16: cannot happen
        }
    }
}
