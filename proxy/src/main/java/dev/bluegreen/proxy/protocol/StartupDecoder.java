package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import java.util.List;

/**
 * One-shot decoder for the untyped packets that open a connection. SSLRequest and GSSENCRequest may
 * come first (the client then waits for our one-byte answer); a StartupMessage or CancelRequest ends
 * the startup phase, and the decoder replaces itself with a {@link FrameDecoder} (with the small limit
 * of a client not yet authenticated) so that any bytes already received flow on as typed frames.
 *
 * <p>Bytes that arrive after an SSLRequest before it was answered are rejected: they would otherwise
 * be taken as if they came over the encrypted channel (CVE-2021-23214). A connection that opens with
 * a TLS handshake record is direct TLS; the session decides whether to accept it.
 *
 * <p>Each kind of encryption request is answered once, as in Postgres: a second SSLRequest, a second
 * GSSENCRequest, or a GSSENCRequest once TLS was begun by an SSLRequest is read as Postgres reads it, as a
 * StartupMessage for protocol 1234.5679 (or .5680), which the session refuses with 0A000.
 */
public final class StartupDecoder extends ByteToMessageDecoder {

    private static final int MIN_LENGTH = 8;
    /** TLS record content type "handshake": what a ClientHello starts with. No startup packet can. */
    private static final byte TLS_HANDSHAKE_RECORD = 0x16;

    private final int maxStartupBytes;
    private final int maxMessageBytes;
    /** Which encryption requests have been passed on (and so answered): Postgres's ssl_done and gss_done. */
    private boolean sslRequested;
    private boolean gssRequested;

    public StartupDecoder(int maxStartupBytes, int maxMessageBytes) {
        this.maxStartupBytes = maxStartupBytes;
        this.maxMessageBytes = maxMessageBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.isReadable() && in.getByte(in.readerIndex()) == TLS_HANDSHAKE_RECORD && !encrypted(ctx)) {
            out.add(new StartupPacket.DirectTls(in.readRetainedSlice(in.readableBytes())));
            return;
        }
        if (in.readableBytes() < 4) {
            return;
        }
        int length = in.getInt(in.readerIndex());
        if (length < MIN_LENGTH || length > maxStartupBytes) {
            in.skipBytes(in.readableBytes());
            throw new ProtocolViolation("invalid startup packet length " + length + " (limit " + maxStartupBytes + " bytes)");
        }
        if (in.readableBytes() < length) {
            return;
        }
        in.skipBytes(4);
        ByteBuf body = in.readSlice(length - 4);
        int code = body.readInt();
        if (alreadyNegotiated(ctx, code)) {
            out.add(new UnsupportedProtocol(code >>> 16, code & 0xFFFF));
            ctx.pipeline().remove(this);
            return;
        }
        switch (code) {
            case StartupPacket.SSL_REQUEST_CODE, StartupPacket.GSSENC_REQUEST_CODE -> {
                Wire.expectConsumed(body, "encryption request");
                if (in.isReadable()) {
                    in.skipBytes(in.readableBytes());
                    throw new ProtocolViolation("received unencrypted data after " + (code == StartupPacket.SSL_REQUEST_CODE ? "SSL" : "GSSENC") + " request");
                }
                if (code == StartupPacket.SSL_REQUEST_CODE) {
                    sslRequested = true;
                    out.add(new StartupPacket.SslRequest());
                } else {
                    gssRequested = true;
                    out.add(new StartupPacket.GssEncRequest());
                }
            }
            case StartupPacket.CANCEL_REQUEST_CODE -> {
                Wire.expectReadable(body, 8, "cancel request");
                int processId = body.readInt();
                int secretLength = body.readableBytes();
                if (secretLength < 4 || secretLength > 256) {
                    throw new ProtocolViolation("malformed cancel request");
                }
                byte[] secret = new byte[secretLength];
                body.readBytes(secret);
                out.add(new StartupPacket.CancelRequest(processId, secret));
                ctx.pipeline().remove(this);
            }
            default -> {
                if (code >>> 16 != 3) {
                    out.add(new UnsupportedProtocol(code >>> 16, code & 0xFFFF));
                    ctx.pipeline().remove(this);
                    return;
                }
                out.add(StartupPacket.StartupMessage.decode(code, body));
                ctx.pipeline().replace(this, "frames", FrameDecoder.beforeAuthentication(maxMessageBytes));
            }
        }
    }

    /** Postgres's rule: a request of a kind already answered, or GSSENC once an SSLRequest has brought TLS. */
    private boolean alreadyNegotiated(ChannelHandlerContext ctx, int code) {
        return switch (code) {
            case StartupPacket.SSL_REQUEST_CODE -> sslRequested;
            case StartupPacket.GSSENC_REQUEST_CODE -> gssRequested || (sslRequested && encrypted(ctx));
            default -> false;
        };
    }

    private static boolean encrypted(ChannelHandlerContext ctx) {
        return ctx.pipeline().get(SslHandler.class) != null;
    }

    /** A StartupMessage for a major protocol version other than 3; the session rejects it with 0A000. */
    public record UnsupportedProtocol(int majorVersion, int minorVersion) {}
}
