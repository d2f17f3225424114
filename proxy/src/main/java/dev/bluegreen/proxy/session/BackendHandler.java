package dev.bluegreen.proxy.session;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/** Netty's face of a {@link BackendConnection}: every callback is handed straight to it. */
final class BackendHandler extends ChannelInboundHandlerAdapter {

    private final BackendConnection backend;

    BackendHandler(BackendConnection backend) {
        this.backend = backend;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        backend.onActive(ctx.channel());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        backend.onRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        backend.onReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        backend.onWritabilityChanged(ctx.channel().isWritable());
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        backend.onUserEvent(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        backend.onException(cause);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        backend.onInactive();
    }
}
