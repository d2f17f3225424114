package dev.bluegreen.proxy.session;

import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.time.Duration;
import jdk.net.ExtendedSocketOptions;

/** Native epoll where the platform has it, NIO elsewhere; the rest of the proxy does not care which. */
public record Transport(String name, IoHandlerFactory ioHandlerFactory,
                        Class<? extends ServerChannel> serverChannel,
                        Class<? extends SocketChannel> socketChannel) {

    public static Transport best() {
        if (Epoll.isAvailable()) {
            return new Transport("epoll", EpollIoHandler.newFactory(), EpollServerSocketChannel.class, EpollSocketChannel.class);
        }
        return new Transport("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class, NioSocketChannel.class);
    }

    /**
     * How much to read at a time on a session's connections. Netty's default guess shrinks to 64 bytes
     * after a few short messages, and a Postgres answer or query of 65 bytes and more then takes two
     * reads and a copy to join them; the pooled buffer costs the same at 512, so the guess stops there.
     */
    public static RecvByteBufAllocator receiveSizes() {
        return new AdaptiveRecvByteBufAllocator(512, 2048, 65536);
    }

    /** Seconds between keepalive probes once they have started. */
    static final int KEEPALIVE_INTERVAL_SECONDS = 10;
    /** Unanswered probes after which the kernel gives the connection up. */
    static final int KEEPALIVE_PROBES = 6;

    /**
     * Turns TCP keepalive on for a client or cluster socket: probes start after {@code idle} of silence
     * and a peer that answers none of {@value #KEEPALIVE_PROBES} probes, {@value #KEEPALIVE_INTERVAL_SECONDS}
     * s apart, is gone; the connection then fails like any other lost one. Without it a client whose
     * machine vanished mid-transaction holds that transaction's locks on both clusters for the kernel's
     * default two hours and more. Zero leaves keepalive off.
     */
    public static void keepalive(Channel channel, Duration idle) {
        if (idle.isZero()) {
            return;
        }
        int seconds = (int) idle.toSeconds();
        ChannelConfig config = channel.config();
        config.setOption(ChannelOption.SO_KEEPALIVE, true);
        if (channel instanceof EpollSocketChannel) {
            config.setOption(EpollChannelOption.TCP_KEEPIDLE, seconds);
            config.setOption(EpollChannelOption.TCP_KEEPINTVL, KEEPALIVE_INTERVAL_SECONDS);
            config.setOption(EpollChannelOption.TCP_KEEPCNT, KEEPALIVE_PROBES);
        } else if (channel instanceof NioSocketChannel) {
            config.setOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), seconds);
            config.setOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), KEEPALIVE_INTERVAL_SECONDS);
            config.setOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), KEEPALIVE_PROBES);
        }
    }

    public EventLoopGroup newGroup(int threads) {
        return new MultiThreadIoEventLoopGroup(threads, ioHandlerFactory);
    }
}
