package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.List;

/**
 * {@code v}: tells a client asking for a newer minor version (or {@code _pq_} options) what the server speaks.
 * The protocol documentation calls the first field the newest minor version, but servers send the whole
 * version code ({@code major << 16 | minor}, 196608 for 3.0), and libpq 18 reads it so: a bare {@code 0}
 * is a "downgrade to pre-3.0" that it refuses.
 *
 * @param version the protocol version the server will speak, as a startup packet spells it
 */
public record NegotiateProtocolVersion(int version, List<String> unrecognizedOptions) {

    public static final char TYPE = 'v';

    public NegotiateProtocolVersion {
        unrecognizedOptions = List.copyOf(unrecognizedOptions);
    }

    public ByteBuf encode(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(64);
        int at = Wire.beginMessage(out, TYPE);
        out.writeInt(version).writeInt(unrecognizedOptions.size());
        unrecognizedOptions.forEach(option -> Wire.writeCString(out, option));
        return Wire.endMessage(out, at);
    }
}
