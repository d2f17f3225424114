package dev.bluegreen.proxy.session;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.proxy.protocol.BackendKeyData;
import dev.bluegreen.proxy.protocol.StartupPacket;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.SocketAddress;
import java.util.Optional;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One CancelRequest to a cluster, on a connection of its own, encrypted as the cluster's sessions are: where its TLS
 * mode is other than {@code disable}, the request goes after an SSLRequest and a handshake checked as the session's
 * was (libpq 17 does the same), so that no one on the way reads the key it quotes; a server that refuses TLS gets no
 * request in clear. The outcome is confirmed when the server closes the connection first, which it does once it
 * has signalled the backend; a server that keeps it open past {@code timeouts.connect} (a hung one) is not waited for.
 */
final class ClusterCancel {

    private static final Logger log = LoggerFactory.getLogger(ClusterCancel.class);

    private ClusterCancel() {
    }

    /**
     * Sends the request for {@code key} to {@code address}, the backend's own, and calls {@code settled} on
     * {@code loop}: true when the server closed the connection first, false when the request could not be delivered or
     * the server did not close it in time.
     */
    static void send(SessionServices services, Cluster cluster, EventLoop loop, SocketAddress address, BackendKeyData key,
                     Consumer<Boolean> settled) {
        Optional<SslContext> tls = services.clusterTls(cluster);
        long timeout = services.config().timeouts().connect().toMillis();
        new Bootstrap()
                .group(loop)
                .channel(services.transport().socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeout)
                .handler(tls.isPresent() ? new OverTls(tls.get(), cluster, key) : new ChannelInboundHandlerAdapter())
                .connect(address)
                .addListener((ChannelFutureListener) connected -> {
                    if (!connected.isSuccess()) {
                        log.warn("cancel request not delivered cluster={} cause={}", cluster.name(),
                                BackendConnection.rootMessage(connected.cause()));
                        settled.accept(false);
                        return;
                    }
                    Channel cancelling = connected.channel();
                    // a server that never closes it (a hung one) does not keep it open for good
                    ScheduledFuture<?> giveUp = cancelling.eventLoop().schedule(() -> cancelling.close(), timeout,
                            TimeUnit.MILLISECONDS);
                    // confirmed when the server closed it first: the give-up, on the same loop, had not run
                    cancelling.closeFuture().addListener(closed -> settled.accept(giveUp.cancel(false)));
                    cancelling.writeAndFlush(tls.isPresent() ? StartupPacket.SslRequest.encode(cancelling.alloc())
                            : StartupPacket.CancelRequest.encode(cancelling.alloc(), key.processId(), key.secretKey()));
                });
    }

    /** SSLRequest sent: on {@code S}, the handshake, then the request; on anything else, nothing. */
    private static final class OverTls extends ChannelInboundHandlerAdapter {
        private final SslContext context;
        private final Cluster cluster;
        private final BackendKeyData key;
        private boolean answered;

        OverTls(SslContext context, Cluster cluster, BackendKeyData key) {
            this.context = context;
            this.cluster = cluster;
            this.key = key;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (answered || !(msg instanceof ByteBuf answer) || !answer.isReadable()) {
                    return;
                }
                answered = true;
                if (answer.readByte() != 'S' || answer.isReadable()) {
                    log.warn("cancel request not delivered cluster={} cause=the cluster refused TLS", cluster.name());
                    ctx.close();
                    return;
                }
                ctx.pipeline().addFirst(context.newHandler(ctx.alloc(), cluster.host(), cluster.port()));
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof SslHandshakeCompletionEvent handshake) {
                if (handshake.isSuccess()) {
                    ctx.writeAndFlush(StartupPacket.CancelRequest.encode(ctx.alloc(), key.processId(), key.secretKey()));
                } else {
                    log.warn("cancel request not delivered cluster={} cause=TLS handshake failed: {}", cluster.name(),
                            BackendConnection.rootMessage(handshake.cause()));
                    ctx.close();
                }
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // the handshake's failure is reported by its completion event
        }
    }
}
