package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The untyped packets a client may open a connection with. Distinguished by the request code that
 * follows the length; see {@link StartupDecoder}.
 */
public sealed interface StartupPacket {

    int SSL_REQUEST_CODE = 80877103;
    int GSSENC_REQUEST_CODE = 80877104;
    int CANCEL_REQUEST_CODE = 80877102;
    int PROTOCOL_3_0 = 3 << 16;

    /** Asks for TLS; answered with one byte, {@code S} or {@code N}. */
    record SslRequest() implements StartupPacket {
        public static ByteBuf encode(ByteBufAllocator alloc) {
            return alloc.buffer(8).writeInt(8).writeInt(SSL_REQUEST_CODE);
        }
    }

    /**
     * The connection opened with a TLS handshake record instead of an SSLRequest (PostgreSQL 17's
     * {@code sslnegotiation=direct}). Carries the bytes received so far, to be replayed through TLS;
     * the holder must release them.
     */
    record DirectTls(ByteBuf handshakeBytes) implements StartupPacket {
        /** The ALPN protocol name of the Postgres protocol, which Postgres 17 requires for direct TLS. */
        public static final String ALPN_PROTOCOL = "postgresql";
    }

    /** Asks for GSSAPI encryption; the proxy always answers {@code N}. */
    record GssEncRequest() implements StartupPacket {}

    /** Asks to cancel the query running on the session with this key. The secret is 4 bytes in 3.0, up to 256 in 3.2. */
    record CancelRequest(int processId, byte[] secretKey) implements StartupPacket {
        public static ByteBuf encode(ByteBufAllocator alloc, int processId, byte[] secretKey) {
            ByteBuf out = alloc.buffer(12 + secretKey.length);
            out.writeInt(12 + secretKey.length).writeInt(CANCEL_REQUEST_CODE).writeInt(processId).writeBytes(secretKey);
            return out;
        }
    }

    /** Opens a session: protocol version and the parameters, in the order the client sent them. */
    record StartupMessage(int majorVersion, int minorVersion, Map<String, String> parameters) implements StartupPacket {

        public StartupMessage {
            parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        }

        public String user() {
            return parameters.get("user");
        }

        /** The database, which defaults to the user name as in Postgres, also when it is empty. */
        public String database() {
            String database = parameters.get("database");
            return database == null || database.isEmpty() ? user() : database;
        }

        /**
         * Whether the client asks for a replication connection: {@code replication} set to
         * {@code database} (logical) or to anything Postgres does not read as false (physical; a value it
         * cannot read at all it refuses, so asking is refused either way).
         */
        public boolean asksForReplication() {
            String value = parameters.get("replication");
            return value != null && !isFalse(value);
        }

        /** False as Postgres's parse_bool reads it: any case, a prefix of false or no, of(f), 0. */
        private static boolean isFalse(String value) {
            String v = value.toLowerCase(Locale.ROOT);
            return !v.isEmpty() && ("false".startsWith(v) || "no".startsWith(v)
                    || (v.length() >= 2 && "off".startsWith(v)) || v.equals("0"));
        }

        static StartupMessage decode(int protocol, ByteBuf body) {
            Map<String, String> parameters = new LinkedHashMap<>();
            while (true) {
                Wire.expectReadable(body, 1, "startup packet");
                if (body.getByte(body.readerIndex()) == 0) {
                    body.skipBytes(1);
                    break;
                }
                String name = Wire.readCString(body);
                String value = Wire.readCString(body);
                if (parameters.put(name, value) != null) {
                    throw new ProtocolViolation("duplicate startup parameter \"" + name + "\"");
                }
            }
            Wire.expectConsumed(body, "startup packet");
            return new StartupMessage(protocol >>> 16, protocol & 0xFFFF, parameters);
        }

        /** Encodes a protocol 3.0 startup message with these parameters. */
        public static ByteBuf encode(ByteBufAllocator alloc, Map<String, String> parameters) {
            ByteBuf out = alloc.buffer(256);
            int lengthAt = Wire.beginUntyped(out);
            out.writeInt(PROTOCOL_3_0);
            parameters.forEach((name, value) -> {
                Wire.writeCString(out, name);
                Wire.writeCString(out, value);
            });
            out.writeByte(0);
            return Wire.endMessage(out, lengthAt);
        }
    }
}
