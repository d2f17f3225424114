package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrameBatch;
import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.protocol.ProtocolViolation;
import dev.bluegreen.proxy.routing.Classifier;
import io.netty.buffer.ByteBuf;

/**
 * Whether what an idle relayed session is about to send is a read and nothing else, so that it may pass a
 * closing write barrier (DESIGN §5: reads are never held). The relay reads no SQL on its way, so this is
 * asked only while a barrier closes, and answers yes only where the messages themselves tell it all:
 * simple-protocol queries that are each a {@linkplain dev.bluegreen.proxy.routing.Classification#isPlainRead
 * plain read}, or one extended-protocol unit that parses the unnamed statement, binds it to the unnamed
 * portal and executes it, ended by a Sync. Anything else (a named statement, whose text the relay did not
 * keep; a Flush; a function call; a batch still arriving) waits, as a write would.
 */
final class PlainReadCheck implements FrameBatch.Visitor {

    private final SqlReading reading;
    private final Classifier classifier;
    private ByteBuf all;
    private boolean plain = true;
    private boolean queries;
    private boolean parsed;
    private boolean bound;
    private boolean executed;
    private boolean synced;

    private PlainReadCheck(SqlReading reading, Classifier classifier) {
        this.reading = reading;
        this.classifier = classifier;
    }

    static boolean of(FrameBatch batch, SqlReading reading, Classifier classifier) {
        ByteBuf all = batch.content();
        return of(all, all.readerIndex(), all.writerIndex(), reading, classifier);
    }

    /** The whole frames in {@code all} from {@code from} to {@code to}, the relay's record of a unit it sent. */
    static boolean of(ByteBuf all, int from, int to, SqlReading reading, Classifier classifier) {
        PlainReadCheck check = new PlainReadCheck(reading, classifier);
        check.all = all;
        int offset = from;
        while (offset < to) {
            int length = all.getInt(offset + 1) + 1;
            if (!check.visit(all.getByte(offset), offset, length)) {
                break;
            }
            offset += length;
        }
        return check.answer();
    }

    static boolean of(Iterable<Frame> frames, SqlReading reading, Classifier classifier) {
        PlainReadCheck check = new PlainReadCheck(reading, classifier);
        for (Frame frame : frames) {
            check.all = frame.content();
            if (!check.visit(frame.type(), check.all.readerIndex(), check.all.readableBytes())) {
                break;
            }
        }
        return check.answer();
    }

    private boolean answer() {
        return plain && (queries || synced);
    }

    @Override
    public boolean visit(byte type, int offset, int length) {
        try {
            plain = switch (type) {
                case FrontendMessages.QUERY -> query(offset, length);
                case FrontendMessages.PARSE -> parse(offset, length);
                case FrontendMessages.BIND -> bind(offset, length);
                case FrontendMessages.DESCRIBE -> parsed && !synced;
                case FrontendMessages.EXECUTE -> execute(offset, length);
                case FrontendMessages.SYNC -> {
                    boolean ends = executed && !synced;
                    synced = true;
                    yield ends;
                }
                default -> false;
            };
        } catch (ProtocolViolation malformed) {
            plain = false; // relayed as it comes, once the barrier lets it: the server answers it with the error
        }
        return plain;
    }

    private boolean query(int offset, int length) {
        if (parsed) {
            return false;
        }
        queries = true;
        return isPlainRead(FrontendMessages.querySql(all, offset, length, reading.encoding()));
    }

    private boolean parse(int offset, int length) {
        if (queries || parsed) {
            return false;
        }
        parsed = true;
        return FrontendMessages.parseName(all, offset, length).isEmpty()
                && isPlainRead(FrontendMessages.parseSql(all, offset, length, reading.encoding()));
    }

    private boolean bind(int offset, int length) {
        if (!parsed || bound) {
            return false;
        }
        bound = true;
        return FrontendMessages.bindStatement(all, offset, length).isEmpty()
                && FrontendMessages.bindPortal(all, offset, length).isEmpty();
    }

    private boolean execute(int offset, int length) {
        if (!bound || executed) {
            return false;
        }
        executed = true;
        return FrontendMessages.executePortal(all, offset, length).isEmpty();
    }

    private boolean isPlainRead(String sql) {
        return reading.classify(classifier, sql).isPlainRead();
    }
}
