package dev.bluegreen.proxy.admin;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;

/**
 * Netty's aggregator, except that a request over the body limit is not answered here: Netty's own 413 is
 * written the moment the headers arrive, ahead of the answers still owed to requests pipelined before it.
 * Instead an {@link Oversized} goes down the pipeline in the request's place, behind the flow control, and
 * the handler answers it in its turn. The body is still dropped unread, as Netty does. So for one that asks
 * {@code Expect: 100-continue}: Netty would refuse it at once, here it is refused in its turn and never told to go on.
 */
final class InOrderAggregator extends HttpObjectAggregator {

    /** Stands in for a request whose body is over the limit: answered 413, and the connection closed. */
    record Oversized(int limitBytes) {}

    InOrderAggregator(int maxBodyBytes) {
        super(maxBodyBytes);
    }

    @Override
    protected Object newContinueResponse(HttpMessage start, int maxBodyBytes, ChannelPipeline pipeline) {
        if (HttpUtil.is100ContinueExpected(start) && isContentLengthInvalid(start, maxBodyBytes)) {
            return null; // no interim answer: handleOversizedMessage stands in for the request
        }
        return super.newContinueResponse(start, maxBodyBytes, pipeline);
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) throws Exception {
        if (oversized instanceof HttpRequest) {
            ctx.fireChannelRead(new Oversized(maxContentLength()));
        } else {
            super.handleOversizedMessage(ctx, oversized);
        }
    }
}
