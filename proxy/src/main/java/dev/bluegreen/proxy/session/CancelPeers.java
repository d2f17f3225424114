package dev.bluegreen.proxy.session;

import dev.bluegreen.config.HostPort;
import dev.bluegreen.config.Peering;
import dev.bluegreen.proxy.protocol.StartupPacket;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards a CancelRequest to the instance that minted its key ({@link Peering}): a cancel comes on a
 * connection of its own, which a load balancer may hand to any instance. The peer serves it as one sent to
 * it directly; it never forwards one it minted, so a request goes one hop between correctly configured
 * instances, and at most {@value CancelKeys#HOPS} between instances whose configurations disagree (a peer's
 * address that is this instance's, or the balancer's): each hop counts down in the key. Host names resolve
 * off the event loop, as a cluster's do.
 */
final class CancelPeers {

    private static final Logger log = LoggerFactory.getLogger(CancelPeers.class);

    private final Peering peering;
    private final Transport transport;
    private final HostLookups lookups;
    private final Duration connectTimeout;
    /**
     * Anyone who can connect may send cancel requests, keys made up included, as fast as they like: the first
     * that goes nowhere for each reason (a peer not listed, hops used up, a peer not reached) is logged as a
     * warning, the rest at debug.
     */
    private final Set<Drop> warned = ConcurrentHashMap.newKeySet();

    /** Why a cancel request went nowhere. */
    private enum Drop { UNLISTED, LOOPING, UNREACHED }

    CancelPeers(Peering peering, Transport transport, HostLookups lookups, Duration connectTimeout) {
        this.peering = peering;
        this.transport = transport;
        this.lookups = lookups;
        this.connectTimeout = connectTimeout;
    }

    /**
     * Sends {@code request}, minted by instance {@code owner}, on to that instance. False when it is this one,
     * or one this instance does not know (a key from no instance, or a peer missing from the configuration).
     */
    boolean forward(StartupPacket.CancelRequest request, int owner, EventLoop loop) {
        if (owner == 0 || owner == peering.id()) {
            return false;
        }
        HostPort peer = peering.peers().get(owner);
        if (peer == null) {
            warn(Drop.UNLISTED, "cancel request for a session of peer {}, which peering.peers does not list: dropped",
                    owner, null);
            return false;
        }
        if (CancelKeys.hopsLeft(request.processId()) == 0) {
            warn(Drop.LOOPING, "cancel request for a session of peer {} forwarded " + CancelKeys.HOPS
                    + " times already: dropped (do the instances' peering sections agree?)", owner, null);
            return false;
        }
        int processId = CancelKeys.forwarded(request.processId());
        try {
            new Bootstrap()
                    .group(loop)
                    .channel(transport.socketChannel())
                    .resolver(lookups)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis())
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(peer.host(), peer.port())
                    .addListener((ChannelFutureListener) connected -> {
                        if (!connected.isSuccess()) {
                            warn(Drop.UNREACHED, "cancel request not forwarded peer={} address=" + peer + " cause="
                                    + connected.cause().getMessage(), owner, null);
                            return;
                        }
                        // the peer closes it once it has read the request; it is not kept open past the timeout
                        connected.channel().eventLoop().schedule(() -> connected.channel().close(),
                                connectTimeout.toMillis(), TimeUnit.MILLISECONDS);
                        connected.channel().writeAndFlush(StartupPacket.CancelRequest.encode(connected.channel().alloc(),
                                processId, request.secretKey()));
                    });
            return true;
        } catch (RuntimeException e) {
            warn(Drop.UNREACHED, "cancel request not forwarded peer={} address=" + peer, owner, e);
            return false;
        }
    }

    private void warn(Drop why, String message, int owner, RuntimeException cause) {
        if (warned.add(why)) {
            log.warn(message + " (later ones at debug)", owner, cause);
        } else {
            log.debug(message, owner, cause);
        }
    }
}
