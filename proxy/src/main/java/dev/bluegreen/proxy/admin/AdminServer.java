package dev.bluegreen.proxy.admin;

import dev.bluegreen.config.HostPort;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.flow.FlowControlHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API's HTTP/1.1 listener, on an event loop of its own so that nothing an operator does can
 * slow the SQL listener down. Bodies are small JSON documents: anything over {@value #MAX_BODY_BYTES}
 * bytes is refused with 413 before it is buffered. At most {@value #MAX_CONNECTIONS} connections at once
 * (one more closes the connection idle longest, or is answered 503 and closed when every one is answering a
 * request), each request whole within {@value #REQUEST_SECONDS} s of its first byte: a client holding sockets
 * open, or trickling a request in, cannot use up the process's file descriptors, which the SQL listener
 * needs too.
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    static final int MAX_BODY_BYTES = 16 * 1024;
    static final int MAX_CONNECTIONS = 64;
    static final int REQUEST_SECONDS = 10;
    private static final int IDLE_SECONDS = 60;
    private static final byte[] TOO_MANY = tooMany();

    private final Channel listener;
    private final EventLoopGroup group;
    private final AdminApi api;

    private AdminServer(Channel listener, EventLoopGroup group, AdminApi api) {
        this.listener = listener;
        this.group = group;
        this.api = api;
    }

    /**
     * Binds {@code address} on {@code group} and serves {@code api} there. Takes ownership of the group
     * and the API: both are closed by {@link #close}, or at once if the address cannot be bound.
     *
     * @throws IOException naming the address when it cannot be bound
     */
    public static AdminServer start(HostPort address, AdminApi api, EventLoopGroup group,
                                    Class<? extends ServerChannel> channelType) throws IOException {
        AtomicInteger open = new AtomicInteger();
        Set<Channel> connections = ConcurrentHashMap.newKeySet();
        try {
            Channel listener = new ServerBootstrap()
                    .group(group)
                    .channel(channelType)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.attr(AdminHttpHandler.LAST_ACTIVE).set(System.nanoTime());
                            ch.closeFuture().addListener(closed -> {
                                open.decrementAndGet();
                                connections.remove(ch);
                            });
                            if (open.incrementAndGet() > MAX_CONNECTIONS && !closedLongestIdle(connections)) {
                                ch.writeAndFlush(Unpooled.wrappedBuffer(TOO_MANY)).addListener(ChannelFutureListener.CLOSE);
                                return;
                            }
                            connections.add(ch);
                            pipeline(ch.pipeline(), api);
                        }
                    })
                    .bind(address.host(), address.port())
                    .sync()
                    .channel();
            AdminServer server = new AdminServer(listener, group, api);
            log.info("admin API listening address={}", server.address());
            if (!address.isLoopback()) {
                log.warn("admin API listening beyond loopback address={}: it speaks plain HTTP, so the bearer "
                        + "token crosses the network in clear; put it behind TLS or keep it on loopback", server.address());
            }
            return server;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            api.close();
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new IOException("admin API cannot listen on " + address.host() + ":" + address.port() + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * HTTP/1.1 in, one whole request at a time out: while a request is being answered its handler turns
     * reads off, and the flow control holds any request pipelined behind it until reads resume.
     */
    static void pipeline(ChannelPipeline pipeline, AdminApi api) {
        RequestDeadline deadline = new RequestDeadline(Duration.ofSeconds(REQUEST_SECONDS));
        pipeline.addLast("deadline", deadline.start())
                .addLast("idle", new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS))
                .addLast("http", new HttpServerCodec())
                .addLast("aggregate", new InOrderAggregator(MAX_BODY_BYTES))
                .addLast("whole", deadline.arrived())
                .addLast("one-at-a-time", new FlowControlHandler())
                .addLast("api", new AdminHttpHandler(api));
    }

    /**
     * Makes room for a new connection by closing the one idle longest (none of its requests being answered):
     * a caller holding every connection open, even with the token, cannot lock an operator's {@code bgctl
     * rollback} out. False when every connection is answering a request.
     */
    private static boolean closedLongestIdle(Set<Channel> connections) {
        Channel longest = null;
        long longestSince = 0;
        for (Channel c : connections) {
            Long since = c.attr(AdminHttpHandler.LAST_ACTIVE).get();
            if (Boolean.TRUE.equals(c.attr(AdminHttpHandler.BUSY).get()) || since == null) {
                continue;
            }
            if (longest == null || since - longestSince < 0) {
                longest = c;
                longestSince = since;
            }
        }
        if (longest == null || !connections.remove(longest)) {
            return false;
        }
        log.info("admin connection closed to make room for a new one remote={}", longest.remoteAddress());
        longest.close();
        return true;
    }

    /** The whole answer to a connection over {@link #MAX_CONNECTIONS}, written before it is closed. */
    private static byte[] tooMany() {
        byte[] body = ("{\"error\":\"too many admin connections open (" + MAX_CONNECTIONS + "); close some and retry\"}")
                .getBytes(StandardCharsets.UTF_8);
        byte[] head = ("HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\n"
                + "content-length: " + body.length + "\r\nconnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] whole = Arrays.copyOf(head, head.length + body.length);
        System.arraycopy(body, 0, whole, head.length, body.length);
        return whole;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    /** Stops listening, drops open admin connections and stops taking commands. */
    @Override
    public void close() {
        listener.close().syncUninterruptibly();
        api.close();
        group.shutdownGracefully(0, 1000, TimeUnit.MILLISECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
