package dev.bluegreen.proxy.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Binary arrays and records, and Parse types, given the other cluster's OIDs. */
class TypeOidTranslationTest {

    private static final UnpooledByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;
    private static final int INT4 = 23;
    private static final int TEXT = 25;
    /** The source's enum, its array type, a composite; and a type the other cluster lacks. */
    private static final int MOOD = 20_000;
    private static final int MOODS = 20_001;
    private static final int PAIR = 20_002;
    private static final int ONLY_HERE = 20_003;

    /** The source's types (built-in ones among them, as a catalog lists them) and their OIDs on the other cluster. */
    private static final TypeOidTranslation.Types TYPES = new TypeOidTranslation.Types() {
        private final Map<Long, Character> categories = Map.of((long) INT4, 'N', (long) TEXT, 'S', (long) MOOD, 'E',
                (long) MOODS, 'A', (long) PAIR, 'C', (long) ONLY_HERE, 'E', 2249L, 'P', 2287L, 'P');
        private final Map<Long, Long> there = Map.of((long) MOOD, 30_000L, (long) MOODS, 30_001L, (long) PAIR, 30_002L);

        @Override
        public char category(long oid) {
            return categories.getOrDefault(oid, (char) 0);
        }

        @Override
        public long counterpart(long oid) {
            return oid < FrontendMessages.FIRST_NORMAL_OID ? oid : there.getOrDefault(oid, -1L);
        }

        /**
         * Table 16500 has the same OID and columns on the other cluster; table 16600's columns 1 to 3 are the other's
         * table 26600's 1, 3 (one dropped there before it) and none, its system columns and whole row its own; table
         * 16610 the other lacks; any other the source's catalog does not list.
         */
        @Override
        public long columnCounterpart(long table, int column) {
            if (table == 16_500) {
                return table << 16 | column;
            }
            if (table == 16_610) {
                return 0;
            }
            if (table != 16_600) {
                return -1;
            }
            return switch (column) {
                case 1 -> 26_600L << 16 | 1;
                case 2 -> 26_600L << 16 | 3;
                case 0, -1 -> 26_600L << 16 | (column & 0xFFFF);
                default -> 0;
            };
        }
    };

    private static byte[] text(String value) {
        return value.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] array(int element, byte[]... values) {
        ByteBuf out = Unpooled.buffer().writeInt(1).writeInt(0).writeInt(element).writeInt(values.length).writeInt(1);
        for (byte[] value : values) {
            out.writeInt(value.length).writeBytes(value);
        }
        return ByteBufUtil.getBytes(out);
    }

    private static byte[] record(int[] types, byte[]... values) {
        ByteBuf out = Unpooled.buffer().writeInt(values.length);
        for (int i = 0; i < values.length; i++) {
            out.writeInt(types[i]);
            if (values[i] == null) {
                out.writeInt(-1);
            } else {
                out.writeInt(values[i].length).writeBytes(values[i]);
            }
        }
        return ByteBufUtil.getBytes(out);
    }

    /** A Bind of statement "s": each value in the format given, no result formats. */
    private static ByteBuf bind(short[] formats, byte[]... values) {
        ByteBuf out = Unpooled.buffer();
        int lengthAt = Wire.beginMessage(out, 'B');
        out.writeBytes(new byte[] {0, 's', 0});
        out.writeShort(formats.length);
        for (short format : formats) {
            out.writeShort(format);
        }
        out.writeShort(values.length);
        for (byte[] value : values) {
            out.writeInt(value.length).writeBytes(value);
        }
        out.writeShort(0);
        return Wire.endMessage(out, lengthAt);
    }

    private static ByteBuf translated(ByteBuf message) {
        try {
            return TypeOidTranslation.bind(ALLOC, message, message.readerIndex(), message.readableBytes(), () -> TYPES);
        } finally {
            message.release();
        }
    }

    private static String hex(ByteBuf buf) {
        try {
            return ByteBufUtil.hexDump(buf);
        } finally {
            buf.release();
        }
    }

    @Test
    void anArrayOfAnEnumGetsTheOtherClustersElementType() {
        ByteBuf out = translated(bind(new short[] {0, 1}, text("7"), array(MOOD, text("sad"), text("happy"))));
        assertThat(hex(out)).isEqualTo(hex(bind(new short[] {0, 1}, text("7"), array(30_000, text("sad"), text("happy")))));
    }

    @Test
    void aRecordGetsItsFieldsTypesAtEveryDepth() {
        int[] fields = {INT4, MOOD, MOODS, PAIR};
        byte[] inner = record(new int[] {INT4, MOOD, MOODS}, new byte[] {0, 0, 0, 1}, null, array(MOOD));
        byte[] value = record(fields, new byte[] {0, 0, 0, 7}, text("grumpy"), array(MOOD, text("happy")), inner);
        byte[] expectedInner = record(new int[] {INT4, 30_000, 30_001}, new byte[] {0, 0, 0, 1}, null, array(30_000));
        byte[] expected = record(new int[] {INT4, 30_000, 30_001, 30_002}, new byte[] {0, 0, 0, 7}, text("grumpy"),
                array(30_000, text("happy")), expectedInner);
        assertThat(hex(translated(bind(new short[] {1}, value, array(PAIR, value)))))
                .isEqualTo(hex(bind(new short[] {1}, expected, array(30_002, expected))));
    }

    @Test
    void aValueNamingATypeTheOtherClusterLacksGoesAsItIs() {
        assertThat(translated(bind(new short[] {1}, array(MOOD, text("sad")), array(ONLY_HERE, text("x"))))).isNull();
    }

    @Test
    void valuesThatDoNotReadExactlyAsArraysOrRecordsOfTheSourcesTypesAreLeftAlone() {
        byte[] sad = array(MOOD, text("sad"));
        assertThat(translated(bind(new short[] {1}, array(21_000, text("sad"))))).as("an element type not the source's").isNull();
        assertThat(translated(bind(new short[] {1}, Arrays.copyOf(sad, sad.length - 1)))).as("a byte short").isNull();
        assertThat(translated(bind(new short[] {1}, Arrays.copyOf(sad, sad.length + 1)))).as("a byte over").isNull();
        assertThat(translated(bind(new short[] {1}, array(INT4, new byte[] {0, 0, 0, 1})))).as("built-in").isNull();
        assertThat(translated(bind(new short[] {1}, record(new int[] {MOOD, 21_000}, text("sad"), text("x")))))
                .as("a field of a type not the source's").isNull();
        assertThat(translated(bind(new short[] {1}, text("sad, in bytes that read as nothing of the kind"))))
                .as("bytes").isNull();
    }

    @Test
    void aNullValueAmongThemIsSkipped() {
        ByteBuf message = Unpooled.buffer();
        int lengthAt = Wire.beginMessage(message, 'B');
        message.writeBytes(new byte[] {0, 's', 0}).writeShort(1).writeShort(1).writeShort(2).writeInt(-1);
        byte[] sad = array(MOOD, text("sad"));
        message.writeInt(sad.length).writeBytes(sad).writeShort(0);
        ByteBuf out = translated(Wire.endMessage(message, lengthAt));
        assertThat(out).isNotNull();
        try {
            assertThat(out.getInt(out.readableBytes() - 2 - sad.length + 8)).isEqualTo(30_000);
        } finally {
            out.release();
        }
    }

    @Test
    void recordsNestedDeeperThanAnyOrmsAreSentAsTheyAre() {
        byte[] value = record(new int[] {MOOD}, text("sad"));
        for (int depth = 0; depth < 40; depth++) {
            value = record(new int[] {PAIR}, value);
        }
        assertThat(translated(bind(new short[] {1}, value))).isNull();
        byte[] shallow = record(new int[] {MOOD}, text("sad"));
        for (int depth = 0; depth < 8; depth++) {
            shallow = record(new int[] {PAIR}, shallow);
        }
        assertThat(translated(bind(new short[] {1}, shallow))).as("within the bound").isNotNull().satisfies(ByteBuf::release);
    }

    @Test
    void valuesInTextOrOfBuiltInTypesAreNotReadAndTheTypesNotAskedFor() {
        AtomicBoolean asked = new AtomicBoolean();
        for (ByteBuf message : List.of(bind(new short[] {0}, array(MOOD, text("sad"))),
                bind(new short[] {1, 1, 1}, new byte[] {0, 0, 0, 7}, new byte[] {0, 0, 0, 0, 0, 0, 0, 7}, text("text")))) {
            try {
                assertThat(TypeOidTranslation.bind(ALLOC, message, 0, message.readableBytes(), () -> {
                    asked.set(true);
                    return TYPES;
                })).isNull();
            } finally {
                message.release();
            }
        }
        assertThat(asked).isFalse();
    }

    @Test
    void aBuiltInArrayOfMoreDimensionsIsNotTakenForARecord() {
        ByteBuf out = Unpooled.buffer().writeInt(2).writeInt(0).writeInt(INT4).writeInt(1).writeInt(1).writeInt(2).writeInt(1)
                .writeInt(4).writeInt(7).writeInt(4).writeInt(8);
        ByteBuf message = bind(new short[] {1}, ByteBufUtil.getBytes(out));
        out.release();
        try {
            assertThat(TypeOidTranslation.bindMayCarry(message, 0, message.readableBytes())).isEmpty();
        } finally {
            message.release();
        }
    }

    @Test
    void whatABindMayCarryIsReadFromTheShapeAlone() {
        ByteBuf message = bind(new short[] {1}, text("plain"), array(MOOD, text("sad")),
                record(new int[] {INT4, PAIR}, new byte[] {0, 0, 0, 1}, null));
        try {
            assertThat(TypeOidTranslation.bindMayCarry(message, 0, message.readableBytes())).containsExactly((long) MOOD, (long) PAIR);
        } finally {
            message.release();
        }
    }

    @Test
    void aParseNamesTheOtherClustersTypesAndLeavesOutOneItLacks() {
        ByteBuf parse = FrontendMessages.parse(ALLOC, "s", "select $1, $2, $3", List.of((long) INT4, (long) MOOD, (long) ONLY_HERE));
        ByteBuf expected = FrontendMessages.parse(ALLOC, "s", "select $1, $2, $3", List.of((long) INT4, 30_000L, 0L));
        try {
            int typesAt = FrontendMessages.databaseTypesAt(parse, 0, parse.readableBytes());
            assertThat(TypeOidTranslation.parseNames(parse, 0, parse.readableBytes())).containsExactly((long) MOOD, (long) ONLY_HERE);
            assertThat(hex(TypeOidTranslation.parse(ALLOC, parse, 0, parse.readableBytes(), typesAt, TYPES))).isEqualTo(hex(expected));
        } finally {
            parse.release();
        }
    }

    /** A RowDescription of columns of these types, each from table 16500, in binary. */
    private static ByteBuf rowDescription(int... types) {
        int[] tables = new int[types.length];
        int[] numbers = new int[types.length];
        for (int i = 0; i < types.length; i++) {
            tables[i] = 16_500;
            numbers[i] = i + 1;
        }
        return rowDescription(tables, numbers, types);
    }

    /** A RowDescription of column {@code numbers[i]} of table {@code tables[i]}, of type {@code types[i]}, in binary. */
    private static ByteBuf rowDescription(int[] tables, int[] numbers, int[] types) {
        ByteBuf out = Unpooled.buffer();
        int lengthAt = Wire.beginMessage(out, 'T');
        out.writeShort(types.length);
        for (int i = 0; i < types.length; i++) {
            out.writeBytes(text("c" + i)).writeByte(0).writeInt(tables[i]).writeShort(numbers[i]).writeInt(types[i])
                    .writeShort(-1).writeInt(-1).writeShort(1);
        }
        return Wire.endMessage(out, lengthAt);
    }

    private static ByteBuf dataRow(byte[]... values) {
        ByteBuf out = Unpooled.buffer();
        int lengthAt = Wire.beginMessage(out, 'D');
        out.writeShort(values.length);
        for (byte[] value : values) {
            if (value == null) {
                out.writeInt(-1);
            } else {
                out.writeInt(value.length).writeBytes(value);
            }
        }
        return Wire.endMessage(out, lengthAt);
    }

    /** {@code message} after {@link TypeOidTranslation#answer} (which changes it in place), as hex. */
    private static String answered(ByteBuf message) {
        TypeOidTranslation.answer(message, message.getByte(0), 0, message.readableBytes(), TYPES, true);
        return hex(message);
    }

    /** What {@link TypeOidTranslation#answer} says of {@code message}. */
    private static int found(ByteBuf message) {
        try {
            return TypeOidTranslation.answer(message, message.getByte(0), 0, message.readableBytes(), TYPES, true);
        } finally {
            message.release();
        }
    }

    @Test
    void aRowDescriptionGetsTheOtherClustersColumnTypesAndKeepsOneItLacks() {
        assertThat(answered(rowDescription(INT4, MOOD, MOODS, PAIR, ONLY_HERE, 21_000)))
                .isEqualTo(hex(rowDescription(INT4, 30_000, 30_001, 30_002, ONLY_HERE, 21_000)));
        assertThat(found(rowDescription(INT4, MOOD, ONLY_HERE))).as("a type only the source has")
                .isEqualTo(TypeOidTranslation.NAMES_TYPE_OTHER_LACKS);
        assertThat(found(rowDescription(INT4, MOOD, 21_000))).as("one not in the source's catalog read")
                .isEqualTo(TypeOidTranslation.NAMES_UNREAD);
        assertThat(found(rowDescription(INT4, MOOD))).isZero();
    }

    @Test
    void aRowDescriptionGetsTheOtherClustersTableOidsAndColumnNumbers() {
        // a column of the table both have, one numbered otherwise there, one it lacks, its ctid and whole row, a system
        // catalog's column, a computed one, and one of a table the other lacks
        int[] tables = {16_600, 16_600, 16_600, 16_600, 16_600, 1259, 0, 16_610};
        int[] numbers = {1, 2, 3, -1, 0, 2, 0, 1};
        int[] types = {INT4, MOOD, TEXT, 27, PAIR, TEXT, INT4, INT4};
        ByteBuf message = rowDescription(tables, numbers, types);
        assertThat(TypeOidTranslation.answer(message, (byte) 'T', 0, message.readableBytes(), TYPES, true)).isZero();
        assertThat(hex(message)).isEqualTo(hex(rowDescription(
                new int[] {26_600, 26_600, 0, 26_600, 26_600, 1259, 0, 0}, new int[] {1, 3, 0, -1, 0, 2, 0, 0},
                new int[] {INT4, 30_000, TEXT, 27, 30_002, TEXT, INT4, INT4})));

        // a table made since the catalog was read names none, and asks for the catalogs to be read again
        ByteBuf unread = rowDescription(new int[] {16_700}, new int[] {1}, new int[] {INT4});
        assertThat(TypeOidTranslation.answer(unread, (byte) 'T', 0, unread.readableBytes(), TYPES, true))
                .isEqualTo(TypeOidTranslation.NAMES_UNREAD);
        assertThat(hex(unread)).isEqualTo(hex(rowDescription(new int[] {0}, new int[] {0}, new int[] {INT4})));

        // a type only the source has: the client may read the source's catalog from now on, and is shown its tables
        ByteBuf lacking = rowDescription(new int[] {16_600, 16_600}, new int[] {1, 2}, new int[] {ONLY_HERE, MOOD});
        assertThat(TypeOidTranslation.answer(lacking, (byte) 'T', 0, lacking.readableBytes(), TYPES, true))
                .isEqualTo(TypeOidTranslation.NAMES_TYPE_OTHER_LACKS);
        assertThat(hex(lacking)).isEqualTo(hex(rowDescription(new int[] {16_600, 16_600}, new int[] {1, 2},
                new int[] {ONLY_HERE, 30_000})));

        // without tables (the client reads the answering cluster's catalog), they go as they are
        ByteBuf asItIs = rowDescription(new int[] {16_600, 16_700}, new int[] {2, 1}, new int[] {MOOD, INT4});
        TypeOidTranslation.answer(asItIs, (byte) 'T', 0, asItIs.readableBytes(), TYPES, false);
        assertThat(hex(asItIs)).isEqualTo(hex(rowDescription(new int[] {16_600, 16_700}, new int[] {2, 1},
                new int[] {30_000, INT4})));
    }

    @Test
    void aParameterDescriptionGetsTheOtherClustersTypes() {
        ByteBuf message = Unpooled.buffer();
        int lengthAt = Wire.beginMessage(message, 't');
        message.writeShort(3).writeInt(TEXT).writeInt(MOOD).writeInt(PAIR);
        ByteBuf expected = Unpooled.buffer();
        int expectedAt = Wire.beginMessage(expected, 't');
        expected.writeShort(3).writeInt(TEXT).writeInt(30_000).writeInt(30_002);
        assertThat(answered(Wire.endMessage(message, lengthAt))).isEqualTo(hex(Wire.endMessage(expected, expectedAt)));
    }

    @Test
    void aDataRowsBinaryArraysAndRecordsGetTheOtherClustersTypesAndItsOtherValuesStay() {
        byte[] inner = record(new int[] {INT4, MOOD, MOODS}, new byte[] {0, 0, 0, 1}, null, array(MOOD));
        byte[] expectedInner = record(new int[] {INT4, 30_000, 30_001}, new byte[] {0, 0, 0, 1}, null, array(30_000));
        byte[] one = {0, 0, 0, 1};
        assertThat(answered(dataRow(one, text("{happy,sad}"), null, array(MOOD, text("sad")), inner,
                array(ONLY_HERE, text("x")), array(INT4, one))))
                .isEqualTo(hex(dataRow(one, text("{happy,sad}"), null, array(30_000, text("sad")), expectedInner,
                        array(ONLY_HERE, text("x")), array(INT4, one))));
    }

    @Test
    void anAnonymousRecordInsideAnArrayOrRecordIsReadToo() {
        byte[] row = record(new int[] {MOOD}, text("sad"));
        byte[] expected = record(new int[] {30_000}, text("sad"));
        assertThat(answered(dataRow(array(2249, row), record(new int[] {INT4, 2249}, new byte[] {0, 0, 0, 1}, row),
                array(2287, array(2249, row)))))
                .isEqualTo(hex(dataRow(array(2249, expected), record(new int[] {INT4, 2249}, new byte[] {0, 0, 0, 1},
                        expected), array(2287, array(2249, expected)))));
    }

    @Test
    void aMessageCutShortOrOfAnotherKindIsLeftAsItIs() {
        ByteBuf whole = rowDescription(MOOD, MOOD);
        ByteBuf cut = whole.retainedSlice(0, whole.readableBytes() - 3);
        TypeOidTranslation.answer(cut, (byte) 'T', 0, cut.readableBytes(), TYPES, true);
        cut.release();
        assertThat(whole.getInt(5 + 2 + 3 + 6)).as("the first column, whole").isEqualTo(MOOD);
        assertThat(whole.getInt(whole.readableBytes() - 12)).as("the second, cut short").isEqualTo(MOOD);
        whole.release();
        ByteBuf complete = Unpooled.buffer();
        int lengthAt = Wire.beginMessage(complete, 'C');
        complete.writeBytes(array(MOOD));
        String before = ByteBufUtil.hexDump(Wire.endMessage(complete, lengthAt));
        assertThat(answered(complete)).isEqualTo(before);
    }
}
