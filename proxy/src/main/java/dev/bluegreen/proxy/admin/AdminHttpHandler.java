package dev.bluegreen.proxy.admin;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One admin connection: turns each aggregated HTTP request into an {@link AdminRequest}, hands it to
 * the {@link AdminApi} and writes the answer back when it is ready, on the channel's event loop.
 *
 * <p>A connection answers one request at a time: reads stop while a request is being answered (a
 * request already decoded behind it waits in the flow control ahead of this handler) and resume once
 * its response is written, so pipelined requests are answered in order and a slow command holds up
 * only its own connection. An idle connection with nothing pending is closed, and so is one whose client
 * has not taken its answer for as long.
 */
final class AdminHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final Logger log = LoggerFactory.getLogger(AdminHttpHandler.class);

    /**
     * Set on a connection while the API works out the answer to a request of it: one the server must not close
     * to make room. Not while the answer waits for its client to take it: a client that does not read holds no
     * slot for good.
     */
    static final AttributeKey<Boolean> BUSY = AttributeKey.valueOf("bluegreen.admin.busy");
    /** When the connection last began or finished a request ({@link System#nanoTime}), or was accepted. */
    static final AttributeKey<Long> LAST_ACTIVE = AttributeKey.valueOf("bluegreen.admin.lastActive");

    /** Where the connection's current request is. */
    private enum Stage {
        /** None: waiting for the next request. */
        IDLE,
        /** The API works out the answer: the one stage that holds the connection against idling and eviction. */
        WORKING,
        /** The answer is written and not yet taken by the client. */
        WRITING
    }

    private final AdminApi api;
    private Stage stage = Stage.IDLE;

    AdminHttpHandler(AdminApi api) {
        this.api = api;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object message) throws Exception {
        if (message instanceof InOrderAggregator.Oversized oversized) {
            // closed after the answer, as Netty closes after most of its own 413s: nothing is kept for the rest
            // of a body no one will read
            begin(ctx);
            respond(ctx, AdminResponse.error(413, "request body over " + oversized.limitBytes() + " bytes"), false);
            return;
        }
        super.channelRead(ctx, message);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        if (!request.decoderResult().isSuccess()) {
            respond(ctx, AdminResponse.error(400, "malformed HTTP request"), false);
            return;
        }
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        String path;
        try {
            path = new QueryStringDecoder(request.uri()).path();
        } catch (IllegalArgumentException badEscape) {
            // "%", "%z", "%zz": the request is well framed, its target is not; like a malformed request, this
            // is answered before the token is looked at, and tells nothing about what exists
            begin(ctx);
            respond(ctx, AdminResponse.error(400, "malformed request path: invalid percent-encoding"), keepAlive);
            return;
        }
        AdminRequest adminRequest = new AdminRequest(request.method().name(), path,
                request.headers().get(HttpHeaderNames.AUTHORIZATION),
                ByteBufUtil.getBytes(request.content()),
                remote(ctx.channel().remoteAddress()));
        begin(ctx);
        CompletableFuture<AdminResponse> answer;
        try {
            answer = api.handle(adminRequest);
        } catch (RuntimeException e) {
            answer = CompletableFuture.failedFuture(e);
        }
        answer.whenComplete((response, failure) -> {
            AdminResponse toSend = response != null ? response : internalError(failure);
            try {
                ctx.executor().execute(() -> respond(ctx, toSend, keepAlive));
            } catch (RejectedExecutionException shuttingDown) {
                log.debug("admin response dropped: the admin event loop is stopping");
            }
        });
    }

    private void begin(ChannelHandlerContext ctx) {
        enter(ctx.channel(), Stage.WORKING);
        ctx.channel().config().setAutoRead(false);
    }

    /** Moves to {@code next}, and tells the server (on its accepting thread) what it may close to make room. */
    private void enter(Channel channel, Stage next) {
        stage = next;
        channel.attr(BUSY).set(next == Stage.WORKING);
        channel.attr(LAST_ACTIVE).set(System.nanoTime());
    }

    /**
     * Writes the answer. A connection whose request had no valid token is closed after it: only a caller with
     * the token may hold one of the connections the server has room for.
     */
    private void respond(ChannelHandlerContext ctx, AdminResponse answer, boolean keepAliveAsked) {
        boolean keepAlive = keepAliveAsked && answer.status() != 401;
        enter(ctx.channel(), Stage.WRITING);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(answer.status()), Unpooled.wrappedBuffer(answer.body()));
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, answer.contentType())
                .setInt(HttpHeaderNames.CONTENT_LENGTH, answer.body().length)
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
                .set("x-content-type-options", "nosniff");
        answer.headers().forEach((name, value) -> response.headers().set(name.toLowerCase(Locale.ROOT), value));
        HttpUtil.setKeepAlive(response, keepAlive);
        ctx.writeAndFlush(response).addListener((ChannelFutureListener) written -> {
            enter(written.channel(), Stage.IDLE);
            if (keepAlive && written.isSuccess()) {
                written.channel().config().setAutoRead(true);
            } else {
                written.channel().close();
            }
        });
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
        // idle with nothing to answer, or with an answer the client has not taken all that time
        if (event instanceof IdleStateEvent && stage != Stage.WORKING) {
            ctx.close();
            return;
        }
        super.userEventTriggered(ctx, event);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("admin connection failed remote={}", remote(ctx.channel().remoteAddress()), cause);
        ctx.close();
    }

    private static AdminResponse internalError(Throwable failure) {
        log.error("admin request failed", failure);
        return AdminResponse.error(500, "internal error");
    }

    private static String remote(SocketAddress address) {
        if (address instanceof InetSocketAddress inet) {
            return inet.getAddress() != null ? inet.getAddress().getHostAddress() : inet.getHostString();
        }
        return String.valueOf(address);
    }
}
