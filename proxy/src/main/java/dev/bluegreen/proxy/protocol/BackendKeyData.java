package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** {@code K}: the key a client quotes in a CancelRequest. 4-byte secret in protocol 3.0. */
public record BackendKeyData(int processId, byte[] secretKey) {

    public static final char TYPE = 'K';

    public static BackendKeyData decode(Frame frame) {
        ByteBuf body = frame.body();
        Wire.expectReadable(body, 8, "backend key data");
        int processId = body.readInt();
        byte[] secret = new byte[body.readableBytes()];
        body.readBytes(secret);
        return new BackendKeyData(processId, secret);
    }

    public ByteBuf encode(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(9 + secretKey.length);
        int at = Wire.beginMessage(out, TYPE);
        out.writeInt(processId).writeBytes(secretKey);
        return Wire.endMessage(out, at);
    }
}
