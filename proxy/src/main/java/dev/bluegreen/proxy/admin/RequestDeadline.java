package dev.bluegreen.proxy.admin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A whole request within a deadline of its first byte: a client that trickles a request in (a byte at a
 * time, a chunked body that never ends) is closed when the deadline passes, where an idle timer would be
 * reset by every byte. {@link #start()} goes first in the pipeline and starts the clock; {@link #arrived()}
 * goes after the aggregator and stops it once the request is whole. A request being answered holds no clock.
 */
final class RequestDeadline {

    private final long nanos;
    private ScheduledFuture<?> clock;

    RequestDeadline(Duration deadline) {
        this.nanos = deadline.toNanos();
    }

    /** First in the pipeline: the first byte of a request starts the clock. */
    ChannelDuplexHandler start() {
        return new ChannelDuplexHandler() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (clock == null && msg instanceof ByteBuf bytes && bytes.isReadable()) {
                    clock = ctx.executor().schedule(() -> {
                        clock = null;
                        ctx.close();
                    }, nanos, TimeUnit.NANOSECONDS);
                }
                ctx.fireChannelRead(msg);
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                stop();
                ctx.fireChannelInactive();
            }
        };
    }

    /**
     * After the aggregator: a whole request (or the stand-in for one over the body limit, whose answer closes the
     * connection) stops the clock; the next request's first byte starts it again.
     */
    ChannelInboundHandlerAdapter arrived() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof FullHttpRequest || msg instanceof InOrderAggregator.Oversized) {
                    stop();
                }
                ctx.fireChannelRead(msg);
            }
        };
    }

    private void stop() {
        if (clock != null) {
            clock.cancel(false);
            clock = null;
        }
    }
}
