package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.routing.Classification;
import dev.bluegreen.proxy.routing.Classifier;
import dev.bluegreen.proxy.routing.Trait;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Cuts a unit that holds a transaction's statements and then its end into the two units {@link Units} runs in its place
 * ({@link Units#splitTransactionEnd}): a Query string, or an extended-protocol batch under one Sync, rewritten at the head
 * of the session's waiting client messages as the statements and then the end. Owned by the session's event loop.
 */
final class TransactionEndSplit {

    /**
     * The unit was cut: the first {@code firstPart} of the waiting messages are the statements; then comes the end, of
     * {@code endFrames} messages from {@code end} on.
     */
    record Split(int firstPart, Frame end, int endFrames) {}

    private final SqlReading reading;
    private final Classifier classifier;
    private final ClientStatements statements;
    private final ByteBufAllocator alloc;

    TransactionEndSplit(SqlReading reading, Classifier classifier, ClientStatements statements, ByteBufAllocator alloc) {
        this.reading = reading;
        this.classifier = classifier;
        this.statements = statements;
        this.alloc = alloc;
    }

    /**
     * A Query string becomes two Query messages; null where it is left whole. An error in parsing the first part is one
     * in parsing the whole string, at the same position, and the end ({@code COMMIT} and the like alone) parses. Only an
     * end written in ASCII is split off, so that its bytes are its characters in any client encoding.
     */
    Split queryEnd(ArrayDeque<Frame> pending, byte status) {
        Frame whole = pending.peek();
        ByteBuf all = whole.content();
        int offset = all.readerIndex();
        int length = all.readableBytes();
        int from = offset + Frame.HEADER_LENGTH;
        int nul = offset + length - 1;
        if (length <= Frame.HEADER_LENGTH || all.indexOf(from, nul + 1, (byte) 0) != nul) {
            return null; // malformed: the unit's own reading reports it
        }
        String sql = FrontendMessages.querySql(all, offset, length, reading.encoding());
        Classifier.TransactionTail tail = reading.transactionTail(classifier, sql);
        if (tail == null || (status == 'I' && !tail.opens())) {
            return null;
        }
        int endChars = sql.length() - tail.endAt();
        int at = nul - endChars;
        if (at <= from) {
            return null;
        }
        for (int i = 0; i < endChars; i++) {
            char ch = sql.charAt(tail.endAt() + i);
            if (ch >= 0x80 || all.getByte(at + i) != ch) {
                return null;
            }
        }
        Frame firstPart = Frame.of(FrontendMessages.query(alloc, all, from, at - from));
        Frame end = Frame.of(FrontendMessages.query(alloc, all, at, nul - at));
        pending.poll().release();
        pending.addFirst(end);
        pending.addFirst(firstPart);
        return new Split(1, end, 1);
    }

    /**
     * A batch of Parse, Bind, Describe, Execute and Close messages and its Sync,
     * in which the last statement bound is the transaction's end, becomes the messages before the end's with a
     * Sync of the proxy's, and the end's messages with the client's Sync. Each statement of a batch is parsed on
     * its own, so the server runs the first part's as it would have. Left whole when a statement's text is not
     * known (a name bound that the proxy does not know), or the batch holds a Flush, a Query or COPY data.
     */
    Split batchEnd(ArrayDeque<Frame> pending, int count, byte status) {
        // a name this batch parses or closes: its Bind before that is not known by the classification of the whole
        Set<String> renamed = new HashSet<>(0);
        int seen = 0;
        for (Frame frame : pending) {
            if (seen++ == count) {
                break;
            }
            ByteBuf all = frame.content();
            if (frame.type() == 'P') {
                renamed.add(FrontendMessages.parseName(all, all.readerIndex(), all.readableBytes()));
            } else if (frame.type() == 'C') {
                String closed = FrontendMessages.closedStatement(all, all.readerIndex(), all.readableBytes());
                if (closed != null) {
                    renamed.add(closed);
                }
            }
        }
        Map<String, Classification> parsed = new HashMap<>(0);
        Classification unnamed = null;
        int bound = 0;
        boolean opens = false;
        int lastExecute = -1;
        int endAt = -1;
        boolean endExecuted = false;
        String boundPortal = null; // the portal the last Bind made, until an Execute runs it
        int i = 0;
        for (Frame frame : pending) {
            if (i == count - 1) {
                if (frame.type() != FrontendMessages.SYNC) {
                    return null;
                }
                break;
            }
            ByteBuf all = frame.content();
            int offset = all.readerIndex();
            int length = all.readableBytes();
            switch (frame.type()) {
                case 'P' -> {
                    Classification one = reading.classify(classifier,
                            FrontendMessages.parseSql(all, offset, length, reading.encoding()));
                    String name = FrontendMessages.parseName(all, offset, length);
                    if (name.isEmpty()) {
                        unnamed = one;
                    } else {
                        parsed.put(name, one);
                    }
                }
                case 'B' -> {
                    if (endAt >= 0 || boundPortal != null) {
                        return null; // something runs after the end, or a portal is bound and not run
                    }
                    boundPortal = FrontendMessages.bindPortal(all, offset, length);
                    String name = FrontendMessages.bindStatement(all, offset, length);
                    Classification one = name.isEmpty() ? unnamed
                            : parsed.containsKey(name) ? parsed.get(name) : renamed.contains(name) ? null : statements.classification(name);
                    if (one == null || one.statementCount() != 1 || one.has(Trait.UNPARSEABLE)) {
                        return null;
                    }
                    if (UnitRules.endsOrGoesBack(one)) {
                        endAt = lastExecute + 1;
                    } else if (bound == 0 && UnitRules.beginsAlone(one)) {
                        opens = true;
                    } else if (!Classifier.mayComeBeforeTransactionTail(one.traits())) {
                        return null;
                    }
                    bound++;
                }
                case 'E' -> {
                    // each statement is a Bind and an Execute of its portal, in that order
                    if (boundPortal == null || !boundPortal.equals(FrontendMessages.executePortal(all, offset, length))) {
                        return null;
                    }
                    boundPortal = null;
                    lastExecute = i;
                    endExecuted |= endAt >= 0;
                }
                case 'D', 'C' -> { }
                default -> {
                    return null;
                }
            }
            i++;
        }
        if (endAt <= 0 || !endExecuted || bound < (opens ? 3 : 2) || (status == 'I' && !opens)) {
            return null;
        }
        List<Frame> end = new ArrayList<>(count - endAt);
        List<Frame> statementsFirst = new ArrayList<>(endAt + 1);
        for (int k = 0; k < count; k++) {
            (k < endAt ? statementsFirst : end).add(pending.poll());
        }
        statementsFirst.add(Frame.of(FrontendMessages.sync(alloc)));
        for (int k = end.size() - 1; k >= 0; k--) {
            pending.addFirst(end.get(k));
        }
        for (int k = statementsFirst.size() - 1; k >= 0; k--) {
            pending.addFirst(statementsFirst.get(k));
        }
        return new Split(statementsFirst.size(), end.getFirst(), end.size());
    }
}
