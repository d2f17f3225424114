package dev.bluegreen.proxy.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StartupDecoderTest {

    private static EmbeddedChannel channel() {
        return new EmbeddedChannel(new StartupDecoder(10 * 1024, 1 << 20));
    }

    private static ByteBuf startup(int protocol, Map<String, String> parameters) {
        ByteBuf out = Unpooled.buffer();
        int at = Wire.beginUntyped(out);
        out.writeInt(protocol);
        parameters.forEach((k, v) -> {
            Wire.writeCString(out, k);
            Wire.writeCString(out, v);
        });
        out.writeByte(0);
        return Wire.endMessage(out, at);
    }

    @Test
    void aStartupMessageKeepsEveryParameterInOrder() {
        EmbeddedChannel channel = channel();
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("user", "alice");
        parameters.put("database", "shop");
        parameters.put("options", "-c search_path=app");
        parameters.put("application_name", "checkout");

        channel.writeInbound(startup(StartupPacket.PROTOCOL_3_0, parameters));

        StartupPacket.StartupMessage message = channel.readInbound();
        assertThat(message.majorVersion()).isEqualTo(3);
        assertThat(message.minorVersion()).isZero();
        assertThat(message.parameters()).containsExactlyEntriesOf(parameters);
        assertThat(channel.pipeline().get(FrameDecoder.class)).isNotNull();
        assertThat(channel.pipeline().get(StartupDecoder.class)).isNull();
        assertFalse(channel.finish());
    }

    @Test
    void bytesAfterTheStartupMessageFlowOnAsFrames() {
        EmbeddedChannel channel = channel();
        ByteBuf startup = startup(StartupPacket.PROTOCOL_3_0, Map.of("user", "alice"));
        ByteBuf password = PasswordMessage.encodePassword(UnpooledByteBufAllocator.DEFAULT, "pw");

        channel.writeInbound(Unpooled.wrappedBuffer(startup, password));

        assertThat((Object) channel.readInbound()).isInstanceOf(StartupPacket.StartupMessage.class);
        FrameBatch batch = channel.readInbound();
        Frame frame = batch.frames().get(0);
        assertThat((char) frame.type()).isEqualTo('p');
        assertThat(PasswordMessage.decodePassword(frame)).isEqualTo("pw");
        frame.release();
        batch.release();
        assertFalse(channel.finish());
    }

    @Test
    void protocol32IsDecodedSoItCanBeNegotiatedDown() {
        EmbeddedChannel channel = channel();

        channel.writeInbound(startup((3 << 16) | 2, Map.of("user", "alice", "_pq_.example", "1")));

        StartupPacket.StartupMessage message = channel.readInbound();
        assertThat(message.minorVersion()).isEqualTo(2);
        assertThat(message.parameters()).containsKey("_pq_.example");
        assertFalse(channel.finish());
    }

    @Test
    void aMajorVersionOtherThanThreeIsReportedAsUnsupported() {
        EmbeddedChannel channel = channel();

        channel.writeInbound(startup(2 << 16, Map.of()));

        assertThat((Object) channel.readInbound()).isEqualTo(new StartupDecoder.UnsupportedProtocol(2, 0));
        assertFalse(channel.finish());
    }

    @Test
    void anSslRequestIsDecodedAndTheDecoderStays() {
        EmbeddedChannel channel = channel();

        channel.writeInbound(StartupPacket.SslRequest.encode(UnpooledByteBufAllocator.DEFAULT));

        assertThat((Object) channel.readInbound()).isInstanceOf(StartupPacket.SslRequest.class);
        assertThat(channel.pipeline().get(StartupDecoder.class)).isNotNull();
        assertFalse(channel.finish());
    }

    private static ByteBuf gssEncRequest() {
        return Unpooled.buffer(8).writeInt(8).writeInt(StartupPacket.GSSENC_REQUEST_CODE);
    }

    @Test
    void aClientMayAskForGssEncryptionThenTlsOnceEach() {
        EmbeddedChannel channel = channel();

        channel.writeInbound(gssEncRequest());
        channel.writeInbound(StartupPacket.SslRequest.encode(UnpooledByteBufAllocator.DEFAULT));

        assertThat((Object) channel.readInbound()).isInstanceOf(StartupPacket.GssEncRequest.class);
        assertThat((Object) channel.readInbound()).isInstanceOf(StartupPacket.SslRequest.class);
        assertFalse(channel.finish());
    }

    /** Postgres answers each kind once; a repeat is read as a StartupMessage for protocol 1234.5679 or 1234.5680. */
    @Test
    void aSecondRequestOfTheSameKindIsAnUnsupportedProtocol() {
        EmbeddedChannel ssl = channel();
        EmbeddedChannel gss = channel();

        ssl.writeInbound(StartupPacket.SslRequest.encode(UnpooledByteBufAllocator.DEFAULT));
        ssl.writeInbound(StartupPacket.SslRequest.encode(UnpooledByteBufAllocator.DEFAULT));
        gss.writeInbound(gssEncRequest());
        gss.writeInbound(gssEncRequest());

        assertThat((Object) ssl.readInbound()).isInstanceOf(StartupPacket.SslRequest.class);
        assertThat((Object) ssl.readInbound()).isEqualTo(new StartupDecoder.UnsupportedProtocol(1234, 5679));
        assertThat((Object) gss.readInbound()).isInstanceOf(StartupPacket.GssEncRequest.class);
        assertThat((Object) gss.readInbound()).isEqualTo(new StartupDecoder.UnsupportedProtocol(1234, 5680));
        assertFalse(ssl.finish());
        assertFalse(gss.finish());
    }

    @Test
    void bytesSentAfterAnSslRequestBeforeTheAnswerAreRejected() {
        EmbeddedChannel channel = channel();
        ByteBuf ssl = StartupPacket.SslRequest.encode(UnpooledByteBufAllocator.DEFAULT);
        ByteBuf smuggled = startup(StartupPacket.PROTOCOL_3_0, Map.of("user", "mallory"));

        assertThatThrownBy(() -> channel.writeInbound(Unpooled.wrappedBuffer(ssl, smuggled)))
                .hasCauseInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("unencrypted data after SSL request");
        assertThat((Object) channel.readInbound()).isNull();
        assertFalse(channel.finish());
    }

    @Test
    void aCancelRequestCarriesItsKey() {
        EmbeddedChannel channel = channel();

        channel.writeInbound(StartupPacket.CancelRequest.encode(UnpooledByteBufAllocator.DEFAULT, 42, new byte[] {1, 2, 3, 4}));

        StartupPacket.CancelRequest cancel = channel.readInbound();
        assertThat(cancel.processId()).isEqualTo(42);
        assertThat(cancel.secretKey()).containsExactly(1, 2, 3, 4);
        assertFalse(channel.finish());
    }

    @Test
    void aStartupPacketOverTheLimitIsRejectedBeforeItArrives() {
        EmbeddedChannel channel = channel();

        assertThatThrownBy(() -> channel.writeInbound(Unpooled.buffer().writeInt(10 * 1024 + 1)))
                .hasCauseInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("invalid startup packet length 10241");
        assertFalse(channel.finish());
    }

    @Test
    void garbageInsteadOfAStartupPacketIsRejected() {
        EmbeddedChannel channel = channel();

        assertThatThrownBy(() -> channel.writeInbound(
                Unpooled.copiedBuffer("GET / HTTP/1.1\r\nHost: x\r\n\r\n", StandardCharsets.US_ASCII)))
                .hasCauseInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("invalid startup packet length");
        assertFalse(channel.finish());
    }

    @Test
    void anUnterminatedParameterListIsRejected() {
        EmbeddedChannel channel = channel();
        ByteBuf bad = Unpooled.buffer().writeInt(14).writeInt(StartupPacket.PROTOCOL_3_0)
                .writeBytes("user\0a".getBytes(StandardCharsets.US_ASCII));

        assertThatThrownBy(() -> channel.writeInbound(bad)).hasCauseInstanceOf(ProtocolViolation.class);
        assertFalse(channel.finish());
    }

    @Test
    void aConnectionOpeningWithATlsRecordIsDirectTlsAndKeepsItsBytes() {
        EmbeddedChannel channel = channel();
        byte[] helloStart = {0x16, 0x03, 0x01, 0x00, 0x20, 0x01};

        channel.writeInbound(Unpooled.wrappedBuffer(helloStart));

        StartupPacket.DirectTls direct = channel.readInbound();
        assertThat(ByteBufUtil.getBytes(direct.handshakeBytes())).containsExactly(helloStart);
        direct.handshakeBytes().release();
        assertFalse(channel.finish());
    }
}
