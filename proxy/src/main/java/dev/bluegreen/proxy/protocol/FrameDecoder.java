package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Splits a byte stream into frames, delivered as {@link FrameBatch}es: every complete frame a read
 * brought, as one retained slice of the input, never a copy. Each header is checked (known type,
 * length within the limit) before anything waits for or allocates that frame's body.
 *
 * <p>A client that has not authenticated yet gets a much smaller limit, as in Postgres (whose password
 * and SASL messages may be at most 65535 bytes): otherwise anyone who can reach the port could make
 * the proxy hold a 256 MiB message per connection. Until then frames come out one per batch, so that
 * the session has heard the password before the next header is checked against the limit.
 *
 * <p>The session reads a server's transaction status straight from the bytes of each ReadyForQuery, so
 * for the backend direction one is checked here too: exactly its length and one known status byte.
 * Shorter, its status would be the next message's type byte, or past the end of the read.
 *
 * <p>A server's DataRow or CopyData of {@link #PARTS_FROM} bytes or more, which a read does not bring whole, comes out
 * as {@link FramePart}s, each as a read brings it, where the connection says it relays such messages as they are
 * ({@link #handsOnInParts}): a relayed row is never held whole, whatever its length (Postgres allows a field of 1 GiB),
 * and {@code limits.max_message_size} does not apply to it. Other messages, and these where the session reads them
 * (a twin's answers are compared), are held whole within the limit.
 *
 * <p>A stream that ends inside a frame is reported to the next handler as {@link TruncatedStream}
 * rather than silently dropped.
 */
public final class FrameDecoder extends ByteToMessageDecoder {

    /** Fired (as a user event) when the input ends in the middle of a frame. */
    public record TruncatedStream(int bufferedBytes) {}

    /** Postgres's PG_MAX_AUTH_TOKEN_LENGTH: the longest password or SASL message it reads. */
    public static final int MAX_AUTHENTICATION_MESSAGE_BYTES = 65535;

    /**
     * The length from which a server's DataRow or CopyData a read does not bring whole is handed on in parts: below it,
     * waiting for the whole costs little and keeps the common path to whole frames.
     */
    public static final int PARTS_FROM = 256 * 1024;

    private final Direction direction;
    private final int maxMessageBytes;
    /** The limit in force: smaller than {@link #maxMessageBytes} until the client has authenticated. */
    private int limit;
    /** Whether a long DataRow or CopyData may be handed on in parts now; asked at each such message's header. */
    private final BooleanSupplier handsOnInParts;
    /** What is still to come of the message being handed on in parts; 0 when none is. */
    private int partRemaining;

    public FrameDecoder(Direction direction, int maxMessageBytes) {
        this(direction, maxMessageBytes, maxMessageBytes, () -> false);
    }

    private FrameDecoder(Direction direction, int maxMessageBytes, int limit, BooleanSupplier handsOnInParts) {
        this.direction = direction;
        this.maxMessageBytes = maxMessageBytes;
        this.limit = limit;
        this.handsOnInParts = handsOnInParts;
    }

    /**
     * For a server connection: a long DataRow or CopyData comes out in {@link FramePart}s whenever
     * {@code handsOnInParts} says, at its header, that the session relays it as it is.
     */
    public static FrameDecoder fromServer(int maxMessageBytes, BooleanSupplier handsOnInParts) {
        return new FrameDecoder(Direction.BACKEND, maxMessageBytes, maxMessageBytes, handsOnInParts);
    }

    /** For a client that has sent its StartupMessage: the authentication limit until {@link #authenticated()}. */
    public static FrameDecoder beforeAuthentication(int maxMessageBytes) {
        return new FrameDecoder(Direction.FRONTEND, maxMessageBytes, Math.min(MAX_AUTHENTICATION_MESSAGE_BYTES, maxMessageBytes),
                () -> false);
    }

    /** The client has authenticated: the configured limit applies from the next frame on. */
    public void authenticated() {
        limit = maxMessageBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (partRemaining > 0) {
            int part = Math.min(partRemaining, in.readableBytes());
            if (part == 0) {
                return;
            }
            partRemaining -= part;
            out.add(new FramePart(in.readRetainedSlice(part), partRemaining == 0));
            return;
        }
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
            boolean inParts = direction == Direction.BACKEND && (type == 'D' || type == 'd') && length >= PARTS_FROM
                    && end - offset < length + 1 && handsOnInParts.getAsBoolean();
            if (inParts && offset > start) {
                break; // the whole frames before it first
            }
            if (inParts) {
                partRemaining = length + 1 - (end - offset);
                out.add(new FramePart(in.readRetainedSlice(end - offset), false));
                return;
            }
            if (length > limit) {
                in.skipBytes(in.readableBytes());
                if (direction == Direction.BACKEND) {
                    throw ProtocolViolation.overLimit("a message of " + length + " bytes (a row or COPY chunk that"
                            + " large) is over limits.max_message_size, " + limit + " bytes, which bounds what the proxy"
                            + " holds of one message: raise it to relay such a message");
                }
                throw new ProtocolViolation("message length " + length + " exceeds the limit of " + limit + " bytes"
                        + (limit < maxMessageBytes ? " before authentication" : ""));
            }
            boolean readyForQuery = direction == Direction.BACKEND && type == ReadyForQuery.TYPE;
            if (readyForQuery && length != ReadyForQuery.LENGTH) {
                in.skipBytes(in.readableBytes());
                throw new ProtocolViolation("ReadyForQuery with length " + length + ", not " + ReadyForQuery.LENGTH);
            }
            if (end - offset < length + 1) {
                break;
            }
            if (readyForQuery) {
                byte status = in.getByte(offset + Frame.HEADER_LENGTH);
                if (!ReadyForQuery.isStatus(status)) {
                    in.skipBytes(in.readableBytes());
                    throw new ProtocolViolation(String.format("ReadyForQuery with unknown transaction status 0x%02x", status & 0xFF));
                }
            }
            offset += length + 1;
            if (limit < maxMessageBytes) {
                break; // one at a time until authenticated: the next may be checked against the larger limit
            }
        }
        if (offset > start) {
            out.add(new FrameBatch(in.readRetainedSlice(offset - start)));
        }
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        decode(ctx, in, out);
        if (in.isReadable() || partRemaining > 0) {
            int buffered = in.readableBytes();
            in.skipBytes(buffered);
            ctx.fireUserEventTriggered(new TruncatedStream(buffered));
        }
    }
}
