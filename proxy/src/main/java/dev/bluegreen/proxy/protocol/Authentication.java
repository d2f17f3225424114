package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.List;

/** The {@code R} messages a server sends during authentication. */
public sealed interface Authentication {

    char TYPE = 'R';

    ByteBuf encode(ByteBufAllocator alloc);

    record Ok() implements Authentication {
        @Override
        public ByteBuf encode(ByteBufAllocator alloc) {
            return withCode(alloc, 0);
        }
    }

    record CleartextPassword() implements Authentication {
        @Override
        public ByteBuf encode(ByteBufAllocator alloc) {
            return withCode(alloc, 3);
        }
    }

    record Md5Password(byte[] salt) implements Authentication {
        @Override
        public ByteBuf encode(ByteBufAllocator alloc) {
            ByteBuf out = alloc.buffer(12);
            int at = Wire.beginMessage(out, TYPE);
            out.writeInt(5).writeBytes(salt);
            return Wire.endMessage(out, at);
        }
    }

    record Sasl(List<String> mechanisms) implements Authentication {
        public Sasl {
            mechanisms = List.copyOf(mechanisms);
        }

        @Override
        public ByteBuf encode(ByteBufAllocator alloc) {
            ByteBuf out = alloc.buffer(64);
            int at = Wire.beginMessage(out, TYPE);
            out.writeInt(10);
            mechanisms.forEach(m -> Wire.writeCString(out, m));
            out.writeByte(0);
            return Wire.endMessage(out, at);
        }
    }

    record SaslContinue(byte[] data) implements Authentication {
        @Override
        public ByteBuf encode(ByteBufAllocator alloc) {
            return withData(alloc, 11, data);
        }
    }

    record SaslFinal(byte[] data) implements Authentication {
        @Override
        public ByteBuf encode(ByteBufAllocator alloc) {
            return withData(alloc, 12, data);
        }
    }

    /** A method the proxy cannot perform as a client (Kerberos, GSSAPI, SSPI). */
    record Unsupported(int code) implements Authentication {
        @Override
        public ByteBuf encode(ByteBufAllocator alloc) {
            return withCode(alloc, code);
        }
    }

    static Authentication decode(ByteBuf body) {
        Wire.expectReadable(body, 4, "authentication request");
        int code = body.readInt();
        Authentication message = switch (code) {
            case 0 -> new Ok();
            case 3 -> new CleartextPassword();
            case 5 -> {
                Wire.expectReadable(body, 4, "MD5 authentication request");
                byte[] salt = new byte[4];
                body.readBytes(salt);
                yield new Md5Password(salt);
            }
            case 10 -> {
                List<String> mechanisms = new ArrayList<>();
                while (true) {
                    Wire.expectReadable(body, 1, "SASL authentication request");
                    if (body.getByte(body.readerIndex()) == 0) {
                        body.skipBytes(1);
                        break;
                    }
                    mechanisms.add(Wire.readCString(body));
                }
                yield new Sasl(mechanisms);
            }
            case 11 -> new SaslContinue(readRest(body));
            case 12 -> new SaslFinal(readRest(body));
            default -> {
                body.skipBytes(body.readableBytes());
                yield new Unsupported(code);
            }
        };
        Wire.expectConsumed(body, "authentication request");
        return message;
    }

    public static Authentication decode(Frame frame) {
        return decode(frame.body());
    }

    private static byte[] readRest(ByteBuf body) {
        byte[] data = new byte[body.readableBytes()];
        body.readBytes(data);
        return data;
    }

    private static ByteBuf withCode(ByteBufAllocator alloc, int code) {
        return withData(alloc, code, new byte[0]);
    }

    private static ByteBuf withData(ByteBufAllocator alloc, int code, byte[] data) {
        ByteBuf out = alloc.buffer(9 + data.length);
        int at = Wire.beginMessage(out, TYPE);
        out.writeInt(code).writeBytes(data);
        return Wire.endMessage(out, at);
    }
}
