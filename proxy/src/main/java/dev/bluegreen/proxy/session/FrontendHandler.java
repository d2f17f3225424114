package dev.bluegreen.proxy.session;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/** Netty's face of a {@link ClientSession}: every callback is handed straight to it. */
public final class FrontendHandler extends ChannelInboundHandlerAdapter {

    private final ClientSession session;

    public FrontendHandler(SessionServices services) {
        this.session = new ClientSession(services);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        session.onActive(ctx.channel());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        session.onRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        session.onReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        session.onWritabilityChanged(ctx.channel().isWritable());
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        session.onUserEvent(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        session.onException(cause);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        session.onInactive();
    }
}
