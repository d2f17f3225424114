package dev.bluegreen.proxy.dualwrite;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Reading one column's values from the RowDescription and DataRow bodies a cluster sends. */
class ColumnCaptureTest {

    private static final int UUID = 2950;
    private static final int INT8 = 20;
    private static final int TEXT = 25;
    private static final int OID = 26;
    private static final String ID = "6f1c2e4a-93b0-4d2f-8a51-0c7d9e3b2a10";

    /** A RowDescription body: each field's name, type and format; the nth field table 16384's column n. */
    private static ByteBuf description(Object... fields) {
        return descriptionOf(16384, fields);
    }

    /** The same, the fields' table {@code table}: 0 for expressions. */
    private static ByteBuf descriptionOf(int table, Object... fields) {
        ByteBuf body = Unpooled.buffer().writeShort(fields.length / 3);
        for (int i = 0; i < fields.length; i += 3) {
            body.writeBytes(((String) fields[i]).getBytes(StandardCharsets.UTF_8)).writeByte(0);
            body.writeInt(table).writeShort(table == 0 ? 0 : i / 3 + 1).writeInt((Integer) fields[i + 1]).writeShort(-1)
                    .writeInt(-1).writeShort((Integer) fields[i + 2]);
        }
        return body;
    }

    /** A DataRow body of {@code values} (null for SQL NULL). */
    private static ByteBuf row(byte[]... values) {
        ByteBuf body = Unpooled.buffer().writeShort(values.length);
        for (byte[] value : values) {
            body.writeInt(value == null ? -1 : value.length);
            if (value != null) {
                body.writeBytes(value);
            }
        }
        return body;
    }

    private static byte[] longs(long... values) {
        java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(8 * values.length);
        for (long value : values) {
            bytes.putLong(value);
        }
        return bytes.array();
    }

    private static byte[] text(String value) {
        return value.getBytes(StandardCharsets.US_ASCII);
    }

    private static void describe(ColumnCapture capture, ByteBuf body) {
        capture.describe(body, 0, body.writerIndex());
        body.release();
    }

    private static void row(ColumnCapture capture, ByteBuf body) {
        capture.row(body, 0, body.writerIndex());
        body.release();
    }

    @Test
    void theOneUuidColumnAStatementGaveNoValueToIsReadAsLiterals() {
        ColumnCapture capture = new ColumnCapture(ColumnCapture.Kind.UUID, null, Set.of("account"), null, -1, null);
        describe(capture, description("account", UUID, 0, "id", UUID, 0, "n", TEXT, 0));
        row(capture, row(text("00000000-0000-0000-0000-000000000001"), text(ID), text("x")));
        assertThat(capture.column()).isEqualTo("id");
        assertThat(capture.field()).isEqualTo(1);
        assertThat(capture.place()).as("the table's second column").isEqualTo("16384/2");
        assertThat(capture.values()).containsExactly("'" + ID + "'");

        ColumnCapture expression = new ColumnCapture(ColumnCapture.Kind.UUID, "id", Set.of(), null, -1, null);
        describe(expression, descriptionOf(0, "id", UUID, 0));
        row(expression, row(text(ID)));
        assertThat(expression.place()).as("an expression named like the column").isNull();
        ColumnCapture high = new ColumnCapture(ColumnCapture.Kind.UUID, "id", Set.of(), null, -1, null);
        describe(high, descriptionOf(-2, "id", UUID, 0));
        assertThat(high.place()).as("OIDs are unsigned").isEqualTo("4294967294/1");
    }

    @Test
    void binaryRowsAreReadInTheFormatTheBindAskedForWithNoRowDescriptionBeforeThem() {
        ColumnCapture uuid = new ColumnCapture(ColumnCapture.Kind.UUID, "id", Set.of(), new int[] {1}, 0, null);
        java.util.UUID value = java.util.UUID.fromString(ID);
        row(uuid, row(longs(value.getMostSignificantBits(), value.getLeastSignificantBits())));
        assertThat(uuid.values()).containsExactly("'" + ID + "'");

        ColumnCapture ids = new ColumnCapture(ColumnCapture.Kind.INTEGER, "id", Set.of(), new int[] {0, 1}, 1, null);
        row(ids, row(text("a"), longs(-42)));
        assertThat(ids.values()).containsExactly("-42");
    }

    @Test
    void anOidIsReadUnsignedAsTextOrBinaryAndOnlyFromAnOidColumn() {
        ColumnCapture text = new ColumnCapture(ColumnCapture.Kind.OID, null, Set.of(), null, 0, null);
        describe(text, descriptionOf(0, "lo_creat", OID, 0));
        row(text, row(text("16401")));
        assertThat(text.values()).containsExactly("16401");

        ColumnCapture binary = new ColumnCapture(ColumnCapture.Kind.OID, null, Set.of(), new int[] {1}, 0, null);
        row(binary, row(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xfe})); // (no RowDescription: field 0)
        assertThat(binary.values()).as("above 2^31, unsigned").containsExactly("4294967294");

        ColumnCapture notAnOid = new ColumnCapture(ColumnCapture.Kind.OID, null, Set.of(), null, 0, null);
        describe(notAnOid, descriptionOf(0, "n", INT8, 0));
        row(notAnOid, row(text("16401")));
        assertThat(notAnOid.values()).as("an int8 column").isNull();

        ColumnCapture negative = new ColumnCapture(ColumnCapture.Kind.OID, null, Set.of(), null, 0, null);
        describe(negative, descriptionOf(0, "lo_creat", OID, 0));
        row(negative, row(text("-5")));
        assertThat(negative.values()).isNull();
    }

    @Test
    void aRowDescriptionOfTheStatementSaysTextButTheBindDecides() {
        ColumnCapture ids = new ColumnCapture(ColumnCapture.Kind.INTEGER, "id", Set.of(), new int[] {1}, -1, null);
        describe(ids, description("id", INT8, 0));
        row(ids, row(longs(7)));
        assertThat(ids.values()).containsExactly("7");
    }

    @Test
    void anythingUnexpectedSpoilsTheCapture() {
        ColumnCapture two = new ColumnCapture(ColumnCapture.Kind.UUID, null, Set.of(), null, -1, null);
        describe(two, description("id", UUID, 0, "other", UUID, 0));
        assertThat(two.values()).as("two uuid columns the statement gave no value to").isNull();

        ColumnCapture nulls = new ColumnCapture(ColumnCapture.Kind.UUID, "id", Set.of(), null, -1, null);
        describe(nulls, description("id", UUID, 0));
        row(nulls, row(text(ID)));
        row(nulls, row((byte[]) null));
        assertThat(nulls.values()).isNull();

        ColumnCapture notAUuid = new ColumnCapture(ColumnCapture.Kind.UUID, "id", Set.of(), null, -1, null);
        describe(notAUuid, description("id", TEXT, 0));
        assertThat(notAUuid.values()).as("a text column of that name").isNull();

        ColumnCapture malformed = new ColumnCapture(ColumnCapture.Kind.UUID, "id", Set.of(), null, -1, null);
        describe(malformed, description("id", UUID, 0));
        row(malformed, row(text("not-a-uuid")));
        assertThat(malformed.values()).isNull();

        ColumnCapture again = new ColumnCapture(ColumnCapture.Kind.INTEGER, "id", Set.of(), null, -1, null);
        describe(again, description("id", INT8, 0));
        row(again, row(text("1")));
        describe(again, description("id", INT8, 0));
        assertThat(again.values()).as("a second result").isNull();

        ColumnCapture tooLong = new ColumnCapture(ColumnCapture.Kind.INTEGER, "id", Set.of(), null, -1, null);
        describe(tooLong, description("id", INT8, 0));
        row(tooLong, row(text("99999999999999999999")));
        assertThat(tooLong.values()).isNull();
    }

    @Test
    void noColumnFoundIsNoValues() {
        ColumnCapture capture = new ColumnCapture(ColumnCapture.Kind.UUID, null, Set.of("id"), null, -1, null);
        describe(capture, description("id", UUID, 0));
        row(capture, row(text(ID)));
        assertThat(capture.values()).isNull();
        assertThat(capture.column()).isNull();
    }
}
