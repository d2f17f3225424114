package dev.bluegreen.proxy.session;

import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.DefaultNameResolver;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.EventExecutorGroup;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * Looks cluster host names up on threads of their own. Netty's default resolver asks the system on the
 * event loop that opens the connection, so one slow DNS answer would stall every session on that loop.
 * This keeps the system resolver (/etc/hosts, nsswitch, the JVM's cache) and only moves the wait off the
 * loop; the connect itself still happens on the session's loop.
 */
public final class HostLookups extends AddressResolverGroup<InetSocketAddress> {

    private final EventExecutorGroup threads;

    /** @param threads where lookups wait; the caller shuts them down */
    public HostLookups(EventExecutorGroup threads) {
        this.threads = threads;
    }

    @Override
    protected AddressResolver<InetSocketAddress> newResolver(EventExecutor loop) {
        return new DefaultNameResolver(threads.next()).asAddressResolver();
    }

    /**
     * The address to connect to: an IP literal as it is, so that the common case needs no lookup and
     * no hop to another thread, and a name unresolved, for the lookup threads.
     */
    static InetSocketAddress address(String host, int port) {
        byte[] literal = NetUtil.createByteArrayFromIpAddressString(host);
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
