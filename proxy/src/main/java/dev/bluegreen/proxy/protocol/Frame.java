package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * One typed protocol message as it came off the wire: the type byte, the length and the body, as a
 * read-only slice of the input. A frame is forwarded untouched; only messages a decision needs are
 * decoded, from {@link #body()}.
 */
public final class Frame extends DefaultByteBufHolder {

    /** Type byte plus the Int32 length. */
    public static final int HEADER_LENGTH = 5;

    private final byte type;

    Frame(byte type, ByteBuf wholeFrame) {
        super(wholeFrame);
        this.type = type;
    }

    /** A frame of a whole message the proxy made itself ({@code FrontendMessages}); takes ownership. */
    public static Frame of(ByteBuf wholeFrame) {
        return new Frame(wholeFrame.getByte(wholeFrame.readerIndex()), wholeFrame);
    }

    public byte type() {
        return type;
    }

    /** The message body, after the type and length, as a slice sharing this frame's memory. */
    public ByteBuf body() {
        ByteBuf all = content();
        return all.slice(all.readerIndex() + HEADER_LENGTH, all.readableBytes() - HEADER_LENGTH);
    }

    @Override
    public Frame retain() {
        super.retain();
        return this;
    }

    @Override
    public String toString() {
        return "Frame[" + (char) type + ", " + content().readableBytes() + " bytes]";
    }
}
