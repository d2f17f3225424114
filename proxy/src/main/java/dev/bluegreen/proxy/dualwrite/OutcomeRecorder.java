package dev.bluegreen.proxy.dualwrite;

import dev.bluegreen.proxy.protocol.ErrorResponse;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrameBatch;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

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

    /** Forgets everything, for the next unit. */
    public void reset() {
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

    private void finish(String sqlState, String commandTag) {
        outcomes.add(new StatementOutcome(sqlState, commandTag, rows, digestSum, digestXor));
        rows = 0;
        digestSum = 0;
        digestXor = 0;
    }
}
