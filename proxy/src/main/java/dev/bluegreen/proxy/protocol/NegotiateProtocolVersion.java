package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.List;

/** {@code v}: tells a client asking for a newer minor version (or {@code _pq_} options) what the server speaks. */
public record NegotiateProtocolVersion(int newestMinorVersion, List<String> unrecognizedOptions) {

    public static final char TYPE = 'v';

    public NegotiateProtocolVersion {
        unrecognizedOptions = List.copyOf(unrecognizedOptions);
    }

    public ByteBuf encode(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(64);
        int at = Wire.beginMessage(out, TYPE);
        out.writeInt(newestMinorVersion).writeInt(unrecognizedOptions.size());
        unrecognizedOptions.forEach(option -> Wire.writeCString(out, option));
        return Wire.endMessage(out, at);
    }
}
