package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits a byte stream into frames, delivered as {@link FrameBatch}es: every complete frame a read
 * brought, as one retained slice of the input, never a copy. Each header is checked (known type,
 * length within the limit) before anything waits for or allocates that frame's body.
 *
 * <p>A stream that ends inside a frame is reported to the next handler as {@link TruncatedStream}
 * rather than silently dropped.
 */
public final class FrameDecoder extends ByteToMessageDecoder {

    /** Fired (as a user event) when the input ends in the middle of a frame. */
    public record TruncatedStream(int bufferedBytes) {}

    private final Direction direction;
    private final int maxMessageBytes;

    public FrameDecoder(Direction direction, int maxMessageBytes) {
        this.direction = direction;
        this.maxMessageBytes = maxMessageBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        int start = in.readerIndex();
        int offset = start;
        int end = in.writerIndex();
        while (end - offset >= Frame.HEADER_LENGTH) {
            byte type = in.getByte(offset);
            if (!direction.isKnownType(type)) {
                in.skipBytes(in.readableBytes());
                throw new ProtocolViolation(String.format("unknown message type 0x%02x", type & 0xFF));
            }
            int length = in.getInt(offset + 1);
            if (length < 4) {
                in.skipBytes(in.readableBytes());
                throw new ProtocolViolation("invalid message length " + length);
            }
            if (length > maxMessageBytes) {
                in.skipBytes(in.readableBytes());
                throw new ProtocolViolation("message length " + length + " exceeds the limit of " + maxMessageBytes + " bytes");
            }
            if (end - offset < length + 1) {
                break;
            }
            offset += length + 1;
        }
        if (offset > start) {
            out.add(new FrameBatch(in.readRetainedSlice(offset - start)));
        }
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        decode(ctx, in, out);
        if (in.isReadable()) {
            int buffered = in.readableBytes();
            in.skipBytes(buffered);
            ctx.fireUserEventTriggered(new TruncatedStream(buffered));
        }
    }
}
