package dev.bluegreen.proxy.admin;

import dev.bluegreen.config.HostPort;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.flow.FlowControlHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API's HTTP/1.1 listener, on an event loop of its own so that nothing an operator does can
 * slow the SQL listener down. Bodies are small JSON documents: anything over {@value #MAX_BODY_BYTES}
 * bytes is refused with 413 before it is buffered.
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

    static final int MAX_BODY_BYTES = 16 * 1024;
    private static final int IDLE_SECONDS = 60;

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
        try {
            Channel listener = new ServerBootstrap()
                    .group(group)
                    .channel(channelType)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
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
        pipeline.addLast("idle", new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS))
                .addLast("http", new HttpServerCodec())
                .addLast("aggregate", new HttpObjectAggregator(MAX_BODY_BYTES))
                .addLast("one-at-a-time", new FlowControlHandler())
                .addLast("api", new AdminHttpHandler(api));
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
