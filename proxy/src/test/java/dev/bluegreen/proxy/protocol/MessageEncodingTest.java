package dev.bluegreen.proxy.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Exact bytes for the messages the proxy writes itself. */
class MessageEncodingTest {

    private static final UnpooledByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;

    private static String hex(ByteBuf buf) {
        try {
            return ByteBufUtil.hexDump(buf);
        } finally {
            buf.release();
        }
    }

    private static Frame frameOf(ByteBuf wire) {
        return new Frame(wire.getByte(0), wire);
    }

    @Test
    void authenticationOkIsTheFixedNineBytes() {
        assertThat(hex(new Authentication.Ok().encode(ALLOC))).isEqualTo("520000000800000000");
    }

    @Test
    void md5RequestCarriesTheSalt() {
        assertThat(hex(new Authentication.Md5Password(new byte[] {1, 2, 3, 4}).encode(ALLOC)))
                .isEqualTo("52" + "0000000c" + "00000005" + "01020304");
    }

    @Test
    void saslRequestListsMechanismsAndEndsWithAnEmptyOne() {
        assertThat(hex(new Authentication.Sasl(List.of("SCRAM-SHA-256")).encode(ALLOC)))
                .isEqualTo("52" + "00000017" + "0000000a" + ByteBufUtil.hexDump("SCRAM-SHA-256".getBytes()) + "00" + "00");
    }

    @Test
    void readyForQueryIdle() {
        assertThat(hex(ReadyForQuery.IDLE.encode(ALLOC))).isEqualTo("5a0000000549");
    }

    @Test
    void backendKeyDataIsProcessIdThenSecret() {
        assertThat(hex(new BackendKeyData(7, new byte[] {9, 9, 9, 9}).encode(ALLOC))).isEqualTo("4b0000000c0000000709090909");
    }

    @Test
    void negotiateProtocolVersionListsUnrecognisedOptions() {
        assertThat(hex(new NegotiateProtocolVersion(3 << 16, List.of("_pq_.x")).encode(ALLOC)))
                .isEqualTo("76" + "00000013" + "00030000" + "00000001" + ByteBufUtil.hexDump("_pq_.x".getBytes()) + "00");
    }

    @Test
    void errorResponseRoundTripsWithItsSqlState() {
        ErrorResponse error = ErrorResponse.fatal("08P01", "bad message");

        Frame frame = frameOf(error.encode(ALLOC));
        ErrorResponse decoded = ErrorResponse.decode(frame);
        frame.release();

        assertThat(decoded.sqlState()).isEqualTo("08P01");
        assertThat(decoded.severity()).isEqualTo("FATAL");
        assertThat(decoded.message()).isEqualTo("bad message");
    }

    @Test
    void authenticationRequestsDecodeToTheirTypes() {
        Function<ByteBuf, Authentication> decode = wire -> {
            Frame frame = frameOf(wire);
            try {
                return Authentication.decode(frame);
            } finally {
                frame.release();
            }
        };
        assertThat(decode.apply(new Authentication.Ok().encode(ALLOC))).isInstanceOf(Authentication.Ok.class);
        assertThat(decode.apply(new Authentication.Sasl(List.of("SCRAM-SHA-256", "SCRAM-SHA-256-PLUS")).encode(ALLOC)))
                .isEqualTo(new Authentication.Sasl(List.of("SCRAM-SHA-256", "SCRAM-SHA-256-PLUS")));
        assertThat(((Authentication.Md5Password) decode.apply(new Authentication.Md5Password(new byte[] {5, 6, 7, 8}).encode(ALLOC))).salt())
                .containsExactly(5, 6, 7, 8);
    }

    @Test
    void startupMessageEncodesProtocolThreeZeroAndParameters() {
        ByteBuf wire = StartupPacket.StartupMessage.encode(ALLOC, new java.util.LinkedHashMap<>(java.util.Map.of("user", "u")));
        assertThat(hex(wire)).isEqualTo("00000010" + "00030000" + "7573657200" + "7500" + "00");
    }

    @Test
    void aParseOrQueryGivenAnotherTextKeepsEverythingElse() {
        ByteBuf parse = FrontendMessages.parse(ALLOC, "S_1", "select 1", List.of(23L, 25L));
        ByteBuf rewritten = FrontendMessages.withSql(ALLOC, parse, 0, parse.readableBytes(), "select 'é'");
        assertThat(FrontendMessages.parseName(rewritten, 0, rewritten.readableBytes())).isEqualTo("S_1");
        assertThat(FrontendMessages.parseSql(rewritten, 0, rewritten.readableBytes())).isEqualTo("select 'é'");
        assertThat(hex(rewritten)).isEqualTo("50" + "0000001e" + "535f3100" + "73656c6563742027c3a92700" + "0002" + "00000017" + "00000019");
        parse.release();

        ByteBuf query = FrontendMessages.query(ALLOC, "select 1");
        ByteBuf other = FrontendMessages.withSql(ALLOC, query, 0, query.readableBytes(), "select 22");
        assertThat(hex(other)).isEqualTo("51" + "0000000e" + "73656c656374203232" + "00");
        query.release();
    }

    @Test
    void aParseRenamedAndABindOfAnotherStatementKeepEverythingElse() {
        ByteBuf parse = FrontendMessages.parse(ALLOC, "S_1", "select $1", List.of(20L));
        ByteBuf unnamed = FrontendMessages.parseOf(ALLOC, parse, 0, parse.readableBytes(), "", "select $1 + 0");
        assertThat(hex(unnamed)).isEqualTo("50" + "00000019" + "00" + "73656c656374202431202b2030" + "00" + "0001" + "00000014");
        parse.release();

        ByteBuf bind = bind("S_1", new int[] {1}, new byte[][] {{0, 0, 0, 0, 0, 0, 0, 7}, null}, new int[] {0, 1});
        assertThat(FrontendMessages.bindResultFormats(bind, 0, bind.readableBytes())).containsExactly(0, 1);
        ByteBuf other = FrontendMessages.bindOf(ALLOC, bind, 0, bind.readableBytes(), "");
        assertThat(FrontendMessages.bindStatement(other, 0, other.readableBytes())).isEmpty();
        assertThat(FrontendMessages.bindPortal(other, 0, other.readableBytes())).isEqualTo("P");
        assertThat(FrontendMessages.bindResultFormats(other, 0, other.readableBytes())).containsExactly(0, 1);
        assertThat(other.readableBytes()).isEqualTo(bind.readableBytes() - 3);
        assertThat(ByteBufUtil.hexDump(other, 8, other.readableBytes() - 8))
                .as("after the statement's name, as the client sent it")
                .isEqualTo(ByteBufUtil.hexDump(bind, 11, bind.readableBytes() - 11));
        other.release();
        assertThat(FrontendMessages.binaryResult(new int[] {0, 1}, 1)).isTrue();
        assertThat(FrontendMessages.binaryResult(new int[] {1}, 3)).as("one code for every column").isTrue();
        assertThat(FrontendMessages.binaryResult(new int[0], 0)).as("no codes: text").isFalse();

        ByteBuf truncated = bind.retainedSlice(0, bind.readableBytes() - 3);
        assertThatThrownBy(() -> FrontendMessages.bindResultFormats(truncated, 0, truncated.readableBytes()))
                .isInstanceOf(ProtocolViolation.class).hasMessage("malformed Bind: truncated");
        truncated.release();
        bind.release();
    }

    /** A Bind of portal {@code P}, as a client writes one. */
    private static ByteBuf bind(String statement, int[] parameterFormats, byte[][] values, int[] resultFormats) {
        ByteBuf out = ALLOC.buffer();
        out.writeByte('B').writeInt(0).writeBytes("P".getBytes()).writeByte(0).writeBytes(statement.getBytes()).writeByte(0);
        out.writeShort(parameterFormats.length);
        for (int format : parameterFormats) {
            out.writeShort(format);
        }
        out.writeShort(values.length);
        for (byte[] value : values) {
            out.writeInt(value == null ? -1 : value.length);
            if (value != null) {
                out.writeBytes(value);
            }
        }
        out.writeShort(resultFormats.length);
        for (int format : resultFormats) {
            out.writeShort(format);
        }
        return out.setInt(1, out.readableBytes() - 1);
    }

    @Test
    void closeOfAStatementAndTheRowsAnExecuteAsksFor() {
        assertThat(hex(FrontendMessages.closeStatement(ALLOC, "S_1"))).isEqualTo("43" + "00000009" + "53" + "535f3100");
        ByteBuf execute = ALLOC.buffer().writeByte('E').writeInt(9).writeByte(0).writeInt(1);
        assertThat(FrontendMessages.executeRowLimit(execute, 0, execute.readableBytes())).isOne();
        execute.release();
    }
}
