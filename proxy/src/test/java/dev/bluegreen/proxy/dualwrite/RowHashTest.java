package dev.bluegreen.proxy.dualwrite;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.NoLeaks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The row digest on hand-built DataRow bodies: blue and green give their own OIDs to the same
 * user-defined type, and binary arrays and records carry them, so those OIDs must not count. Nothing
 * else may stop counting.
 */
@ExtendWith(NoLeaks.class)
class RowHashTest {

    private static final int INT4 = 23;
    private static final int TEXT = 25;
    private static final int RECORD = 2249;
    private static final int BLUE_MOOD = 16_390;
    private static final int GREEN_MOOD = 16_517;
    private static final int BLUE_PAIR = 16_402;
    private static final int GREEN_PAIR = 16_533;

    private static byte[] text(String value) {
        return value.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] int4(int value) {
        return ByteBuffer.allocate(4).putInt(value).array();
    }

    /** array_send's bytes for a one-dimensional array from 1; a null element is a null. */
    private static byte[] array(int elementType, byte[]... elements) {
        boolean hasNull = false;
        for (byte[] element : elements) {
            hasNull |= element == null;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(20).putInt(1).putInt(hasNull ? 1 : 0).putInt(elementType)
                .putInt(elements.length).putInt(1).array());
        for (byte[] element : elements) {
            lengthAndBytes(out, element);
        }
        return out.toByteArray();
    }

    /** array_send's bytes for an empty array. */
    private static byte[] emptyArray(int elementType) {
        return ByteBuffer.allocate(12).putInt(0).putInt(0).putInt(elementType).array();
    }

    /** record_send's bytes: each field a type OID and a value (null for a null). */
    private static byte[] record(Object... oidsAndValues) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(int4(oidsAndValues.length / 2));
        for (int i = 0; i < oidsAndValues.length; i += 2) {
            out.writeBytes(int4((Integer) oidsAndValues[i]));
            lengthAndBytes(out, (byte[]) oidsAndValues[i + 1]);
        }
        return out.toByteArray();
    }

    private static void lengthAndBytes(ByteArrayOutputStream out, byte[] value) {
        out.writeBytes(int4(value == null ? -1 : value.length));
        if (value != null) {
            out.writeBytes(value);
        }
    }

    private static byte[] dataRow(byte[]... columns) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(2).putShort((short) columns.length).array());
        for (byte[] column : columns) {
            lengthAndBytes(out, column);
        }
        return out.toByteArray();
    }

    /** The row's digest, read where the recorder reads it: behind a frame header, in a pooled direct buffer. */
    private static long digest(byte[] body) {
        ByteBuf frame = PooledByteBufAllocator.DEFAULT.directBuffer();
        try {
            frame.writeByte('D').writeInt(4 + body.length).writeBytes(body);
            return RowHash.ofDataRow(frame, 5, body.length);
        } finally {
            frame.release();
        }
    }

    private static long digestOfRow(byte[]... columns) {
        return digest(dataRow(columns));
    }

    private static long bytes(byte[] body) {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.heapBuffer();
        try {
            buf.writeBytes(body);
            return RowHash.of(buf, 0, body.length);
        } finally {
            buf.release();
        }
    }

    @Test
    void anEnumArrayHashesAlikeWhateverOidEachClusterGaveTheEnum() {
        long blue = digestOfRow(int4(1), array(BLUE_MOOD, text("happy"), null, text("sad")));
        long green = digestOfRow(int4(1), array(GREEN_MOOD, text("happy"), null, text("sad")));

        assertThat(green).isEqualTo(blue);
    }

    @Test
    void anEmptyEnumArrayHashesAlikeToo() {
        assertThat(digestOfRow(emptyArray(GREEN_MOOD))).isEqualTo(digestOfRow(emptyArray(BLUE_MOOD)));
    }

    @Test
    void aCompositeHashesAlikeWhateverOidsItsFieldsCarry() {
        long blue = digestOfRow(record(INT4, int4(7), BLUE_MOOD, text("ok"), TEXT, null));
        long green = digestOfRow(record(INT4, int4(7), GREEN_MOOD, text("ok"), TEXT, null));

        assertThat(green).isEqualTo(blue);
    }

    @Test
    void aDifferentElementIsStillADifference() {
        long blue = digestOfRow(array(BLUE_MOOD, text("happy"), text("sad")));

        assertThat(digestOfRow(array(GREEN_MOOD, text("happy"), text("bad")))).isNotEqualTo(blue);
        assertThat(digestOfRow(array(GREEN_MOOD, text("sad"), text("happy")))).isNotEqualTo(blue);
        assertThat(digestOfRow(array(GREEN_MOOD, text("happy"), null))).isNotEqualTo(blue);
        assertThat(digestOfRow(array(GREEN_MOOD, text("happy")))).isNotEqualTo(blue);
        assertThat(digestOfRow(record(INT4, int4(7), GREEN_MOOD, text("ok"))))
                .isNotEqualTo(digestOfRow(record(INT4, int4(8), BLUE_MOOD, text("ok"))));
    }

    @Test
    void aBuiltInOidStillCounts() {
        assertThat(digestOfRow(array(TEXT, text("abcd")))).isNotEqualTo(digestOfRow(array(INT4, text("abcd"))));
        assertThat(digestOfRow(record(TEXT, text("abcd")))).isNotEqualTo(digestOfRow(record(INT4, text("abcd"))));
        // the last OID a cluster's initdb can give is no user type's
        assertThat(digestOfRow(array(16_383, text("x")))).isNotEqualTo(digestOfRow(array(16_384, text("x"))));
        assertThat(digestOfRow(array(16_384, text("x")))).isEqualTo(digestOfRow(array(0xFFFF_FFF0, text("x"))));
    }

    @Test
    void anArrayOfCompositesHoldingEnumArraysHashesAlikeAtEveryDepth() {
        byte[] blue = array(BLUE_PAIR,
                record(INT4, int4(1), BLUE_MOOD + 1, array(BLUE_MOOD, text("happy"), text("sad"))),
                null,
                record(INT4, int4(2), BLUE_MOOD + 1, emptyArray(BLUE_MOOD)));
        byte[] green = array(GREEN_PAIR,
                record(INT4, int4(1), GREEN_MOOD + 1, array(GREEN_MOOD, text("happy"), text("sad"))),
                null,
                record(INT4, int4(2), GREEN_MOOD + 1, emptyArray(GREEN_MOOD)));
        byte[] greenOtherwise = array(GREEN_PAIR,
                record(INT4, int4(1), GREEN_MOOD + 1, array(GREEN_MOOD, text("happy"), text("mad"))),
                null,
                record(INT4, int4(2), GREEN_MOOD + 1, emptyArray(GREEN_MOOD)));

        assertThat(digestOfRow(green, text("same"))).isEqualTo(digestOfRow(blue, text("same")));
        assertThat(digestOfRow(greenOtherwise, text("same"))).isNotEqualTo(digestOfRow(blue, text("same")));
    }

    @Test
    void anAnonymousRecordsFieldsAreMaskedInsideItsBuiltInArray() {
        // array[row(1, 'happy'::mood)]: record[] has the built-in element type RECORD, the field a user type
        long blue = digestOfRow(array(RECORD, record(INT4, int4(1), BLUE_MOOD, text("happy"))));
        long green = digestOfRow(array(RECORD, record(INT4, int4(1), GREEN_MOOD, text("happy"))));

        assertThat(green).isEqualTo(blue);
    }

    @Test
    void aRowWithNothingThatCouldBeAnArrayOrRecordHashesAsItsBytes() {
        byte[] textRow = dataRow(text("1"), null, text("a longer text value than twelve bytes"), new byte[0]);
        byte[] binaryScalars = dataRow(int4(0), ByteBuffer.allocate(8).putLong(42).array(), text("x"));

        assertThat(digest(textRow)).isEqualTo(bytes(textRow));
        assertThat(digest(binaryScalars)).isEqualTo(bytes(binaryScalars));
    }

    @Test
    void valuesThatDoNotParseExactlyCountByteForByte() {
        byte[] blueArray = array(BLUE_MOOD, text("happy"));
        byte[] greenArray = array(GREEN_MOOD, text("happy"));
        byte[][][] malformedPairs = {
            // a byte too many at the end
            {append(blueArray, 0), append(greenArray, 0)},
            // an element longer than what is left
            {withInt(blueArray, 20, 6), withInt(greenArray, 20, 6)},
            // an element length below -1
            {withInt(blueArray, 20, -2), withInt(greenArray, 20, -2)},
            // seven dimensions
            {withInt(blueArray, 0, 7), withInt(greenArray, 0, 7)},
            // a has-nulls flag that is neither 0 nor 1
            {withInt(blueArray, 4, 2), withInt(greenArray, 4, 2)},
            // a dimension larger than the elements there are
            {withInt(blueArray, 12, 2), withInt(greenArray, 12, 2)},
            // a negative dimension
            {withInt(blueArray, 12, -1), withInt(greenArray, 12, -1)},
            // a record whose field count says two, holding one field
            {withInt(record(BLUE_MOOD, text("happy")), 0, 2), withInt(record(GREEN_MOOD, text("happy")), 0, 2)},
            // a record with more fields than bytes
            {withInt(record(BLUE_MOOD, text("happy")), 0, 0x7FFF_FFFF),
                withInt(record(GREEN_MOOD, text("happy")), 0, 0x7FFF_FFFF)},
        };
        for (byte[][] pair : malformedPairs) {
            assertThat(digestOfRow(pair[1])).isNotEqualTo(digestOfRow(pair[0]));
        }
    }

    @Test
    void aMalformedRowIsHashedAsItsBytesWithoutThrowing() {
        byte[] row = dataRow(array(BLUE_MOOD, text("happy")));
        byte[] columnPastTheEnd = withInt(row, 2, row.length);
        byte[] shortOfAColumn = dataRow(array(BLUE_MOOD, text("happy")));
        shortOfAColumn[1] = 2;
        byte[] trailing = append(row, 1);

        for (byte[] malformed : new byte[][] {columnPastTheEnd, shortOfAColumn, trailing, new byte[] {0}, new byte[0]}) {
            assertThat(digest(malformed)).isEqualTo(bytes(malformed));
        }
    }

    private static byte[] append(byte[] bytes, int b) {
        byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
        longer[bytes.length] = (byte) b;
        return longer;
    }

    private static byte[] withInt(byte[] bytes, int at, int value) {
        byte[] changed = bytes.clone();
        ByteBuffer.wrap(changed).putInt(at, value);
        return changed;
    }
}
