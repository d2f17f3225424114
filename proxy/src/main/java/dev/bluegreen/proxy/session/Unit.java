package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.dualwrite.OutcomeRecorder;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.protocol.TypeOidTranslation;
import dev.bluegreen.proxy.routing.Classification;
import dev.bluegreen.proxy.routing.ClusterRole;
import dev.bluegreen.proxy.routing.InsertShape;
import dev.bluegreen.proxy.routing.LargeObjectSql;
import dev.bluegreen.proxy.routing.LeaderOnlyObjects;
import dev.bluegreen.proxy.routing.TransactionTime;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.List;

/**
 * One routing unit of a session in units mode ({@link Units}): the client frames it is made of, how it is routed
 * and compared, and how far it got. Owned by the session's event loop.
 */
final class Unit {

    /** What CopyData kept for the follower is merged up to (see {@link #addCopyData}). */
    private static final int MERGED_COPY_DATA = 64 * 1024;

    private final ByteBufAllocator alloc;
    /** Beyond this many bytes a unit is no longer kept for the follower in shadow mode ({@link #mirrorAbandoned}). */
    private final long maxMirroredBytes;

    final List<Frame> frames = new ArrayList<>();
    /** The content of the last of {@link #frames} when it is CopyData merged here, which may take more. */
    private ByteBuf mergedCopyData;
    long bytes;
    boolean mirrorAbandoned;
    Classification classification;
    /** The unit's SQL text, for units with a follower (only they can diverge); null otherwise. */
    String sql;
    /** {@link #sql} holds the texts of statements the unit binds by name, not its own Query or Parse. */
    boolean sqlBound;
    /**
     * A plain INSERT that may leave a column drawing from a sequence, or reading the transaction's start, to its
     * default ({@link SequenceDraws}).
     */
    InsertShape insert;
    /** The unit's one statement reads the transaction's start itself ({@link TransactionTime}). */
    boolean readsStart;
    /**
     * The unit runs one statement text, once or bound again and again, or texts of one shape (pgjdbc's rewritten
     * batch of rows of several sizes), whose draws the follower takes by their count ({@link GeneratedValues#takes}).
     */
    boolean oneShape;
    /**
     * Where {@link #insert} is null: an INSERT of the unit's several texts into a table that may draw, whose turn the
     * unit takes among the inserts into that table on the leader ({@link LeaderInserts}); null otherwise.
     */
    InsertShape alsoInserts;
    /**
     * The unit's several texts, in order, where each is a one-row INSERT, run once, into a table of its own, and no two
     * draw from one sequence (EF Core's {@code SaveChanges} of entities of several types, an Npgsql batch, pgjdbc's
     * string of several statements): each draws once from its table's sequences, and the follower is set to draw what
     * the leader drew for all of them ({@link GeneratedValues#takes}). Null in the list where the text inserts into a
     * table the session knows makes up nothing; the field null otherwise.
     */
    List<InsertShape> eachInserts;
    /**
     * A Query, or one Bind and Execute of a statement whose text the proxy holds in full, inserting several rows that
     * returns the column it leaves to a sequence: the column, whose values the leader's answer shows row by row
     * ({@link OutcomeRecorder#capture}); null otherwise.
     */
    String idsColumn;
    /**
     * With {@link #idsColumn}, the statement prepared by name the unit binds; the follower is sent, in place of its
     * Bind, a Parse of the unnamed statement given the leader's ids and a Bind of that ({@link Units#givenOnce}). Null for
     * a Query or the unnamed statement.
     */
    String givenStatement;
    /**
     * The leader's answer is read for the random {@code uuid}s a column left to its default took, which its
     * {@code RETURNING} shows ({@link GeneratedValues#giveUuids}): {@link #uuidColumn}, or where the session does not know the table
     * yet, the one {@code uuid} column the statement gives no value to.
     */
    boolean capturesUuids;
    /**
     * The unit's one statement creates a large object in SQL with an OID the server picks ({@link LargeObjectSql}), run
     * once: the leader's answer is read for that OID ({@link GeneratedValues#giveLargeObjectOid}); null otherwise.
     */
    LargeObjectSql largeObject;
    /** The column {@link #capturesUuids} reads, where the session knows it. */
    String uuidColumn;
    /** {@link GeneratedValues#giveUuids} has read the leader's answer. */
    boolean uuidsRead;
    /** The statement prepared by name the unit only describes, read for where its ids or uuids are ({@link GeneratedValues#captureDescribed}). */
    String describedStatement;
    /** With {@link #describedStatement}, the ids column looked for; null where a uuid one is. */
    String describedIds;
    /** {@link ClientStatements#idsAtForgets} as the unit began. */
    long idsAtAsOf;
    /**
     * The edits that give the follower's copy of the unit's text the values the leader drew for {@link #idsColumn},
     * row by row ({@link GeneratedValues#givenToFollower}); null where it was not given them.
     */
    List<TransactionTime.Edit> givenEdits;
    /**
     * The unit's one text is one the proxy kept the beginning of only ({@link ClientStatements#shortened}), and the shape
     * of the whole is not known: its draws are carried for one row at a time at most.
     */
    boolean shortenedText;
    /** The texts a unit of several statements runs, where they are known ({@link GeneratedValues#runTexts}); null otherwise. */
    List<String> runTexts;
    /**
     * The first statement of a transaction of a session whose units read its start: the leader is asked that start
     * behind it, though the statement does not read it ({@link GeneratedValues#transactionStart}).
     */
    boolean asksStart;
    /** The leader's start, known before the unit ran from its transaction's BEGIN: not asked again. */
    String knownStart;
    /**
     * What the leader made up for {@link #insert} or {@link #readsStart} that the follower is to take too; null until
     * the leader was asked.
     */
    SequenceDraws.Generated generated;
    /** The leader was asked what it made up right behind the unit ({@link SequenceDraws#pipelinedQuery}). */
    boolean drawsPipelined;
    /** The answer to the proxy's question about the draws, once in. */
    Sink drawsAnswer;
    /**
     * The rest of {@link Units#primaryDone}, while the statement has answered and the question has not: a cancel then
     * comes too late for the statement, and must not hit the question.
     */
    Runnable afterDraws;
    /** More client frames belong to it: COPY data, or an extended-protocol unit opened by Flush. */
    boolean open;
    boolean extendedOpen;
    boolean copyIn;
    /** The COPY FROM STDIN the leader has started in this unit (a query string may hold several). */
    int copiesStarted;
    /** The CopyDone and CopyFail messages the client has sent in this unit, kept or not. */
    int copyEnds;
    /** Extended protocol, not a simple Query: a COPY it starts needs a Sync after CopyDone to end. */
    boolean extended;
    ClusterRole primary;
    /** How long the primary took over the unit, once it has answered. */
    long leaderNanos;
    /** Runs the unit after the primary (writes, session state), or null. */
    ClusterRole secondary;
    boolean wrap;
    /**
     * A wrapped simple Query's last CommandComplete, held until the leader has committed: a server alone sends
     * it only after its commit, so a client that reads it and leaves may count the write as done. Sent before
     * the proxy's COMMIT's own completion, or released when the write rolls back; with the settings the server
     * reported after it (ParameterStatus comes just before ReadyForQuery).
     */
    List<Frame> heldCompletion;
    /**
     * The client's own COMMIT (or ROLLBACK), or BEGIN, reached a wrapped unit after a Flush had opened it:
     * it ends, or takes over, the transaction the proxy opened around the unit.
     */
    boolean clientEndsWrap;
    boolean clientBeginsInWrap;
    /** A failure of the leader's in-flight request seen before the client left (its error came, its ReadyForQuery not yet). */
    boolean leaderFailedBeforeClose;
    String leaderSqlStateBeforeClose;
    /** Runs on the follower after the leader has finished and committed it: counted as unordered. */
    boolean unordered;
    boolean retry;
    /**
     * Its cluster was chosen as reads are (the weight): an autocommit read, a read-only transaction's read.
     * Its outcome is a sample of that cluster's reads, comparable across the two; not a read inside a
     * read-write transaction, which the leader runs whatever the weight.
     */
    boolean routed;
    /**
     * An autocommit read the cluster whose type OIDs the client does not hold serves, while its reads of the catalogs
     * go to the one whose OIDs it holds: the answer ({@link Sink#answerTypes}) is given those OIDs
     * ({@link ClientSession#answersFrom}); else null.
     */
    TypeOidTranslation.Types answerTypes;
    boolean namesStatements;
    /**
     * What is left of the session's {@link Units#leaderOnly} objects once this unit has run without an error, or
     * null when the unit cannot change them.
     */
    LeaderOnlyObjects leaderOnlyAfter;
    /**
     * A BEGIN, then statements that work only on what the leader alone holds, in one extended-protocol unit
     * (pgjdbc sends its BEGIN with the transaction's first statement): the follower runs the BEGIN alone.
     */
    boolean followerBeginsOnly;
    /**
     * Executes a portal an earlier unit bound and read up to a row limit: the rows each cluster returns now
     * are the rest of what it found, in its own order, so their contents are not compared.
     */
    boolean continuesPortal;
    /** Runs a statement the proxy cannot read that may be a COMMIT ({@link Units#unreadMayCommit}). */
    boolean unreadMayCommit;
    /** Or that may be one the proxy does not wrap, a BEGIN among them ({@link Units#unreadUnwrapped}). */
    boolean unreadUnwrapped;
    /**
     * Binds the unnamed statement an earlier unit parsed, which a cluster running this unit may not have
     * (that unit ran elsewhere) or may have lost (the proxy's own BEGIN or COMMIT, a Query, drops it): the
     * unit's first frame is then that Parse again.
     */
    boolean reparses;
    /**
     * Green's failed answer to a read it was to be retried on blue for, kept in case blue is gone by then
     * (also while blue runs it again), with green's status and SQLSTATE.
     */
    List<Frame> failedAnswer = List.of();
    byte failedStatus = 'I';
    String failedSqlState;
    /** Blue's answer to this read, run again there after green failed it; null before that. */
    Sink retrySink;
    /** The client sent a cancel while the unit ran. */
    boolean cancelled;
    /**
     * The client asked to cancel while the cluster running the unit still answered the proxy's own requests
     * sent before it: the cancel goes there once the unit's own answer is next.
     */
    boolean cancelPending;
    /**
     * Held back from the leader until other sessions' COMMITs (or, for a COMMIT, their wrapped writes) there have
     * answered ({@link Units#holdForLeader}):
     * nothing of it has been sent, and what the client sends on for it waits in the session's queue.
     */
    boolean heldForCommits;
    /** What {@link Units#sendInOrder} has had the unit wait for already. */
    boolean commitsAwaited;
    boolean writesAwaited;
    /**
     * The unit's turn among the inserts into its table ({@link LeaderInserts}), taken as {@link Units#sendInOrder} first
     * looks at it, until its leader request takes it over.
     */
    LeaderInserts.Ticket drawTurn;
    /** The ticket {@link Units#sendInOrder} took for the wrapped write, which its leader request takes over. */
    long leaderWrite;
    /**
     * The ticket ({@link FollowerCommits#leaderCommitSent}) of the unit's COMMIT, taken as it began to wait for
     * other sessions' writes on the leader, so that those sent meanwhile wait for its answer; 0: none.
     */
    long announcedCommit;
    /** How far a read green serves is past {@code timeouts.green_read}. */
    GreenRead greenRead = GreenRead.IN_TIME;
    /** Green's answer to this read has ended (the unit's primary sink is done, or lost). */
    boolean primaryAnswered;
    /** What to do with green's answer once the cancel sent there has arrived ({@link GreenRead#CANCELLING}). */
    Runnable afterGreenCancel;
    /** What the follower is running of this unit, after the leader's part. */
    FollowerPart followerPart = FollowerPart.NONE;
    /** A cancel went to the follower while it ran this wrapped write. */
    boolean cancelledOnFollower;
    byte statusBefore;
    Sink primarySink;
    long startedNanos;
    /** The client already has this unit's ReadyForQuery: the cluster's own, forwarded with the answer. */
    boolean readyForwarded;
    /**
     * The first part of a unit split before its transaction's end ({@link Units#splitTransactionEnd},
     * {@link Units#splitBeforeLateEnd}): its ReadyForQuery is never the cluster's own, forwarded with the answer
     * (see {@link Units#splitEnd}).
     */
    boolean endFollows;
    /**
     * For a unit of extended-protocol requests that a Query or FunctionCall ends (no Sync before it):
     * how many of those requests have not completed yet. An error before they all have means the
     * server skips everything up to the next Sync, that Query too, and answers only the Sync.
     */
    int beforeQuery;
    /** The extended-protocol requests (Parse, Bind, Describe, Execute, Close) sent for this unit so far. */
    int requests;
    /** The server skips everything up to the next Sync after an error: only that Sync ends the unit. */
    boolean skipping;
    /**
     * Nothing will send this unit again (no follower, no read retry, no named Parse the other twin must
     * learn from these frames): its frames go to the cluster as they are instead of as duplicates, and
     * are not kept. Not while they are still needed: a write may consume a buffer, as TLS does.
     */
    boolean sentOnce;
    /**
     * The leader committed the transaction this unit ends, or prepared it for a two-phase commit (and perhaps
     * went on: COMMIT; BEGIN): the follower's COMMIT (or PREPARE TRANSACTION) of it is a commit others wait for,
     * and a session that closes behind it waits for it too.
     */
    boolean commitsOnLeader;
    /**
     * The last leader commit the proxy had heard of when it sent this write to the leader: every one up to it was
     * visible to the statements there, and is to be to the follower's ({@link FollowerCommits}).
     */
    long commitsSeen;

    Unit(ByteBufAllocator alloc, long maxMirroredBytes) {
        this.alloc = alloc;
        this.maxMirroredBytes = maxMirroredBytes;
    }

    void add(Frame frame) {
        frames.add(frame);
        counted(frame.content().readableBytes());
    }

    /**
     * CopyData kept for the follower: small messages that follow one another are merged into one of up to
     * {@value #MERGED_COPY_DATA} bytes. A COPY's data is one stream, wherever its messages break it, and a
     * client that sends a message per row (libpq's {@code PQputCopyData}, psql's {@code \copy}) would
     * otherwise have the unit hold an object, and a slice pinning a read buffer, per row.
     */
    void addCopyData(Frame frame) {
        ByteBuf from = frame.content();
        int payload = from.readableBytes() - Frame.HEADER_LENGTH;
        if (payload >= MERGED_COPY_DATA / 2) {
            add(frame);
            return;
        }
        Frame last = frames.isEmpty() ? null : frames.get(frames.size() - 1);
        ByteBuf into = last != null && last.content() == mergedCopyData ? mergedCopyData : null;
        if (into == null || into.readableBytes() + payload > MERGED_COPY_DATA + Frame.HEADER_LENGTH) {
            into = alloc.buffer(Math.max(256, from.readableBytes()), MERGED_COPY_DATA + Frame.HEADER_LENGTH);
            into.writeByte(FrontendMessages.COPY_DATA).writeInt(4);
            mergedCopyData = into;
            frames.add(Frame.of(into));
            counted(Frame.HEADER_LENGTH);
        }
        into.writeBytes(from, from.readerIndex() + Frame.HEADER_LENGTH, payload);
        into.setInt(into.readerIndex() + 1, into.readableBytes() - 1);
        frame.release();
        counted(payload);
    }

    /** {@code frame} is on its way to a cluster: CopyData that comes next goes into a message of its own. */
    void sending(Frame frame) {
        if (frame.content() == mergedCopyData) {
            mergedCopyData = null;
        }
    }

    private void counted(int more) {
        bytes += more;
        if (secondary != null && !mirrorAbandoned && bytes > maxMirroredBytes) {
            mirrorAbandoned = true;
        }
    }

    /** A unit of none of this one's frames yet, routed, named and compared as this one is. */
    Unit partOf() {
        Unit part = new Unit(alloc, maxMirroredBytes);
        part.primary = primary;
        part.secondary = secondary;
        part.classification = classification;
        part.sql = sql;
        part.sqlBound = sqlBound;
        part.statusBefore = statusBefore;
        part.leaderNanos = leaderNanos;
        part.continuesPortal = continuesPortal;
        part.unreadMayCommit = unreadMayCommit;
        part.unreadUnwrapped = unreadUnwrapped;
        return part;
    }

    void release() {
        frames.forEach(Frame::release);
        frames.clear();
        releaseFailedAnswer();
        if (heldCompletion != null) {
            heldCompletion.forEach(Frame::release);
            heldCompletion = null;
        }
    }

    void releaseFailedAnswer() {
        failedAnswer.forEach(Frame::release);
        failedAnswer = List.of();
    }

    /** A read green serves, against {@code timeouts.green_read} (see {@link Units#greenReadOverdue}). */
    enum GreenRead {
        IN_TIME,
        /**
         * Overdue, and a cancel sent to green is still on its way: green's answer is acted on (the read run on blue,
         * the unit ended) only once it has arrived, so that it cannot cancel what is sent next.
         */
        CANCELLING,
        /** Overdue: blue runs it once green's answer ends, and green is given up on if that takes the timeout again. */
        OVERDUE
    }

    /** What of a unit the follower runs once the leader has answered it. */
    enum FollowerPart {
        NONE,
        /** A write the proxy wrapped, the leader's side done and not yet committed: a cancel cancels it on both. */
        WRAPPED,
        /** The unit itself, the leader's part ended (committed or rolled back): a closed session still compares it. */
        AFTER_LEADER
    }
}
