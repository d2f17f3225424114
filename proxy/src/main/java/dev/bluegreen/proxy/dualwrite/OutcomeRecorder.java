package dev.bluegreen.proxy.dualwrite;

import dev.bluegreen.proxy.protocol.ErrorResponse;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrameBatch;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Records a cluster's answer to one unit, statement by statement, from its frames as they pass: no
 * copy, no decode beyond CommandComplete's tag and an error's SQLSTATE. DataRow bodies are hashed in
 * place, blind to the cluster's own OIDs of user-defined types inside binary arrays and records
 * ({@link RowHash#ofDataRow}). The unit ends with ReadyForQuery.
 *
 * <p>Not thread-safe: one recorder per backend connection, used on its event loop.
 */
public final class OutcomeRecorder {

    private final List<StatementOutcome> outcomes = new ArrayList<>();
    private long rows;
    private long digestSum;
    private long digestXor;
    private boolean unitComplete;
    /** The ids a statement returns ({@link #capture}); null for none. */
    private ColumnCapture ids;
    /** The {@code uuid} values a statement returns ({@link #captureUuid}); null for none. */
    private ColumnCapture uuids;
    /** The OID a statement creating a large object returns ({@link #captureOid}); null for none. */
    private ColumnCapture oids;
    /** The value of the last FunctionCallResponse, where it is short and not null ({@link #functionResult}). */
    private byte[] functionResult;
    private FrameBatch current;
    private final FrameBatch.Visitor visitor = this::onFrame;

    /** Feeds a batch of the cluster's frames; the caller still owns the batch. */
    public void record(FrameBatch frames) {
        current = frames;
        try {
            frames.forEach(visitor);
        } finally {
            current = null;
        }
    }

    /** Feeds one frame of {@code frames}, at {@code offset}; the caller still owns the batch. */
    public void record(FrameBatch frames, byte type, int offset, int length) {
        current = frames;
        try {
            onFrame(type, offset, length);
        } finally {
            current = null;
        }
    }

    /** True once the unit's ReadyForQuery has been seen. */
    public boolean unitComplete() {
        return unitComplete;
    }

    /** The statements answered so far, in order. */
    public List<StatementOutcome> outcomes() {
        return List.copyOf(outcomes);
    }

    /**
     * Keeps, from here on, the values of the result column named {@code column} (an integer column a statement returns,
     * as {@code RETURNING id}), row by row in the order the rows come; once the rows have passed, {@link #captured}
     * holds them.
     */
    public void capture(String column) {
        ids = new ColumnCapture(ColumnCapture.Kind.INTEGER, column, Set.of(), null, -1, null);
    }

    /**
     * {@link #capture} of a portal bound with the result format codes {@code resultFormats}, whose rows may come with no
     * RowDescription before them: the column is then the one at {@code field} (-1: not known), as an earlier
     * RowDescription of the same statement said. (A RowDescription of a statement, not a portal, says text for every
     * column, whatever the Bind asks for.)
     */
    public void capture(String column, int[] resultFormats, int field) {
        ids = new ColumnCapture(ColumnCapture.Kind.INTEGER, column, Set.of(), resultFormats, field, null);
    }

    /** Where the column given to {@link #capture} was among the result's, as last found; -1 where it was not. */
    public int capturedField() {
        return ids == null ? -1 : ids.field();
    }

    /**
     * The values of the column given to {@link #capture}, in the order of the rows; null where it was not returned, a
     * row held null or not an integer, or several results returned it.
     */
    public long[] captured() {
        List<String> values = ids == null ? null : ids.values();
        if (values == null) {
            return null;
        }
        long[] numbers = new long[values.size()];
        try {
            for (int i = 0; i < numbers.length; i++) {
                numbers[i] = Long.parseLong(values.get(i));
            }
        } catch (NumberFormatException outOfRange) {
            return null;
        }
        return numbers;
    }

    /**
     * Keeps, from here on, the values of the {@code uuid} result column {@code column}, or where that is null of the one
     * {@code uuid} column whose name is not in {@code given}, row by row, as SQL literals ({@link #capturedUuids}); of a
     * portal bound with {@code resultFormats} (null for a Query), at {@code field} where no RowDescription comes first,
     * which an earlier RowDescription said is the table column {@code place}.
     */
    public void captureUuid(String column, Set<String> given, int[] resultFormats, int field, String place) {
        uuids = new ColumnCapture(ColumnCapture.Kind.UUID, column, given, resultFormats, field, place);
    }

    /** The values {@link #captureUuid} kept, as SQL literals, in the order of the rows; null where it kept none. */
    public List<String> capturedUuids() {
        return uuids == null ? null : uuids.values();
    }

    /** The column {@link #captureUuid} kept the values of, as the result named it; null where none. */
    public String capturedUuidColumn() {
        return uuids == null ? null : uuids.column();
    }

    /** Where that column was among the result's; -1 where it was not found. */
    public int capturedUuidField() {
        return uuids == null ? -1 : uuids.field();
    }

    /** Whether a RowDescription of this run said where that column is (not a place an earlier one said). */
    public boolean uuidsDescribed() {
        return uuids != null && uuids.described();
    }

    /**
     * The table column that column is, as the RowDescription said ({@code "tableOid/number"}); null where it said
     * none (an expression named like the column).
     */
    public String capturedUuidPlace() {
        return uuids == null ? null : uuids.place();
    }

    /**
     * Keeps, from here on, the values of the one {@code oid} column of a result, row by row, as unsigned decimals
     * ({@link #capturedOids}): of a portal bound with {@code resultFormats} (null for a Query), whose one column it is
     * where no RowDescription comes first.
     */
    public void captureOid(int[] resultFormats) {
        oids = new ColumnCapture(ColumnCapture.Kind.OID, null, Set.of(), resultFormats, 0, null);
    }

    /** The values {@link #captureOid} kept, in the order of the rows; null where it kept none. */
    public List<String> capturedOids() {
        return oids == null ? null : oids.values();
    }

    /**
     * The value a function call returned (FunctionCallResponse), in the format the call asked for: null where the unit
     * ran none, or it returned null or more than 16 bytes.
     */
    public byte[] functionResult() {
        return functionResult;
    }

    /** Forgets everything, for the next unit. */
    public void reset() {
        ids = null;
        uuids = null;
        oids = null;
        functionResult = null;
        outcomes.clear();
        rows = 0;
        digestSum = 0;
        digestXor = 0;
        unitComplete = false;
    }

    private boolean onFrame(byte type, int offset, int length) {
        ByteBuf all = current.content();
        switch (type) {
            case 'D' -> {
                long hash = RowHash.ofDataRow(all, offset + Frame.HEADER_LENGTH, length - Frame.HEADER_LENGTH);
                rows++;
                digestSum += hash;
                digestXor ^= hash;
                row(ids, all, offset, length);
                row(uuids, all, offset, length);
                row(oids, all, offset, length);
            }
            case 'T' -> {
                describe(ids, all, offset, length);
                describe(uuids, all, offset, length);
                describe(oids, all, offset, length);
            }
            case 'C' -> finish(null, all.toString(offset + Frame.HEADER_LENGTH, length - Frame.HEADER_LENGTH - 1,
                    StandardCharsets.UTF_8));
            case 'I' -> finish(null, "EMPTY");
            // an Execute's row limit reached: an outcome of its own, so that each Execute has one; the rows keep
            // counting, so that where the portal's later pieces come in the same unit its last outcome holds
            // them all, which compare as a whole (each piece alone holds what that cluster found first)
            case 's' -> outcomes.add(new StatementOutcome(null, StatementOutcome.SUSPENDED, rows, digestSum, digestXor));
            case 'E' -> {
                Frame frame = current.frameAt(offset, length);
                try {
                    finish(ErrorResponse.decode(frame).sqlState(), null);
                } finally {
                    frame.release();
                }
            }
            case '2' -> {
                // BindComplete: another portal begins, and the rows counted for one left suspended are not its
                rows = 0;
                digestSum = 0;
                digestXor = 0;
            }
            case 'V' -> {
                int valueLength = length >= Frame.HEADER_LENGTH + 4 ? all.getInt(offset + Frame.HEADER_LENGTH) : -1;
                boolean whole = valueLength >= 0 && Frame.HEADER_LENGTH + 4 + valueLength <= length;
                functionResult = !whole || valueLength > 16 ? null
                        : ByteBufUtil.getBytes(all, offset + Frame.HEADER_LENGTH + 4, valueLength);
                // the function's value compares as a returned row does (a null value: none)
                if (whole) {
                    long hash = RowHash.of(all, offset + Frame.HEADER_LENGTH + 4, valueLength);
                    rows++;
                    digestSum += hash;
                    digestXor ^= hash;
                }
                finish(null, StatementOutcome.FUNCTION_CALL);
            }
            case 'Z' -> unitComplete = true;
            default -> { }
        }
        return true;
    }

    /** Hands the DataRow at {@code offset} to {@code capture}, where one is kept. */
    private static void row(ColumnCapture capture, ByteBuf all, int offset, int length) {
        if (capture != null) {
            capture.row(all, offset + Frame.HEADER_LENGTH, offset + length);
        }
    }

    /** Hands the RowDescription at {@code offset} to {@code capture}, where one is kept. */
    private static void describe(ColumnCapture capture, ByteBuf all, int offset, int length) {
        if (capture != null) {
            capture.describe(all, offset + Frame.HEADER_LENGTH, offset + length);
        }
    }

    private void finish(String sqlState, String commandTag) {
        outcomes.add(new StatementOutcome(sqlState, commandTag, rows, digestSum, digestXor));
        rows = 0;
        digestSum = 0;
        digestXor = 0;
    }
}
