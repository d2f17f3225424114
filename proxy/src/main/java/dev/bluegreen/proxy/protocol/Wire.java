package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/** Primitive reads and writes shared by the message codecs: C strings and length back-patching. */
public final class Wire {

    private Wire() {}

    /** Reads a NUL-terminated UTF-8 string, or throws if the buffer ends before the NUL. */
    public static String readCString(ByteBuf in) {
        int start = in.readerIndex();
        int nul = in.indexOf(start, in.writerIndex(), (byte) 0);
        if (nul < 0) {
            throw new ProtocolViolation("unterminated string");
        }
        String value = in.toString(start, nul - start, StandardCharsets.UTF_8);
        in.readerIndex(nul + 1);
        return value;
    }

    public static void writeCString(ByteBuf out, String value) {
        writeCString(out, value, StandardCharsets.UTF_8);
    }

    /** Writes {@code value} in {@code charset}, then a NUL. */
    public static void writeCString(ByteBuf out, String value, Charset charset) {
        out.writeCharSequence(value, charset);
        out.writeByte(0);
    }

    /** Writes the type byte and a length placeholder; returns the placeholder's index for {@link #endMessage}. */
    public static int beginMessage(ByteBuf out, char type) {
        out.writeByte(type);
        int lengthAt = out.writerIndex();
        out.writeInt(0);
        return lengthAt;
    }

    /** Writes a length placeholder for an untyped (startup-phase) packet. */
    public static int beginUntyped(ByteBuf out) {
        int lengthAt = out.writerIndex();
        out.writeInt(0);
        return lengthAt;
    }

    public static ByteBuf endMessage(ByteBuf out, int lengthAt) {
        out.setInt(lengthAt, out.writerIndex() - lengthAt);
        return out;
    }

    /** Fails unless the decoder consumed the whole body: trailing bytes mean a malformed message. */
    public static void expectConsumed(ByteBuf body, String message) {
        if (body.isReadable()) {
            throw new ProtocolViolation("malformed " + message + ": " + body.readableBytes() + " trailing bytes");
        }
    }

    public static void expectReadable(ByteBuf body, int bytes, String message) {
        if (body.readableBytes() < bytes) {
            throw new ProtocolViolation("malformed " + message + ": truncated");
        }
    }
}
