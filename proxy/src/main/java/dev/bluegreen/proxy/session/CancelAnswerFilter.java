package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.protocol.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;

/**
 * On a client connection whose session a shutdown ends while a statement runs: the proxy cancels the statement
 * so that it cannot commit unseen, and the server answers the cancel with {@code ERROR 57014} ("canceling
 * statement due to user request"). A server's own fast shutdown ends such a statement with the {@code FATAL
 * 57P01} alone, so that answer, and whatever follows it, does not reach the client; what came before it (a
 * statement that completed before the cancel arrived) does. The closing error is written past this handler,
 * through its context ({@link #context}).
 *
 * <p>Everything written to a client connection is whole messages, so each write is read message by message.
 */
final class CancelAnswerFilter extends ChannelOutboundHandlerAdapter {

    static final String NAME = "cancel-answer-filter";
    private static final String QUERY_CANCELED = "57014";

    private boolean cut;

    /** Where the session's last words go in: past this handler. */
    static ChannelHandlerContext context(Channel channel) {
        return channel.pipeline().context(NAME);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!cut && msg instanceof ByteBuf out) {
            int at = cancelErrorAt(out);
            if (at < 0) {
                ctx.write(msg, promise);
                return;
            }
            cut = true;
            if (at > out.readerIndex()) {
                ctx.write(out.retainedSlice(out.readerIndex(), at - out.readerIndex()), promise);
                out.release();
                return;
            }
        }
        ReferenceCountUtil.release(msg);
        promise.trySuccess();
    }

    /** The index of the first ErrorResponse with SQLSTATE 57014 in {@code out}, or -1. */
    private static int cancelErrorAt(ByteBuf out) {
        int at = out.readerIndex();
        int end = out.writerIndex();
        while (end - at >= Frame.HEADER_LENGTH) {
            int length = out.getInt(at + 1);
            if (length < 4 || length > end - at - 1) {
                return -1; // not whole messages after all: passed on untouched
            }
            if (out.getByte(at) == 'E' && QUERY_CANCELED.equals(sqlState(out, at + Frame.HEADER_LENGTH, at + 1 + length))) {
                return at;
            }
            at += 1 + length;
        }
        return -1;
    }

    private static String sqlState(ByteBuf out, int from, int end) {
        int at = from;
        while (at < end && out.getByte(at) != 0) {
            byte code = out.getByte(at++);
            int nul = out.indexOf(at, end, (byte) 0);
            if (nul < 0) {
                return null;
            }
            if (code == 'C') {
                return out.toString(at, nul - at, StandardCharsets.US_ASCII);
            }
            at = nul + 1;
        }
        return null;
    }
}
