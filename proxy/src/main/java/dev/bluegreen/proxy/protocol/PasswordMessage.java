package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The frontend {@code p} messages. One type byte, three meanings: which one is known only from the
 * authentication request it answers, so each has its own decoder.
 */
public final class PasswordMessage {

    public static final char TYPE = 'p';

    private PasswordMessage() {}

    /** A cleartext or MD5 password: one C string. */
    public static String decodePassword(Frame frame) {
        ByteBuf body = frame.body();
        String password = Wire.readCString(body);
        Wire.expectConsumed(body, "password message");
        return password;
    }

    public static ByteBuf encodePassword(ByteBufAllocator alloc, String password) {
        ByteBuf out = alloc.buffer(64);
        int at = Wire.beginMessage(out, TYPE);
        Wire.writeCString(out, password);
        return Wire.endMessage(out, at);
    }

    /** SASLInitialResponse: the chosen mechanism and the client-first message. */
    public record SaslInitialResponse(String mechanism, byte[] data) {
        public static SaslInitialResponse decode(Frame frame) {
            ByteBuf body = frame.body();
            String mechanism = Wire.readCString(body);
            Wire.expectReadable(body, 4, "SASL initial response");
            int length = body.readInt();
            if (length != -1 && length != body.readableBytes()) {
                throw new ProtocolViolation("malformed SASL initial response");
            }
            byte[] data = new byte[Math.max(length, 0)];
            body.readBytes(data);
            Wire.expectConsumed(body, "SASL initial response");
            return new SaslInitialResponse(mechanism, data);
        }

        public ByteBuf encode(ByteBufAllocator alloc) {
            ByteBuf out = alloc.buffer(64 + data.length);
            int at = Wire.beginMessage(out, TYPE);
            Wire.writeCString(out, mechanism);
            out.writeInt(data.length).writeBytes(data);
            return Wire.endMessage(out, at);
        }
    }

    /** SASLResponse: the rest of the exchange, opaque bytes. */
    public static byte[] decodeSaslResponse(Frame frame) {
        ByteBuf body = frame.body();
        byte[] data = new byte[body.readableBytes()];
        body.readBytes(data);
        return data;
    }

    public static ByteBuf encodeSaslResponse(ByteBufAllocator alloc, byte[] data) {
        ByteBuf out = alloc.buffer(5 + data.length);
        int at = Wire.beginMessage(out, TYPE);
        out.writeBytes(data);
        return Wire.endMessage(out, at);
    }
}
