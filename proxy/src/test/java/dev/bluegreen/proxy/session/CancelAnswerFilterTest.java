package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.protocol.ErrorResponse;
import dev.bluegreen.proxy.protocol.ReadyForQuery;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

/** The answer to a shutdown's cancel, held and dropped, and the parts of a long row, which it never reads. */
class CancelAnswerFilterTest {

    private static final UnpooledByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;

    /** The server's answer to the proxy's cancel: ERROR 57014, then ReadyForQuery. */
    private static ByteBuf cancelAnswer() {
        return Unpooled.wrappedBuffer(ErrorResponse.of("ERROR", "57014", "canceling statement due to user request").encode(ALLOC),
                ReadyForQuery.IDLE.encode(ALLOC));
    }

    private static EmbeddedChannel filtered() {
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.pipeline().addLast(CancelAnswerFilter.NAME, new CancelAnswerFilter());
        return channel;
    }

    /** Everything written to the client so far, in order. */
    private static byte[] written(EmbeddedChannel channel) {
        ByteBuf all = Unpooled.buffer();
        for (ByteBuf out = channel.readOutbound(); out != null; out = channel.readOutbound()) {
            all.writeBytes(out);
            out.release();
        }
        return ByteBufUtil.getBytes(all);
    }

    @Test
    void theCancelsAnswerIsHeldAndDroppedForTheSessionsLastWords() {
        EmbeddedChannel channel = filtered();
        channel.writeAndFlush(cancelAnswer());
        assertThat(written(channel)).isEmpty();

        ByteBuf fatal = ErrorResponse.fatal("57P01", "terminating connection due to administrator command").encode(ALLOC);
        byte[] expected = ByteBufUtil.getBytes(fatal);
        CancelAnswerFilter.writeLastWords(channel, fatal);

        assertThat(written(channel)).isEqualTo(expected);
        channel.finishAndReleaseAll();
    }

    /**
     * A part of a long row is data, whatever its bytes look like: one whose bytes read as the cancel's answer goes out
     * as it is. Read as whole messages, it was held, and the client's row lost bytes.
     */
    @Test
    void partOfALongRowPassesUnreadWhateverItsBytesLookLike() {
        EmbeddedChannel channel = filtered();
        ByteBuf part = cancelAnswer();
        byte[] expected = ByteBufUtil.getBytes(part);

        CancelAnswerFilter.writePart(channel, part);
        channel.flush();

        assertThat(written(channel)).isEqualTo(expected);
        channel.finishAndReleaseAll();
    }

    /** A long row after a held answer came after it: what was held goes out first, and then the row, in order. */
    @Test
    void aLongRowAfterTheHeldAnswerLetsTheAnswerThroughFirst() {
        EmbeddedChannel channel = filtered();
        ByteBuf answer = cancelAnswer();
        byte[] answerBytes = ByteBufUtil.getBytes(answer);
        channel.write(answer);
        byte[] row = {'D', 0, 0, 0, 100, 0, 1};

        CancelAnswerFilter.writePart(channel, Unpooled.wrappedBuffer(row));
        channel.flush();

        byte[] out = written(channel);
        assertThat(out).hasSize(answerBytes.length + row.length).startsWith(answerBytes).endsWith(row);
        channel.finishAndReleaseAll();
    }
}
