package dev.bluegreen.proxy.dualwrite;

import dev.bluegreen.proxy.protocol.ErrorResponse;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrameBatch;
import dev.bluegreen.proxy.protocol.FrontendMessages;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Records a cluster's answer to one unit, statement by statement, from its frames as they pass: no
 * copy, no decode beyond CommandComplete's tag and an error's SQLSTATE. DataRow bodies are hashed in
 * place, blind to the cluster's own OIDs of user-defined types inside binary arrays and records
 * ({@link RowHash#ofDataRow}). The unit ends with ReadyForQuery.
 *
 * <p>Not thread-safe: one recorder per backend connection, used on its event loop.
 */
public final class OutcomeRecorder {

    private static final Pattern INTEGER = Pattern.compile("-?[0-9]+");
    private static final int INT8 = 20;
    private static final int INT2 = 21;
    private static final int INT4 = 23;

    private final List<StatementOutcome> outcomes = new ArrayList<>();
    private long rows;
    private long digestSum;
    private long digestXor;
    private boolean unitComplete;
    /** The result column whose integer values are kept, row by row ({@link #capture}); null for none. */
    private String captured;
    private int capturedField = -1;
    private boolean capturedBinary;
    /** The Bind's result format codes ({@link FrontendMessages#bindResultFormats}); null: as a RowDescription says. */
    private int[] resultFormats;
    private long[] values = new long[0];
    private int valueCount;
    private boolean captureFailed;
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
        captured = column;
    }

    /**
     * {@link #capture} of a portal bound with the result format codes {@code resultFormats}, whose rows may come with no
     * RowDescription before them: the column is then the one at {@code field} (-1: not known), as an earlier
     * RowDescription of the same statement said. (A RowDescription of a statement, not a portal, says text for every
     * column, whatever the Bind asks for.)
     */
    public void capture(String column, int[] resultFormats, int field) {
        captured = column;
        this.resultFormats = resultFormats.clone();
        capturedField = field;
        capturedBinary = field >= 0 && FrontendMessages.binaryResult(resultFormats, field);
    }

    /** Where the column given to {@link #capture} was among the result's, as last found; -1 where it was not. */
    public int capturedField() {
        return captureFailed ? -1 : capturedField;
    }

    /**
     * The values of the column given to {@link #capture}, in the order of the rows; null where it was not returned, a
     * row held null or not an integer, or several results returned it.
     */
    public long[] captured() {
        return captured == null || captureFailed || capturedField < 0 ? null : Arrays.copyOf(values, valueCount);
    }

    /** Forgets everything, for the next unit. */
    public void reset() {
        captured = null;
        capturedField = -1;
        capturedBinary = false;
        resultFormats = null;
        valueCount = 0;
        captureFailed = false;
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
                if (capturedField >= 0 && !captureFailed) {
                    keepValue(all, offset + Frame.HEADER_LENGTH, offset + length);
                }
            }
            case 'T' -> {
                if (captured != null && !captureFailed) {
                    describe(all, offset + Frame.HEADER_LENGTH, offset + length);
                }
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
            case 'Z' -> unitComplete = true;
            default -> { }
        }
        return true;
    }

    /**
     * Finds the captured column in a RowDescription: one that comes before any row (a Describe of the statement, then
     * of the portal, which knows the rows' formats) is read anew; one after rows, another result, spoils the capture.
     */
    private void describe(ByteBuf all, int at, int end) {
        if (valueCount > 0) {
            captureFailed = true;
            return;
        }
        capturedField = -1;
        int fields = all.getUnsignedShort(at);
        at += 2;
        for (int i = 0; i < fields && at < end; i++) {
            int nul = all.indexOf(at, end, (byte) 0);
            if (nul < 0 || nul + 19 > end) {
                captureFailed = true;
                return;
            }
            boolean named = all.toString(at, nul - at, StandardCharsets.UTF_8).equals(captured);
            int type = all.getInt(nul + 7);
            int format = all.getUnsignedShort(nul + 17);
            at = nul + 19;
            if (named) {
                if (capturedField >= 0 || (type != INT8 && type != INT4 && type != INT2)) {
                    captureFailed = true; // twice, or not an integer the proxy reads
                    return;
                }
                capturedField = i;
                capturedBinary = resultFormats == null ? format == 1 : FrontendMessages.binaryResult(resultFormats, i);
            }
        }
    }

    /** Keeps the captured column's value of the DataRow whose body spans {@code [at, end)}. */
    private void keepValue(ByteBuf all, int at, int end) {
        int fields = all.getUnsignedShort(at);
        at += 2;
        for (int i = 0; i < fields && at + 4 <= end; i++) {
            int length = all.getInt(at);
            at += 4;
            if (i != capturedField) {
                at += Math.max(length, 0);
                continue;
            }
            if (length < 0 || at + length > end) {
                captureFailed = true;
                return;
            }
            long value;
            if (capturedBinary) {
                value = switch (length) {
                    case 8 -> all.getLong(at);
                    case 4 -> all.getInt(at);
                    case 2 -> all.getShort(at);
                    default -> {
                        captureFailed = true;
                        yield 0;
                    }
                };
            } else {
                String text = all.toString(at, length, StandardCharsets.US_ASCII);
                if (length == 0 || length > 20 || !INTEGER.matcher(text).matches()) {
                    captureFailed = true;
                    return;
                }
                value = Long.parseLong(text);
            }
            if (valueCount == values.length) {
                values = Arrays.copyOf(values, Math.max(8, valueCount * 2));
            }
            values[valueCount++] = value;
            return;
        }
        captureFailed = true;
    }

    private void finish(String sqlState, String commandTag) {
        outcomes.add(new StatementOutcome(sqlState, commandTag, rows, digestSum, digestXor));
        rows = 0;
        digestSum = 0;
        digestXor = 0;
    }
}
