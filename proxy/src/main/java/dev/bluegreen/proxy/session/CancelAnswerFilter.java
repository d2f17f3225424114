package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.protocol.Frame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * On a client connection whose session a shutdown ends while a statement runs: the proxy cancels the statement
 * so that it cannot commit unseen, and the server answers the cancel with {@code ERROR 57014} ("canceling
 * statement due to user request") and ReadyForQuery. A server's own fast shutdown ends such a statement with
 * the {@code FATAL 57P01} alone. So that answer is held here, and dropped when the session's last words come
 * ({@link #writeLastWords}). Should the server answer anything after it (a statement the client had pipelined
 * behind the cancelled one, which may have committed; a FATAL of its own), what is held goes out after all,
 * with all that follows: the client must hear of those, in order. What came before the cancel's answer passes.
 *
 * <p>Everything written to a client connection is whole messages, so each write is read message by message, but for
 * the parts of a long row relayed as it arrives ({@link #writePart}): those are data of a message that began before
 * the cancel's answer, or came after it (what was held then goes out first).
 */
final class CancelAnswerFilter extends ChannelOutboundHandlerAdapter {

    static final String NAME = "cancel-answer-filter";
    private static final String QUERY_CANCELED = "57014";

    private record Held(ByteBuf content, ChannelPromise promise) {}

    private final List<Held> held = new ArrayList<>(2);
    /** The ReadyForQuery that ends the cancel's answer is held too. */
    private boolean answerEnded;
    /** Nothing more to filter: the answer was let through, or there was none to hold. */
    private boolean passing;
    /** The write under way is part of a long message, not whole messages ({@link #writePart}). */
    private boolean writingPart;

    /** Writes part of a long message relayed as it arrives, which this filter passes without reading it. */
    static void writePart(Channel channel, ByteBuf part) {
        ChannelHandlerContext filter = channel.pipeline().context(NAME);
        if (filter == null) {
            channel.write(part, channel.voidPromise());
            return;
        }
        CancelAnswerFilter handler = (CancelAnswerFilter) filter.handler();
        handler.writingPart = true;
        try {
            channel.write(part, channel.voidPromise());
        } finally {
            handler.writingPart = false;
        }
    }

    /** Writes {@code lastWords} and flushes: past the filter of a shutdown's cancel, which drops what it holds. */
    static ChannelFuture writeLastWords(Channel channel, ByteBuf lastWords) {
        ChannelHandlerContext filter = channel.pipeline().context(NAME);
        if (filter == null) {
            return channel.writeAndFlush(lastWords);
        }
        ((CancelAnswerFilter) filter.handler()).dropHeld();
        return filter.writeAndFlush(lastWords);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (passing) {
            ctx.write(msg, promise);
            return;
        }
        if (writingPart) {
            // a row that began before any answer was held passes; one after a held answer lets it through first
            if (!held.isEmpty()) {
                letThrough(ctx);
            }
            ctx.write(msg, promise);
            return;
        }
        if (!(msg instanceof ByteBuf out)) {
            letThrough(ctx); // not a message this reads: whatever it is goes out in order
            ctx.write(msg, promise);
            return;
        }
        if (held.isEmpty()) {
            int at = cancelErrorAt(out);
            if (at < 0) {
                ctx.write(msg, promise);
                return;
            }
            if (at > out.readerIndex()) {
                ctx.write(out.retainedSlice(out.readerIndex(), at - out.readerIndex()), ctx.voidPromise());
                out.readerIndex(at);
            }
        }
        held.add(new Held(out, promise));
        if (goesOnPastTheAnswer(out)) {
            letThrough(ctx);
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        dropHeld(); // the channel closed
    }

    private void dropHeld() {
        for (Held h : held) {
            h.content().release();
            h.promise().trySuccess();
        }
        held.clear();
        passing = true;
    }

    private void letThrough(ChannelHandlerContext ctx) {
        for (Held h : held) {
            ctx.write(h.content(), h.promise());
        }
        held.clear();
        passing = true;
    }

    /**
     * Whether {@code out}, just held, holds a message after the cancel's answer: anything after the
     * ReadyForQuery that follows the 57014.
     */
    private boolean goesOnPastTheAnswer(ByteBuf out) {
        int at = out.readerIndex();
        int end = out.writerIndex();
        while (at < end) {
            if (answerEnded || end - at < Frame.HEADER_LENGTH) {
                return true;
            }
            byte type = out.getByte(at);
            at += 1 + out.getInt(at + 1);
            if (type == 'Z') {
                answerEnded = true;
            }
        }
        return false;
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
