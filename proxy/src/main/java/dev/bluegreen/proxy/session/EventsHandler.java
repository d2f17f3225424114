package dev.bluegreen.proxy.session;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/** Netty's face of a connection state machine: every callback is one line that hands the event on. */
public final class EventsHandler extends ChannelInboundHandlerAdapter {

    private final ChannelEvents target;

    EventsHandler(ChannelEvents target) {
        this.target = target;
    }

    /** The handler for a newly accepted client connection. */
    public static EventsHandler forClient(SessionServices services) {
        return new EventsHandler(new ClientSession(services));
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        target.onActive(ctx.channel());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        target.onRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        target.onReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        target.onWritabilityChanged(ctx.channel().isWritable());
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        target.onUserEvent(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        target.onException(cause);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        target.onInactive();
    }
}
