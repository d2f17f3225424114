package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * Part of a server's message too long to hold whole, as one read brought it: the first part starts with the
 * message's header, and {@link #last()} ends it. Only a DataRow or CopyData the session relays as it is comes so
 * ({@link FrameDecoder}): the relay looks at neither, and writes each part on as it arrives, holding no more of the
 * message than a read brings.
 */
public final class FramePart extends DefaultByteBufHolder {

    private final boolean last;

    FramePart(ByteBuf bytes, boolean last) {
        super(bytes);
        this.last = last;
    }

    /** Whether the message ends with this part. */
    public boolean last() {
        return last;
    }

    @Override
    public String toString() {
        return "FramePart[" + content().readableBytes() + " bytes" + (last ? ", last" : "") + "]";
    }
}
