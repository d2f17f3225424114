package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** {@code X}: the client is leaving. */
public final class Terminate {

    public static final char TYPE = 'X';

    private Terminate() {}

    public static ByteBuf encode(ByteBufAllocator alloc) {
        return alloc.buffer(5).writeByte(TYPE).writeInt(4);
    }
}
