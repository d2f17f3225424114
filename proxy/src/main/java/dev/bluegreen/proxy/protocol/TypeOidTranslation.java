package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * Gives another cluster's copy of a client's message that cluster's OIDs for the types the database defined. A Parse
 * may name its parameters' types, and an array in binary format carries its element type's OID, a record each field's
 * ({@code array_send}, {@code record_send}, nested to any depth, read here to {@link BinaryContainers#MAX_DEPTH}). An enum, a domain, a
 * composite or an extension's type has an OID of its own on each cluster: a Parse names another type there, or none,
 * and before PostgreSQL 14 a server refuses a value bound with another cluster's OIDs ({@code wrong element type},
 * 42804); its callers give values only to such a server.
 *
 * <p>A value is taken for an array or a record only where it reads exactly as one whose every OID is a type of the
 * source cluster ({@link Types#category}): a {@code bytea} that happened to read so would also need such words where
 * every one of them falls. A type is found on the other cluster by its schema and name.
 */
public final class TypeOidTranslation {

    /** What is known of two clusters' types, for copies from the first ("source") to the second. */
    public interface Types {

        /**
         * The source's category of type {@code oid} ({@code pg_type.typcategory}: 'A' an array, 'C' a composite, a
         * domain its base type's), or 0 where the source has no type of that OID.
         */
        char category(long oid);

        /** The OID the other cluster gives the source's type {@code oid} (the same schema and name), or -1 where none. */
        long counterpart(long oid);

        /**
         * Where the other cluster has the source's column {@code column} of relation {@code table} (a relation the
         * database defined): that relation's OID there (the same schema and name) shifted 16 bits left, and the number
         * there of the column of the same name in the low 16 bits (a system column's and a whole row's, 0 or below, are
         * the same everywhere); 0 where it has no such relation or column; -1 where the source's catalog does not list
         * that relation or column (made since it was read).
         */
        default long columnCounterpart(long table, int column) {
            return 0;
        }

        /**
         * The OID the other cluster gives the source's function {@code oid} (the same schema, name and argument types),
         * or -1 where none, or where the source's catalog does not list it; a built-in function's is its own.
         */
        default long functionCounterpart(long oid) {
            return oid < FrontendMessages.FIRST_NORMAL_OID ? oid : -1;
        }
    }

    /** {@link #answer}: a description named a type the source has and the other cluster lacks. */
    public static final int NAMES_TYPE_OTHER_LACKS = 1;
    /** {@link #answer}: the message named a type or relation the database defined that the source's catalog lacks. */
    public static final int NAMES_UNREAD = 2;

    /** The built-in types {@code record} and {@code record[]}. */
    private static final long RECORD = 2249;
    private static final long RECORD_ARRAY = 2287;

    private TypeOidTranslation() {}

    /**
     * The OIDs of database-defined types a Bind's binary values seem to carry at their first level (an array's element
     * type, a record's fields), read from their shape alone: what asks for the two clusters' types before the message
     * goes anywhere ({@link #bind} then reads each value whole). Empty for most messages: every value in text, or none
     * of such a shape. A malformed Bind has none (the server refuses it).
     */
    public static List<Long> bindMayCarry(ByteBuf all, int offset, int length) {
        int[] values;
        try {
            values = FrontendMessages.bindBinaryValues(all, offset, length);
        } catch (ProtocolViolation malformed) {
            return List.of();
        }
        return mayCarry(all, values);
    }

    /** {@link #bindMayCarry} of the values at {@code values} ({@link FrontendMessages#bindBinaryValues}). */
    private static List<Long> mayCarry(ByteBuf all, int[] values) {
        List<Long> oids = List.of();
        for (int i = 0; i < values.length; i += 2) {
            int from = values[i];
            int length = values[i + 1];
            if (BinaryContainers.isArray(all, from, length)) {
                oids = added(oids, all.getUnsignedInt(from + 8)); // (of a built-in type, it holds no other)
            } else if (BinaryContainers.isRecord(all, from, length)) {
                int at = from + 4;
                for (int f = all.getInt(from); f > 0; f--) {
                    oids = added(oids, all.getUnsignedInt(at));
                    at += 8 + Math.max(all.getInt(at + 4), 0);
                }
            }
        }
        return oids;
    }

    /** The OIDs of database-defined types a Parse message names its parameters' types by; empty for most. */
    public static List<Long> parseNames(ByteBuf all, int offset, int length) {
        int typesAt;
        try {
            typesAt = FrontendMessages.databaseTypesAt(all, offset, length);
        } catch (ProtocolViolation malformed) {
            return List.of();
        }
        List<Long> oids = List.of();
        for (int i = 0; typesAt >= 0 && i < all.getUnsignedShort(typesAt); i++) {
            oids = added(oids, all.getUnsignedInt(typesAt + 2 + 4 * i));
        }
        return oids;
    }

    private static List<Long> added(List<Long> oids, long oid) {
        if (oid < FrontendMessages.FIRST_NORMAL_OID) {
            return oids;
        }
        List<Long> more = oids.isEmpty() ? new ArrayList<>() : oids;
        more.add(oid);
        return more;
    }

    /**
     * A copy of a Bind message (the whole frame at {@code offset}) whose binary arrays and records carry the other
     * cluster's OIDs; null where nothing is to change, or something cannot: a type the other cluster lacks (sent as it
     * is, the server there refuses it as it would have). {@code typesIfAny} is asked only where some value in binary
     * seems to carry such OIDs ({@link #bindMayCarry}), and may answer null: nothing changes.
     */
    public static ByteBuf bind(ByteBufAllocator alloc, ByteBuf all, int offset, int length, Supplier<Types> typesIfAny) {
        int[] values;
        try {
            values = FrontendMessages.bindBinaryValues(all, offset, length);
        } catch (ProtocolViolation malformed) {
            return null;
        }
        // (an integer or a timestamp in binary reads as neither: the types are not looked up for it)
        Types types = values.length == 0 || mayCarry(all, values).isEmpty() ? null : typesIfAny.get();
        if (types == null) {
            return null;
        }
        Edits edits = new Edits();
        // (every read is bounded above; should one not be, the message goes as it is rather than end the session)
        try {
            walkValues(all, values, types, edits);
        } catch (IndexOutOfBoundsException unexpected) {
            return null;
        }
        return edits.applied(alloc, all, offset, length, types);
    }

    private static void walkValues(ByteBuf all, int[] values, Types types, Edits edits) {
        for (int i = 0; i < values.length; i += 2) {
            int from = values[i];
            int to = from + values[i + 1];
            int mark = edits.size();
            if (!array(all, from, to, types, edits, 0)) {
                edits.truncate(mark);
                if (!record(all, from, to, types, edits, 0)) {
                    edits.truncate(mark);
                }
            }
        }
    }

    /**
     * A copy of a Parse message (the whole frame at {@code offset}) whose parameter types ({@code typesAt}, as
     * {@link FrontendMessages#databaseTypesAt} found it) are the other cluster's: one it lacks is left for the server to
     * infer (OID 0), as where a client leaves the type out.
     */
    public static ByteBuf parse(ByteBufAllocator alloc, ByteBuf all, int offset, int length, int typesAt, Types types) {
        ByteBuf copy = alloc.buffer(length);
        copy.writeBytes(all, offset, length);
        int count = all.getUnsignedShort(typesAt);
        for (int i = 0; i < count; i++) {
            int at = typesAt - offset + 2 + 4 * i;
            long oid = copy.getUnsignedInt(at);
            if (oid >= FrontendMessages.FIRST_NORMAL_OID) {
                copy.setInt(at, (int) Math.max(types.counterpart(oid), 0));
            }
        }
        return copy;
    }

    /**
     * Gives a server's message (the whole frame at {@code offset}), in place, the other cluster's OIDs for the types the
     * database defined: a RowDescription's column types, a ParameterDescription's parameter types, the arrays and records
     * a DataRow carries in binary. Here the source is the cluster that answered, and the other the one whose OIDs the
     * client holds. A type the other cluster lacks keeps the source's OID. With {@code tables} (where the client looks
     * them up in the other cluster's catalog), a RowDescription's column taken from a relation the database defined is
     * given that relation's OID on the other cluster and the column's number there (a driver looks them up for the
     * table's name, whether the column may be null); where the other cluster has no such column, or it is not known,
     * both become 0, as for a column computed in the query, rather than name another there. Any other message, or one
     * that does not read as its type should, is left as it is (the client reads what the server sent).
     *
     * @return {@link #NAMES_TYPE_OTHER_LACKS} where a description named a type the other cluster lacks (a schema green
     *         alone has: the client can look it up only in the source's catalog; that description's tables are left as
     *         they are), {@link #NAMES_UNREAD} where a description named a type, relation or column the source's
     *         catalog lacks, or 0 (a DataRow's values are read only as the catalog's types)
     */
    public static int answer(ByteBuf all, byte type, int offset, int length, Types types, boolean tables) {
        int end = offset + length;
        int at = offset + Frame.HEADER_LENGTH;
        if (end - at < 2) {
            return 0;
        }
        int count = all.getUnsignedShort(at);
        at += 2;
        try {
            switch (type) {
                case 'T' -> {
                    // per field: name, table OID (4), column number (2), type OID (4), length (2), modifier (4), format (2);
                    // read whole before any is changed
                    int[] tablesAt = new int[count];
                    for (int i = 0; i < count; i++) {
                        int name = all.bytesBefore(at, end - at, (byte) 0);
                        if (name < 0 || end - at < name + 19) {
                            return 0;
                        }
                        tablesAt[i] = at + name + 1;
                        at += name + 19;
                    }
                    int found = 0;
                    for (int tableAt : tablesAt) {
                        found |= translate(all, tableAt + 6, types);
                    }
                    // (a type only the source has: the client may read the source's catalog from now on)
                    if (tables && (found & NAMES_TYPE_OTHER_LACKS) == 0) {
                        for (int tableAt : tablesAt) {
                            found |= column(all, tableAt, types);
                        }
                    }
                    return found;
                }
                case 't' -> {
                    int found = 0;
                    for (int i = 0; i < count && end - at >= 4; i++, at += 4) {
                        found |= translate(all, at, types);
                    }
                    return found;
                }
                case 'D' -> {
                    Edits edits = null;
                    for (int i = 0; i < count && end - at >= 4; i++) {
                        int size = all.getInt(at);
                        at += 4;
                        if (size < 0) {
                            continue;
                        }
                        if (size > end - at) {
                            return 0;
                        }
                        // (a value in text never starts with the zero bytes both shapes begin with)
                        if (size >= BinaryContainers.SMALLEST && all.getByte(at) == 0) {
                            edits = edits == null ? new Edits() : edits;
                            int mark = edits.size();
                            if (!array(all, at, at + size, types, edits, 0)) {
                                edits.truncate(mark);
                                if (!record(all, at, at + size, types, edits, 0)) {
                                    edits.truncate(mark);
                                }
                            }
                        }
                        at += size;
                    }
                    if (edits != null) {
                        edits.applyInPlace(all, types);
                    }
                }
                default -> { }
            }
        } catch (IndexOutOfBoundsException unexpected) {
            // every read is bounded above; should one not be, the rest of the message stays as the server sent it
        }
        return 0;
    }

    /**
     * The table OID at {@code at} and the column number after it become the other cluster's, where the table is one
     * the database defined; both 0 where the other cluster has no such column, or it is not known. {@link #NAMES_UNREAD}
     * where the source's catalog lacks it; otherwise 0.
     */
    private static int column(ByteBuf all, int at, Types types) {
        long table = all.getUnsignedInt(at);
        if (table < FrontendMessages.FIRST_NORMAL_OID) {
            return 0;
        }
        long there = types.columnCounterpart(table, all.getShort(at + 4));
        all.setInt(at, (int) (Math.max(there, 0) >>> 16));
        all.setShort(at + 4, (int) Math.max(there, 0) & 0xFFFF);
        return there < 0 ? NAMES_UNREAD : 0;
    }

    /**
     * The OID at {@code at} becomes the other cluster's, where it is a database-defined type that cluster has too.
     * {@link #NAMES_TYPE_OTHER_LACKS} where the source has that type and the other cluster has none of its name,
     * {@link #NAMES_UNREAD} where the source's catalog lacks it; otherwise 0.
     */
    private static int translate(ByteBuf all, int at, Types types) {
        long oid = all.getUnsignedInt(at);
        if (oid >= FrontendMessages.FIRST_NORMAL_OID) {
            long there = types.counterpart(oid);
            if (there >= 0 && there != oid) {
                all.setInt(at, (int) there);
            }
            return there >= 0 ? 0 : types.category(oid) == 0 ? NAMES_UNREAD : NAMES_TYPE_OTHER_LACKS;
        }
        return 0;
    }

    /** Reads {@code [from, to)} as a binary array whose OIDs are the source's types, noting the words to change. */
    private static boolean array(ByteBuf all, int from, int to, Types types, Edits edits, int depth) {
        if (depth > BinaryContainers.MAX_DEPTH || !BinaryContainers.isArray(all, from, to - from)) {
            return false;
        }
        long element = all.getUnsignedInt(from + 8);
        char category = types.category(element);
        if (category == 0) {
            return false;
        }
        int dimensions = all.getInt(from);
        int at = from + BinaryContainers.SMALLEST;
        long count = dimensions == 0 ? 0 : 1;
        for (int d = 0; d < dimensions; d++, at += 8) {
            count *= all.getInt(at);
        }
        for (long e = 0; e < count; e++) {
            int elementLength = all.getInt(at);
            at += 4;
            if (elementLength >= 0 && !value(all, at, at + elementLength, element, category, types, edits, depth)) {
                return false;
            }
            at += Math.max(elementLength, 0);
        }
        edits.add(from + 8, element);
        return true;
    }

    /** Reads {@code [from, to)} as a binary record whose fields' OIDs are the source's types, noting the words to change. */
    private static boolean record(ByteBuf all, int from, int to, Types types, Edits edits, int depth) {
        if (depth > BinaryContainers.MAX_DEPTH || !BinaryContainers.isRecord(all, from, to - from)) {
            return false;
        }
        int at = from + 4;
        for (int f = all.getInt(from); f > 0; f--) {
            long oid = all.getUnsignedInt(at);
            int fieldLength = all.getInt(at + 4);
            char category = types.category(oid);
            if (category == 0) {
                return false;
            }
            edits.add(at, oid);
            at += 8;
            if (fieldLength >= 0 && !value(all, at, at + fieldLength, oid, category, types, edits, depth)) {
                return false;
            }
            at += Math.max(fieldLength, 0);
        }
        return true;
    }

    /**
     * A value of type {@code oid} inside an array or record: built-in types hold no database-defined ones, but for an
     * anonymous record ({@code row(…)}) and an array of them, which may.
     */
    private static boolean value(ByteBuf all, int from, int to, long oid, char category, Types types, Edits edits,
                                 int depth) {
        if (oid == RECORD) {
            return record(all, from, to, types, edits, depth + 1);
        }
        if (oid == RECORD_ARRAY) {
            return array(all, from, to, types, edits, depth + 1);
        }
        if (oid < FrontendMessages.FIRST_NORMAL_OID) {
            return true;
        }
        return switch (category) {
            case 'A' -> array(all, from, to, types, edits, depth + 1);
            case 'C' -> record(all, from, to, types, edits, depth + 1);
            default -> true;
        };
    }

    /** OID words to rewrite: where each is in the message, and the source's OID there. */
    private static final class Edits {
        private long[] words = new long[8];
        private int size;

        void add(int at, long oid) {
            if (oid < FrontendMessages.FIRST_NORMAL_OID) {
                return;
            }
            if (size == words.length) {
                words = Arrays.copyOf(words, size * 2);
            }
            words[size++] = ((long) at << 32) | oid;
        }

        int size() {
            return size;
        }

        void truncate(int to) {
            size = to;
        }

        /** Each word whose OID the other cluster has a type for becomes that type's OID there; the rest stay. */
        void applyInPlace(ByteBuf all, Types types) {
            for (int i = 0; i < size; i++) {
                translate(all, (int) (words[i] >>> 32), types);
            }
        }

        ByteBuf applied(ByteBufAllocator alloc, ByteBuf all, int offset, int length, Types types) {
            long[] counterparts = new long[size];
            boolean changes = false;
            for (int i = 0; i < size; i++) {
                long oid = words[i] & 0xFFFFFFFFL;
                counterparts[i] = types.counterpart(oid);
                if (counterparts[i] < 0) {
                    return null;
                }
                changes |= counterparts[i] != oid;
            }
            if (!changes) {
                return null;
            }
            ByteBuf copy = alloc.buffer(length);
            copy.writeBytes(all, offset, length);
            for (int i = 0; i < size; i++) {
                copy.setInt((int) (words[i] >>> 32) - offset, (int) counterparts[i]);
            }
            return copy;
        }
    }
}
