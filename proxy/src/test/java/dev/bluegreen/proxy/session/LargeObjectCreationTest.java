package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.protocol.FrontendMessages.FunctionCall;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class LargeObjectCreationTest {

    private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;

    @Test
    void loCreatIsSentAsLoCreateOfTheLeadersOid() {
        ByteBuf call = FrontendMessages.functionCall(ALLOC, LargeObjectCreation.LO_CREAT, 0x60000, 1);
        ByteBuf given = LargeObjectCreation.forFollower(ALLOC, call, call.readerIndex(), call.readableBytes(),
                new byte[] {0, 0, 0x40, 0x01});
        try {
            // 'F', length 24 (itself and 20 bytes), function 715, one format code (binary), one argument of 4 bytes, result format binary
            assertThat(ByteBufUtil.hexDump(given)).isEqualTo("46" + "00000018" + "000002cb" + "0001" + "0001" + "0001"
                    + "00000004" + "00004001" + "0001");
            FunctionCall read = FrontendMessages.functionCall(given, given.readerIndex(), given.readableBytes());
            assertThat(read.function()).isEqualTo(LargeObjectCreation.LO_CREATE);
            assertThat(read.arguments()).singleElement().isEqualTo(new byte[] {0, 0, 0x40, 0x01});
            assertThat(read.binary()).containsExactly(true);
            assertThat(read.resultFormat()).isEqualTo(1);
        } finally {
            call.release();
            given.release();
        }
    }

    @Test
    void loCreateOfZeroTakesTheLeadersOidInTextToo() {
        ByteBuf call = textCall(LargeObjectCreation.LO_CREATE, "0");
        ByteBuf given = LargeObjectCreation.forFollower(ALLOC, call, call.readerIndex(), call.readableBytes(),
                "4294967295".getBytes(StandardCharsets.US_ASCII));
        try {
            FunctionCall read = FrontendMessages.functionCall(given, given.readerIndex(), given.readableBytes());
            assertThat(read.function()).isEqualTo(LargeObjectCreation.LO_CREATE);
            assertThat(LargeObjectCreation.oid(read.arguments().getFirst(), read.binary().getFirst())).isEqualTo(4294967295L);
            assertThat(read.resultFormat()).isZero();
        } finally {
            call.release();
            given.release();
        }
    }

    @Test
    void otherCallsAndUnreadableAnswersGoAsSent() {
        ByteBuf named = textCall(LargeObjectCreation.LO_CREATE, "16500"); // the client picked the OID itself
        ByteBuf open = textCall(952, "16500"); // lo_open
        ByteBuf creat = FrontendMessages.functionCall(ALLOC, LargeObjectCreation.LO_CREAT, 0x60000, 1);
        try {
            // (text calls, their results text: only the call itself makes these go as sent)
            assertThat(LargeObjectCreation.picksTheOid(FrontendMessages.functionCall(named, 0, named.readableBytes()))).isFalse();
            assertThat(LargeObjectCreation.forFollower(ALLOC, named, 0, named.readableBytes(), ascii("16500"))).isNull();
            assertThat(LargeObjectCreation.picksTheOid(FrontendMessages.functionCall(open, 0, open.readableBytes()))).isFalse();
            assertThat(LargeObjectCreation.forFollower(ALLOC, open, 0, open.readableBytes(), ascii("0"))).isNull();
            assertThat(LargeObjectCreation.forFollower(ALLOC, creat, 0, creat.readableBytes(), null)).as("no answer").isNull();
            assertThat(LargeObjectCreation.forFollower(ALLOC, creat, 0, creat.readableBytes(), new byte[] {1, 2}))
                    .as("not an OID").isNull();
            assertThat(LargeObjectCreation.forFollower(ALLOC, creat, 0, creat.readableBytes(), new byte[] {0, 0, 0, 0}))
                    .as("the invalid OID: the leader failed").isNull();
            assertThat(FrontendMessages.functionCall(creat, 0, creat.readableBytes() - 1)).as("cut short").isNull();
        } finally {
            named.release();
            open.release();
            creat.release();
        }
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    /** A FunctionCall of {@code function} with one text argument, as libpq does not send but a client may. */
    private static ByteBuf textCall(long function, String argument) {
        byte[] value = argument.getBytes(StandardCharsets.US_ASCII);
        ByteBuf out = Unpooled.buffer();
        out.writeByte('F').writeInt(0).writeInt((int) function).writeShort(0).writeShort(1).writeInt(value.length)
                .writeBytes(value).writeShort(0);
        out.setInt(1, out.readableBytes() - 1);
        return out;
    }

    @Test
    void aCallOfSeveralArgumentsIsReadWithEachFormat() {
        ByteBuf call = Unpooled.buffer();
        call.writeByte('F').writeInt(0).writeInt(955).writeShort(2).writeShort(0).writeShort(1).writeShort(2)
                .writeInt(-1).writeInt(2).writeBytes(new byte[] {7, 8}).writeShort(1);
        call.setInt(1, call.readableBytes() - 1);
        try {
            FunctionCall read = FrontendMessages.functionCall(call, 0, call.readableBytes());
            assertThat(read.function()).isEqualTo(955);
            assertThat(read.arguments()).hasSize(2).first().isNull();
            assertThat(read.arguments().get(1)).isEqualTo(new byte[] {7, 8});
            assertThat(read.binary()).isEqualTo(List.of(false, true));
            assertThat(LargeObjectCreation.picksTheOid(read)).isFalse();
        } finally {
            call.release();
        }
    }
}
