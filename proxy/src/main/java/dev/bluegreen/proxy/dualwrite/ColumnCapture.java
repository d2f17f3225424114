package dev.bluegreen.proxy.dualwrite;

import dev.bluegreen.proxy.protocol.FrontendMessages;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The values one result column holds, row by row, read from a cluster's RowDescription and DataRows as they pass
 * ({@link OutcomeRecorder#capture}): an integer column (the ids a bulk insert's {@code RETURNING id} shows), a
 * {@code uuid} one (what {@code gen_random_uuid()} made for a row) or an {@code oid} one (the large object
 * {@code lo_creat(-1)} made), each as the SQL literal that gives a row that value. The column is named, or, for
 * {@code uuid} and {@code oid}, the one such column the result has that is not among those a statement gave values to.
 *
 * <p>Any surprise spoils it: a null, a value not of its type, a second RowDescription after rows, a column found
 * twice.
 */
final class ColumnCapture {

    /** The kind of column captured. */
    enum Kind { INTEGER, UUID, OID }

    private static final Pattern INTEGER = Pattern.compile("-?[0-9]{1,19}");
    private static final Pattern UUID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    private static final int INT8 = 20;
    private static final int INT2 = 21;
    private static final int INT4 = 23;
    private static final int UUID_TYPE = 2950;
    private static final int OID_TYPE = 26;

    private final Kind kind;
    /** The column's name; null for the one {@code uuid} column not in {@link #excluded}. */
    private final String column;
    private final Set<String> excluded;
    /** The Bind's result format codes; null where a RowDescription's say (a Query's). */
    private final int[] formats;
    private int field;
    private String found;
    /** Where the found column's values come from, as its RowDescription says: {@code "tableOid/number"}; or null. */
    private String place;
    /** A RowDescription came. */
    private boolean described;
    private boolean binary;
    private boolean failed;
    private final List<String> values = new ArrayList<>();

    /**
     * A capture of {@code column} (for {@link Kind#UUID}, null: the one not in {@code excluded}), of rows in the
     * result formats {@code formats} (null: as the RowDescription says), at {@code field} where no RowDescription
     * comes first (-1: not known), the {@link #place} an earlier RowDescription said that column is.
     */
    ColumnCapture(Kind kind, String column, Set<String> excluded, int[] formats, int field, String place) {
        this.kind = kind;
        this.column = column;
        this.excluded = Set.copyOf(excluded);
        this.formats = formats == null ? null : formats.clone();
        this.field = field;
        this.found = column;
        this.place = place;
        this.binary = field >= 0 && formats != null && FrontendMessages.binaryResult(formats, field);
    }

    /** The values as SQL literals, in the order of the rows; null where the capture failed or found no column. */
    List<String> values() {
        return failed || field < 0 ? null : List.copyOf(values);
    }

    /** The column captured, as its result named it; null where none was found. */
    String column() {
        return failed || field < 0 ? null : found;
    }

    /** Where the column was among the result's; -1 where it was not found. */
    int field() {
        return failed ? -1 : field;
    }

    /**
     * The table column the captured result column is, as the RowDescription said: {@code "tableOid/number"} (OID
     * unsigned); null where it said none (an expression) or no RowDescription came.
     */
    String place() {
        return failed || field < 0 ? null : place;
    }

    /** Whether a RowDescription came (the column's place is its, not the one given at the start). */
    boolean described() {
        return described;
    }

    /** Reads a RowDescription whose body spans {@code [at, end)}. */
    void describe(ByteBuf all, int at, int end) {
        described = true;
        if (!values.isEmpty()) {
            failed = true; // another result
            return;
        }
        field = -1;
        found = column;
        place = null;
        int fields = all.getUnsignedShort(at);
        at += 2;
        for (int i = 0; i < fields && at < end; i++) {
            int nul = all.indexOf(at, end, (byte) 0);
            if (nul < 0 || nul + 19 > end) {
                failed = true;
                return;
            }
            String name = all.toString(at, nul - at, StandardCharsets.UTF_8);
            int table = all.getInt(nul + 1);
            int number = all.getShort(nul + 5);
            int type = all.getInt(nul + 7);
            int format = all.getUnsignedShort(nul + 17);
            at = nul + 19;
            boolean ofType = switch (kind) {
                case UUID -> type == UUID_TYPE;
                case OID -> type == OID_TYPE;
                case INTEGER -> type == INT8 || type == INT4 || type == INT2;
            };
            boolean wanted = column != null ? name.equals(column) : ofType && !excluded.contains(name);
            if (!wanted) {
                continue;
            }
            if (field >= 0 || !ofType) {
                failed = true; // twice, or not of a type the proxy reads
                return;
            }
            field = i;
            found = name;
            place = table == 0 ? null : Integer.toUnsignedString(table) + "/" + number;
            binary = formats == null ? format == 1 : FrontendMessages.binaryResult(formats, i);
        }
    }

    /** Keeps the column's value of the DataRow whose body spans {@code [at, end)}. */
    void row(ByteBuf all, int at, int end) {
        if (failed || field < 0) {
            return;
        }
        int fields = all.getUnsignedShort(at);
        at += 2;
        for (int i = 0; i < fields && at + 4 <= end; i++) {
            int length = all.getInt(at);
            at += 4;
            if (i != field) {
                at += Math.max(length, 0);
                continue;
            }
            String value = length < 0 || at + length > end ? null : binary ? binary(all, at, length) : text(all, at, length);
            if (value == null) {
                failed = true;
                return;
            }
            values.add(value);
            return;
        }
        failed = true;
    }

    private String binary(ByteBuf all, int at, int length) {
        if (kind == Kind.UUID) {
            if (length != 16) {
                return null;
            }
            return "'" + new java.util.UUID(all.getLong(at), all.getLong(at + 8)) + "'";
        }
        if (kind == Kind.OID) {
            return length == 4 ? Integer.toUnsignedString(all.getInt(at)) : null;
        }
        return switch (length) {
            case 8 -> Long.toString(all.getLong(at));
            case 4 -> Integer.toString(all.getInt(at));
            case 2 -> Short.toString(all.getShort(at));
            default -> null;
        };
    }

    private String text(ByteBuf all, int at, int length) {
        if (length > 36) {
            return null;
        }
        String text = all.toString(at, length, StandardCharsets.US_ASCII);
        if (kind == Kind.UUID) {
            return UUID.matcher(text).matches() ? "'" + text + "'" : null;
        }
        return INTEGER.matcher(text).matches() && (kind == Kind.INTEGER || text.charAt(0) != '-') ? text : null;
    }
}
