package dev.bluegreen.proxy.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {

    private static ByteBuf query(String sql) {
        ByteBuf out = Unpooled.buffer();
        int at = Wire.beginMessage(out, 'Q');
        Wire.writeCString(out, sql);
        return Wire.endMessage(out, at);
    }

    @Test
    void aFrameSplitAcrossReadsComesOutWholeAndUncopied() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(Direction.FRONTEND, 1024));
        ByteBuf wire = query("select 1");
        int length = wire.readableBytes();

        assertThat(channel.writeInbound(wire.retainedSlice(0, 3))).isFalse();
        assertThat(channel.writeInbound(wire.retainedSlice(3, length - 3))).isTrue();
        wire.release();

        FrameBatch batch = channel.readInbound();
        assertThat(batch.content().readableBytes()).isEqualTo(length);
        Frame frame = batch.frames().get(0);
        assertThat((char) frame.type()).isEqualTo('Q');
        assertThat(frame.body().toString(StandardCharsets.UTF_8)).isEqualTo("select 1\0");
        frame.release();
        batch.release();
        assertFalse(channel.finish());
    }

    @Test
    void severalFramesInOneReadComeOutAsOneBatchAndAPartialOneWaits() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(Direction.FRONTEND, 1024));
        ByteBuf third = query("c");
        ByteBuf read = Unpooled.wrappedBuffer(query("a"), query("b"), Unpooled.wrappedBuffer(new byte[] {'S', 0, 0, 0, 4}),
                third.retainedSlice(0, 3));

        channel.writeInbound(read);

        FrameBatch batch = channel.readInbound();
        List<Character> types = new ArrayList<>();
        batch.forEach((type, offset, length) -> types.add((char) type));
        assertThat(types).containsExactly('Q', 'Q', 'S');
        assertThat(batch.contains('S')).isTrue();
        assertThat(batch.contains('X')).isFalse();
        assertThat((Object) channel.readInbound()).isNull();
        batch.release();

        channel.writeInbound(third.retainedSlice(3, third.readableBytes() - 3));
        third.release();

        FrameBatch rest = channel.readInbound();
        assertThat(rest.frames()).singleElement().satisfies(f -> {
            assertThat((char) f.type()).isEqualTo('Q');
            f.release();
        });
        rest.release();
        assertFalse(channel.finish());
    }

    @Test
    void aLengthOverTheLimitIsRejectedBeforeTheBodyArrives() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(Direction.FRONTEND, 1024));
        ByteBuf header = Unpooled.buffer().writeByte('Q').writeInt(1_000_000);

        assertThatThrownBy(() -> channel.writeInbound(header))
                .isInstanceOf(DecoderException.class)
                .hasCauseInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("exceeds the limit of 1024 bytes");
        assertFalse(channel.finish());
    }

    @Test
    void beforeAuthenticationALengthOverPostgressPasswordLimitIsRejected() {
        EmbeddedChannel channel = new EmbeddedChannel(FrameDecoder.beforeAuthentication(256 * 1024 * 1024));
        ByteBuf header = Unpooled.buffer().writeByte('p').writeInt(200 * 1024 * 1024);

        assertThatThrownBy(() -> channel.writeInbound(header))
                .isInstanceOf(DecoderException.class)
                .hasCauseInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("exceeds the limit of 65535 bytes before authentication");
        assertFalse(channel.finish());
    }

    @Test
    void aLargeQueryBehindThePasswordInTheSameReadPassesOnceThePasswordIsHeard() {
        // the session says authenticated while it handles the password, before the query's header is checked
        List<Character> seen = new ArrayList<>();
        FrameDecoder decoder = FrameDecoder.beforeAuthentication(1 << 20);
        EmbeddedChannel channel = new EmbeddedChannel(decoder, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                FrameBatch batch = (FrameBatch) msg;
                batch.forEach((type, offset, length) -> seen.add((char) type));
                if (batch.contains('p')) {
                    decoder.authenticated();
                }
                batch.release();
            }
        });
        ByteBuf password = Unpooled.buffer().writeByte('p').writeInt(7).writeBytes("pw\0".getBytes(StandardCharsets.UTF_8));

        channel.writeInbound(Unpooled.wrappedBuffer(password, query("select '" + "x".repeat(100_000) + "'")));

        assertThat(seen).containsExactly('p', 'Q');
        assertFalse(channel.finish());
    }

    @Test
    void anUnknownMessageTypeIsRejected() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(Direction.FRONTEND, 1024));

        assertThatThrownBy(() -> channel.writeInbound(Unpooled.buffer().writeByte('!').writeInt(4)))
                .hasCauseInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("unknown message type 0x21");
        assertFalse(channel.finish());
    }

    @Test
    void typesAreCheckedPerDirection() {
        // 'T' is RowDescription from a server, but no client message
        EmbeddedChannel frontend = new EmbeddedChannel(new FrameDecoder(Direction.FRONTEND, 1024));
        EmbeddedChannel backend = new EmbeddedChannel(new FrameDecoder(Direction.BACKEND, 1024));

        assertThatThrownBy(() -> frontend.writeInbound(Unpooled.buffer().writeByte('T').writeInt(6).writeShort(0)))
                .hasCauseInstanceOf(ProtocolViolation.class);
        assertThat(backend.writeInbound(Unpooled.buffer().writeByte('T').writeInt(6).writeShort(0))).isTrue();

        ((FrameBatch) backend.readInbound()).release();
        assertFalse(frontend.finish());
        assertFalse(backend.finish());
    }

    @Test
    void aLengthBelowFourIsRejected() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(Direction.FRONTEND, 1024));

        assertThatThrownBy(() -> channel.writeInbound(Unpooled.buffer().writeByte('Q').writeInt(3)))
                .hasCauseInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("invalid message length 3");
        assertFalse(channel.finish());
    }

    /** A server's ReadyForQuery is read by its status byte, so a shorter one must not pass off the next byte as it. */
    @Test
    void aServersReadyForQueryOfAnotherLengthIsRejected() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(Direction.BACKEND, 1024));
        ByteBuf shortOne = Unpooled.buffer().writeByte('Z').writeInt(4).writeByte('I').writeInt(4);

        assertThatThrownBy(() -> channel.writeInbound(shortOne))
                .hasCauseInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("ReadyForQuery with length 4, not 5");
        assertFalse(channel.finish());
    }

    @Test
    void aServersReadyForQueryWithAnUnknownStatusIsRejected() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(Direction.BACKEND, 1024));

        assertThatThrownBy(() -> channel.writeInbound(Unpooled.buffer().writeByte('Z').writeInt(5).writeByte('X')))
                .hasCauseInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("unknown transaction status 0x58");
        assertFalse(channel.finish());
    }

    @Test
    void aServersReadyForQueryIsWholeWithAKnownStatusAndAClientsZIsNotOne() {
        EmbeddedChannel backend = new EmbeddedChannel(new FrameDecoder(Direction.BACKEND, 1024));
        EmbeddedChannel frontend = new EmbeddedChannel(new FrameDecoder(Direction.FRONTEND, 1024));

        assertThat(backend.writeInbound(Unpooled.buffer().writeByte('Z').writeInt(5).writeByte('T'))).isTrue();
        // 'Z' is no client message at all: the type check refuses it, not the ReadyForQuery check
        assertThatThrownBy(() -> frontend.writeInbound(Unpooled.buffer().writeByte('Z').writeInt(4)))
                .hasCauseInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("unknown message type 0x5a");

        ((FrameBatch) backend.readInbound()).release();
        assertFalse(backend.finish());
        assertFalse(frontend.finish());
    }

    @Test
    void aStreamEndingInsideAFrameIsReportedNotDropped() {
        List<Object> events = new ArrayList<>();
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(Direction.FRONTEND, 1024),
                new ChannelInboundHandlerAdapter() {
                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        events.add(evt);
                    }
                });
        channel.writeInbound(Unpooled.buffer().writeByte('Q').writeInt(100).writeBytes(new byte[10]));

        channel.close();

        assertThat(events).containsExactly(new FrameDecoder.TruncatedStream(15));
        assertFalse(channel.finish());
    }

    /** A DataRow of {@code bytes} bytes whole (header included), its body counting up from 0 byte by byte. */
    private static byte[] dataRow(int bytes) {
        byte[] row = new byte[bytes];
        ByteBuf header = Unpooled.wrappedBuffer(row).resetWriterIndex();
        header.writeByte('D').writeInt(bytes - 1).writeShort(1).writeInt(bytes - 11);
        for (int i = 11; i < bytes; i++) {
            row[i] = (byte) i;
        }
        return row;
    }

    /**
     * A long DataRow the session relays as it is comes out part by part, each as its read brought it, the whole
     * frames before it first and those after it whole again: the decoder never holds more of it than one read, and
     * the limit, which bounds what it holds, does not apply to it.
     */
    @Test
    void aLongRowTheSessionRelaysComesOutInPartsAsTheReadsBringItAndIsNeverHeldWhole() {
        EmbeddedChannel channel = new EmbeddedChannel(FrameDecoder.fromServer(1024, () -> true));
        byte[] row = dataRow(FrameDecoder.PARTS_FROM * 4);
        byte[] complete = {'C', 0, 0, 0, 13, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', 0, 'Z', 0, 0, 0, 5, 'I'};
        int read = 64 * 1024;
        ByteBuf before = Unpooled.buffer().writeByte('2').writeInt(4); // BindComplete, whole
        channel.writeInbound(Unpooled.wrappedBuffer(before, Unpooled.wrappedBuffer(row, 0, read)));

        FrameBatch first = channel.readInbound();
        assertThat(first.content().readableBytes()).isEqualTo(5);
        first.release();
        ByteBuf relayed = Unpooled.buffer();
        FramePart part = channel.readInbound();
        assertThat(part.last()).isFalse();
        assertThat(part.content().readableBytes()).isEqualTo(read);
        relayed.writeBytes(part.content());
        part.release();
        for (int at = read; at < row.length; at += read) {
            int length = Math.min(read, row.length - at);
            ByteBuf bytes = Unpooled.wrappedBuffer(row, at, length);
            channel.writeInbound(at + length == row.length ? Unpooled.wrappedBuffer(bytes, Unpooled.wrappedBuffer(complete))
                    : bytes);
            part = channel.readInbound();
            assertThat(part.content().readableBytes()).as("what one read brought, no more").isEqualTo(length);
            assertThat(part.last()).isEqualTo(at + length == row.length);
            relayed.writeBytes(part.content());
            part.release();
        }

        assertThat(relayed.array()).startsWith(row);
        assertThat(relayed.readableBytes()).isEqualTo(row.length);
        FrameBatch after = channel.readInbound();
        List<Character> types = new ArrayList<>();
        after.forEach((type, offset, length) -> types.add((char) type));
        assertThat(types).containsExactly('C', 'Z');
        after.release();
        assertFalse(channel.finish());
    }

    /**
     * Where the session reads what comes (units mode), a long row is held whole within the limit, and one over it is
     * refused as before; short rows, and long ones a single read brings whole, come out whole either way.
     */
    @Test
    void aLongRowTheSessionReadsIsHeldWholeAndTheLimitStillBoundsIt() {
        byte[] row = dataRow(FrameDecoder.PARTS_FROM + 10);
        EmbeddedChannel reading = new EmbeddedChannel(FrameDecoder.fromServer(1024 * 1024, () -> false));
        reading.writeInbound(Unpooled.wrappedBuffer(row, 0, 100));
        assertThat((Object) reading.readInbound()).isNull();
        reading.writeInbound(Unpooled.wrappedBuffer(row, 100, row.length - 100));
        FrameBatch whole = reading.readInbound();
        assertThat(whole.content().readableBytes()).isEqualTo(row.length);
        whole.release();

        EmbeddedChannel relaying = new EmbeddedChannel(FrameDecoder.fromServer(1024 * 1024, () -> true));
        relaying.writeInbound(Unpooled.wrappedBuffer(row));
        FrameBatch inOneRead = relaying.readInbound();
        assertThat(inOneRead.content().readableBytes()).isEqualTo(row.length);
        inOneRead.release();

        EmbeddedChannel limited = new EmbeddedChannel(FrameDecoder.fromServer(1024, () -> false));
        assertThatThrownBy(() -> limited.writeInbound(Unpooled.wrappedBuffer(row, 0, 100)))
                .hasCauseInstanceOf(ProtocolViolation.class).hasMessageContaining("over limits.max_message_size");
        assertFalse(reading.finish());
        assertFalse(relaying.finish());
        assertFalse(limited.finish());
    }

    @Test
    void aStreamEndingInsideARowHandedOnInPartsIsReported() {
        List<Object> events = new ArrayList<>();
        EmbeddedChannel channel = new EmbeddedChannel(FrameDecoder.fromServer(1024, () -> true),
                new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ((FramePart) msg).release();
                    }

                    @Override
                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                        events.add(evt);
                    }
                });
        channel.writeInbound(Unpooled.wrappedBuffer(dataRow(FrameDecoder.PARTS_FROM * 2), 0, 1000));

        channel.close();

        assertThat(events).containsExactly(new FrameDecoder.TruncatedStream(0));
        assertFalse(channel.finish());
    }
}
