package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** {@code Z}: the server is ready; the status says whether a transaction is open. */
public enum ReadyForQuery {
    IDLE('I'), IN_TRANSACTION('T'), FAILED_TRANSACTION('E');

    public static final char TYPE = 'Z';
    /** The value of its length field: the length itself and the status byte. */
    public static final int LENGTH = 5;

    private final char status;

    ReadyForQuery(char status) {
        this.status = status;
    }

    public static ReadyForQuery decode(Frame frame) {
        ByteBuf body = frame.body();
        if (body.readableBytes() != 1) {
            throw new ProtocolViolation("malformed ReadyForQuery");
        }
        return of(body.getByte(body.readerIndex()));
    }

    /** Whether this is the status byte of a ReadyForQuery. */
    public static boolean isStatus(byte status) {
        return status == 'I' || status == 'T' || status == 'E';
    }

    /** From the status byte of a ReadyForQuery. */
    public static ReadyForQuery of(byte status) {
        return switch (status) {
            case 'I' -> IDLE;
            case 'T' -> IN_TRANSACTION;
            case 'E' -> FAILED_TRANSACTION;
            default -> throw new ProtocolViolation("unknown transaction status in ReadyForQuery");
        };
    }

    public ByteBuf encode(ByteBufAllocator alloc) {
        return alloc.buffer(1 + LENGTH).writeByte(TYPE).writeInt(LENGTH).writeByte(status);
    }
}
