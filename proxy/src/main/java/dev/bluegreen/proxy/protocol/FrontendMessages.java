package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The few client messages the proxy reads for routing (the SQL of a Query or Parse, the statement a
 * Bind or Close names) and the few it writes itself: a Query for the transaction it wraps around a
 * write, and Parse plus Sync to give a new twin a session's prepared statements.
 */
public final class FrontendMessages {

    public static final byte QUERY = 'Q';
    public static final byte PARSE = 'P';
    public static final byte BIND = 'B';
    public static final byte CLOSE = 'C';
    public static final byte DESCRIBE = 'D';
    public static final byte SYNC = 'S';
    public static final byte EXECUTE = 'E';
    public static final byte FLUSH = 'H';
    public static final byte FUNCTION_CALL = 'F';
    public static final byte COPY_DATA = 'd';
    public static final byte COPY_DONE = 'c';
    public static final byte COPY_FAIL = 'f';

    private FrontendMessages() {}

    /**
     * Throws when a string that units mode reads of a message is not terminated: a Query's text, a Parse's
     * name and text, a Bind's portal and statement, an Execute's portal, a Describe's or Close's target. The
     * relay, which reads no body, checks every message it passes on with this, so that such a message ends
     * the session with 08P01 whichever mode the session is in (DESIGN §9) rather than reaching the server,
     * which would answer with an error and go on. A Query costs one look at its last byte when well formed.
     */
    public static void checkStrings(byte type, ByteBuf all, int offset, int length) {
        int from = offset + Frame.HEADER_LENGTH;
        int end = offset + length;
        switch (type) {
            case QUERY -> {
                if (length == Frame.HEADER_LENGTH || all.getByte(end - 1) != 0) {
                    terminator(all, from, end, "Query"); // a NUL before the end would still do: the server says what follows it is wrong
                }
            }
            case PARSE -> terminator(all, terminator(all, from, end, "Parse") + 1, end, "Parse");
            case BIND -> terminator(all, terminator(all, from, end, "Bind") + 1, end, "Bind");
            case EXECUTE -> terminator(all, from, end, "Execute");
            case DESCRIBE, CLOSE -> {
                String message = type == DESCRIBE ? "Describe" : "Close";
                if (length < Frame.HEADER_LENGTH + 2) {
                    throw new ProtocolViolation("malformed " + message + ": truncated");
                }
                terminator(all, from + 1, end, message);
            }
            default -> { }
        }
    }

    /** The SQL of a Query message, given the whole frame. */
    public static String querySql(ByteBuf all, int offset, int length) {
        return querySql(all, offset, length, ClientEncoding.ASCII_SAFE);
    }

    /** The SQL of a Query message, read for the lexer in the session's client encoding. */
    public static String querySql(ByteBuf all, int offset, int length, ClientEncoding encoding) {
        int from = offset + Frame.HEADER_LENGTH;
        int nul = terminator(all, from, offset + length, "Query");
        return encoding.decode(all, from, nul - from);
    }

    /** The statement name of a Parse message ({@code ""} is the unnamed statement). */
    public static String parseName(ByteBuf all, int offset, int length) {
        return cstringAt(all, offset + Frame.HEADER_LENGTH, offset + length, "Parse");
    }

    /** The SQL of a Parse message. */
    public static String parseSql(ByteBuf all, int offset, int length) {
        return parseSql(all, offset, length, ClientEncoding.ASCII_SAFE);
    }

    /** The SQL of a Parse message, read for the lexer in the session's client encoding. */
    public static String parseSql(ByteBuf all, int offset, int length, ClientEncoding encoding) {
        int end = offset + length;
        int from = terminator(all, offset + Frame.HEADER_LENGTH, end, "Parse") + 1;
        int nul = terminator(all, from, end, "Parse");
        return encoding.decode(all, from, nul - from);
    }

    /** The first OID a database's own objects get; below it, built-in types with the same OID on every cluster. */
    public static final long FIRST_NORMAL_OID = 16384;

    /**
     * Where a Parse message's parameter type OIDs start, when one of them names a type the database defined
     * (an enum, a domain, an extension's type), which has another OID on another cluster; -1 otherwise.
     */
    public static int databaseTypesAt(ByteBuf all, int offset, int length) {
        int end = offset + length;
        int from = terminator(all, offset + Frame.HEADER_LENGTH, end, "Parse") + 1;
        int countAt = terminator(all, from, end, "Parse") + 1;
        if (countAt + 2 > end) {
            throw new ProtocolViolation("malformed Parse: truncated");
        }
        int count = all.getUnsignedShort(countAt);
        if (countAt + 2 + 4L * count > end) {
            throw new ProtocolViolation("malformed Parse: truncated");
        }
        for (int i = 0; i < count; i++) {
            if (all.getUnsignedInt(countAt + 2 + 4 * i) >= FIRST_NORMAL_OID) {
                return countAt;
            }
        }
        return -1;
    }

    /**
     * A copy of a Parse message whose database-defined parameter types ({@link #databaseTypesAt}, at
     * {@code typesAt}) are left for the server to infer (OID 0), as they are where a client leaves them out.
     */
    public static ByteBuf withPortableTypes(ByteBufAllocator alloc, ByteBuf all, int offset, int length, int typesAt) {
        ByteBuf copy = alloc.buffer(length);
        copy.writeBytes(all, offset, length);
        int count = all.getUnsignedShort(typesAt);
        for (int i = 0; i < count; i++) {
            int at = typesAt - offset + 2 + 4 * i;
            if (copy.getUnsignedInt(at) >= FIRST_NORMAL_OID) {
                copy.setInt(at, 0);
            }
        }
        return copy;
    }

    /** The prepared statement a Bind message binds ({@code ""} is the unnamed statement). */
    public static String bindStatement(ByteBuf all, int offset, int length) {
        int end = offset + length;
        int portalEnd = terminator(all, offset + Frame.HEADER_LENGTH, end, "Bind");
        return cstringAt(all, portalEnd + 1, end, "Bind");
    }

    /**
     * The result format codes of a Bind message, as it sends them: none (every column in text), one (every column in
     * that format) or one per column.
     */
    public static int[] bindResultFormats(ByteBuf all, int offset, int length) {
        int end = offset + length;
        int at = terminator(all, terminator(all, offset + Frame.HEADER_LENGTH, end, "Bind") + 1, end, "Bind") + 1;
        at = bindSkip(at, end, 2 + 2 * bindCount(all, at, end)); // the parameters' format codes
        int parameters = bindCount(all, at, end);
        at = bindSkip(at, end, 2);
        for (int i = 0; i < parameters; i++) {
            int valueLength = all.getInt(bindSkip(at, end, 4) - 4); // -1: null
            at = bindSkip(at, end, 4 + Math.max(valueLength, 0));
        }
        int[] formats = new int[bindCount(all, at, end)];
        at = bindSkip(at, end, 2);
        bindSkip(at, end, 2 * formats.length);
        for (int i = 0; i < formats.length; i++) {
            formats[i] = all.getShort(at + 2 * i);
        }
        return formats;
    }

    private static final int[] NO_VALUES = {};

    /**
     * Where a Bind message's parameter values in binary format are, null ones left out: the offset of each value's first
     * byte and its length, two entries a value. Empty where every value comes in text.
     */
    public static int[] bindBinaryValues(ByteBuf all, int offset, int length) {
        int end = offset + length;
        int at = terminator(all, terminator(all, offset + Frame.HEADER_LENGTH, end, "Bind") + 1, end, "Bind") + 1;
        int formatCount = bindCount(all, at, end);
        int formatsAt = at + 2;
        at = bindSkip(at, end, 2 + 2 * formatCount);
        boolean anyBinary = false;
        for (int i = 0; i < formatCount && !anyBinary; i++) {
            anyBinary = all.getShort(formatsAt + 2 * i) == 1;
        }
        if (!anyBinary) {
            return NO_VALUES;
        }
        int parameters = bindCount(all, at, end);
        at = bindSkip(at, end, 2);
        int[] values = new int[2 * parameters];
        int found = 0;
        for (int i = 0; i < parameters; i++) {
            int valueLength = all.getInt(bindSkip(at, end, 4) - 4); // -1: null
            at += 4;
            if (valueLength > 0 && all.getShort(formatsAt + 2 * (formatCount == 1 ? 0 : Math.min(i, formatCount - 1))) == 1) {
                values[found++] = at;
                values[found++] = valueLength;
            }
            at = bindSkip(at, end, Math.max(valueLength, 0));
        }
        return Arrays.copyOf(values, found);
    }

    /** Whether result column {@code field} comes in binary under the result format codes {@code formats}. */
    public static boolean binaryResult(int[] formats, int field) {
        return formats.length != 0 && formats[formats.length == 1 ? 0 : Math.min(field, formats.length - 1)] == 1;
    }

    /** A copy of a Bind message (the whole frame at {@code offset}) that binds the prepared statement {@code statement}. */
    public static ByteBuf bindOf(ByteBufAllocator alloc, ByteBuf all, int offset, int length, String statement) {
        int end = offset + length;
        int portalEnd = terminator(all, offset + Frame.HEADER_LENGTH, end, "Bind");
        int statementEnd = terminator(all, portalEnd + 1, end, "Bind");
        ByteBuf out = alloc.buffer(length + statement.length());
        int lengthAt = Wire.beginMessage(out, 'B');
        out.writeBytes(all, offset + Frame.HEADER_LENGTH, portalEnd + 1 - offset - Frame.HEADER_LENGTH);
        Wire.writeCString(out, statement);
        out.writeBytes(all, statementEnd + 1, end - statementEnd - 1);
        return Wire.endMessage(out, lengthAt);
    }

    /** A 16-bit count at {@code at}, before {@code end}. */
    private static int bindCount(ByteBuf all, int at, int end) {
        if (at + 2 > end) {
            throw new ProtocolViolation("malformed Bind: truncated");
        }
        return all.getUnsignedShort(at);
    }

    /** {@code at} moved on by {@code bytes}, not past {@code end}. */
    private static int bindSkip(int at, int end, int bytes) {
        if (bytes < 0 || at + (long) bytes > end) {
            throw new ProtocolViolation("malformed Bind: truncated");
        }
        return at + bytes;
    }

    /** The portal a Bind message creates ({@code ""} is the unnamed portal). */
    public static String bindPortal(ByteBuf all, int offset, int length) {
        return cstringAt(all, offset + Frame.HEADER_LENGTH, offset + length, "Bind");
    }

    /** The portal an Execute message runs. */
    public static String executePortal(ByteBuf all, int offset, int length) {
        return cstringAt(all, offset + Frame.HEADER_LENGTH, offset + length, "Execute");
    }

    /** The most rows an Execute message asks for (0: all of them). */
    public static int executeRowLimit(ByteBuf all, int offset, int length) {
        int end = offset + length;
        int at = terminator(all, offset + Frame.HEADER_LENGTH, end, "Execute") + 1;
        if (at + 4 > end) {
            throw new ProtocolViolation("malformed Execute: truncated");
        }
        return all.getInt(at);
    }

    /** The portal a Close message closes, or null when it closes a prepared statement. */
    public static String closedPortal(ByteBuf all, int offset, int length) {
        return target(all, offset, length, 'P', "Close");
    }

    /** The prepared statement a Close message closes, or null when it closes a portal. */
    public static String closedStatement(ByteBuf all, int offset, int length) {
        return target(all, offset, length, 'S', "Close");
    }

    /** The portal a Describe message describes, or null when it describes a prepared statement. */
    public static String describedPortal(ByteBuf all, int offset, int length) {
        return target(all, offset, length, 'P', "Describe");
    }

    /** The prepared statement a Describe message describes, or null when it describes a portal. */
    public static String describedStatement(ByteBuf all, int offset, int length) {
        return target(all, offset, length, 'S', "Describe");
    }

    /** Close and Describe: {@code 'S'} or {@code 'P'}, then a name; the name when the kind is {@code kind}. */
    private static String target(ByteBuf all, int offset, int length, char kind, String message) {
        if (length < Frame.HEADER_LENGTH + 2) {
            throw new ProtocolViolation("malformed " + message + ": truncated");
        }
        if (all.getByte(offset + Frame.HEADER_LENGTH) != kind) {
            return null;
        }
        return cstringAt(all, offset + Frame.HEADER_LENGTH + 1, offset + length, message);
    }

    public static ByteBuf query(ByteBufAllocator alloc, String sql) {
        return query(alloc, sql, StandardCharsets.UTF_8);
    }

    /** A Query message of {@code sql} written in {@code charset}. */
    public static ByteBuf query(ByteBufAllocator alloc, String sql, Charset charset) {
        ByteBuf out = alloc.buffer(sql.length() + 6);
        int lengthAt = Wire.beginMessage(out, 'Q');
        Wire.writeCString(out, sql, charset);
        return Wire.endMessage(out, lengthAt);
    }

    /** A Query message of the {@code length} bytes of SQL text at {@code from} in {@code text}, as they are. */
    public static ByteBuf query(ByteBufAllocator alloc, ByteBuf text, int from, int length) {
        ByteBuf out = alloc.buffer(length + 6);
        int lengthAt = Wire.beginMessage(out, 'Q');
        out.writeBytes(text, from, length).writeByte(0);
        return Wire.endMessage(out, lengthAt);
    }

    public static ByteBuf parse(ByteBufAllocator alloc, String name, String sql, List<Long> parameterTypeOids) {
        return parse(alloc, name, sql, parameterTypeOids, StandardCharsets.UTF_8);
    }

    /** A Parse message whose name and text are written in {@code charset}. */
    public static ByteBuf parse(ByteBufAllocator alloc, String name, String sql, List<Long> parameterTypeOids,
                                Charset charset) {
        ByteBuf out = alloc.buffer(name.length() + sql.length() + 8 + 4 * parameterTypeOids.size());
        int lengthAt = Wire.beginMessage(out, 'P');
        Wire.writeCString(out, name, charset);
        Wire.writeCString(out, sql, charset);
        out.writeShort(parameterTypeOids.size());
        for (long oid : parameterTypeOids) {
            out.writeInt((int) oid);
        }
        return Wire.endMessage(out, lengthAt);
    }

    /**
     * A copy of a Query or Parse message (the whole frame at {@code offset}) with its SQL text replaced by {@code sql},
     * encoded as UTF-8; a Parse keeps its name and parameter types.
     */
    public static ByteBuf withSql(ByteBufAllocator alloc, ByteBuf all, int offset, int length, String sql) {
        byte type = all.getByte(offset);
        int end = offset + length;
        int textAt = type == PARSE ? terminator(all, offset + Frame.HEADER_LENGTH, end, "Parse") + 1 : offset + Frame.HEADER_LENGTH;
        int textEnd = terminator(all, textAt, end, type == PARSE ? "Parse" : "Query");
        ByteBuf out = alloc.buffer(length + sql.length() * 3 / 2);
        int lengthAt = Wire.beginMessage(out, (char) type);
        out.writeBytes(all, offset + Frame.HEADER_LENGTH, textAt - offset - Frame.HEADER_LENGTH);
        Wire.writeCString(out, sql);
        out.writeBytes(all, textEnd + 1, end - textEnd - 1);
        return Wire.endMessage(out, lengthAt);
    }

    /**
     * A copy of a Parse message (the whole frame at {@code offset}) that prepares statement {@code name} of the text
     * {@code sql}, encoded as UTF-8, with the same parameter types.
     */
    public static ByteBuf parseOf(ByteBufAllocator alloc, ByteBuf all, int offset, int length, String name, String sql) {
        int end = offset + length;
        int textEnd = terminator(all, terminator(all, offset + Frame.HEADER_LENGTH, end, "Parse") + 1, end, "Parse");
        ByteBuf out = alloc.buffer(length + name.length() + sql.length() * 3 / 2);
        int lengthAt = Wire.beginMessage(out, 'P');
        Wire.writeCString(out, name);
        Wire.writeCString(out, sql);
        out.writeBytes(all, textEnd + 1, end - textEnd - 1);
        return Wire.endMessage(out, lengthAt);
    }

    /** A Close of the prepared statement {@code name}. */
    public static ByteBuf closeStatement(ByteBufAllocator alloc, String name) {
        ByteBuf out = alloc.buffer(name.length() + 7);
        int lengthAt = Wire.beginMessage(out, 'C');
        out.writeByte('S');
        Wire.writeCString(out, name);
        return Wire.endMessage(out, lengthAt);
    }

    /** The OID of the function the FunctionCall message at {@code offset} calls; -1 where the message is cut short. */
    public static long calledFunction(ByteBuf all, int offset, int length) {
        return length < Frame.HEADER_LENGTH + 4 ? -1 : all.getUnsignedInt(offset + Frame.HEADER_LENGTH);
    }

    /**
     * A FunctionCall message read: the function's OID, each argument's value (null for SQL null) and whether it is
     * binary, and the result's format code. Null where the message is not whole.
     */
    public record FunctionCall(long function, List<byte[]> arguments, List<Boolean> binary, int resultFormat) {}

    /**
     * Reads the FunctionCall message at {@code offset}; null where it is cut short, runs past its last field, or gives
     * several format codes but not one per argument. A format code other than 1 reads as text (the server refuses it).
     */
    public static FunctionCall functionCall(ByteBuf all, int offset, int length) {
        int at = offset + Frame.HEADER_LENGTH;
        int end = offset + length;
        if (end - at < 4 + 2) {
            return null;
        }
        long function = all.getUnsignedInt(at);
        int formats = all.getUnsignedShort(at + 4);
        at += 6;
        if (end - at < 2 * formats + 2) {
            return null;
        }
        int[] formatCodes = new int[formats];
        for (int i = 0; i < formats; i++) {
            formatCodes[i] = all.getShort(at + 2 * i);
        }
        at += 2 * formats;
        int count = all.getUnsignedShort(at);
        at += 2;
        if (formats > 1 && formats != count) {
            return null;
        }
        List<byte[]> arguments = new ArrayList<>(count);
        List<Boolean> binary = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            if (end - at < 4) {
                return null;
            }
            int valueLength = all.getInt(at);
            at += 4;
            if (valueLength > end - at) {
                return null;
            }
            arguments.add(valueLength < 0 ? null : ByteBufUtil.getBytes(all, at, valueLength));
            at += Math.max(valueLength, 0);
            int format = formats == 0 ? 0 : formatCodes[formats == 1 ? 0 : i];
            binary.add(format == 1);
        }
        if (end - at != 2) {
            return null;
        }
        return new FunctionCall(function, arguments, binary, all.getShort(at));
    }

    /** A FunctionCall of {@code function} with one argument, {@code value} as a binary 4-byte integer. */
    public static ByteBuf functionCall(ByteBufAllocator alloc, long function, int value, int resultFormat) {
        ByteBuf out = alloc.buffer(Frame.HEADER_LENGTH + 4 + 2 + 2 + 2 + 4 + 4 + 2);
        int lengthAt = Wire.beginMessage(out, 'F');
        out.writeInt((int) function).writeShort(1).writeShort(1).writeShort(1).writeInt(4).writeInt(value)
                .writeShort(resultFormat);
        return Wire.endMessage(out, lengthAt);
    }

    public static ByteBuf sync(ByteBufAllocator alloc) {
        return alloc.buffer(5).writeByte('S').writeInt(4);
    }

    private static String cstringAt(ByteBuf all, int from, int end, String message) {
        int nul = terminator(all, from, end, message);
        return all.toString(from, nul - from, StandardCharsets.UTF_8);
    }

    private static int terminator(ByteBuf all, int from, int end, String message) {
        int nul = all.indexOf(from, end, (byte) 0);
        if (nul < 0) {
            throw new ProtocolViolation("malformed " + message + ": unterminated string");
        }
        return nul;
    }
}
