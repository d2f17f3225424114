package dev.bluegreen.proxy.dualwrite;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrameBatch;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

class OutcomeRecorderTest {

    @Test
    void aFunctionCallsValueIsKeptWhereItIsShortAndNotNull() {
        assertThat(resultOf(functionResponse(new byte[] {0, 0, 0x40, 0x01}))).isEqualTo(new byte[] {0, 0, 0x40, 0x01});
        assertThat(resultOf(functionResponse(null))).as("SQL null").isNull();
        assertThat(resultOf(functionResponse(new byte[17]))).as("longer than an OID could be").isNull();
        ByteBuf cut = Unpooled.buffer().writeByte('V').writeInt(4 + 4).writeInt(8); // (8 bytes said, none there)
        assertThat(resultOf(cut)).as("a length past the frame's end").isNull();
    }

    @Test
    void theNextUnitStartsWithoutTheValue() {
        OutcomeRecorder recorder = recorded(functionResponse(new byte[] {0, 0, 0, 7}));
        assertThat(recorder.functionResult()).isEqualTo(new byte[] {0, 0, 0, 7});
        recorder.reset();
        assertThat(recorder.functionResult()).isNull();
    }

    @Test
    void aFunctionCallsValueIsComparedAsAReturnedRow() {
        StatementOutcome seven = outcomeOf(functionResponse(new byte[] {0, 0, 0, 7}));
        StatementOutcome eight = outcomeOf(functionResponse(new byte[] {0, 0, 0, 8}));
        StatementOutcome none = outcomeOf(functionResponse(null));
        StatementOutcome longer = outcomeOf(functionResponse(new byte[4096])); // (not kept, compared all the same)

        assertThat(seven.commandTag()).isEqualTo(StatementOutcome.FUNCTION_CALL);
        assertThat(seven.rows()).isOne();
        assertThat(none.rows()).isZero();
        assertThat(outcomeOf(functionResponse(new byte[] {0, 0, 0, 7})).differenceFrom(seven)).isNull();
        assertThat(eight.differenceFrom(seven)).isEqualTo("function results differ");
        assertThat(none.differenceFrom(seven)).isEqualTo("function result: leader a value, follower null");
        assertThat(longer.differenceFrom(outcomeOf(functionResponse(new byte[4095])))).isEqualTo("function results differ");
        assertThat(eight.differenceFrom(seven, false)).as("a non-deterministic unit's values are not compared").isNull();
        assertThat(seven.describe()).isEqualTo("function call");
        assertThat(none.describe()).isEqualTo("function call (null)");
    }

    private static StatementOutcome outcomeOf(ByteBuf frame) {
        OutcomeRecorder recorder = recorded(frame);
        assertThat(recorder.outcomes()).hasSize(1);
        return recorder.outcomes().getFirst();
    }

    private static byte[] resultOf(ByteBuf frame) {
        return recorded(frame).functionResult();
    }

    private static OutcomeRecorder recorded(ByteBuf frame) {
        OutcomeRecorder recorder = new OutcomeRecorder();
        FrameBatch batch = FrameBatch.of(Frame.of(frame));
        try {
            recorder.record(batch);
        } finally {
            batch.release();
        }
        return recorder;
    }

    /** FunctionCallResponse: the value's length (-1 for null) and its bytes. */
    private static ByteBuf functionResponse(byte[] value) {
        ByteBuf out = Unpooled.buffer().writeByte('V').writeInt(4 + 4 + (value == null ? 0 : value.length));
        out.writeInt(value == null ? -1 : value.length);
        if (value != null) {
            out.writeBytes(value);
        }
        return out;
    }
}
