package dev.bluegreen.proxy.session;

import dev.bluegreen.config.Timeouts;
import dev.bluegreen.proxy.control.FollowerWrites;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.dualwrite.Divergence;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.dualwrite.OneLine;
import dev.bluegreen.proxy.dualwrite.OutcomeRecorder;
import dev.bluegreen.proxy.dualwrite.SessionSnapshot;
import dev.bluegreen.proxy.dualwrite.StatementOutcome;
import dev.bluegreen.proxy.protocol.ClientEncoding;
import dev.bluegreen.proxy.protocol.ErrorResponse;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrameBatch;
import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.protocol.ProtocolViolation;
import dev.bluegreen.proxy.protocol.ReadyForQuery;
import dev.bluegreen.proxy.protocol.TypeOidTranslation;
import dev.bluegreen.proxy.routing.Classification;
import dev.bluegreen.proxy.routing.Classifier;
import dev.bluegreen.proxy.routing.ClusterRole;
import dev.bluegreen.proxy.routing.InsertShape;
import dev.bluegreen.proxy.routing.Kind;
import dev.bluegreen.proxy.routing.LargeObjectSql;
import dev.bluegreen.proxy.routing.LeaderOnlyObjects;
import dev.bluegreen.proxy.routing.RoutingPolicy;
import dev.bluegreen.proxy.routing.SavepointCommand;
import dev.bluegreen.proxy.routing.StatementTexts;
import dev.bluegreen.proxy.routing.StickyKeys;
import dev.bluegreen.proxy.routing.Trait;
import dev.bluegreen.proxy.routing.TransactionTime;
import dev.bluegreen.proxy.session.Sink.Mode;
import dev.bluegreen.proxy.session.Unit.FollowerPart;
import dev.bluegreen.proxy.session.Unit.GreenRead;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Units mode (docs/dual-write.md): while the session has twins, client messages are grouped into units,
 * classified and run one at a time: reads on the serving cluster, writes on the leader and then the
 * follower under the ordering rule (DESIGN §5). Everything runs on the session's event loop.
 *
 * <p>Each backend's answers are consumed in order by a queue of {@link Sink}s, one per request sent,
 * each ending at that request's ReadyForQuery: forwarded to the client, recorded for comparison,
 * buffered for a possible retry, collected (a session snapshot) or discarded (the proxy's own
 * {@code BEGIN}/{@code COMMIT}). The client's ReadyForQuery is the proxy's, sent once the leader has
 * answered and the ordering rule allows (the follower's part may run behind it, see {@link #laneInFlight});
 * a unit one cluster runs alone ends with that cluster's own ReadyForQuery.
 *
 * <p>Frame ownership: client frames waiting in {@link ClientSession#pending} or held by the current
 * {@link Unit} are retained once; a write to a backend sends a retained duplicate, except for a unit
 * nothing will send again ({@code Unit.sentOnce}: no follower, no read retry, no named statement for
 * the other twin), whose frames go to the cluster themselves and are not kept; the unit releases the
 * frames it kept when it ends.
 */
final class Units {

    private static final Logger log = LoggerFactory.getLogger(Units.class);

    private static final String QUERY_CANCELED = MigrationStats.QUERY_CANCELED;
    /** An answer buffered for a read retry is released to the client beyond this size. */
    private static final int RETRY_BUFFER_BYTES = 1 << 20;
    /** A deferred cancel the server may have met between requests is sent again this often, this many times. */
    private static final int DEFERRED_CANCEL_RESENDS = 5;
    private static final long DEFERRED_CANCEL_RESEND_MILLIS = 100;
    /** Shadow mode's per-session queue of writes waiting for the follower. */
    private static final int MIRROR_QUEUE_UNITS = 1024;
    /**
     * Inside a transaction the follower's units are written without a flush and go out together when
     * the transaction ends (or one of these bounds is reached): one wake-up of the follower's backend
     * instead of one per statement.
     */
    private static final int LANE_BATCH_UNITS = 16;
    private static final int LANE_BATCH_BYTES = 64 * 1024;
    /** The proxy's savepoint around statements it prepares again inside a follower's transaction. */
    private static final String PREPARE_SAVEPOINT = "bluegreen_prepare";
    /**
     * How often a twin is sent a lone Sync while its transaction waits on the other and the client waits on the
     * proxy (see {@link #keepAliveWakes}).
     */
    private static final long KEEPALIVE_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    /** Fails the follower's transaction where the leader's failed at a statement the follower is not sent. */
    private static final String FAIL_ALIKE = "DO $$BEGIN RAISE EXCEPTION 'bluegreen: the twin transaction failed at a"
            + " statement this one was not sent, and this one fails alike' USING ERRCODE = 'P0001'; END$$";

    /** A write waiting for the follower in shadow mode. */
    private record Mirror(Unit unit, List<StatementOutcome> leaderOutcomes, byte leaderStatus, byte[] leaderFunctionResult) {
        Mirror(Unit unit, List<StatementOutcome> leaderOutcomes, byte leaderStatus) {
            this(unit, leaderOutcomes, leaderStatus, null);
        }
    }

    private final ClientSession session;
    private final Channel client;
    private final Migration migration;
    private final MigrationStats stats;
    private final long maxMirroredBytes;
    /** How much longer than the leader the follower may take over the same work before it counts as lost. */
    private final long followerTimeoutNanos;
    /** How long green may take to start answering a read it serves before blue runs it instead; 0: no bound. */
    private final long greenReadTimeoutNanos;
    /**
     * The read green serves that has not started answering (see {@link #greenReadOverdue}), and when it is
     * overdue. The timer is armed once and moved on lazily: a read that ends only clears the unit, so a session
     * reading green does not schedule and cancel a task per read.
     */
    private Unit greenReadWatched;
    private long greenReadDueNanos;
    /** The timer; when it wakes before the watched read is due, it sleeps again for the rest. */
    private ScheduledFuture<?> greenReadWatch;
    /** When the follower last finished an answer. */
    private long followerAnsweredNanos;
    /** The session closed while the follower ran a unit the leader had ended: the write unit lasts until it answers. */
    private boolean followerFinishingAtClose;
    /** How long a closed session's follower (and leader) may take over what the session left them. */
    private Duration drainDeadline;
    /** Armed while the follower owes answers that someone waits for (see {@link #checkFollower}), and when it wakes. */
    private ScheduledFuture<?> followerWatch;
    private long followerWatchAt;
    /** The leader's and the follower's transaction status at their last ReadyForQuery. */
    private byte leaderStatus = 'I';
    private byte followerStatus = 'I';
    /** DDL ran in the session's transaction, or as its last unit, and its end has not been counted since. */
    private boolean ddlUncommitted;
    /** Armed while a twin's transaction may wait on the other's ({@link #keepAliveWakes}). */
    private ScheduledFuture<?> keepAliveTimer;
    /** The client is slow to read: the session's backends, the follower too, are not read meanwhile. */
    private boolean readingPaused;
    private final Map<ClusterRole, BackendConnection> backends = new EnumMap<>(ClusterRole.class);
    private final Map<ClusterRole, ArrayDeque<Sink>> sinks = new EnumMap<>(ClusterRole.class);
    /** What the session learned of its tables' sequence defaults, so that the follower draws what the leader drew. */
    private final SequenceDraws sequenceDraws = new SequenceDraws();
    /** The session's prepared statements and portals, and what each unit runs. */
    private final ClientStatements statements;
    /** What the leader makes up that the follower is to take too. */
    private final GeneratedValues generated;
    /** Cuts a unit holding a transaction's statements and its end in two ({@link #splitTransactionEnd}). */
    private final TransactionEndSplit endSplit;
    /** A unit of the session read the transaction's start: its transactions are asked their start early. */
    private boolean readsStartLately;
    /** The catalog, as far as DDL through the proxy tells, that the follower's rewritten statements were prepared for. */
    private long preparedAsOf = SequenceDraws.catalogVersion();
    private final ArrayDeque<Mirror> mirrors = new ArrayDeque<>();
    /** The session's client encoding and string syntax, from the leader's ParameterStatus reports. */
    private final SqlReading reading;
    private RoutingState state;
    private ClusterRole leader;
    private Unit current;
    private byte status = 'I';
    /** Who answers the units of the open transaction. */
    private ClusterRole transactionPrimary;
    /** The open transaction's reads go where the weight sent its first unit (a read-only transaction). */
    private boolean transactionRouted;
    private boolean pinned;
    /** The session ran LISTEN at some point: its channels move with the leader. */
    private boolean listens;
    /** Where the session's transaction stands towards the write barrier as a read-only one. */
    private ReadOnly readOnly = ReadOnly.NO;
    /** The session's channels are moving to the new leader: the old one's connection stays until they have. */
    private boolean listenersMoving;
    /** Counts the moves of the session's channels, so that one given up on is told from a later one. */
    private int listenerMoves;
    private long unitSequence;
    private Optional<String> setTenant = Optional.empty();
    /** {@link #setTenant} as the current transaction found it; it is back when a SET LOCAL's transaction ends. */
    private Optional<String> tenantBeforeTransaction = Optional.empty();
    /** The current transaction set the tenant with SET LOCAL, or failed after setting it: undone at its end. */
    private boolean tenantUndoneAtEnd;
    /**
     * {@link #setTenant} as each savepoint of the current transaction found it, the innermost last: a ROLLBACK TO one
     * brings it back, as the server brings back the setting.
     */
    private final ArrayDeque<TenantAtSavepoint> tenantAtSavepoints = new ArrayDeque<>(0);
    /** The tenant the startup parameters name, read once: they do not change during a session. */
    private final Optional<String> startupTenant;
    /** A twin is being made: units wait. */
    private ClusterRole creating;
    private long twinFailedEpoch = -1;
    /** The SQLSTATE of the FATAL error the follower sent between requests, just before it closed, or null. */
    private String followerEndedWith;
    /**
     * The SQLSTATE and message of the last FATAL error the follower sent, in answer to anything, or null: what its loss is
     * reported with, beside how the connection ended ({@link #backendLost}).
     */
    private String followerFatal;
    /** The twin being made replaces one the follower's server ended (see {@link #twinMayBeRemade}). */
    private boolean remakingTwin;
    /**
     * The leader connection whose FATAL error (a shutdown, {@code pg_terminate_backend}) has reached the client:
     * when it closes, the session ends without a second error, as a direct connection's would.
     */
    private BackendConnection leaderEndForwarded;
    /** The routing state changed: once nothing runs, the connections follow it without waiting for a unit. */
    private boolean followRouting;
    private boolean followScheduled;
    /**
     * Requests the follower runs behind the leader, not yet answered: the units of the open transaction,
     * and the end of the last one once the leader has committed it. The client does not wait for them;
     * the session's next transaction, and the write barrier, do.
     */
    private int laneInFlight;
    /**
     * The leader's commits the follower must have made before it is sent more of this session's work: those the
     * proxy had heard of when the session's last write was sent to the leader ({@link FollowerCommits}).
     */
    private long followerMustHave;
    /**
     * Other sessions' follower runs of writes the leader answered before this session's last COMMIT was sent there,
     * which did not see that commit there: its follower COMMIT waits for them ({@link FollowerCommits}).
     */
    private long followerRunsBefore;
    /** What was written to the follower waits for other sessions' follower commits (see {@link #flushFollower}). */
    private boolean followerFlushHeld;
    private long followerHoldGeneration;
    /** Ends a wait of {@link #holdForLeader}: each wait, and each way it ends, has its own number. */
    private long leaderHoldGeneration;
    private final FollowerCommits commits;
    private final LeaderInserts inserts;
    /** How long a follower flush waits for other sessions' follower commits before it goes without them. */
    private final long followerOrderWaitNanos;
    /** How long a leader COMMIT waits for other sessions' wrapped writes there ({@link #holdForLeader}), at most. */
    private final long commitWaitNanos;
    /**
     * The client's ReadyForQuery after a commit waits for the lane to empty, the follower's commit with it
     * ({@link Migration#acknowledgesAfterFollower}): then a read on any connection sees the write, wherever
     * it is served.
     */
    private boolean readyOwed;
    /** The cluster the lane runs on, and what of it has been written but not flushed. */
    private ClusterRole laneTo;
    /** Lane requests written but not yet flushed to the follower, and their bytes. */
    private final List<Sink> laneHeld = new ArrayList<>();
    private long laneUnsentBytes;
    /** When the follower last answered a lane request. */
    private long laneLastAnswerNanos;
    private boolean droppingTwin;
    /** This session dropped its follower after a divergence it recorded. */
    private boolean twinDropped;
    /**
     * Closed with follower work still to answer: shadow writes queued, or the end of the last transaction,
     * which the leader committed. The follower finishes it, its outcome is compared, then it is closed.
     */
    private boolean draining;
    /** The shadow-mode write the follower is running now. */
    private Mirror mirrorRunning;
    private boolean closed;
    /** The unnamed statement was parsed again on the leader for the relay to take over ({@link #applyState}). */
    private boolean unnamedParsedForRelay;
    /** Scratch for the frame visitor. */
    private FrameBatch batch;
    private ClusterRole batchFrom;
    private int rangeStart = -1;
    private int rangeEnd = -1;

    /**
     * @param readingStatements the session's prepared statements the relay knows to read ({@code ""} the
     *                          unnamed one), from a time it relayed without a twin: handed back if the new twin
     *                          fails before its snapshot says what the session holds
     */
    Units(ClientSession session, Channel client, Migration migration, RoutingState state,
          BackendConnection leaderConnection, long maxMirroredBytes, Timeouts timeouts, Set<String> readingStatements) {
        this.session = session;
        this.client = client;
        this.migration = migration;
        this.stats = migration.stats();
        this.maxMirroredBytes = maxMirroredBytes;
        this.followerTimeoutNanos = timeouts.follower().toNanos();
        this.greenReadTimeoutNanos = timeouts.greenRead().toNanos();
        this.commits = migration.followerCommits();
        this.inserts = migration.leaderInserts();
        // well within the follower's own bound, so that a wait that could never end (a follower COMMIT whose
        // deferred check waits on a lock this session's twin holds) ends long before either twin counts as lost
        this.followerOrderWaitNanos = followerTimeoutNanos / 4;
        // (timeouts.commit_wait) a write that waits for a row lock of the committing transaction costs the COMMIT this
        // whole wait, so it is short by default: enough for a write the leader is running to answer
        this.commitWaitNanos = Math.min(timeouts.commitWait().toNanos(), followerOrderWaitNanos);
        this.state = state;
        this.leader = ClientSession.roleOf(leaderConnection);
        this.startupTenant = migration.stickyKeys().tenantSource().tenantOf(session.startupParameters());
        this.reading = session.sqlReading();
        this.statements = new ClientStatements(reading, migration.classifier(), client.alloc(), readingStatements);
        this.endSplit = new TransactionEndSplit(reading, migration.classifier(), statements, client.alloc());
        this.generated = new GeneratedValues(sequenceDraws, reading, stats, statements);
        backends.put(leader, leaderConnection);
        for (ClusterRole role : ClusterRole.values()) {
            sinks.put(role, new ArrayDeque<>());
        }
    }

    /**
     * The first of the client's messages that end a transaction (or go back to a savepoint), split
     * off a unit by {@link #splitTransactionEnd} or {@link #splitBeforeLateEnd} and waiting at the head of the client's messages for the unit's earlier
     * statements to finish; null when none is.
     */
    private Frame splitEnd;
    /**
     * How many of the client's messages the split-off end is: one Query, or a batch's messages through its Sync;
     * {@link #THROUGH_SYNC} when that Sync may not have arrived yet.
     */
    private int splitEndFrames;
    private static final int THROUGH_SYNC = -1;
    /** The leader failed a statement of the first part of a unit split before its end (see {@link #splitEnd}). */
    private boolean splitPartFailed;
    /**
     * The status of a ReadyForQuery the client is owed once its Sync arrives (0: none): the first part of a unit
     * split before its end failed, and the server would answer nothing more before that Sync.
     */
    private byte readyAtSync;
    /**
     * A unit was cancelled while it waited to start ({@link #cancelWaiting}), perhaps after it had entered the write
     * barrier (it waited for its twin, or for the channels to move): until the next unit starts, a session found
     * idle with nothing to run leaves the barrier.
     */
    private boolean cancelledWhileWaiting;


    BackendConnection backend(ClusterRole role) {
        return backends.get(role);
    }

    boolean isIdle() {
        // (not while a ReadyForQuery waits for the client's Sync: the client is in the middle of a batch)
        return current == null && status == 'I' && creating == null && laneInFlight == 0 && readyAtSync == 0;
    }

    boolean hasWork() {
        return current != null || creating != null;
    }

    // --- client side ------------------------------------------------------------------------------

    /** New client frames: those that belong to the running unit go on at once, the rest wait their turn. */
    void onClientFrames(List<Frame> frames) {
        ArrayDeque<Frame> pending = session.pending();
        boolean continued = false;
        int next = 0;
        try {
            for (; next < frames.size(); next++) {
                Frame frame = frames.get(next);
                if (current != null && current.open && !current.heldForCommits && pending.isEmpty()) {
                    continueUnit(frame);
                    continued = true;
                } else {
                    pending.add(frame);
                }
            }
        } catch (MalformedClientMessage e) {
            // continueUnit released the message it could not read: those after it are still ours
            frames.subList(next + 1, frames.size()).forEach(Frame::release);
            clientViolation(e.violation);
            return;
        }
        if (continued && current != null) {
            flush(current.primary);
        }
        pump();
    }

    /** A client message units mode could not read (DESIGN §9): the session ends with 08P01. */
    private void clientViolation(ProtocolViolation e) {
        session.failFromUnits(ErrorResponse.fatal("08P01", e.getMessage()));
    }

    /**
     * A statement that reached a unit a Flush opened, after it had been classified: the unit does what it
     * does too. A transaction's end there commits on the leader before the follower has run the unit (the
     * ordering rule cannot hold for it: unordered); in a unit the proxy wrapped, the client's own COMMIT or
     * BEGIN ends or takes over the proxy's transaction, which {@link #primaryDone} and
     * {@link #endOnFollowerAfterLeader} must know.
     */
    private void lateStatement(Unit unit, Classification late) {
        Classification c = unit.classification;
        EnumSet<Trait> traits = EnumSet.of(Trait.MULTI_STATEMENT);
        traits.addAll(c.traits());
        traits.addAll(late.traits());
        if (!c.has(Trait.TENANT_SETTING)) {
            traits.remove(Trait.TENANT_SETTING); // the session's tenant was decided when the unit started
        }
        unit.classification = new Classification(Kind.WRITE, traits,
                c.statementCount() + Math.max(1, late.statementCount()), c.tenant());
        if (unit.secondary != null && late.has(Trait.TRANSACTION_END)) {
            committedBeforeFollower(unit);
        }
        unit.unreadMayCommit |= statements.unreadMayCommit(); // (learn read the late statement)
        if (unit.primarySink != null && unit.primarySink.leaderCommit == 0) {
            takeLeaderCommitTicket(unit, unit.primarySink, late); // a COMMIT that reached the unit after it was sent
        }
        if (unit.wrap) {
            unit.clientEndsWrap |= late.has(Trait.TRANSACTION_END);
            unit.clientBeginsInWrap |= late.has(Trait.TRANSACTION_BEGIN) && !late.has(Trait.TRANSACTION_END);
        }
    }

    /**
     * Whether the end of the transaction that reached a unit a Flush opened ({@code late}: a Bind of COMMIT,
     * psycopg 3 fetching a row inside a pipeline, then committing) is split off, as {@link #splitTransactionEnd}
     * splits a whole unit: the unit is in the client's own transaction (open before it, or begun by it), has run
     * without an error so far, and has nothing that may not come before a split-off end. A ROLLBACK TO a
     * savepoint alike (psycopg 3 leaving a nested transaction block on an error): it releases the row locks the
     * unit took on the leader, which must be held until the follower holds them too.
     */
    private boolean splitsBeforeLateEnd(Unit unit, Classification late) {
        Classification c = unit.classification;
        if (!UnitRules.endsOrGoesBack(late) || late.statementCount() != 1 || !unit.extendedOpen || unit.skipping || unit.copyIn
                || unit.wrap || unit.sentOnce || unit.mirrorAbandoned || unit.beforeQuery > 0 || splitEnd != null
                || unit.primary != leader || unit.secondary != leader.other() || !backends.containsKey(unit.secondary)
                || state == null || state.followerWrites() != FollowerWrites.SYNC || !leaderOnly.isEmpty()
                || (unit.primarySink != null && unit.primarySink.error) || c.has(Trait.TRANSACTION_END)
                || c.has(Trait.UNPARSEABLE)) {
            return false;
        }
        if (!(unit.statusBefore == 'T' || (unit.statusBefore == 'I' && beginsFirst(unit.frames)))) {
            return false;
        }
        EnumSet<Trait> traits = EnumSet.noneOf(Trait.class);
        traits.addAll(c.traits());
        traits.remove(Trait.TRANSACTION_BEGIN); // run first, as beginsFirst found
        return Classifier.mayComeBeforeTransactionTail(traits);
    }

    /**
     * Whether extended-protocol {@code frames} begin by running a BEGIN: a Parse of it, its Bind, perhaps a
     * Describe, and an Execute of that portal. (A BEGIN bound and never run, its portal bound again, leaves the
     * statements after it in an implicit transaction, which a Sync of the proxy's would commit.)
     */
    private boolean beginsFirst(List<Frame> frames) {
        if (frames.size() < 3 || frames.get(0).type() != 'P' || frames.get(1).type() != 'B') {
            return false;
        }
        ByteBuf parse = frames.get(0).content();
        ByteBuf bind = frames.get(1).content();
        String name = FrontendMessages.parseName(parse, parse.readerIndex(), parse.readableBytes());
        if (!name.equals(FrontendMessages.bindStatement(bind, bind.readerIndex(), bind.readableBytes()))
                || !UnitRules.beginsAlone(reading.classify(migration.classifier(),
                        FrontendMessages.parseSql(parse, parse.readerIndex(), parse.readableBytes(), reading.encoding())))) {
            return false;
        }
        String portal = FrontendMessages.bindPortal(bind, bind.readerIndex(), bind.readableBytes());
        int next = frames.get(2).type() == 'D' ? 3 : 2;
        if (next >= frames.size() || frames.get(next).type() != 'E') {
            return false;
        }
        ByteBuf execute = frames.get(next).content();
        return portal.equals(FrontendMessages.executePortal(execute, execute.readerIndex(), execute.readableBytes()));
    }

    /**
     * Ends the unit before {@code end} with a Sync of the proxy's, as if the client had sent one there, and puts
     * {@code end} back at the head of the client's messages: the unit's end comes next, and waits for the
     * follower (see {@link #splitEnd}; the client's own Sync, which ends the batch, may be still to come).
     */
    private void splitBeforeLateEnd(Unit unit, Frame end) {
        Frame sync = Frame.of(FrontendMessages.sync(client.alloc()));
        BackendConnection primary = backends.get(unit.primary);
        if (primary != null) {
            writeTo(primary, unit.primary, sync, false);
        }
        unit.add(sync);
        unit.extendedOpen = false;
        unit.open = false;
        unit.endFollows = true;
        session.pending().addFirst(end);
        splitOff(end, THROUGH_SYNC);
    }

    /** Notes {@code end}, the first of {@code frames} client messages, as the split-off end now waiting its turn. */
    private void splitOff(Frame end, int frames) {
        splitEnd = end;
        splitEndFrames = frames;
        splitPartFailed = false;
    }

    /**
     * A client message a running unit could not read. It is the client's fault (08P01) even where a
     * cluster's answer brought the unit to read it, and the message is already released.
     */
    private static final class MalformedClientMessage extends RuntimeException {
        final ProtocolViolation violation;

        MalformedClientMessage(ProtocolViolation violation) {
            super(violation.getMessage(), null, false, false);
            this.violation = violation;
        }
    }

    private void continueUnit(Frame frame) {
        Unit unit = current;
        byte type = frame.type();
        if (unit.extendedOpen && !unit.skipping && (type == FrontendMessages.QUERY || type == FrontendMessages.FUNCTION_CALL)
                && unit.primarySink != null && unit.primarySink.error) {
            // a Query after a Flush, but the server failed a request before it: it skips the Query, as everything
            // up to the next Sync, and answers only that Sync, which then ends the unit
            unit.skipping = true;
        }
        Classification executes;
        try {
            executes = statements.learn(frame, unit.skipping);
        } catch (ProtocolViolation e) {
            frame.release();
            throw new MalformedClientMessage(e);
        }
        if (executes != null && splitsBeforeLateEnd(unit, executes)) {
            splitBeforeLateEnd(unit, frame);
            return;
        }
        if (executes != null) {
            lateStatement(unit, executes);
        }
        // a named Parse or Close after a Flush: the follower must get it even where it skips the unit
        unit.namesStatements |= statements.namesStatements();
        BackendConnection primary = backends.get(unit.primary);
        unit.requests += UnitRules.isRequest(type) ? 1 : 0;
        boolean copyEnd = UnitRules.endsCopy(type);
        if (copyEnd) {
            unit.copyEnds++;
        }
        if (unit.copyIn && copyEnd) {
            unit.copyIn = false;
            // a COPY started by Execute: the server ignored the Sync that closed the batch while copying in;
            // it answers once the Sync after CopyDone arrives, which belongs to this unit
            unit.extendedOpen |= unit.extended;
            unit.open = unit.extendedOpen;
        } else if (unit.extendedOpen && (type == FrontendMessages.SYNC || (!unit.skipping
                && (type == FrontendMessages.QUERY || type == FrontendMessages.FUNCTION_CALL)))) {
            // a Query or FunctionCall after a Flush ends the extended messages before it as a Sync would:
            // the server answers all of them with the one ReadyForQuery that ends it; unless one of them still to
            // complete fails, and the server skips to the next Sync, the Query too (extendedAnswer)
            unit.extendedOpen = false;
            unit.open = unit.copyIn;
            if (type != FrontendMessages.SYNC) {
                unit.beforeQuery = unit.requests - (unit.primarySink == null ? 0 : unit.primarySink.requestsDone);
            }
        }
        if (unit.sentOnce) {
            if (primary != null) {
                writeTo(primary, unit.primary, frame, true);
            } else {
                frame.release();
            }
            return;
        }
        if (primary != null) {
            writeTo(primary, unit.primary, frame, false);
        }
        if (unit.mirrorAbandoned) {
            frame.release();
        } else if (type == FrontendMessages.COPY_DATA) {
            unit.addCopyData(frame);
        } else {
            unit.add(frame);
        }
    }

    /**
     * The unit at the head of the queue is still arriving (an extended batch before its Sync): the client
     * is read for the rest however much waits, or the session would wait on itself.
     */
    private boolean restOfUnitAwaited;

    /** Whether the client may be held back for what waits: not while the next unit is still arriving. */
    boolean mayHoldClient() {
        return !restOfUnitAwaited;
    }

    /**
     * Starts the next unit if none is running and a whole one is waiting. A message it cannot read ends the
     * session here, whichever event brought the unit's turn: a client read, a cluster's answer, a barrier.
     */
    void pump() {
        restOfUnitAwaited = false;
        try {
            pumpUnits();
        } catch (ProtocolViolation e) {
            clientViolation(e);
        } catch (MalformedClientMessage e) {
            clientViolation(e.violation);
        }
        leaveBarrierIfCancelledAndIdle(); // the twin or the channel move it waited for is done: nothing runs
        if (followRouting && !followScheduled) {
            // in a task of its own: going back to relaying here, in the middle of a cluster's answer, would
            // leave what came after it in the same read (a notification) to no one
            followScheduled = true;
            client.eventLoop().execute(() -> {
                followScheduled = false;
                followRoutingIfIdle();
                settledIfSo();
            });
        }
    }

    /** What waits for the session to follow a routing change ({@link #whenSettled}); null when nothing does. */
    private List<Runnable> settledWaiters;

    /** See {@link ClientSession#routingChanged}. */
    void followRoutingWhenIdle() {
        followRouting = true;
        pump();
    }

    /**
     * Brings the connections in line with the routing state while the session has nothing to run, as its
     * next unit would: to relaying on the new leader after {@code finalize}, the new leader's channels for a
     * session that listens. A step that waits (a twin being made, the proxy's own requests) ends in a
     * {@link #pump}, which takes the next step.
     */
    private void followRoutingIfIdle() {
        if (closed || !isIdle() || !session.pending().isEmpty() || !sinks.get(ClusterRole.BLUE).isEmpty()
                || !sinks.get(ClusterRole.GREEN).isEmpty()) {
            return;
        }
        followRouting = false;
        if (!applyState(migration.control().current(), true) && !closed) {
            followRouting = true;
        }
    }

    private void pumpUnits() {
        ArrayDeque<Frame> pending = session.pending();
        while (!closed && current == null && creating == null && !listenersMoving && !readyOwed && !session.terminating()
                && !leaderKeepAliveAhead() && !pending.isEmpty()) {
            Frame first = pending.peek();
            if (readyAtSync != 0 && first.type() != 'X') {
                // what a failed first part's batch sent up to its Sync, which the server would skip
                byte type = first.type();
                pending.poll().release();
                if (type == FrontendMessages.SYNC) {
                    client.write(ReadyForQuery.of(readyAtSync).encode(client.alloc()), client.voidPromise());
                    client.flush();
                    readyAtSync = 0;
                    if (status == 'I' && laneInFlight == 0) {
                        session.unitsIdle();
                    }
                }
                continue;
            }
            switch (first.type()) {
                case 'X' -> {
                    session.terminateFromUnits();
                    return;
                }
                case 'd', 'c', 'f' -> {
                    pending.poll().release(); // copy messages outside COPY: the server would ignore them too
                    continue;
                }
                default -> { }
            }
            int count = unitLength(pending);
            if (count == TERMINATE) {
                session.terminateFromUnits(); // the client left without finishing its last unit
                return;
            }
            if (count == 0) {
                restOfUnitAwaited = true;
                session.readRestOfUnit(); // an extended-protocol unit still arriving: the client must be read for the rest
                return;
            }
            Classification classification = classify(pending, Math.abs(count));
            // a unit that cannot be read (the Bind of a statement name the proxy forgot) may end the transaction;
            // a ROLLBACK TO releases row locks on the leader, where SAVEPOINT and RELEASE release none
            if (laneInFlight > 0 && (status == 'I' || classification.has(Trait.TRANSACTION_END)
                    || classification.has(Trait.ROLLBACK_TO) || classification.has(Trait.UNPARSEABLE))) {
                flushLane();
                return; // the ordering rule: the follower finishes every earlier unit before the leader's transaction ends
            }
            // (after the lane: a follower still committing a type made by the session would be read without it)
            if (session.awaitsTypeCatalogs(pending, Math.abs(count), backends::containsKey, this::answersGivenOidsOf,
                    ddlUncommitted, this::pump)) {
                return; // it names types the database defined by OID, which the other cluster numbers otherwise
            }
            if (count < 0 && classification.isRead()) {
                // opened by a Flush: what follows is unknown, so it is routed as a write
                classification = new Classification(Kind.WRITE, classification.traits(), classification.statementCount(),
                        classification.tenant());
            }
            boolean needsBarrier = status == 'I'
                    ? !classification.isPlainRead() && !UnitRules.beginsReadOnly(classification)
                    : readOnly == ReadOnly.OUTSIDE_BARRIER && (count < 0 || UnitRules.mayMakeWritable(classification));
            if ((status == 'I' || needsBarrier) && !session.atBoundary(needsBarrier)) {
                return; // waiting for the barrier, a twin, or the session went back to relaying
            }
            if (status != 'I' && needsBarrier) {
                readOnly = ReadOnly.NO; // inside now, until the session is idle again
                if (!UnitRules.writesRoutedAlike(migration.control().current(), state)) {
                    session.failFromUnits(ErrorResponse.of("FATAL", "25006", "bluegreen: write leadership changed while"
                            + " this read-only transaction ran; it cannot write now. Retry it in a new transaction."));
                    return;
                }
            }
            if (status == 'I' && UnitRules.beginsReadOnly(classification)) {
                readOnly = ReadOnly.OUTSIDE_BARRIER;
                session.leaveBarrier(); // entered on the way from relaying, or by a unit cancelled as it waited
            } else if (status == 'I') {
                boolean bareBegin = count > 0 && classification.has(Trait.TRANSACTION_BEGIN) && !classification.isRead()
                        && !classification.has(Trait.TRANSACTION_END) && classification.statementCount() == 1;
                readOnly = bareBegin ? ReadOnly.AFTER_BARE_BEGIN : ReadOnly.NO;
            } else if (readOnly == ReadOnly.AFTER_BARE_BEGIN) {
                readOnly = count > 0 && UnitRules.makesReadOnly(classification) ? ReadOnly.BEING_MADE_READ_ONLY : ReadOnly.NO;
            }
            if (!applyState(migration.control().current(), false)) {
                return;
            }
            if (status == 'I') {
                prepareAgainIfDue();
            }
            int firstPart = splitEnd == null ? splitTransactionEnd(pending, count, classification) : 0;
            if (firstPart > 0) {
                count = firstPart;
                first = pending.peek();
                classification = classify(pending, count);
            }
            Unit unit = new Unit(client.alloc(), maxMirroredBytes);
            unit.endFollows = splitEnd != null;
            unit.open = count < 0;
            unit.extendedOpen = count < 0;
            unit.extended = first.type() != FrontendMessages.QUERY && first.type() != FrontendMessages.FUNCTION_CALL;
            if (statements.reusesUnnamed() && statements.unnamedParse() != null) {
                unit.add(Frame.of(statements.unnamedParse().retainedDuplicate()));
                unit.reparses = true;
            }
            for (int i = 0; i < Math.abs(count); i++) {
                Frame frame = pending.poll();
                if (UnitRules.endsCopy(frame.type())) {
                    unit.copyEnds++;
                }
                unit.add(frame);
            }
            unit.classification = classification;
            unit.namesStatements = statements.namesStatements();
            unit.continuesPortal = statements.continuesPortal();
            unit.unreadMayCommit = statements.unreadMayCommit();
            unit.unreadUnwrapped = statements.unreadUnwrapped();
            for (Frame frame : unit.frames) {
                unit.requests += UnitRules.isRequest(frame.type()) ? 1 : 0;
            }
            unit.beforeQuery = UnitRules.endsWithQueryAfterRequests(unit.frames) ? unit.requests : 0;
            start(unit);
            if (unit.open) {
                continueFromPending(unit);
            }
        }
        session.pendingDrained();
    }

    /**
     * A unit opened by a Flush before its Sync arrived takes the messages that came after the Flush in
     * the same read, and any that queued meanwhile, as {@link #onClientFrames} would have had they come
     * later: otherwise they, and the Sync behind them, would wait for a unit that never ends.
     */
    private void continueFromPending(Unit unit) {
        ArrayDeque<Frame> pending = session.pending();
        boolean continued = false;
        while (current == unit && unit.open && !unit.heldForCommits && !pending.isEmpty() && pending.peek().type() != 'X') {
            continueUnit(pending.poll());
            continued = true;
        }
        if (continued) {
            flush(unit.primary);
            session.pendingDrained(); // the client may have been held back for what waited
        }
    }

    /**
     * A unit that holds a transaction's statements and then its end, as a Query string ({@code BEGIN; UPDATE
     * ...; COMMIT}, or {@code UPDATE ...; COMMIT} inside a transaction) or as an extended-protocol batch under one
     * Sync (a pipeline: pgbench's {@code \startpipeline}, a pgx batch that queues its own BEGIN and COMMIT), would
     * have the leader commit before the follower had run any of it (DESIGN §5, rule 2). With the follower written
     * in step, it becomes two units the session runs as it runs a client's own two: the statements, and then the
     * end, which waits for the follower to catch up. The client sees one unit's answer. The first part's
     * ReadyForQuery is dropped when all of it ran (the transaction is open); when some of it failed, that
     * ReadyForQuery is the unit's and its end is dropped, as the server skips the rest of a string after an error
     * and the rest of a batch up to its Sync. Only where the transaction is the client's own, open before the end
     * comes (the first part begins it, or the session is in it), so that the Sync the proxy puts after a batch's
     * first part commits nothing. Returns how many frames at the head of {@code pending} make the first part, or
     * 0 when the unit is left whole. A ROLLBACK TO a savepoint last in such a unit is split off alike: it releases
     * the row locks the statements before it took on the leader, which must be held until the follower holds them.
     */
    private int splitTransactionEnd(ArrayDeque<Frame> pending, int count, Classification c) {
        if (count <= 0 || c.isRead() || !(c.has(Trait.TRANSACTION_END) || c.has(Trait.ROLLBACK_TO)) || c.has(Trait.UNPARSEABLE)
                || state == null || state.followerWrites() != FollowerWrites.SYNC || !backends.containsKey(leader.other())
                || (status != 'I' && status != 'T') || !leaderOnly.isEmpty()) {
            return 0; // (a first part that works on what the leader alone holds would leave the twin outside the transaction)
        }
        TransactionEndSplit.Split split;
        if (count == 1) {
            split = pending.peek().type() == FrontendMessages.QUERY && c.has(Trait.MULTI_STATEMENT) ? endSplit.queryEnd(pending, status) : null;
        } else {
            split = endSplit.batchEnd(pending, count, status);
        }
        if (split == null) {
            return 0;
        }
        splitOff(split.end(), split.endFrames());
        return split.firstPart();
    }

    /** {@link #unitLength}: the client's Terminate comes before the next unit ends. */
    private static final int TERMINATE = Integer.MIN_VALUE;

    /** {@link ClientStatements#classify} of the next {@code count} of {@code pending}, the session's portals as they stand. */
    private Classification classify(ArrayDeque<Frame> pending, int count) {
        if (status == 'I') {
            leaderOnlyPortals.clear(); // (a portal ends with its transaction)
        }
        return statements.classify(pending, count, status);
    }

    /** See {@link ClientStatements#unnamedParsedBefore}. */
    void unnamedParsedBefore(ByteBuf parse) {
        statements.unnamedParsedBefore(parse);
    }

    /**
     * Follows the answer to the extended requests before a unit's Query. Each completes with one message
     * (ParseComplete, BindComplete, CloseComplete, NoData or RowDescription for a Describe, CommandComplete,
     * EmptyQueryResponse or PortalSuspended for an Execute); an error before all have means the server now
     * skips to the next Sync, the Query included. The unit then takes the client's messages up to that
     * Sync, as the server does, and ends with the Sync's ReadyForQuery: without it, the unit would wait
     * for an answer to a Query the server never ran.
     */
    private void extendedAnswer(Unit unit, byte type) {
        if (UnitRules.completes(type)) {
            unit.beforeQuery--;
            return;
        }
        switch (type) {
            case 'E' -> {
                unit.beforeQuery = 0;
                unit.skipping = true;
                unit.open = true;
                unit.extendedOpen = true;
                ArrayDeque<Frame> pending = session.pending();
                while (unit.extendedOpen && !pending.isEmpty()) {
                    continueUnit(pending.poll());
                }
                flush(unit.primary);
                if (unit.extendedOpen) {
                    session.readRestOfUnit(); // the Sync is still to come
                }
            }
            default -> { }
        }
    }

    /**
     * How many waiting frames make the next unit: a Query or FunctionCall alone, or extended-protocol
     * messages through Sync. Negative when a Flush opens the unit before its Sync has arrived; zero when
     * neither has arrived yet; {@link #TERMINATE} when a Terminate comes first.
     */
    static int unitLength(ArrayDeque<Frame> pending) {
        byte type = pending.peek().type();
        if (type == FrontendMessages.QUERY || type == FrontendMessages.FUNCTION_CALL) {
            return 1;
        }
        int n = 0;
        int lastFlush = 0;
        for (Frame frame : pending) {
            n++;
            byte t = frame.type();
            if (t == FrontendMessages.SYNC) {
                return n;
            }
            if (t == FrontendMessages.QUERY || t == FrontendMessages.FUNCTION_CALL) {
                return n; // its ReadyForQuery answers the messages before it too
            }
            if (t == 'X') {
                return TERMINATE;
            }
            if (t == FrontendMessages.FLUSH) {
                lastFlush = n;
            }
        }
        return -lastFlush;
    }

    /**
     * Whether the follower's copy of the named statement {@code sql} is rewritten, or may be once the session knows its
     * table: any plain INSERT, also into a table known to default to nothing now (DDL may give it such a default); a
     * statement creating a large object whose OID the server picks ({@link LargeObjectSql}), each run given the leader's.
     */
    private boolean rewritable(String sql) {
        return !sequenceDraws.startEdits(sql, reading).isEmpty() || reading.insertShape(sql).isPresent()
                || reading.largeObjectCreation(sql).isPresent();
    }

    /**
     * The leader changed ({@code next}, the session idle): the statements the session prepared by name that may be
     * rewritten are prepared again on both clusters, as the client sent them on the one that leads from now on (it
     * followed when they were parsed, and its copies are rewritten: the client is answered from it now) and rewritten on
     * the one that follows (it led: its copies are the client's).
     */
    private void prepareAgainToFollow(RoutingState next) {
        if (next.followerWrites() == FollowerWrites.SYNC) {
            prepareAgain(next.leader(), null, false);
            prepareAgain(next.leader().other(), null, true);
            preparedAsOf = SequenceDraws.catalogVersion();
        }
    }

    /**
     * At a unit's start, the session idle: after DDL ran through the proxy (a default dropped or changed, a column
     * gone), prepares again on the follower the statements the session prepared by name that may be rewritten, as the
     * session knows to rewrite them now.
     */
    private void prepareAgainIfDue() {
        long catalog = SequenceDraws.catalogVersion();
        if (preparedAsOf == catalog || (!statements.keptParses().isEmpty() && (state.followerWrites() != FollowerWrites.SYNC
                || backends.get(leader.other()) == null))) {
            return;
        }
        preparedAsOf = catalog;
        prepareAgain(leader.other(), null, true);
    }

    /**
     * Closes on {@code role} the statements the session prepared by name that may be rewritten (those inserting into
     * {@code table}, as statements name it; all where null) and prepares them again: {@code rewritten} as the follower's
     * copy is ({@link #writeToFollower}), otherwise as the client sent them. A Sync after each, as in a replay: one that
     * no longer parses does not take the others along.
     */
    private void prepareAgain(ClusterRole role, String table, boolean rewritten) {
        prepareAgain(role, table, rewritten, false);
    }

    /**
     * See {@link #prepareAgain(ClusterRole, String, boolean)}; {@code inTransaction}: the follower is inside the
     * session's transaction, which a Parse that fails must not fail: the statements are prepared again under a savepoint
     * of the proxy's, rolled back to afterwards (a prepared statement outlives a rollback).
     */
    private void prepareAgain(ClusterRole role, String table, boolean rewritten, boolean inTransaction) {
        BackendConnection twin = backends.get(role);
        if (twin == null || statements.keptParses().isEmpty()) {
            return;
        }
        if (inTransaction) {
            send(role, new Sink(Mode.DISCARD, sink -> { }), FrontendMessages.query(client.alloc(), "SAVEPOINT " + PREPARE_SAVEPOINT));
        }
        for (Map.Entry<String, ByteBuf> parse : statements.keptParses().entrySet()) {
            ByteBuf all = parse.getValue();
            String sql = FrontendMessages.parseSql(all, all.readerIndex(), all.readableBytes());
            if (table != null && !sequenceDraws.shapeOf(sql, reading).map(InsertShape::table).orElse("").equals(table)) {
                continue;
            }
            String text = rewritten ? generated.rewrittenToFollow(sql) : null;
            twin.write(FrontendMessages.closeStatement(client.alloc(), parse.getKey()));
            twin.write(session.outgoing(FrontendMessages.PARSE, text == null ? all.retainedDuplicate()
                    : FrontendMessages.withSql(client.alloc(), all, all.readerIndex(), all.readableBytes(), text), role));
            send(role, new Sink(Mode.DISCARD, sink -> {
                if (!sink.lost && sink.error) {
                    log.warn("preparing a statement again failed session={} cluster={} sqlstate={} statement={}",
                            session, role, sink.firstSqlState, parse.getKey());
                }
            }), FrontendMessages.sync(client.alloc()));
        }
        if (inTransaction) {
            send(role, new Sink(Mode.DISCARD, sink -> { }), FrontendMessages.query(client.alloc(),
                    "ROLLBACK TO SAVEPOINT " + PREPARE_SAVEPOINT + "; RELEASE SAVEPOINT " + PREPARE_SAVEPOINT));
        }
        flush(role);
    }

    // --- state --------------------------------------------------------------------------------------

    /**
     * At an idle boundary: bring the connections in line with {@code next}. Returns false when units must
     * wait (a twin is being made) or the session left units mode.
     *
     * @param noUnit the session follows a change with no unit to run: a missing follower twin waits for its next
     *               unit (making one for every idle session at once, at each change, would flood the follower with
     *               logins, and a session that never writes again needs none)
     */
    private boolean applyState(RoutingState next, boolean noUnit) {
        if (status != 'I') {
            return true; // a transaction runs to its end under the state it began with
        }
        ClusterRole wantedLeader = next.leader();
        if (stateOnlyOn != null && wantedLeader != stateOnlyOn) {
            if (pinsChecking) {
                return false;
            }
            if (pinsCheckedAt != unitSequence && backends.containsKey(stateOnlyOn)) {
                checkPinsAgain(); // it may have let go of them since (released its lock, DISCARD TEMP)
            } else {
                leaderOnlyStateLost(stateOnlyThere);
            }
            return false;
        }
        boolean twinWanted = session.twinWanted(next) && twinFailedEpoch != next.epoch();
        if (!backends.containsKey(wantedLeader)) {
            makeTwin(wantedLeader);
            return false;
        }
        if (twinWanted && !backends.containsKey(wantedLeader.other()) && !noUnit) {
            makeTwin(wantedLeader.other());
            return false;
        }
        if (!twinWanted) {
            if (listens && wantedLeader != leader && backends.containsKey(leader)) {
                // a session that only listens may meet its first unit after the leader changed and dual-write
                // ended (finalize): its channels go to the new leader before the old one's connection closes
                moveListeners(leader, wantedLeader);
                leader = wantedLeader;
                return false;
            }
            if (!sinks.get(wantedLeader).isEmpty()
                    || (listenersMoving && !sinks.get(wantedLeader.other()).isEmpty())) {
                return false; // the proxy's own requests must be answered before the relay takes over
            }
            BackendConnection other = backends.remove(wantedLeader.other());
            if (other != null) {
                abandonMirrors();
                sinks.get(wantedLeader.other()).forEach(this::settle);
                sinks.get(wantedLeader.other()).clear();
                other.close();
            }
            if (wantedLeader == leader && statements.unnamedParse() != null && !unnamedParsedForRelay) {
                // units mode parses the unnamed statement again ahead of each unit that binds it: the proxy's own
                // queries on the leader (the snapshot for a twin that could not be made, a BEGIN it wraps a write
                // in) may have ended it there. The relay does not, so it is parsed again now, before the relay
                // takes over. (After a change of leader, the new one is left as it is.)
                unnamedParsedForRelay = true;
                backends.get(leader).write(session.outgoing(FrontendMessages.PARSE,
                        statements.unnamedParse().retainedDuplicate(), leader));
                send(leader, new Sink(Mode.DISCARD, sink -> {
                    if (sink.error) {
                        log.debug("parsing the unnamed statement again for the relay failed session={} sqlstate={}",
                                session, sink.firstSqlState);
                    }
                    client.eventLoop().execute(() -> {
                        if (!closed) {
                            pump();
                        }
                    });
                }), FrontendMessages.sync(client.alloc()));
                flush(leader);
                return false;
            }
            // in shadow mode a twin lost this epoch is tried for again later, not only at the next routing change
            session.backToRelay(backends.get(wantedLeader),
                    session.twinWanted(next) && next.followerWrites() == FollowerWrites.ASYNC, statements.readingStatements(),
                    statements.catalogStatements(), statements.unnamedParse());
            closed = true;
            stopWatchingFollower();
            stopGreenReadTimer();
            stopKeepAlive();
            statements.release();
            return false;
        }
        if (next.leader() != leader) {
            log.debug("leader changed session={} leader={} epoch={}", session, next.leader(), next.epoch());
            leaderStatus = 'I'; // (between transactions: the twins' next ReadyForQuery says so again)
            followerStatus = 'I';
            statements.forgetIdsAt(); // (learned from the other cluster's rows)
            prepareAgainToFollow(next);
            if (listens) {
                moveListeners(leader, next.leader());
                leader = wantedLeader;
                state = next;
                // units wait for the channels to move: a LISTEN or UNLISTEN run on the new leader meanwhile would
                // be undone by the move, which sets there what the old leader had
                return false;
            }
        }
        leader = wantedLeader;
        state = next;
        return true;
    }

    /** Whether a unit of the session ran here: its server may hold state a twin must be given. */
    boolean ranAUnit() {
        return unitSequence > 0;
    }

    /**
     * Gives the session a connection to {@code role} with the same state as the one it has: fresh when the
     * session has done nothing yet, otherwise from a snapshot of its settings and prepared statements.
     */
    private void makeTwin(ClusterRole role) {
        unnamedParsedForRelay = false; // (the snapshot query ends the unnamed statement on the leader)
        creating = role;
        BackendConnection source = backends.get(role.other());
        if (unitSequence == 0 && !session.mayHoldState()) {
            session.openTwin(role);
            return;
        }
        Sink collect = new Sink(Mode.COLLECT, sink -> {
            if (sink.error || sink.lost) {
                twinFailed(role, "could not read the session's state for its twin (SQLSTATE " + sink.firstSqlState + ")");
                return;
            }
            SessionSnapshot snapshot = snapshotOf(sink.rows);
            listens |= snapshot.listens();
            if (snapshot.pinned()) {
                if (role == migration.control().current().leader()) {
                    leaderOnlyStateLost(snapshot.pins());
                    return;
                }
                if (remakingTwin && !(stateOnlyOn == role.other() && snapshot.pins().equals(stateOnlyThere))) {
                    // the twin that ended held them too (made inside a function, where the proxy did not see them,
                    // or since it was made); what lived on the leader alone, as when the ended twin was made, the
                    // new one lacks alike, and is pinned the same way
                    twinFailed(role, "the connection it ended held " + String.join(", ", snapshot.pins())
                            + ", which a new one cannot have");
                    return;
                }
                pinned = true;
                stateOnlyOn = role.other();
                stateOnlyThere = snapshot.pins();
                leaderOnly = leaderOnlyAsRead(snapshot);
                if (session.firstPinned()) {
                    stats.sessionPinned();
                }
                log.info("session pinned to the leader session={} because={}", session, snapshot.pins());
            } else if (pinned) {
                unpin();
            }
            pendingSnapshot = snapshot;
            session.openTwin(role);
        });
        collect.rows = new ArrayList<>();
        collect.rowCharset = reading.wire(); // the session's own bytes, for a replay or a LISTEN
        send(role.other(), collect, FrontendMessages.query(client.alloc(),
                SessionSnapshot.query(reading.customSettingsToAsk(), reading.customSettingsUnfollowed()), reading.wire()));
        source.flush();
    }

    /** A new look at what pins the session, on the cluster that alone holds it, is under way. */
    private boolean pinsChecking;
    /** The {@link #unitSequence} at the last new look; -1 before any. */
    private long pinsCheckedAt = -1;

    /**
     * Asks the cluster that alone holds what pinned the session whether it still does, before a change of
     * leader ends the session for it; then takes the units up again. A session that no longer holds any is
     * no longer pinned, and goes on under the new leader.
     */
    private void checkPinsAgain() {
        ClusterRole holder = stateOnlyOn;
        long asOf = unitSequence;
        int check = ++pinChecks;
        pinsChecking = true;
        Sink collect = new Sink(Mode.COLLECT, sink -> {
            if (check != pinChecks || !pinsChecking) {
                return; // given up on (see below)
            }
            pinsChecking = false;
            if (unitSequence != asOf) {
                pump(); // a unit ran meanwhile (the leader changed back): what it did is not in this answer
                return;
            }
            pinsCheckedAt = asOf;
            if (!sink.error && !sink.lost) {
                SessionSnapshot snapshot = snapshotOf(sink.rows);
                if (snapshot.pinned()) {
                    stateOnlyThere = snapshot.pins();
                    leaderOnly = leaderOnlyAsRead(snapshot);
                } else {
                    unpin();
                }
            }
            pump();
        });
        collect.rows = new ArrayList<>();
        collect.rowCharset = reading.wire(); // the session's own bytes, for a replay or a LISTEN
        send(holder, collect, FrontendMessages.query(client.alloc(),
                SessionSnapshot.query(reading.customSettingsToAsk(), reading.customSettingsUnfollowed()), reading.wire()));
        backends.get(holder).flush();
        // an old leader that does not answer must not hold the session's units for good: taken as still pinned
        client.eventLoop().schedule(() -> {
            if (!closed && check == pinChecks && pinsChecking) {
                log.warn("the cluster that alone holds the session's state did not say within {} ms (timeouts.follower)"
                        + " whether it still does session={} cluster={}", TimeUnit.NANOSECONDS.toMillis(followerTimeoutNanos),
                        session, holder);
                pinsChecking = false;
                pinsCheckedAt = asOf;
                pump();
            }
        }, followerTimeoutNanos, TimeUnit.NANOSECONDS);
    }

    private int pinChecks;

    /**
     * What pinned the session is gone (an advisory lock released, a temporary table dropped): its reads may be
     * served where others' are again, and a change of leader no longer ends it.
     */
    private void unpin() {
        pinned = false;
        stateOnlyOn = null;
        stateOnlyThere = List.of();
        leaderOnly = LeaderOnlyObjects.NONE;
        log.info("session no longer pinned session={}", session);
    }

    /**
     * The session's state as a snapshot query's rows give it (read in {@link SqlReading#wire()}'s charset, so that
     * its replay sends a twin the session's own bytes, whatever its encoding), the settings it reports taken note
     * of as the proxy reads the session's text.
     */
    private SessionSnapshot snapshotOf(List<String[]> rows) {
        SessionSnapshot snapshot = SessionSnapshot.fromRows(rows);
        snapshot.settings().forEach((name, value) -> reading.reported(name, reading.asRead(value)));
        String tenant = snapshot.settings().get(StickyKeys.TENANT_SETTING);
        if (tenant != null) {
            // a SET bluegreen.tenant the session made while relayed (before start, or before units mode last
            // began): asked at an idle boundary, so it is the session's tenant now, as the server holds it (and read
            // as the proxy reads the session's own SET of it)
            setTenant = tenant.isEmpty() ? Optional.empty() : Optional.of(reading.asRead(tenant));
            tenantBeforeTransaction = setTenant;
        }
        return snapshot;
    }

    /**
     * The snapshot's temporary tables and WITH HOLD cursors that statements can be matched against: in a session
     * whose encoding is not UTF-8, those named in ASCII alone. The proxy reads such a session's SQL without the bytes
     * of what lies outside ASCII (a stand-in, or U+FFFD), so {@code tmp_café} and a permanent {@code tmp_cafè} would
     * read alike, and a write to the permanent one would run on the leader alone, unseen. Unmatched, a statement on
     * such a temporary table reaches the twin, which fails it: a divergence, seen.
     */
    private LeaderOnlyObjects leaderOnlyAsRead(SessionSnapshot snapshot) {
        LeaderOnlyObjects objects = snapshot.leaderOnly();
        if (reading.utf8() || objects.isEmpty()) {
            return objects;
        }
        return new LeaderOnlyObjects(objects.relations().stream().filter(name -> !SqlReading.notAscii(name)).toList(),
                objects.cursors().stream().filter(name -> !SqlReading.notAscii(name)).toList());
    }

    private SessionSnapshot pendingSnapshot;
    /** The cluster that alone holds state the session made before it had a twin (temp tables ...), or null. */
    private ClusterRole stateOnlyOn;
    private List<String> stateOnlyThere = List.of();
    /**
     * The temporary relations and WITH HOLD cursors of {@link #stateOnlyThere}, by name: a unit that works on
     * them alone runs on the leader alone, where the twin would fail it (see {@link #leaderAlone}).
     */
    private LeaderOnlyObjects leaderOnly = LeaderOnlyObjects.NONE;
    /** The named portals units run on the leader alone bound in the open transaction (see {@link #leaderAlone}). */
    private final Set<String> leaderOnlyPortals = new HashSet<>(0);

    /**
     * The session holds temporary tables, WITH HOLD cursors or session advisory locks on a cluster that no
     * longer leads, and they cannot be moved: it ends, rather than go on without them (a released advisory
     * lock would end its mutual exclusion silently).
     */
    private void leaderOnlyStateLost(List<String> pins) {
        log.warn("session ended: its state cannot follow the leader session={} state={}", session, pins);
        session.failFromUnits(ErrorResponse.fatal("57P01", "terminating connection: this session's "
                + String.join(", ", pins) + " exist only on the cluster that led before, and cannot move to the new"
                + " leader; reconnect"));
    }

    /** The new twin logged in: replay the session's state on it, then let units run. */
    void twinReady(BackendConnection twin) {
        ClusterRole role = ClientSession.roleOf(twin);
        backends.put(role, twin);
        if (role == leader) {
            leaderStatus = 'I';
        } else {
            followerStatus = 'I';
        }
        SessionSnapshot snapshot = pendingSnapshot;
        pendingSnapshot = null;
        String hidden = snapshot == null ? null : snapshot.hiddenQuery();
        if (snapshot == null || (snapshot.replaySql().isEmpty() && snapshot.protocolStatements().isEmpty() && hidden == null)) {
            twinDone(role);
            return;
        }
        // one Query per statement, so that one that fails (a setting the twin's version does not have) does
        // not take the others back with it
        for (String sql : snapshot.stateSql()) {
            replay(role, sql);
        }
        if (hidden != null) {
            // under the session's search_path and role, before a PREPARE binds what the twin finds by those names
            Sink check = new Sink(Mode.COLLECT, sink -> {
                if (sink.lost || closed) {
                    return;
                }
                String cluster = role.name().toLowerCase(Locale.ROOT);
                List<String> found = sink.rows.stream().map(row -> row[0]).toList();
                if (sink.error) {
                    hiddenOnTheTwin("could not check on cluster " + cluster + " whether this session's temporary tables"
                            + " hide others of the same names there (SQLSTATE " + sink.firstSqlState + ")");
                } else if (!found.isEmpty()) {
                    hiddenOnTheTwin("this session's temporary " + (found.size() == 1 ? "relation " : "relations ")
                            + String.join(", ", found) + " would be another of the same name on cluster " + cluster
                            + ", where dual-write also runs this session's statements");
                }
            });
            check.rows = new ArrayList<>();
            send(role, check, FrontendMessages.query(client.alloc(), hidden, reading.wire()));
        }
        for (String sql : snapshot.sqlPrepares()) {
            replay(role, sql);
        }
        // a Sync after each Parse: after an error the server skips to the next Sync, so one statement that
        // no longer parses (a column dropped since) would take every statement after it along
        for (SessionSnapshot.ProtocolStatement statement : snapshot.protocolStatements()) {
            // the twin follows: its copy is rewritten as a follower's is (see writeToFollower), where it can be put back
            String sql = statement.sql();
            RoutingState routing = migration.control().current(); // (the state the twin is made for, which the session takes next)
            // (text outside ASCII in a session whose encoding is not UTF-8 goes as it is: its bytes are not read as UTF-8)
            if (role != routing.leader() && routing.followerWrites() == FollowerWrites.SYNC && rewritable(sql)
                    && (reading.utf8() || !(SqlReading.notAscii(sql) || SqlReading.notAscii(statement.name())))) {
                ByteBuf parse = FrontendMessages.parse(client.alloc(), statement.name(), sql, statement.parameterTypeOids());
                String rewritten = statements.keepIfRewritable(statement.name(), parse, parse.readerIndex(), parse.readableBytes())
                        ? generated.rewrittenToFollow(sql) : null;
                parse.release();
                sql = rewritten == null ? sql : rewritten;
            }
            twin.write(FrontendMessages.parse(client.alloc(), statement.name(), sql, statement.portableTypeOids(),
                    reading.wire()));
            statements.replayed(reading.nameAsRead(statement.name()), reading.asRead(statement.sql()));
            send(role, new Sink(Mode.DISCARD, sink -> {
                if (!sink.lost && sink.error) {
                    log.warn("replaying a prepared statement failed session={} cluster={} sqlstate={} statement={}",
                            session, role, sink.firstSqlState, statement.name());
                }
            }), FrontendMessages.sync(client.alloc()));
        }
        // units start once the replay has been answered, as the Sync after it is: one that failed may have
        // ended the twin (the session's role refused there), which must not have run a unit of the session first
        send(role, new Sink(Mode.DISCARD, sink -> {
            if (creating != role) {
                return;
            }
            if (sink.lost) {
                // the twin was lost before it took the replay (replayOverdue, its server gone): not made, nor remade
                creating = null;
                remakingTwin = false;
                pump();
            } else {
                twinDone(role);
            }
        }), FrontendMessages.sync(client.alloc()));
        twin.flush();
        // a server that does not answer the replay (a PREPARE waiting for a lock there) must not hold the session
        client.eventLoop().schedule(() -> replayOverdue(role, twin), followerTimeoutNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * The session's temporary relations hide others of the same names on the twin's cluster (or the twin could not
     * say whether they do; {@code why} says which): the statements of the session that reach the twin would work on those instead, a
     * {@code TRUNCATE staging, orders} emptying green's permanent {@code staging}, unseen, since the command tags
     * agree. The session ends, as one whose state cannot follow a new leader does: it has run nothing of the unit
     * that waits, and a new session's temporary tables are made on both twins.
     */
    private void hiddenOnTheTwin(String why) {
        log.warn("session ended: its temporary relations may hide others of the same names on its twin session={} why={}",
                session, why);
        session.failFromUnits(ErrorResponse.fatal("57P01", "terminating connection: " + why
                + "; reconnect, and a new session's temporary tables are made on both clusters"));
    }

    /** Replays one statement of the session's state on its new twin; a refused identity ends the twin. */
    private void replay(ClusterRole role, String sql) {
        boolean identity = sql.startsWith("set session authorization") || sql.startsWith("set role");
        send(role, new Sink(Mode.DISCARD, sink -> {
            if (sink.lost || !sink.error) {
                return;
            }
            // a setting's value may be a secret (a token a row-level security policy reads): only its name is logged
            log.warn("replaying session state failed session={} cluster={} sqlstate={} statement={}", session, role,
                    sink.firstSqlState, identity ? sql : SessionSnapshot.describe(sql));
            if (identity && backends.get(role) != null) {
                // the twin would act as another role than the session's: it must not run the session's units
                String reason = "could not give the new connection the session's role (SQLSTATE " + sink.firstSqlState + ")";
                if (role == migration.control().current().leader()) {
                    session.failFromUnits(ErrorResponse.fatal("08006", reason));
                } else {
                    // not made again before the routing state changes (in shadow mode, before the session's
                    // next try): the same replay would fail the same way
                    twinFailedEpoch = migration.control().current().epoch();
                    reportFollowerLost(role, reason);
                    dropTwin(role, false);
                }
            }
        }), FrontendMessages.query(client.alloc(), sql, reading.wire()));
    }

    /** The twin has not answered the replay of the session's state within {@code timeouts.follower}. */
    private void replayOverdue(ClusterRole role, BackendConnection twin) {
        if (closed || creating != role || backends.get(role) != twin) {
            return;
        }
        String reason = "no answer to the replay of the session's state within "
                + TimeUnit.NANOSECONDS.toMillis(followerTimeoutNanos) + " ms (timeouts.follower)";
        if (role == migration.control().current().leader()) {
            // the twin was to lead: the session cannot go on without it
            session.failFromUnits(ErrorResponse.fatal("08006", "cluster " + role.name().toLowerCase() + " gave " + reason));
            return;
        }
        backendLost(twin, reason); // the units that waited go on without it: the follower is out of sync
        twin.abandon();
    }

    private void twinDone(ClusterRole role) {
        creating = null;
        if (remakingTwin) {
            remakingTwin = false;
            stats.twinRemade();
        }
        log.debug("twin ready session={} cluster={}", session, role);
        pump();
    }

    /** The twin could not be made: the follower is out of sync, and the session goes on without it. */
    void twinFailed(ClusterRole role, String reason) {
        creating = null;
        remakingTwin = false;
        pendingSnapshot = null;
        twinFailedEpoch = migration.control().current().epoch();
        if (role == migration.control().current().leader()) {
            session.failFromUnits(ErrorResponse.fatal("08006", reason));
            return;
        }
        log.warn("follower unavailable session={} cluster={} reason={}", session, role, reason);
        reportFollowerLost(role, reason);
        pump();
    }

    private void reportFollowerLost(ClusterRole role, String reason) {
        RoutingState now = migration.control().current();
        if (now.followerWrites() == FollowerWrites.SYNC && now.followerInSync()) {
            migration.followerOutOfSync(role, "session " + session, "cluster " + role.name().toLowerCase() + ": " + reason);
        }
    }

    /** LISTEN lives on the leader only (DESIGN §3): at a change of leader the channels follow it. */
    private void moveListeners(ClusterRole from, ClusterRole to) {
        listenersMoving = true;
        int move = ++listenerMoves;
        Sink collect = new Sink(Mode.COLLECT, sink -> {
            if (move != listenerMoves || !listenersMoving) {
                return; // given up on (see below)
            }
            if (sink.error || sink.lost) {
                log.warn("the session's channels could not be read on the old leader to move them session={} cluster={}",
                        session, from);
                listenersMoved();
                return;
            }
            // the old leader's channels are the session's: the new one may listen to more, from units with a
            // LISTEN and other statements that ran on both twins, since unlistened on the leader alone
            StringBuilder sql = new StringBuilder("UNLISTEN *;");
            for (String[] row : sink.rows) {
                sql.append("LISTEN \"").append(row[0].replace("\"", "\"\"")).append("\";");
            }
            int[] answers = {2};
            Consumer<Sink> moved = done -> {
                if (--answers[0] == 0 && move == listenerMoves && listenersMoving) {
                    listenersMoved(); // the units that waited for the move
                }
            };
            send(to, new Sink(Mode.DISCARD, moved), FrontendMessages.query(client.alloc(), sql.toString(), reading.wire()));
            send(from, new Sink(Mode.DISCARD, moved), FrontendMessages.query(client.alloc(), "UNLISTEN *"));
            backends.values().forEach(BackendConnection::flush);
        });
        collect.rows = new ArrayList<>();
        collect.rowCharset = reading.wire(); // the session's own bytes, for a replay or a LISTEN
        send(from, collect, FrontendMessages.query(client.alloc(), "select pg_catalog.pg_listening_channels()"));
        backends.get(from).flush();
        // a leader that does not answer (its host gone at cutover) must not hold the session's units for good
        client.eventLoop().schedule(() -> {
            if (!closed && move == listenerMoves && listenersMoving) {
                log.warn("the session's channels did not move to the new leader within {} ms (timeouts.follower): its"
                        + " units go on, and it may miss notifications session={} from={} to={}",
                        TimeUnit.NANOSECONDS.toMillis(followerTimeoutNanos), session, from, to);
                listenersMoved();
            }
        }, followerTimeoutNanos, TimeUnit.NANOSECONDS);
    }

    private void listenersMoved() {
        listenersMoving = false;
        pump();
        settledIfSo();
    }

    /**
     * Runs {@code then} once the session has followed the routing change just published as far as it does while
     * idle, channels it listens on moved to a new leader included: at once when nothing is under way. A session
     * with a unit waiting, or one relaying, follows with its next unit, and does not hold this up.
     */
    void whenSettled(Runnable then) {
        if (settledWaiters == null) {
            settledWaiters = new ArrayList<>();
        }
        settledWaiters.add(then);
        settledIfSo();
    }

    private void settledIfSo() {
        if (settledWaiters == null || (!closed && (listenersMoving || followScheduled))) {
            return;
        }
        List<Runnable> waiting = settledWaiters;
        settledWaiters = null;
        waiting.forEach(Runnable::run);
    }

    // --- running a unit -----------------------------------------------------------------------------

    private void start(Unit unit) {
        current = unit;
        unnamedParsedForRelay = false; // (its own queries, or the proxy's around it, may end the statement again)
        cancelledWhileWaiting = false;
        unit.startedNanos = System.nanoTime();
        unitSequence++;
        unit.statusBefore = status;
        Classification c = unit.classification;
        if (status == 'I') {
            tenantBeforeTransaction = setTenant;
        }
        if (c.has(Trait.SAVEPOINT) && status != 'I') {
            followSavepoint(unit, c);
        }
        if (c.has(Trait.TENANT_SETTING)) {
            setTenant = c.tenant();
            tenantUndoneAtEnd |= c.has(Trait.SET_LOCAL);
        }
        if (status != 'I' && c.has(Trait.ROLLBACK) && !c.has(Trait.TENANT_SETTING)) {
            setTenant = tenantBeforeTransaction; // the transaction that set the tenant rolls back, and the setting with it
        }
        ClusterRole follower = backends.containsKey(leader.other()) ? leader.other() : null;
        if (follower != null && leaderAlone(unit)) {
            follower = null; // it works on what the leader alone holds: the twin would fail it
        }
        boolean async = state.followerWrites() == FollowerWrites.ASYNC;
        if (c.has(Trait.PINS_SESSION) && !pinned) {
            pinned = true;
            if (session.firstPinned()) {
                stats.sessionPinned();
            }
        }
        if (c.has(Trait.LISTEN)) {
            listens = true;
        }
        if (c.has(Trait.LISTEN) && c.statementCount() <= 1 && !unit.open) {
            // a LISTEN or UNLISTEN alone lives on the leader (DESIGN §3); in a unit with other statements
            // it runs on both twins like the rest, and only the leader's notifications reach the client
            unit.primary = leader;
            if (status == 'I') {
                transactionPrimary = leader;
                transactionRouted = false;
            }
        } else if (status == 'I') {
            if (c.isPlainRead()) {
                unit.primary = c.has(Trait.CATALOG) ? servingCatalogRead(follower) : serving(follower);
                unit.routed = true;
                ClusterRole source = session.typesSource();
                if (source != null && unit.primary != source && answersGivenOidsOf(source)) {
                    // (in a transaction the other cluster serves, the catalogs are read there too: answered as it is)
                    unit.answerTypes = session.answersFrom(unit.primary);
                }
                unit.retry = unit.primary == ClusterRole.GREEN && backends.containsKey(ClusterRole.BLUE)
                        && follower != null;
            } else if (c.isRead() && c.has(Trait.TRANSACTION_BEGIN) && !c.has(Trait.SESSION_STATE)) {
                unit.primary = serving(follower); // a read-only transaction: served where reads go
                unit.routed = true;
                unit.secondary = otherIfPresent(unit.primary);
            } else {
                unit.primary = leader;
                unit.secondary = follower;
                boolean wrappable = follower != null && !async && !c.isRead() && c.statementCount() > 0
                        && !UnitRules.transactionShaped(c);
                // a statement the proxy cannot read that may be such a one is not wrapped either (pgjdbc's prepared
                // BEGIN after the proxy forgot its name: the proxy's COMMIT would end the client's transaction); it
                // runs on the leader first, unordered
                unit.wrap = wrappable && !unit.unreadUnwrapped;
                // a procedure or DO block may commit on its own (transaction control): no transaction around it
                unit.unordered = follower != null && !async && ((c.has(Trait.TRANSACTION_CONTROL)
                        && !c.has(Trait.MULTI_STATEMENT)) || (wrappable && unit.unreadUnwrapped));
            }
            transactionPrimary = unit.primary;
            transactionRouted = unit.routed;
        } else if (c.isRead() && !c.has(Trait.SESSION_STATE) && !c.has(Trait.TRANSACTION_BEGIN)
                && !c.has(Trait.TRANSACTION_END) && !c.has(Trait.SAVEPOINT) && !c.has(Trait.CURSOR)) {
            unit.primary = transactionPrimary; // a read in a transaction: where the transaction's reads go
            unit.routed = transactionRouted;
        } else if (c.has(Trait.IMPORTS_SNAPSHOT) && c.statementCount() == 1 && !unit.open) {
            // an exported snapshot is the leader's (pg_dump --jobs): the follower would refuse its id, and the
            // transaction sees that snapshot on the leader only, so its reads go there too
            unit.primary = leader;
            transactionPrimary = leader;
            transactionRouted = false;
        } else {
            // everything else in a transaction runs on both twins, the leader first (DESIGN §5), also in
            // one whose reads the follower serves: it may turn writable (SET TRANSACTION READ WRITE),
            // lock (LOCK, pg_advisory_xact_lock), notify, and it commits on the leader first
            unit.primary = leader;
            unit.secondary = follower;
        }
        if (c.has(Trait.DDL) && c.has(Trait.PINS_SESSION) && !c.has(Trait.MULTI_STATEMENT)) {
            // a temporary object, which no other session sees: this one forgets what it learned of tables (the object
            // may hide one), and prepares its kept statements again, as after any DDL
            sequenceDraws.forget();
            preparedAsOf = Long.MIN_VALUE;
        } else if (c.has(Trait.DDL)) {
            SequenceDraws.catalogChanged();
            ddlUncommitted = true; // and again once it has committed: what was read of the catalogs meanwhile lacks it
        }
        if (c.has(Trait.SESSION_STATE)) {
            sequenceDraws.forget();
        }
        if (unit.secondary != null) {
            unit.sql = unitSql(unit); // a divergence names the statement; a unit without a follower cannot diverge
            if (mayTakeGenerated(unit)) {
                generated.takes(unit);
            } else if (async && unit.primary == leader && !unit.open && c.has(Trait.NON_DETERMINISTIC)) {
                generated.takesLargeObjectInShadow(unit);
            }
            readsStartLately |= unit.readsStart;
        }
        if (c.has(Trait.TRANSACTION_BEGIN) || c.has(Trait.TRANSACTION_END) || c.has(Trait.UNPARSEABLE)) {
            generated.transactionEnded(); // (COMMIT AND CHAIN begins another; so may what the proxy cannot read)
        }
        if (unit.secondary != null) {
            unit.asksStart = readsStartLately && !unit.readsStart && unit.insert == null && status == 'T'
                    && !generated.startKnown() && mayTakeGenerated(unit) && c.statementCount() == 1
                    && !c.has(Trait.TRANSACTION_BEGIN)
                    && !c.has(Trait.TRANSACTION_END) && !c.has(Trait.SAVEPOINT) && !c.has(Trait.ROLLBACK_TO)
                    && !c.has(Trait.SESSION_STATE) && !c.has(Trait.TRANSACTION_CONTROL);
        }
        unit.unordered = unit.secondary != null && (unit.unordered || c.has(Trait.NOT_IN_TRANSACTION_BLOCK));
        if (unit.unordered) {
            stats.unordered();
        }
        if (unit.secondary != null && c.has(Trait.NON_DETERMINISTIC) && unit.largeObject == null) {
            // (a large object's OID is given to the follower, or counted once it turns out it could not be)
            // a lone Query's own answer names it; other units' answers may come from an earlier Parse of the name
            boolean loneQuery = unit.frames.size() == 1 && unit.frames.get(0).type() == 'Q';
            stats.nonDeterministic(loneQuery && !c.normalized().isEmpty() ? c.normalized()
                    : reading.normalize(unit.sql));
        }
        if (c.has(Trait.CATALOG)) {
            session.learnsTypesFrom(unit.primary); // the client may cache type OIDs from this cluster's answer
        }
        sendInOrder(unit);
    }

    /**
     * Sends a started unit to its first cluster once the leader has answered what it must not overlap there
     * ({@link FollowerCommits}): a write waits for the {@code COMMIT}s other sessions had sent, a {@code COMMIT} for
     * the wrapped writes they had sent. Each wait is bounded ({@link #holdForLeader}); what the client sends on for
     * the unit meanwhile waits in the session's queue.
     */
    private void sendInOrder(Unit unit) {
        Classification c = unit.classification;
        if (unit.primary == leader && unit.secondary != null) {
            boolean sync = state.followerWrites() == FollowerWrites.SYNC;
            boolean writes = !UnitRules.endsOnly(c, unit.statusBefore);
            List<String> drawsInto = writes && sync && unit.drawTurn == null ? drawsHere(unit) : List.of();
            if (!drawsInto.isEmpty()) {
                // before the COMMITs' wait and its ticket: a COMMIT announced meanwhile waits for the write's answer
                unit.drawTurn = inserts.sent(session.database(), drawsInto, drawsByCount(unit, drawsInto));
                if (unit.drawTurn.waits()) {
                    stats.insertHeldForDraws();
                    holdForLeader(unit, Awaited.DRAWS, unit.drawTurn.awaits(), followerOrderWaitNanos);
                    return;
                }
            }
            if (writes && sync && !unit.commitsAwaited) {
                unit.commitsAwaited = true;
                // a wrapped write takes its ticket before it looks, and keeps it while it waits: a COMMIT that
                // begins meanwhile waits for its answer (at most timeouts.commit_wait)
                unit.leaderWrite = unit.wrap ? commits.leaderWriteSent() : 0;
                long sentBefore = commits.leaderCommitsSent();
                if (!commits.answered(sentBefore)) {
                    stats.writeHeldForCommits();
                    holdForLeader(unit, Awaited.COMMITS, sentBefore, followerOrderWaitNanos);
                    return;
                }
            }
            if (UnitRules.mayCommit(c) && sync && commitWaitNanos > 0 && !unit.writesAwaited) {
                unit.writesAwaited = true;
                long writesBefore = announceCommit(unit);
                if (writesBefore != 0) {
                    holdForLeader(unit, Awaited.WRITES, writesBefore, commitWaitNanos);
                    return;
                }
            }
            if (writes) {
                // only what was committed before the statements began: a commit the leader makes while they run may
                // or may not be visible to them, and waiting for it would have the follower's see what the leader's
                // may not have
                unit.commitsSeen = commits.heard();
            }
        }
        sendStarted(unit);
    }

    /**
     * Takes the ticket of {@code unit}'s COMMIT before it looks for writes in flight, so that a write sent from now on
     * waits for its answer, or it waits for that write: the last of the writes it must wait for, 0 when there are none.
     */
    private long announceCommit(Unit unit) {
        unit.announcedCommit = commits.leaderCommitSent();
        long writesBefore = commits.leaderWritesSent();
        if (commits.writesAnswered(writesBefore)) {
            return 0;
        }
        stats.commitHeldForWrites();
        return writesBefore;
    }

    /**
     * The tables, as statements spell them, into which {@code unit} inserts what may draw from a sequence there, as far
     * as the session knows: its turn among the inserts into each on the leader is taken ({@link LeaderInserts}).
     */
    private List<String> drawsHere(Unit unit) {
        if (unit.eachInserts == null) {
            InsertShape into = drawsInto(unit);
            return into != null && mayDrawHere(into) ? List.of(into.table()) : List.of();
        }
        return GeneratedValues.drawing(unit.eachInserts).stream().filter(this::mayDrawHere).map(InsertShape::table).toList();
    }

    /** Whether {@code insert} may draw from a sequence, as far as the session knows its table. */
    private boolean mayDrawHere(InsertShape insert) {
        List<String> sequences = sequenceDraws.knownDraws(insert);
        return sequences == null || !sequences.isEmpty();
    }

    /** The insert whose table {@code unit} takes its turn among the leader's inserts into ({@link LeaderInserts}). */
    private static InsertShape drawsInto(Unit unit) {
        return unit.insert != null ? unit.insert : unit.alsoInserts;
    }

    /**
     * Whether the follower of {@code unit}, an insert that may draw, draws by the count of the rows it inserts: rows of
     * several (a multi-row {@code VALUES}, one statement executed again and again under one {@code Sync}) not given the
     * leader's ids. Such an insert is sent to the leader alone among the inserts into its table, so that nothing draws
     * between its rows there ({@link LeaderInserts}). {@code drawsInto}: the unit's tables that may draw.
     */
    private static boolean drawsByCount(Unit unit, List<String> drawsInto) {
        if (unit.eachInserts != null) {
            // (two rows of one drawing table's, one per insert)
            return GeneratedValues.repeatsATable(unit.eachInserts, drawsInto);
        }
        if (unit.idsColumn != null || !unit.oneShape) {
            return false; // given the leader's ids row by row, or (several texts) carries no draws
        }
        InsertShape.Places places = unit.insert.places();
        return (places != null && places.rows().size() > 1) || GeneratedValues.runs(unit) > 1;
    }

    /** What a unit held back from the leader waits for there ({@link FollowerCommits}, {@link LeaderInserts}). */
    private enum Awaited { COMMITS, WRITES, DRAWS }

    /**
     * Holds a unit back from the leader until what other sessions had sent there before it has answered:
     * <ul>
     * <li>for a write, their {@code COMMIT}s: the leader may have made one already, which the write's statements
     * would see there, while its follower {@code COMMIT} is not yet on its way; once its answer is in, it has a
     * number the write notes, and the follower's run of the write waits for it. Usually a fraction of one commit's
     * time; never longer than {@link #followerOrderWaitNanos} (a {@code COMMIT} whose deferred check waits for a
     * lock this very session holds would otherwise never answer), past which the write goes without the order the
     * late commit would have given, and the proxy logs it;
     * <li>for a {@code COMMIT}, their wrapped writes: they cannot see it there then, and their follower runs go
     * before its follower {@code COMMIT}. Never longer than {@link #commitWaitNanos}: a write waiting for a row
     * lock of this very transaction answers only after it commits, and sees its outcome as its follower run will.
     * </ul>
     */
    private void holdForLeader(Unit unit, Awaited awaited, long upTo, long boundNanos) {
        unit.heldForCommits = true;
        holdForLeader(awaited, upTo, unit.drawTurn, boundNanos, () -> {
            if (closed || current != unit || !backends.containsKey(unit.primary)) {
                giveBackTickets(unit);
                log.debug("a unit waiting for other sessions' requests on the leader went with its session session={}",
                        session);
                return; // the session closed meanwhile, and released the unit, or is closing with its leader
            }
            unit.heldForCommits = false;
            unit.startedNanos = System.nanoTime(); // the leader's time, which health rules judge, starts now
            sendInOrder(unit);
            if (unit.open && !unit.heldForCommits) {
                try {
                    continueFromPending(unit); // what the client sent on for it meanwhile
                } catch (MalformedClientMessage e) {
                    clientViolation(e.violation);
                }
            }
        });
    }

    /**
     * Runs {@code then} once {@code awaited} up to {@code upTo} has answered on the leader (for {@link Awaited#DRAWS},
     * what the insert's turn {@code drawTurn} waits for), or its bound is out.
     */
    private void holdForLeader(Awaited awaited, long upTo, LeaderInserts.Ticket drawTurn, long boundNanos, Runnable then) {
        long generation = ++leaderHoldGeneration;
        ScheduledFuture<?> overdue = client.eventLoop().schedule(
                () -> leaderAnswered(awaited, upTo, drawTurn, generation, null, then), boundNanos, TimeUnit.NANOSECONDS);
        Runnable answered = () -> leaderAnswered(awaited, upTo, drawTurn, generation, overdue, then);
        switch (awaited) {
            case COMMITS -> commits.awaitAnswers(upTo, client.eventLoop(), answered);
            case WRITES -> commits.awaitWrites(upTo, client.eventLoop(), answered);
            case DRAWS -> inserts.await(drawTurn, client.eventLoop(), answered);
        }
    }

    /** Ends a wait of {@link #holdForLeader}; {@code timer} is the bound's, still to cancel, or null: it ran out. */
    private void leaderAnswered(Awaited awaited, long upTo, LeaderInserts.Ticket drawTurn, long generation,
                                ScheduledFuture<?> timer, Runnable then) {
        if (generation != leaderHoldGeneration) {
            return; // the other of the two ways the wait ends came first, or the session closed
        }
        leaderHoldGeneration++;
        if (timer != null) {
            timer.cancel(false);
        } else if (awaited == Awaited.DRAWS) {
            // an insert waiting for a row lock of a transaction whose session waits here for this one, say
            int dropped = inserts.giveUp(drawTurn);
            if (dropped > 0) { // (none: the answer came as the bound ran out)
                log.warn("an insert waited {} ms for other sessions' inserts into its table on the leader and goes"
                        + " without {} of them: a follower drawing by the count of its rows may draw other ids than the"
                        + " leader's session={}", TimeUnit.NANOSECONDS.toMillis(followerOrderWaitNanos), dropped, session);
            }
        } else if (awaited == Awaited.COMMITS) {
            int dropped = commits.giveUpAnswers(upTo);
            log.warn("a write waited {} ms for other sessions' COMMITs on the leader to answer and goes without {} of"
                    + " them session={}", TimeUnit.NANOSECONDS.toMillis(followerOrderWaitNanos), dropped, session);
        } else {
            // usually a write waiting for a row lock of the transaction this COMMIT ends: expected, not logged
            stats.commitWaitForWritesRanOut();
            commits.giveUpWrites(upTo);
        }
        then.run();
    }

    /** Sends a unit {@link #start} routed to its first cluster. */
    private void sendStarted(Unit unit) {
        Classification c = unit.classification;
        BackendConnection primary = backends.get(unit.primary);
        if (unit.wrap) {
            send(unit.primary, new Sink(Mode.DISCARD, sink -> { }), FrontendMessages.query(client.alloc(), "BEGIN"));
        }
        if (unit.beforeQuery > 0) {
            unit.retry = false; // after an error it waits for the client's Sync: it cannot be run again alone
        }
        Sink answer = new Sink(unit.retry ? Mode.FORWARD_AFTER_DATA : Mode.FORWARD, this::primaryDone);
        answer.swallowParseComplete = unit.reparses;
        if (unit.secondary != null) {
            answer.recorder = new OutcomeRecorder();
            statements.unitBegins(unit);
            if (unit.idsColumn != null || unit.capturesUuids || unit.largeObject != null) {
                generated.capture(unit, answer.recorder);
            } else {
                generated.captureDescribed(unit, answer.recorder);
            }
        }
        takeLeaderCommitTicket(unit, answer, c);
        giveBackAnnouncedCommit(unit); // (one the routing no longer calls for)
        answer.leaderWrite = unit.leaderWrite; // (sendInOrder's ticket: the COMMITs announced since wait for its answer)
        unit.leaderWrite = 0;
        answer.drawTurn = unit.drawTurn; // (the inserts into its table sent since wait for its answer)
        unit.drawTurn = null;
        unit.primarySink = answer;
        answer.answerTypes = unit.answerTypes;
        sinks.get(unit.primary).add(answer);
        if (unit.cancelPending && sinks.get(unit.primary).peek() == answer) {
            unit.cancelPending = false; // the client's cancel came while the unit was held back, and the leader is idle
            unit.cancelled = true;
            cancelUntilAnswered(unit, unit.primary, DEFERRED_CANCEL_RESENDS);
        }
        // the named Parse and Close messages are kept for the other twin (see sendNamedStatements)
        unit.sentOnce = unit.secondary == null && !unit.retry && !unit.namesStatements;
        for (Frame frame : unit.frames) {
            writeTo(primary, unit.primary, frame, unit.sentOnce);
        }
        if (unit.sentOnce) {
            unit.frames.clear();
        }
        askDrawsBehind(unit);
        if (unit.primary == leader.other() && unit.secondary == null) {
            primary.flush(); // a read the follower serves waits for no other session's commit
        } else {
            flush(unit.primary);
        }
        if (unit.retry && greenReadTimeoutNanos > 0 && leader == ClusterRole.BLUE) {
            watchGreenRead(unit); // once green leads, its reads are the application's own: as slow as they are
        }
    }

    /**
     * Whether the unit works only on temporary tables or WITH HOLD cursors that the session made before its
     * twin, which the leader alone holds ({@link LeaderOnlyObjects#run}), and so runs on the leader alone; notes
     * what the unit may do to them either way. Only whole Query units and whole unnamed extended-protocol units
     * are run so, and an Execute that goes on reading a portal such a unit bound: a named statement lives on both
     * twins, and the twin would fail to prepare one naming such an object; a unit a Flush opened may take more
     * statements than the ones here.
     */
    private boolean leaderAlone(Unit unit) {
        if (leaderOnly.isEmpty() || stateOnlyOn != leader) {
            return false;
        }
        List<String> texts = new ArrayList<>();
        boolean query = false;
        boolean alone = !unit.open && !unit.namesStatements;
        boolean continuesOnly = unit.continuesPortal;
        List<String> portals = new ArrayList<>(1);
        for (Frame frame : unit.frames) {
            ByteBuf all = frame.content();
            int offset = all.readerIndex();
            int length = all.readableBytes();
            switch (frame.type()) {
                case 'Q' -> {
                    query = true;
                    continuesOnly = false;
                    texts.add(FrontendMessages.querySql(all, offset, length, reading.encoding()));
                }
                case 'P' -> {
                    continuesOnly = false;
                    texts.add(FrontendMessages.parseSql(all, offset, length, reading.encoding()));
                }
                case 'B' -> {
                    continuesOnly = false;
                    alone &= FrontendMessages.bindStatement(all, offset, length).isEmpty();
                    portals.add(FrontendMessages.bindPortal(all, offset, length));
                }
                case 'E' -> continuesOnly &= leaderOnlyPortals.contains(FrontendMessages.executePortal(all, offset, length));
                case 'D' -> continuesOnly = false;
                case 'S', 'H' -> { }
                default -> {
                    alone = false;
                    continuesOnly = false;
                }
            }
        }
        if (continuesOnly && !unit.open) {
            return true; // goes on reading what the leader alone has
        }
        if (texts.isEmpty()) {
            return false;
        }
        boolean beginsFirst = !query && texts.size() > 1 && status == 'I'
                && UnitRules.beginsAlone(reading.classify(migration.classifier(), texts.getFirst()));
        LeaderOnlyObjects.Run run = reading.leaderOnly(leaderOnly, beginsFirst ? texts.subList(1, texts.size()) : texts);
        unit.leaderOnlyAfter = run.left() == leaderOnly ? null : run.left();
        alone &= run.leaderOnly() && !unit.continuesPortal;
        if (alone) {
            portals.stream().filter(name -> !name.isEmpty()).forEach(leaderOnlyPortals::add);
        }
        if (beginsFirst) {
            unit.followerBeginsOnly = alone;
            return false;
        }
        return alone;
    }

    private ClusterRole otherIfPresent(ClusterRole role) {
        return backends.containsKey(role.other()) ? role.other() : null;
    }

    /**
     * Whether {@code role} may answer this session's units: the leader, and a follower the weight lets serve reads
     * (green's share: green above 0, blue below 100).
     */
    private boolean mayServe(ClusterRole role) {
        if (!backends.containsKey(role)) {
            return false;
        }
        if (role == leader) {
            return true;
        }
        if (state == null) {
            return false; // the routing state is taken at the first unit's boundary, which comes after this is asked
        }
        int weight = state.weight();
        return followerServesReads() && (role == ClusterRole.GREEN ? weight > 0 : weight < RoutingPolicy.BUCKETS);
    }

    /** The follower may serve this session's reads, as far as the weight lets it: in sync, nothing pins the session. */
    private boolean followerServesReads() {
        return !pinned && state.followerMayServeReads() && !migration.control().divergencePending();
    }

    /**
     * Whether the follower's answers to this session's autocommit reads are given the type OIDs of {@code source}, the
     * cluster the client learned them from ({@link ClientSession#answersFrom}): while that leads, and the follower may
     * serve reads. The session's reads of the catalogs then go to the leader ({@link #servingCatalogRead}), as do its
     * writes and transactions, so that whatever OID it is shown, the catalog it reads names the same type. Where the
     * cluster it learned them from follows (a session that began before cutover), its transactions and writes are the
     * other's, and so are the catalogs it reads in them: its answers go as they are, and its reads of the catalogs where
     * the weight sends them.
     */
    private boolean answersGivenOidsOf(ClusterRole source) {
        return source == leader && mayServe(source.other());
    }

    /**
     * Where an autocommit read of the system catalogs goes: to the cluster whose type OIDs the client holds, where its
     * follower's answers are given them ({@link #answersGivenOidsOf}). A driver looks up there the OIDs it is shown (a
     * column's type, an array's element type, a record's fields); read on the other, the same OID could name another
     * type, or none.
     */
    private ClusterRole servingCatalogRead(ClusterRole follower) {
        ClusterRole usual = serving(follower);
        ClusterRole source = session.typesSource();
        return source != null && source != usual && answersGivenOidsOf(source) ? source : usual;
    }

    /** Where an autocommit read goes: the weight and sticky key decide, unless only the leader may serve. */
    private ClusterRole serving(ClusterRole follower) {
        if (follower == null || !followerServesReads()) {
            return leader;
        }
        Optional<String> tenant = migration.stickyKeys().tenant(setTenant, startupTenant);
        long key = migration.stickyKeys().unitKey(session.id(), unitSequence, tenant);
        return migration.policy().route(key, state.weight(), tenant).serving();
    }

    /** The SQL text of a Query or a Parse, as UTF-8; null for any other frame. */
    private static String sqlOf(Frame frame) {
        ByteBuf all = frame.content();
        return switch (frame.type()) {
            case FrontendMessages.QUERY -> FrontendMessages.querySql(all, all.readerIndex(), all.readableBytes());
            case FrontendMessages.PARSE -> FrontendMessages.parseSql(all, all.readerIndex(), all.readableBytes());
            default -> null;
        };
    }

    private String unitSql(Unit unit) {
        StringBuilder sql = new StringBuilder();
        for (Frame frame : unit.frames) {
            String text = sqlOf(frame);
            if (text != null) {
                if (!sql.isEmpty()) {
                    sql.append("; ");
                }
                sql.append(text);
            }
        }
        if (sql.isEmpty()) {
            statements.boundTexts(unit, sql);
            unit.sqlBound = !sql.isEmpty();
        }
        if (sql.isEmpty() && !unit.frames.isEmpty()) {
            boolean functionCall = unit.frames.stream().anyMatch(frame -> frame.type() == FrontendMessages.FUNCTION_CALL);
            sql.append(functionCall ? "(function call)" : "(execution of a prepared statement)");
        }
        return sql.toString();
    }

    /**
     * Writes a client's message to {@code role}'s connection, handing the frame's reference over or keeping
     * it; a Parse naming types by OID as {@link ClientSession#outgoing} decides.
     */
    private void writeTo(BackendConnection connection, ClusterRole role, Frame frame, boolean handOver) {
        if (current != null) {
            current.sending(frame);
        }
        connection.write(session.outgoing(frame.type(), handOver ? frame.content() : frame.content().retainedDuplicate(), role));
    }

    /**
     * The named Parse and Close messages of {@code unit} that {@code answer}'s cluster carried out, in order:
     * a server answers a unit's messages in order and skips the rest after an error, so the first n Parse
     * messages ran where the answer holds n ParseComplete messages (likewise Close). From {@code from} on.
     */
    private static List<Frame> namedStatementMessages(Unit unit, Sink answer, int from) {
        List<Frame> messages = new ArrayList<>();
        int parses = 0;
        int closes = 0;
        for (int i = 0; i < unit.frames.size(); i++) {
            Frame frame = unit.frames.get(i);
            ByteBuf all = frame.content();
            boolean named = switch (frame.type()) {
                case 'P' -> parses++ < answer.parsesDone
                        && !FrontendMessages.parseName(all, all.readerIndex(), all.readableBytes()).isEmpty();
                case 'C' -> {
                    String name = FrontendMessages.closedStatement(all, all.readerIndex(), all.readableBytes());
                    yield closes++ < answer.closesDone && name != null && !name.isEmpty();
                }
                default -> false;
            };
            if (named && i >= from) {
                messages.add(frame);
            }
        }
        return messages;
    }

    /**
     * Gives {@code to}, which does not run {@code unit} (or not all of it), the prepared statements the unit
     * made or closed on the cluster that gave {@code answer}: a statement a client prepares by name exists
     * there even when its execution failed or its transaction rolled back, and the client binds it next time
     * on whichever twin runs that. Only those that ran there: one that failed there (or that the server
     * skipped after an error) would fail on {@code to} too, and inside a transaction abort it. Goes out with
     * whatever the lane holds for {@code to}, after it.
     */
    private void sendNamedStatements(Unit unit, Sink answer, ClusterRole to) {
        if (!unit.namesStatements || to == null) {
            return;
        }
        if (to == leader.other() && state.followerWrites() == FollowerWrites.ASYNC
                && (mirrorRunning != null || !mirrors.isEmpty())) {
            // behind the shadow writes queued before them, which may bind a name these close or parse again
            mirrorNamedStatements(unit, answer);
            return;
        }
        BackendConnection twin = backends.get(to);
        List<Frame> named = namedStatementMessages(unit, answer, 0);
        if (twin == null || named.isEmpty()) {
            return;
        }
        for (Frame frame : named) {
            writeToFollower(twin, to, frame, to == leader.other() && state.followerWrites() == FollowerWrites.SYNC);
        }
        send(to, new Sink(Mode.DISCARD, sink -> {
            if (sink.error) {
                log.debug("twin refused a prepared statement session={} cluster={} sqlstate={}", session, to, sink.firstSqlState);
            }
        }), FrontendMessages.sync(client.alloc()));
        flush(to);
    }

    private void primaryDone(Sink answer) {
        Unit unit = current;
        if (unit == null) {
            return;
        }
        unit.primaryAnswered = true;
        if ((unit.insert != null || unit.eachInserts != null || unit.readsStart || unit.asksStart) && unit.generated == null
                && !answer.lost) {
            if (unit.drawsAnswer != null) {
                unit.generated = drawsAnswered(unit, answer);
            } else if (unit.drawsPipelined || askDraws(unit, answer)) {
                // goes on once the leader has said what it drew (asked behind the unit, its answer is next)
                holdLeaderWriteTicket(unit, answer);
                unit.afterDraws = () -> primaryDoneAfterDraws(unit, answer);
                return;
            }
        }
        generated.giveUuids(unit, answer);
        generated.giveLargeObjectOid(unit, answer);
        if (unit.describedStatement != null) {
            generated.learnDescribed(unit, answer);
        }
        if (unit.greenRead == GreenRead.CANCELLING && !answer.lost) {
            unit.afterGreenCancel = () -> primaryDone(answer);
            return;
        }
        if (unit.retry && answer.failedBeforeData() && ((unit.greenRead != GreenRead.IN_TIME && unit.cancelled) || unit.cancelPending)) {
            // the client cancelled a read the proxy had already taken from green, or one green never began (it still
            // answered the proxy's own requests): it ends cancelled, as asked, not run again on blue. What green
            // answered before the read itself (ParseComplete, BindComplete) is the client's: those statements exist
            unit.retry = false;
            flushRange();
            for (Frame frame : unit.failedAnswer) {
                if (frame.type() == 'E') {
                    frame.release();
                } else {
                    client.write(frame.content(), client.voidPromise());
                }
            }
            unit.failedAnswer = List.of();
            client.write(ErrorResponse.of("ERROR", QUERY_CANCELED, "canceling statement due to user request")
                    .encode(client.alloc()), client.voidPromise());
            stats.unitCancelled(unit.primary, true, System.nanoTime() - unit.startedNanos);
            sendNamedStatements(unit, answer, unit.primary.other());
            finish((byte) 'I');
            return;
        }
        if (unit.retry && answer.failedBeforeData()) {
            boolean cancelledThere = unit.cancelled && !answer.lost;
            if (backends.get(ClusterRole.BLUE) != null && !cancelledThere) {
                unit.failedStatus = answer.status;
                unit.failedSqlState = answer.firstSqlState;
                stats.readRetried();
                retryOnBlue(unit);
                return;
            }
            if (answer.lost) {
                return; // neither cluster can answer: the session is closing
            }
            // the client cancelled the read, or blue was lost while green ran it: green's answer is the answer
            unit.retry = false;
            flushRange();
            for (Frame frame : unit.failedAnswer) {
                client.write(frame.content(), client.voidPromise());
            }
            unit.failedAnswer = List.of();
            served(unit, true, System.nanoTime() - unit.startedNanos, answer.firstSqlState);
            sendNamedStatements(unit, answer, unit.primary.other());
            finish(answer.status);
            return;
        }
        if (answer.lost) {
            return; // the session is closing: it lost the cluster that was answering
        }
        if (unit.leaderOnlyAfter != null && unit.primary == leader) {
            // dropped, closed, discarded or made anew on both twins, or may have been: forgetting a name the leader
            // still holds costs a divergence the follower reports, keeping one it no longer does a write it misses
            leaderOnly = unit.leaderOnlyAfter;
        }
        unit.leaderNanos = System.nanoTime() - unit.startedNanos;
        // what the leader's statements saw of other sessions' commits, the follower's are to see too
        followerMustHave = Math.max(followerMustHave, unit.commitsSeen);
        if (unit.classification.isRead() && !unit.routed) {
            stats.readInAWriteTransaction(unit.primary, unit.leaderNanos, answer.firstSqlState);
        } else {
            served(unit, unit.classification.isRead(), unit.leaderNanos, answer.firstSqlState);
        }
        List<StatementOutcome> outcomes = answer.recorder == null ? List.of() : answer.recorder.outcomes();
        boolean errorAtFirst = (!outcomes.isEmpty() && outcomes.get(0).failed())
                || (answer.error && UnitRules.transientError(unit, answer.firstSqlState));
        if (unit.secondary == null) {
            if (state.followerWrites() == FollowerWrites.ASYNC && twinFailedEpoch == state.epoch() && !errorAtFirst
                    && unit.primary == leader && unit.classification.mayChangeData()) {
                stats.mirrorDropped(); // the rest of a transaction whose twin went: green misses it, as a relayed write
            }
            sendNamedStatements(unit, answer, unit.primary.other()); // only once this cluster has them
            failFollowerAlike(unit, answer);
            if (!failLeaderAlike(unit, answer)) {
                finish(answer.status);
            }
            return;
        }
        if (state.followerWrites() == FollowerWrites.ASYNC && unit.secondary == leader.other()) {
            current = null;
            Unit begin = !answer.error && importsSnapshotAfterBegin(unit, outcomes) ? prefixOf(unit, answer, 1) : null;
            if (begin != null) {
                // the follower opens the transaction, and is not sent the import, whose snapshot is the leader's (as
                // under sync dual-write, below)
                unit.release();
                mirrorLater(begin, answer, outcomes.subList(0, 1), false);
            } else {
                mirrorLater(unit, answer, outcomes, errorAtFirst);
            }
            finishToClient(answer.status, false);
            pump();
            return;
        }
        if (unit.followerBeginsOnly && unit.secondary == leader.other() && !outcomes.isEmpty() && !outcomes.getFirst().failed()
                && state.followerWrites() == FollowerWrites.SYNC) {
            // the follower opens the transaction too; what came after the BEGIN works on what the leader alone holds
            runPrefixInLane(unit, answer, outcomes.subList(0, 1));
            return;
        }
        if (!answer.error && importsSnapshotAfterBegin(unit, outcomes)) {
            // pgjdbc sends its BEGIN in the batch of the transaction's first statement: the follower opens the
            // transaction and is not sent the import, whose snapshot is the leader's; the transaction's reads
            // are the leader's (see start)
            runPrefixInLane(unit, answer, outcomes.subList(0, 1));
            return;
        }
        if (unit.wrap && unit.clientEndsWrap && answer.status == 'I'
                && (!answer.error || UnitRules.committedBefore(outcomes, UnitRules.firstFailed(outcomes)))) {
            // the client's own COMMIT, sent after a Flush, committed the transaction the proxy had opened: the
            // unit ran unwrapped after all, so the follower runs it so (must fail alike where the leader failed)
            committedBeforeFollower(unit);
            runOnSecondary(unit, outcomes, answer.status, false);
            return;
        }
        if (unit.wrap && unit.clientBeginsInWrap && answer.status == 'T') {
            // the client's own BEGIN, sent after a Flush, took over the transaction the proxy had opened: the
            // proxy cannot commit it, and the follower cannot be given the transaction as the leader has it
            diverged(unit, outcomes, List.of(), "the client began a transaction inside a write the proxy had wrapped in one");
            dropTwin(unit.secondary, true);
            finish(answer.status);
            return;
        }
        if (unit.wrap) {
            if (answer.status != 'T') {
                // the leader failed: its transaction rolls back and the follower never sees the unit, but
                // for the statements it prepared
                send(unit.primary, new Sink(Mode.ROLLBACK, sink -> finish((byte) 'I')),
                        FrontendMessages.query(client.alloc(), "ROLLBACK"));
                backends.get(unit.primary).flush();
                sendNamedStatements(unit, answer, unit.secondary);
                return;
            }
            runOnSecondary(unit, outcomes, answer.status, true);
            return;
        }
        if (unit.statusBefore == 'E' && (answer.status == 'I' || UnitRules.endsFailedTransaction(unit, outcomes))) {
            if (outcomes.size() > 1 && UnitRules.startsWithRollback(unit)) {
                // ROLLBACK; ... (a pool's reset: asyncpg sends ROLLBACK; RESET ALL; ... in one string): the
                // follower's transaction rolls back the same, and the rest runs alike
                runOnSecondary(unit, outcomes, answer.status, false);
                return;
            }
            if (outcomes.size() > 1) {
                // the unit went on after ending the failed transaction (COMMIT; INSERT ...): what it did
                // next stands on the leader, and the follower, whose transaction may still be healthy (it ran
                // what the leader did before a failure of the leader's own, see runPrefixInLane), cannot be
                // given that part alone
                diverged(unit, outcomes, List.of(), "the unit went on after ending a failed transaction, "
                        + "and the follower cannot be sent that part alone");
                dropTwin(unit.secondary, true);
                finish(answer.status);
                return;
            }
            // the leader's transaction had failed, so whatever ended it rolled back (a COMMIT AND CHAIN opened the
            // next): the follower rolls back too, and learns the statement that did it should the client have
            // prepared it (pgjdbc's ROLLBACK)
            send(unit.secondary, new Sink(Mode.DISCARD, sink -> finish(answer.status)),
                    FrontendMessages.query(client.alloc(), UnitRules.followerRollback(answer.status)));
            flush(unit.secondary);
            sendNamedStatements(unit, answer, unit.secondary);
            return;
        }
        int failedAt = UnitRules.firstFailed(outcomes);
        if (answer.error && unit.unordered && UnitRules.followerRunsFailed(unit, answer.firstSqlState)) {
            // a procedure or DO block that failed may have committed part of its work first: the follower
            // runs it too and must fail alike
            runOnSecondary(unit, outcomes, answer.status, false);
            return;
        }
        if (answer.error && failedAt > 0 && UnitRules.committedBefore(outcomes, failedAt)) {
            // a COMMIT in the unit succeeded before a later statement failed (INSERT; COMMIT; SELECT 1/0):
            // what it committed stands on the leader, so the follower runs the whole unit and must fail alike
            committedBeforeFollower(unit);
            runOnSecondary(unit, outcomes, answer.status, false);
            return;
        }
        if (answer.error && answer.status == 'E' && failedAt > 0
                && (unit.statusBefore == 'T' || unit.classification.has(Trait.TRANSACTION_BEGIN))
                && UnitRules.transientError(unit, outcomes.get(failedAt).sqlState()) && unit.classification.has(Trait.SAVEPOINT)) {
            // statements ran on the leader before one failed for a reason of the leader's own (a lock
            // timeout, a cancel), among them a SAVEPOINT the transaction may go back to (pgjdbc's autosave:
            // SAVEPOINT then the statement, then ROLLBACK TO SAVEPOINT; or BEGIN, SAVEPOINT and the statement in
            // one batch): the follower runs those, not the failed one. Without a savepoint
            // in the unit, what ran before the failure is rolled back on the leader whatever the client does
            // next, and the follower skipping all of it is the same.
            runPrefixInLane(unit, answer, outcomes.subList(0, failedAt));
            return;
        }
        if (answer.error && (errorAtFirst || answer.status == 'I')) {
            // the follower skips what failed on the leader, but for the statements it prepared; a transaction
            // the leader ended, it ends too
            if (answer.status == 'I' && unit.statusBefore != 'I') {
                send(unit.secondary, new Sink(Mode.DISCARD, sink -> finish(answer.status)),
                        FrontendMessages.query(client.alloc(), "ROLLBACK"));
                flush(unit.secondary);
                sendNamedStatements(unit, answer, unit.secondary);
            } else {
                sendNamedStatements(unit, answer, unit.secondary);
                failFollowerAlike(unit, answer);
                if (!failLeaderAlike(unit, answer)) {
                    finish(answer.status);
                }
            }
            return;
        }
        Classification c = unit.classification;
        if (!answer.error && !c.isRead() && c.has(Trait.TRANSACTION_END)
                && (unit.statusBefore == 'I' ? answer.status == 'I' : c.has(Trait.MULTI_STATEMENT))) {
            // the unit's own statements committed on the leader before the follower could run them: a whole
            // transaction in one unit (BEGIN; UPDATE ...; COMMIT), or the end of one with more (UPDATE ...; COMMIT)
            committedBeforeFollower(unit);
        }
        boolean sync = state.followerWrites() == FollowerWrites.SYNC;
        if (sync && UnitRules.runsInLane(unit, answer.status, answer.error)) {
            // (one AND CHAIN leaves the next transaction open, whose units wait for the ReadyForQuery too)
            unit.commitsOnLeader = UnitRules.committedInLane(c, outcomes);
            // the client may go on at once: inside a transaction the follower runs this unit behind the
            // leader, in order, and the unit that ends the transaction waits for it (see pump); once the
            // leader has ended it, the follower ends it too, before the session's next unit
            runInLane(unit, outcomes, answer.status);
            current = null;
            readyOwed = unit.commitsOnLeader && migration.acknowledgesAfterFollower(state);
            finishToClient(answer.status, false);
            pump();
            return;
        }
        runOnSecondary(unit, outcomes, answer.status, false);
    }

    /** Whether the follower can be made to take what the leader makes up running {@code unit}. */
    private boolean mayTakeGenerated(Unit unit) {
        Classification c = unit.classification;
        return unit.primary == leader && !unit.open && !c.isRead() && c.statementCount() >= 1 && unit.sql != null
                && state.followerWrites() == FollowerWrites.SYNC;
    }

    /**
     * The leader has answered {@code unit}: asks it, before the follower runs the statement, what it made up for it
     * ({@link GeneratedValues#questionAfter}), then goes on with the answer. False, and nothing asked, when there is
     * nothing to ask.
     */
    private boolean askDraws(Unit unit, Sink answer) {
        BackendConnection connection = backends.get(leader);
        String question = connection == null ? null : generated.questionAfter(unit, answer);
        if (question == null) {
            unit.generated = SequenceDraws.Generated.NOTHING;
            return false;
        }
        send(leader, drawsQuestion(unit), FrontendMessages.query(client.alloc(), question));
        connection.flush();
        return true;
    }

    /** The sink of the proxy's question about a unit's draws: it keeps the answer and goes on with what waited for it. */
    private Sink drawsQuestion(Unit unit) {
        Sink collect = new Sink(Mode.COLLECT, sink -> {
            unit.drawsAnswer = sink;
            Runnable then = unit.afterDraws;
            unit.afterDraws = null;
            if (then != null) {
                then.run();
            }
        });
        collect.rows = new ArrayList<>();
        return collect;
    }

    /** Asks the leader, right behind {@code unit}, what it made up for it, where that is known to ask ({@link GeneratedValues#questionBehind}). */
    private void askDrawsBehind(Unit unit) {
        String question = generated.questionBehind(unit, status);
        if (question != null) {
            send(unit.primary, drawsQuestion(unit), FrontendMessages.query(client.alloc(), question));
        }
    }

    /**
     * Reads what the leader said it made up, asked behind the unit or after its answer. Where the question failed after
     * the statement had run (inside its savepoint), the transaction is taken back to before it: the client's goes on as
     * if it had never been asked.
     */
    private SequenceDraws.Generated drawsAnswered(Unit unit, Sink answer) {
        Sink drawn = unit.drawsAnswer;
        if (drawn.lost) {
            return SequenceDraws.Generated.NOTHING;
        }
        if (drawn.error) {
            if (!answer.error && answer.status == 'T' && backends.get(leader) != null) {
                log.warn("reading what the leader drew failed session={} sqlstate={}", session, drawn.firstSqlState);
                send(leader, new Sink(Mode.DISCARD, ignored -> { }), FrontendMessages.query(client.alloc(), SequenceDraws.RECOVER));
                backends.get(leader).flush();
            }
            return SequenceDraws.Generated.NOTHING; // (behind a statement that failed it changed nothing)
        }
        if (answer.error) {
            return SequenceDraws.Generated.NOTHING;
        }
        SequenceDraws.Generated made = generated.answered(unit, answer, drawn, status);
        for (InsertShape learned : unit.drawsPipelined ? List.<InsertShape>of()
                : unit.eachInserts != null ? GeneratedValues.drawing(unit.eachInserts) : List.of(unit.insert)) {
            if (!sequenceDraws.knownTimes(new InsertShape(learned.table(), List.of())).isEmpty()) {
                // learned the table: statements prepared by name before the session knew are held by the follower as the
                // client sent them, and are given it again before it runs this unit, which may be one of them
                prepareAgain(leader.other(), learned.table(), true, status == 'T');
            }
        }
        return made;
    }

    /**
     * While the leader is asked what a write drew, the write's ticket among the leader's writes in flight
     * ({@link FollowerCommits}) stays taken: it is given back only once the follower's run has taken its own, as when
     * the answer goes on at once; otherwise a COMMIT let go meanwhile would not wait for that run.
     */
    private static void holdLeaderWriteTicket(Unit unit, Sink answer) {
        unit.leaderWrite = answer.leaderWrite; // (the session's close gives it back, should it come first)
        answer.leaderWrite = 0;
    }

    private void primaryDoneAfterDraws(Unit unit, Sink answer) {
        primaryDone(answer);
        if (unit.leaderWrite != 0) {
            commits.leaderWriteAnswered(unit.leaderWrite);
            unit.leaderWrite = 0;
        }
    }

    /**
     * The follower's run of {@code unit} is about to be written to {@code twin}: ahead of it, when the leader drew from
     * sequences for it or said its transaction's start, the follower is set to take the same. True when it was set to
     * draw (the caller writes {@link #drawnAlike} behind the unit).
     */
    private boolean drawAlike(Unit unit, ClusterRole secondary) {
        if (unit.generated == null || !unit.generated.any()) {
            return false;
        }
        send(secondary, new Sink(Mode.DISCARD, sink -> { }),
                FrontendMessages.query(client.alloc(), SequenceDraws.followerBefore(unit.generated)));
        return !unit.generated.draws().isEmpty();
    }

    /**
     * Writes a client's frame to the follower: where {@code mayRewrite}, a Query or Parse whose statement reads the
     * transaction's start, or inserts a row leaving a column that defaults to it, rewritten to read the leader's instead
     * ({@link TransactionTime}); as it is otherwise. Every such text is rewritten, not only those of a unit the leader
     * is asked about: a statement prepared by name may be parsed in a unit that runs another (a client preparing its
     * statements ahead of running them), and a rewritten statement the follower runs without the
     * leader's instant reads its own, as it would unchanged. Only a text whose bytes are its UTF-8 encoding is rewritten (every
     * edit is ASCII, so the rest keeps its bytes in any client encoding that keeps ASCII bytes out of its characters).
     * A statement prepared by name is kept ({@link ClientStatements#keepIfRewritable}), to be prepared again when its rewriting changes
     * or the leader does ({@link #prepareAgain}).
     */
    private void writeToFollower(BackendConnection twin, ClusterRole secondary, Frame frame, boolean mayRewrite) {
        writeToFollower(twin, secondary, frame, mayRewrite, null);
    }

    /**
     * Where {@code frame} is a FunctionCall creating a large object whose OID the server picks, writes the follower
     * {@code lo_create} of the OID the leader picked ({@code leaderResult}, its answer) instead, and says so.
     */
    private boolean wroteLargeObjectCreation(BackendConnection twin, Frame frame, byte[] leaderResult) {
        if (frame.type() != FrontendMessages.FUNCTION_CALL) {
            return false;
        }
        ByteBuf call = frame.content();
        ByteBuf created = LargeObjectCreation.forFollower(client.alloc(), call, call.readerIndex(), call.readableBytes(),
                leaderResult);
        if (created == null) {
            return false;
        }
        twin.write(created);
        return true;
    }

    /**
     * {@link #writeToFollower} of a frame of {@code unit}: a Query or a Parse of the unnamed statement whose rows the
     * leader returned the drawn values of ({@link Unit#givenEdits}) gives them to its rows.
     */
    private void writeToFollower(BackendConnection twin, ClusterRole secondary, Frame frame, boolean mayRewrite, Unit unit) {
        ByteBuf all = frame.content();
        if (mayRewrite && unit != null && unit.primarySink != null && unit.primarySink.recorder != null
                && wroteLargeObjectCreation(twin, frame, unit.primarySink.recorder.functionResult())) {
            return;
        }
        if (frame.type() == FrontendMessages.BIND && mayRewrite && unit != null && unit.givenEdits != null
                && unit.givenStatement != null && givenOnce(twin, secondary, unit, all)) {
            return;
        }
        if ((frame.type() != FrontendMessages.QUERY && frame.type() != FrontendMessages.PARSE) || !mayRewrite
                || reading.encoding() != ClientEncoding.ASCII_SAFE) {
            writeTo(twin, secondary, frame, false);
            return;
        }
        String sql = sqlOf(frame);
        String name = frame.type() == FrontendMessages.PARSE ? FrontendMessages.parseName(all, all.readerIndex(), all.readableBytes()) : "";
        if (!name.isEmpty() && rewritable(sql) && !statements.keepIfRewritable(name, all, all.readerIndex(), all.readableBytes())) {
            writeTo(twin, secondary, frame, false); // (a statement the proxy could not put back as the client wrote it)
            return;
        }
        List<TransactionTime.Edit> given = unit == null || unit.givenEdits == null || !name.isEmpty() ? List.of() : unit.givenEdits;
        String rewritten = generated.rewrittenToFollow(sql, given);
        if (rewritten == null) {
            writeTo(twin, secondary, frame, false);
            return;
        }
        ByteBuf copy = FrontendMessages.withSql(client.alloc(), all, all.readerIndex(), all.readableBytes(), rewritten);
        twin.write(session.outgoing(frame.type(), copy, secondary));
    }

    /**
     * Writes to the follower, for the Bind {@code bind} of {@code unit}'s statement prepared by name, a Parse of the
     * unnamed statement of that text given the leader's ids ({@link Unit#givenEdits}) and a Bind of it: the statement
     * the follower holds by that name is run again and again, the ids are this run's. False, and nothing written, where
     * the Bind binds another statement.
     */
    private boolean givenOnce(BackendConnection twin, ClusterRole secondary, Unit unit, ByteBuf bind) {
        ByteBuf parse = generated.parseOf(unit, unit.givenStatement);
        if (parse == null || !FrontendMessages.bindStatement(bind, bind.readerIndex(), bind.readableBytes()).equals(unit.givenStatement)) {
            return false;
        }
        String rewritten = generated.rewrittenToFollow(FrontendMessages.parseSql(parse, parse.readerIndex(), parse.readableBytes()),
                unit.givenEdits);
        if (rewritten == null) {
            return false;
        }
        twin.write(session.outgoing(FrontendMessages.PARSE, FrontendMessages.parseOf(client.alloc(), parse, parse.readerIndex(),
                parse.readableBytes(), "", rewritten), secondary));
        twin.write(FrontendMessages.bindOf(client.alloc(), bind, bind.readerIndex(), bind.readableBytes(), ""));
        return true;
    }

    private void drawnAlike(Unit unit, ClusterRole secondary) {
        send(secondary, new Sink(Mode.DISCARD, sink -> { }),
                FrontendMessages.query(client.alloc(), SequenceDraws.followerAfter(unit.generated.draws())));
    }

    /**
     * Gives the leader request {@code answer} of {@code unit} a ticket ({@link FollowerCommits#leaderCommitSent}) when
     * {@code c}, what it runs, may commit there under sync dual-write, and notes the follower runs its follower
     * COMMIT is to wait for.
     */
    private void takeLeaderCommitTicket(Unit unit, Sink answer, Classification c) {
        if (unit.primary == leader && unit.secondary != null
                && (UnitRules.mayCommit(c) || unit.unreadMayCommit)
                && state.followerWrites() == FollowerWrites.SYNC) {
            answer.leaderCommit = unit.announcedCommit != 0 ? unit.announcedCommit : commits.leaderCommitSent();
            unit.announcedCommit = 0;
            followerRunsBefore = commits.followerRunsStarted();
        }
    }

    /** Gives back the ticket a unit's COMMIT took as it began to wait ({@link Unit#announcedCommit}), if it has one. */
    private void giveBackAnnouncedCommit(Unit unit) {
        if (unit != null && unit.announcedCommit != 0) {
            commits.leaderCommitAnswered(unit.announcedCommit);
            unit.announcedCommit = 0;
        }
    }

    /** Gives back the tickets a unit took in {@link #sendInOrder} that no leader request has taken over. */
    private void giveBackTickets(Unit unit) {
        giveBackAnnouncedCommit(unit);
        if (unit != null && unit.leaderWrite != 0) {
            commits.leaderWriteAnswered(unit.leaderWrite);
            unit.leaderWrite = 0;
        }
        if (unit != null) {
            inserts.answered(unit.drawTurn);
            unit.drawTurn = null;
        }
    }

    /**
     * A transaction that is read-only does not hold the write barrier (DESIGN §5: reads are never held): a
     * {@code BEGIN READ ONLY}, or a bare {@code BEGIN} whose next unit makes it read-only (pg_dump's way). A unit in it
     * that may write or make it writable enters the barrier first ({@link UnitRules#mayMakeWritable}).
     */
    private enum ReadOnly {
        /** Not read-only, or not known to be: the transaction holds the barrier, as any does. */
        NO,
        /** It has run only a bare {@code BEGIN} so far, which entered the barrier. */
        AFTER_BARE_BEGIN,
        /** The running unit follows such a {@code BEGIN} and makes it read-only. */
        BEING_MADE_READ_ONLY,
        /** Read-only, and outside the barrier. */
        OUTSIDE_BARRIER
    }

    /**
     * The leader committed part of {@code unit} before the follower could run it: conflicting writes of
     * other sessions may reach the follower in another order, so it counts as unordered (DESIGN §5, rule 3),
     * unless it was counted when it started.
     */
    private void committedBeforeFollower(Unit unit) {
        if (!unit.unordered) {
            unit.unordered = true;
            stats.unordered();
        }
    }

    /**
     * A savepoint of the current transaction, the tenant the session had set when it was made, and how many times it
     * was made so in a row (pgjdbc's autosave makes one of one name ahead of each statement, and releases none).
     */
    private record TenantAtSavepoint(String name, Optional<String> tenant, int times) {}

    /** Savepoints noted at most for the tenant in a transaction; beyond them the notes are forgotten. */
    private static final int MAX_TENANT_SAVEPOINTS = 1024;

    /**
     * {@code unit}, which sets, releases or goes back to a savepoint inside a transaction, as the tenant sees it: a
     * savepoint notes the tenant, a RELEASE forgets it and those made after it, a ROLLBACK TO brings its tenant back
     * (docs/routing.md). A unit of several statements among which one is such is not read in order: what was noted is
     * forgotten, and a later ROLLBACK TO leaves the tenant as it is, as before the proxy followed savepoints.
     */
    private void followSavepoint(Unit unit, Classification c) {
        SavepointCommand command = c.statementCount() == 1 ? reading.savepointCommand(unitSql(unit)).orElse(null) : null;
        if (command == null) {
            tenantAtSavepoints.clear();
            return;
        }
        switch (command.action()) {
            case SET -> {
                TenantAtSavepoint last = tenantAtSavepoints.peekLast();
                if (last != null && last.name().equals(command.name()) && last.tenant().equals(setTenant)) {
                    tenantAtSavepoints.removeLast();
                    tenantAtSavepoints.addLast(new TenantAtSavepoint(last.name(), last.tenant(), last.times() + 1));
                } else if (tenantAtSavepoints.size() < MAX_TENANT_SAVEPOINTS) {
                    tenantAtSavepoints.addLast(new TenantAtSavepoint(command.name(), setTenant, 1));
                } else {
                    tenantAtSavepoints.clear(); // (a later ROLLBACK TO leaves the tenant as it is)
                }
            }
            case RELEASE, ROLLBACK_TO -> {
                TenantAtSavepoint made = null;
                for (var it = tenantAtSavepoints.descendingIterator(); it.hasNext() && made == null; ) {
                    TenantAtSavepoint savepoint = it.next();
                    if (savepoint.name().equals(command.name())) {
                        made = savepoint;
                    }
                }
                if (made == null) {
                    return; // (not noted: the server refuses it, or the notes were forgotten)
                }
                while (tenantAtSavepoints.peekLast() != made) {
                    tenantAtSavepoints.removeLast();
                }
                if (command.action() == SavepointCommand.Action.RELEASE) {
                    tenantAtSavepoints.removeLast(); // (the one made before it of that name is the one named next)
                    if (made.times() > 1) {
                        tenantAtSavepoints.addLast(new TenantAtSavepoint(made.name(), made.tenant(), made.times() - 1));
                    }
                } else {
                    setTenant = made.tenant(); // (the savepoint stays, to go back to again)
                }
            }
        }
    }

    /** The unit's answer, for the statistics: one the client cancelled is no sample of its cluster's health. */
    private void served(Unit unit, boolean read, long nanos, String sqlState) {
        if (unit.cancelled && QUERY_CANCELED.equals(sqlState)) {
            stats.unitCancelled(unit.primary, read, nanos);
        } else {
            stats.unitServed(unit.primary, read, nanos, sqlState);
        }
    }

    /**
     * The leader's transaction failed at a statement the follower is not sent (a read, which runs on the leader
     * alone, or a statement that failed at once), and with the error released the locks it had taken (all of
     * them, or those since the savepoint it may go back to). The follower's twin fails there too, on an error
     * of the proxy's own, and so releases the same locks now rather than at the client's {@code ROLLBACK}:
     * meanwhile other sessions' writes of those rows would run on the leader and wait on the follower, their
     * clients with them. A {@code ROLLBACK TO SAVEPOINT} then finds both twins alike. What the lane held back
     * goes out first, in order.
     */
    private void failFollowerAlike(Unit unit, Sink answer) {
        ClusterRole follower = leader.other();
        if (answer.status != 'E' || unit.statusBefore != 'T' || unit.primary != leader
                || state.followerWrites() != FollowerWrites.SYNC || !backends.containsKey(follower)) {
            return;
        }
        rolledBackSinceLastSavepoint(follower);
        send(follower, new Sink(Mode.DISCARD, sink -> { }), FrontendMessages.query(client.alloc(), FAIL_ALIKE));
        flush(follower);
    }

    /**
     * A read of a read-only transaction the follower serves failed there: the follower's transaction is aborted,
     * and the leader's, which was not sent the read, is not (or, where the read came in the transaction's first
     * unit with its BEGIN and failed at once, a cancel or a timeout, does not exist: it begins it first). The
     * leader fails alike on the proxy's own error, and the unit ends once it has: what runs on both twins next, the
     * leader first (a {@code SAVEPOINT}, a {@code SET LOCAL}, a {@code LOCK}, the {@code COMMIT}), is then answered
     * as the client's transaction stands, as a server alone would answer it ({@code 25P02}; {@code ROLLBACK} for the
     * {@code COMMIT}). Before, the
     * leader answered {@code SAVEPOINT} and {@code COMMIT} where the follower failed them: the client was told its
     * failed transaction committed, and the follower's {@code 25P02} was a divergence.
     */
    private boolean failLeaderAlike(Unit unit, Sink answer) {
        // the transaction's first unit (BEGIN READ ONLY and a read) the follower failed at once (a cancel, a timeout):
        // the leader, the unit's second, was sent none of it, not even the BEGIN
        boolean beginsThere = unit.statusBefore == 'I' && unit.secondary == leader;
        if (answer.status != 'E' || !(unit.statusBefore == 'T' || beginsThere) || unit.primary == leader
                || !backends.containsKey(leader)) {
            return false;
        }
        byte failed = answer.status;
        send(leader, new Sink(Mode.DISCARD, sink -> {
            if (current == unit && !closed) {
                finish(failed);
            }
        }), FrontendMessages.query(client.alloc(), beginsThere ? beginOf(unit) + "; " + FAIL_ALIKE : FAIL_ALIKE));
        flush(leader);
        return true;
    }

    /**
     * The statement that begins {@code unit}'s transaction, as the client wrote it (its access mode and isolation
     * level), where the unit's text starts with one written in ASCII; a bare BEGIN otherwise.
     */
    private String beginOf(Unit unit) {
        List<StatementTexts.Slice> statements = reading.statements(unit.sql != null ? unit.sql : unitSql(unit));
        if (!statements.isEmpty()) {
            String first = statements.getFirst().text();
            String word = first.length() >= 5 ? first.substring(0, 5).toLowerCase(Locale.ROOT) : "";
            if ((word.equals("begin") || word.equals("start")) && !SqlReading.notAscii(first)) {
                return first;
            }
        }
        return "BEGIN";
    }

    /**
     * The leader's transaction has failed: what it ran since its last savepoint is rolled back there whatever the
     * client sends next (a {@code ROLLBACK}, or a {@code ROLLBACK TO} that savepoint or an earlier one). The lane's
     * requests of that part, answered by the follower or not yet, are marked so: what the follower makes of them is
     * not compared. A statement there may well find what the leader's did not (the follower runs a transaction's
     * statements at its end, behind commits the leader's run of them had not seen: a {@code DELETE} of a key another
     * session inserts, before this session's {@code INSERT} of it fails on the duplicate); that is no divergence,
     * as neither cluster keeps it. A unit holding a savepoint command ends the part, itself not marked, and so does
     * a request that settles a commit (what came before it is another transaction's).
     */
    private void rolledBackSinceLastSavepoint(ClusterRole follower) {
        Iterator<Sink> newestFirst = sinks.get(follower).descendingIterator();
        while (newestFirst.hasNext()) {
            Sink sink = newestFirst.next();
            if (sink.commit != 0) {
                return; // a commit the leader made: what came before it is not of this transaction
            }
            if (sink.owned == null) {
                continue; // not a lane request: one of the proxy's own
            }
            if (sink.owned.classification.has(Trait.SAVEPOINT)) {
                return;
            }
            sink.leaderRolledBack = true;
        }
    }

    /**
     * The follower's part of a unit the leader ran only partly: its messages through the Execute of the
     * last statement that succeeded there, the named Parse and Close messages after it that ran there too
     * (the failed statement's own Parse), and a Sync. A simple query cannot be cut between its
     * statements: that is a divergence, and the follower is dropped.
     */
    private void runPrefixInLane(Unit unit, Sink answer, List<StatementOutcome> leaderOutcomes) {
        byte leaderStatus = answer.status;
        Unit prefix = prefixOf(unit, answer, leaderOutcomes.size());
        current = null;
        if (prefix != null) {
            runInLane(prefix, leaderOutcomes, (byte) 'T');
        } else {
            diverged(unit, leaderOutcomes, List.of(), "the leader ran part of the unit before a transient error, "
                    + "and the follower cannot be sent that part alone");
            dropTwin(unit.secondary, true);
        }
        unit.release();
        finishToClient(leaderStatus, false);
        pump();
    }

    /**
     * The messages of {@code unit} through the Execute of its {@code statements}th statement, the named Parse and
     * Close messages after it that {@code answer}'s cluster carried out, and a Sync, as a unit of their own; null where
     * the unit cannot be cut there (a simple query), or its messages past the follower's bound were let go
     * ({@link Unit#mirrorAbandoned}).
     */
    private Unit prefixOf(Unit unit, Sink answer, int statements) {
        if (unit.mirrorAbandoned) {
            return null;
        }
        Unit prefix = unit.partOf();
        int executes = 0;
        for (int i = 0; i < unit.frames.size(); i++) {
            Frame frame = unit.frames.get(i);
            if (executes == statements) {
                for (Frame named : namedStatementMessages(unit, answer, i)) {
                    prefix.add(named.retain());
                }
                prefix.add(Frame.of(FrontendMessages.sync(client.alloc())));
                return prefix;
            }
            if (frame.type() == FrontendMessages.QUERY) {
                break;
            }
            prefix.add(frame.retain());
            if (frame.type() == FrontendMessages.EXECUTE) {
                executes++;
            }
        }
        prefix.release();
        return null;
    }

    private void runInLane(Unit unit, List<StatementOutcome> leaderOutcomes, byte leaderStatus) {
        ClusterRole secondary = unit.secondary;
        BackendConnection twin = backends.get(secondary);
        if (twin == null || unit.mirrorAbandoned) {
            if (twin != null || !twinDropped) { // a twin dropped for a divergence already on record is not news
                diverged(unit, leaderOutcomes, List.of(), twin == null ? "follower unreachable" : "follower not sent the unit: too large");
            }
            dropTwin(secondary, true);
            unit.release();
            return;
        }
        laneInFlight++;
        Sink record = new Sink(Mode.RECORD, sink -> {
            laneInFlight--;
            commits.followerEnded(sink.commit);
            // (what the leader rolled back as its session closed is neither compared nor missed)
            if (sink.lost) {
                if (!droppingTwin && !twinDropped && !sink.leaderRolledBack) {
                    diverged(unit, leaderOutcomes, List.of(), "follower unreachable");
                }
            } else if (!sink.leaderRolledBack) {
                stats.followerRan(secondary, laneServiceNanos(sink));
                String difference = compare(unit, leaderOutcomes, sink.recorder.outcomes());
                if (difference == null && sink.status != leaderStatus) {
                    difference = "transaction status: leader " + (char) leaderStatus + ", follower " + (char) sink.status;
                }
                if (difference != null) {
                    diverged(unit, leaderOutcomes, sink.recorder.outcomes(), difference);
                    dropTwin(secondary, sink.status != 'I');
                }
            }
            unit.release();
            laneDone();
        });
        record.recorder = new OutcomeRecorder();
        record.owned = unit;
        record.commit = unit.commitsOnLeader ? commits.leaderCommitted() : 0;
        record.sentNanos = System.nanoTime();
        record.leaderNanos = unit.leaderNanos;
        boolean drawn = drawAlike(unit, secondary);
        laneHeld.add(record);
        sinks.get(secondary).add(record);
        for (Frame frame : unit.frames) {
            writeToFollower(twin, secondary, frame, secondary == leader.other() && state.followerWrites() == FollowerWrites.SYNC, unit);
        }
        if (drawn) {
            drawnAlike(unit, secondary);
        }
        laneTo = secondary;
        laneUnsentBytes += unit.bytes;
        // what releases row locks on the leader (ROLLBACK TO a savepoint, the end of the transaction) must
        // release them on the follower at once: another session may take them on the leader next, and its
        // follower must not wait behind a request this session holds back
        // a draw alike goes out at once: it holds a lock on the follower, and its requests are watched from now
        if (drawn || unit.classification.has(Trait.ROLLBACK_TO) || unit.classification.has(Trait.TRANSACTION_END)
                || laneHeld.size() >= LANE_BATCH_UNITS || laneUnsentBytes >= LANE_BATCH_BYTES) {
            flushLane();
        }
    }

    /** Sends what the lane holds back: someone is about to wait for the follower to catch up. */
    private void flushLane() {
        if (!laneHeld.isEmpty()) {
            laneUnsentBytes = 0;
            long now = System.nanoTime();
            laneHeld.forEach(sink -> sink.sentNanos = now);
            laneHeld.clear();
            flush(laneTo);
            watchFollower();
        }
    }

    /**
     * How long the follower took over a lane request: from when it was sent, or from its answer to the
     * request before, whichever is later. Not from when it was queued: the lane holds requests back until
     * the transaction ends, and the client's think time and the leader's later statements are not the
     * follower's latency.
     */
    private long laneServiceNanos(Sink sink) {
        long now = System.nanoTime();
        long began = Math.max(sink.sentNanos, laneLastAnswerNanos);
        laneLastAnswerNanos = now;
        return now - began;
    }

    /** A lane request was answered: when none is left, the session is idle again if the client is. */
    private void laneDone() {
        if (laneInFlight == 0 && draining) {
            closeDrainedFollower();
            return;
        }
        if (laneInFlight == 0 && readyOwed) {
            readyOwed = false; // what the client sent behind it waited for it (see pumpUnits)
            client.writeAndFlush(ReadyForQuery.of(status).encode(client.alloc()), client.voidPromise());
        }
        if (laneInFlight == 0 && current == null) {
            if (status == 'I' && readyAtSync == 0) {
                session.unitsIdle();
            }
            pump();
        }
    }

    /**
     * Sends what was written to {@code role}'s connection. Lane requests held back there go out with it, so
     * they are the lane's no longer and are watched from now ({@link #flushLane}).
     */
    private void flush(ClusterRole role) {
        if (role == laneTo && !laneHeld.isEmpty()) {
            flushLane(); // flushes that connection, the lane emptied first
            return;
        }
        BackendConnection connection = backends.get(role);
        if (connection == null) {
            return;
        }
        if (role == leader.other()) {
            flushFollower(connection);
        } else {
            connection.flush();
        }
    }

    /**
     * Sends what was written to the follower once every commit the leader had been heard to make when this
     * session's last write was sent there has landed on its follower too, and once the follower runs of other
     * sessions' writes the leader answered before this session's last COMMIT was sent there have ended
     * ({@link FollowerCommits}): a statement reads on the follower what it read on the leader, no less (those
     * commits) and no more (this session's commit, which those writes did not see). A wait longer than
     * {@link #followerOrderWaitNanos} goes ahead without them.
     */
    private void flushFollower(BackendConnection connection) {
        armKeepAlive(); // (the lane's requests join the follower's queue without a send of their own)
        if (followerFlushHeld) {
            return; // goes out when the wait ends
        }
        long upTo = followerMustHave;
        long runsUpTo = followerRunsBefore;
        if (commits.landed(upTo) && commits.runsEnded(runsUpTo)) {
            connection.flush();
            return;
        }
        followerFlushHeld = true;
        long generation = ++followerHoldGeneration;
        Executor loop = client.eventLoop();
        ScheduledFuture<?> overdue = client.eventLoop().schedule(
                () -> followerFlushReleased(generation, connection, upTo, runsUpTo, null),
                followerOrderWaitNanos, TimeUnit.NANOSECONDS);
        commits.await(upTo, loop, () -> commits.awaitRuns(runsUpTo, loop,
                () -> followerFlushReleased(generation, connection, upTo, runsUpTo, overdue)));
    }

    /**
     * Ends a wait of {@link #flushFollower}: everything written to that connection meanwhile goes, also what units
     * sent since noted later commits for (waiting again for those could have the session wait for its own
     * COMMIT, written behind them, and would stack waits beyond the bound). {@code timer} is the bound's, still to
     * cancel, or null: it ran out.
     */
    private void followerFlushReleased(long generation, BackendConnection connection, long upTo, long runsUpTo,
                                       ScheduledFuture<?> timer) {
        if (generation != followerHoldGeneration) {
            return; // the other of the two ways the wait ends came first
        }
        followerFlushHeld = false;
        followerHoldGeneration++;
        if (timer != null) {
            timer.cancel(false);
        } else {
            int commitsDropped = commits.giveUp(upTo);
            int runsDropped = commits.giveUpRuns(runsUpTo);
            log.warn("a follower flush waited {} ms for other sessions' follower commits and runs and goes without {}"
                    + " commits and {} runs session={}", TimeUnit.NANOSECONDS.toMillis(followerOrderWaitNanos),
                    commitsDropped, runsDropped, session);
        }
        connection.flush(); // a closed one takes nothing; one that leads by now sends what it was given
        BackendConnection follower = backends.get(leader.other());
        if (follower != null && follower != connection) {
            flush(leader.other()); // a follower that took its place meanwhile (a new twin, a change of leader)
        }
    }

    private void runOnSecondary(Unit unit, List<StatementOutcome> leaderOutcomes, byte leaderStatus, boolean wrapped) {
        ClusterRole secondary = unit.secondary;
        BackendConnection twin = backends.get(secondary);
        if (twin == null || unit.mirrorAbandoned) {
            secondaryFailed(unit, leaderOutcomes, twin == null ? "unreachable"
                    : "not mirrored: the unit was larger than " + maxMirroredBytes + " bytes", leaderStatus, wrapped);
            return;
        }
        if (wrapped) {
            send(secondary, new Sink(Mode.DISCARD, sink -> { }), FrontendMessages.query(client.alloc(), "BEGIN"));
            unit.followerPart = FollowerPart.WRAPPED;
        } else {
            unit.followerPart = FollowerPart.AFTER_LEADER;
        }
        long sentNanos = System.nanoTime();
        Sink record = new Sink(Mode.RECORD, sink -> {
            commits.followerEnded(sink.commit);
            secondaryDone(unit, leaderOutcomes, leaderStatus, wrapped, sink, System.nanoTime() - sentNanos);
        });
        record.recorder = new OutcomeRecorder();
        record.commit = UnitRules.committedAfterLeader(unit.classification, leaderOutcomes) ? commits.leaderCommitted() : 0;
        // the leader ran it before any COMMIT sent from now on: the follower runs it before their follower COMMITs
        record.followerRun = wrapped ? commits.followerRunStarted() : 0;
        record.sentNanos = sentNanos;
        record.leaderNanos = unit.leaderNanos;
        boolean drawn = drawAlike(unit, secondary);
        sinks.get(secondary).add(record);
        for (Frame frame : unit.frames) {
            writeToFollower(twin, secondary, frame, secondary == leader.other() && state.followerWrites() == FollowerWrites.SYNC, unit);
        }
        if (drawn) {
            drawnAlike(unit, secondary);
        }
        flush(secondary);
        watchFollower();
    }

    private void secondaryDone(Unit unit, List<StatementOutcome> leaderOutcomes, byte leaderStatus, boolean wrapped, Sink sink,
                               long followerNanos) {
        unit.followerPart = FollowerPart.NONE;
        if (sink.lost) {
            secondaryFailed(unit, leaderOutcomes, "unreachable", leaderStatus, wrapped);
            return;
        }
        if (wrapped && unit.cancelledOnFollower && sink.error && QUERY_CANCELED.equals(sink.firstSqlState)) {
            cancelOnBoth(unit);
            return;
        }
        stats.followerRan(unit.secondary, followerNanos);
        String difference = compare(unit, leaderOutcomes, sink.recorder.outcomes());
        if (difference == null && sink.status != leaderStatus) {
            boolean leaderSecond = leaderRanSecond(unit);
            difference = "transaction status: leader " + (char) (leaderSecond ? sink.status : leaderStatus)
                    + ", follower " + (char) (leaderSecond ? leaderStatus : sink.status);
        }
        if (difference != null) {
            diverged(unit, leaderOutcomes, sink.recorder.outcomes(), difference);
            dropTwin(unit.secondary, sink.status != 'I');
            unit.secondary = null;
        }
        if (wrapped) {
            commitBoth(unit);
        } else {
            finish(leaderStatus);
            if (closed && draining && laneInFlight == 0 && mirrorRunning == null) {
                closeDrainedFollower(); // the session's client had left while the follower ran this unit
            }
        }
    }

    private void secondaryFailed(Unit unit, List<StatementOutcome> leaderOutcomes, String why, byte leaderStatus, boolean wrapped) {
        if (!(twinDropped && "unreachable".equals(why))) {
            diverged(unit, leaderOutcomes, List.of(), "follower " + why);
        }
        ClusterRole secondary = unit.secondary;
        unit.secondary = null;
        dropTwin(secondary, false);
        if (wrapped) {
            commitBoth(unit);
        } else {
            finish(leaderStatus);
        }
    }

    /**
     * The client cancelled a wrapped write while the follower ran it, and the follower's side was
     * cancelled: neither cluster has committed it, so both roll back and the client gets the cancel's
     * error, as from a single server. Committing the leader's side alone would be a divergence.
     */
    private void cancelOnBoth(Unit unit) {
        send(unit.secondary, new Sink(Mode.DISCARD, sink -> { }), FrontendMessages.query(client.alloc(), "ROLLBACK"));
        flush(unit.secondary);
        send(unit.primary, new Sink(Mode.ROLLBACK, rollback -> {
            client.write(ErrorResponse.of("ERROR", QUERY_CANCELED, "canceling statement due to user request")
                    .encode(client.alloc()), client.voidPromise());
            finish((byte) 'I');
        }), FrontendMessages.query(client.alloc(), "ROLLBACK"));
        backends.get(unit.primary).flush();
    }

    /**
     * The leader commits only now that the follower has run the unit, and once the wrapped writes other sessions had
     * sent the leader have answered ({@link #holdForLeader}); then the follower commits.
     */
    private void commitBoth(Unit unit) {
        if (unit.secondary == null || !backends.containsKey(unit.secondary) || commitWaitNanos == 0) {
            commitBothNow(unit); // no follower to order, or no wait asked for
            return;
        }
        long writesBefore = announceCommit(unit);
        if (writesBefore != 0) {
            // (a session closing meanwhile gives its ticket back: the unit is still its current one)
            holdForLeader(Awaited.WRITES, writesBefore, null, commitWaitNanos, () -> {
                if (!backends.containsKey(unit.primary)) {
                    giveBackAnnouncedCommit(unit);
                    return; // the session is closing with its leader
                }
                commitBothNow(unit);
            });
            return;
        }
        commitBothNow(unit);
    }

    private void commitBothNow(Unit unit) {
        Sink leaderCommit = new Sink(Mode.COMMIT, commit -> {
            ClusterRole secondary = unit.secondary;
            if (secondary == null || !backends.containsKey(secondary)) {
                finish((byte) 'I');
                return;
            }
            // the leader's outcome is the client's: it goes on while the follower ends its side (see laneInFlight)
            String end = commit.error ? "ROLLBACK" : "COMMIT";
            laneInFlight++;
            Sink followerEnd = new Sink(Mode.DISCARD, followerCommit -> {
                laneInFlight--;
                commits.followerEnded(followerCommit.commit);
                if (followerCommit.error || (followerCommit.lost && !droppingTwin && !twinDropped)) {
                    diverged(unit, List.of(), List.of(), followerCommit.error
                            ? "follower could not " + end.toLowerCase() + " (SQLSTATE " + followerCommit.firstSqlState + ")"
                            : "follower unreachable before its " + end + " answered");
                    dropTwin(secondary, false);
                }
                laneDone();
            });
            followerEnd.leaderNanos = System.nanoTime() - commit.sentNanos; // deferred triggers, a synchronous standby
            followerEnd.commit = commit.error ? 0 : commits.leaderCommitted();
            send(secondary, followerEnd, FrontendMessages.query(client.alloc(), end));
            flush(secondary);
            readyOwed = !commit.error && migration.acknowledgesAfterFollower(state);
            finish((byte) 'I');
        });
        leaderCommit.leaderCommit = unit.announcedCommit != 0 ? unit.announcedCommit : commits.leaderCommitSent();
        unit.announcedCommit = 0;
        followerRunsBefore = commits.followerRunsStarted();
        send(unit.primary, leaderCommit, FrontendMessages.query(client.alloc(), "COMMIT"));
        backends.get(unit.primary).flush();
    }

    /** A unit of a BEGIN and a SET TRANSACTION SNAPSHOT, in the extended protocol, the leader ran first. */
    private boolean importsSnapshotAfterBegin(Unit unit, List<StatementOutcome> outcomes) {
        Classification c = unit.classification;
        if (!c.has(Trait.IMPORTS_SNAPSHOT) || !c.has(Trait.TRANSACTION_BEGIN) || c.statementCount() != 2
                || outcomes.size() != 2 || unit.statusBefore != 'I' || unit.primary != leader
                || unit.secondary != leader.other()) {
            return false;
        }
        for (Frame frame : unit.frames) {
            if (frame.type() == FrontendMessages.QUERY) {
                return false; // one string: it cannot be cut between its statements
            }
        }
        return true;
    }

    /**
     * Whether the unit ran on the leader second: the first unit of a read-only transaction the follower serves.
     * Its outcomes, kept as the unit's primary's and secondary's, are then compared and recorded the other way
     * round, so that a divergence names blue the leader while blue leads, and green is the one blamed.
     */
    private boolean leaderRanSecond(Unit unit) {
        return unit.secondary == leader && unit.primary != leader;
    }

    /** The unit's primary's and secondary's outcomes compared as the leader's and the follower's; see {@link #leaderRanSecond}. */
    private String compare(Unit unit, List<StatementOutcome> primary, List<StatementOutcome> secondary) {
        return leaderRanSecond(unit) ? UnitRules.compareOutcomes(unit, secondary, primary) : UnitRules.compareOutcomes(unit, primary, secondary);
    }

    private void diverged(Unit unit, List<StatementOutcome> primaryOutcomes, List<StatementOutcome> secondaryOutcomes,
                          String difference) {
        boolean swapped = leaderRanSecond(unit);
        List<StatementOutcome> leaderOutcomes = swapped ? secondaryOutcomes : primaryOutcomes;
        List<StatementOutcome> followerOutcomes = swapped ? primaryOutcomes : secondaryOutcomes;
        String statement = reading.normalize(unit.sql);
        Divergence divergence = new Divergence(Instant.now(), session.toString(),
                (swapped ? leader : unit.primary).name().toLowerCase(),
                statement, UnitRules.describe(leaderOutcomes), followerOutcomes.isEmpty() ? difference : UnitRules.describe(followerOutcomes),
                difference);
        stats.diverged(divergence);
        // a client's SQL, one log line whatever it holds
        int kept = MigrationStats.STATEMENT_CHARS_KEPT;
        log.warn("divergence session={} statement={} difference={}", session, OneLine.of(statement, kept),
                OneLine.of(difference, kept));
        if (state.followerWrites() == FollowerWrites.SYNC) {
            twinFailedEpoch = state.epoch();
            // the follower is at fault even where it answered first (a read-only transaction it serves)
            reportFollowerLost(leader.other(), "divergence: " + difference);
        }
    }

    /** Closes a twin that diverged or broke, rolling back its open transaction first. */
    private void dropTwin(ClusterRole role, boolean rollback) {
        if (role == leader) {
            // the first unit of a read-only transaction the follower serves runs on the leader second;
            // what differs there is the follower's fault, and the session keeps its leader: the
            // transaction goes on there
            role = leader.other();
            rollback = true;
            if (transactionPrimary == role) {
                transactionPrimary = leader;
            }
        }
        followerStatus = 'I'; // (a twin made later starts with no transaction)
        if (!backends.containsKey(role)) {
            return;
        }
        if (current != null && current.primary == role && sinks.get(role).contains(current.primarySink)) {
            // the cluster is answering the client right now (a read of a transaction it serves): the answer
            // cannot move mid-stream, so the session ends as it would had the connection been lost
            session.failFromUnits(ErrorResponse.fatal("08006", "cluster " + role.name().toLowerCase()
                    + " was dropped while it answered this session: it diverged from the leader"));
            return;
        }
        if (status != 'I' && transactionPrimary == role) {
            transactionPrimary = leader; // the transaction goes on where it is open too, the leader
        }
        BackendConnection twin = backends.remove(role);
        twinDropped = true;
        followerEndedWith = null; // what the dropped connection said is no word on the next one
        followerFatal = null;
        stopWatchingFollower();
        List<Sink> waiting = takeWaiting(role);
        abandonMirrors();
        if (rollback) {
            twin.write(FrontendMessages.query(client.alloc(), "ROLLBACK"));
        }
        twin.close();
        // whatever still waited on it learns it is gone (a unit waiting for its answer goes on without it)
        droppingTwin = true;
        try {
            lose(waiting);
        } finally {
            droppingTwin = false;
        }
        session.pendingDrained(); // a twin that did not take more held the client back: it no longer does
    }

    /** Takes the requests still waiting for {@code role}'s answers off its queue. */
    private List<Sink> takeWaiting(ClusterRole role) {
        List<Sink> waiting = new ArrayList<>(sinks.get(role));
        sinks.get(role).clear();
        return waiting;
    }

    /** Hands a request its answer (or its loss), then gives back its tickets, also if its callback threw. */
    private void answer(Sink sink) {
        try {
            sink.done.accept(sink);
        } finally {
            settle(sink);
        }
    }

    /** Gives back the tickets ({@link FollowerCommits}) a request held: it has been answered, or never will be. */
    private void settle(Sink sink) {
        commits.leaderCommitAnswered(sink.leaderCommit);
        commits.followerRunEnded(sink.followerRun);
        commits.leaderWriteAnswered(sink.leaderWrite); // after the answer's callback took its follower run's ticket
        inserts.answered(sink.drawTurn);
        sink.drawTurn = null;
    }

    /** Each learns its cluster is gone: what it held back is released, and its unit goes on without it. */
    private void lose(List<Sink> waiting) {
        for (Sink sink : waiting) {
            sink.lost = true;
            if (sink.held != null) {
                sink.held.forEach(Frame::release);
                sink.held = null;
            }
            answer(sink);
        }
    }

    private void retryOnBlue(Unit unit) {
        ClusterRole blue = ClusterRole.BLUE;
        BackendConnection connection = backends.get(blue);
        unit.retry = false;
        unit.primary = blue;
        if (unit.classification.has(Trait.CATALOG)) {
            session.learnsTypesFrom(blue);
        }
        long greenNanos = System.nanoTime() - unit.startedNanos;
        unit.startedNanos = System.nanoTime(); // blue's latency is its own, not green's failed attempt's too
        boolean overdue = unit.greenRead != GreenRead.IN_TIME;
        // after cutover blue is the follower: what it sends before its first row is held (a FATAL error before it
        // closes, from a shutdown or pg_terminate_backend, must not reach the client in place of green's answer)
        Sink answer = new Sink(blue != leader ? Mode.FORWARD_AFTER_DATA : Mode.FORWARD, sink -> {
            if (sink.lost && !sink.forwarded && !unit.failedAnswer.isEmpty()) {
                // blue (the follower, after cutover) was lost before any of its answer reached the client (a FATAL
                // error it sent as it went was held): green's own answer to the read is the answer, and the session
                // goes on with its leader
                flushRange();
                for (Frame frame : unit.failedAnswer) {
                    client.write(frame.content(), client.voidPromise());
                }
                unit.failedAnswer = List.of();
                stats.unitServed(ClusterRole.GREEN, true, greenNanos, unit.failedSqlState);
                finish(unit.failedStatus);
                return;
            }
            unit.releaseFailedAnswer();
            if (sink.error && Objects.equals(sink.firstSqlState, unit.failedSqlState)) {
                stats.readFailedOnBoth(greenNanos, unit.failedSqlState); // the application's error, on both
            } else if (!(overdue && System.nanoTime() - unit.startedNanos >= greenReadTimeoutNanos)) {
                // blue answered where green failed, or failed otherwise (DESIGN 4.5: green goes unblamed only where
                // blue fails the same way); an overdue read blue was as slow on is not green's fault
                stats.greenError();
            }
            stats.retryServed(blue, System.nanoTime() - unit.startedNanos, sink.firstSqlState);
            sendNamedStatements(unit, sink, ClusterRole.GREEN);
            finish(sink.status);
        });
        unit.retrySink = answer;
        ClusterRole source = session.typesSource();
        if (source != null && source != blue && answersGivenOidsOf(source)) {
            answer.answerTypes = session.answersFrom(blue); // (a session that began on green, after cutover)
        }
        answer.swallowParseComplete = unit.reparses;
        sinks.get(blue).add(answer);
        for (Frame frame : unit.frames) {
            writeTo(connection, blue, frame, false);
        }
        connection.flush();
    }

    private void finish(byte newStatus) {
        Unit unit = current;
        current = null;
        if (readOnly == ReadOnly.BEING_MADE_READ_ONLY) {
            // BEGIN, then SET TRANSACTION ... READ ONLY (pg_dump's way): nothing was written, and nothing can be
            // without a unit that enters the barrier again
            boolean made = newStatus == 'T' && status == 'T';
            readOnly = made ? ReadOnly.OUTSIDE_BARRIER : ReadOnly.NO;
            if (made) {
                session.leaveBarrier();
            }
        }
        stopWatchingGreenRead();
        finishToClient(newStatus, unit != null && unit.readyForwarded);
        if (unit != null) {
            unit.release();
        }
        pump();
    }

    /**
     * Drops the split-off end at the head of the client's messages, as the server skips it: false when its
     * batch's Sync has not arrived yet, whose messages are then dropped as they come (see {@link #readyAtSync}).
     */
    private boolean dropSplitEnd() {
        ArrayDeque<Frame> pending = session.pending();
        if (splitEndFrames != THROUGH_SYNC) {
            for (int i = 0; i < splitEndFrames && !pending.isEmpty(); i++) {
                pending.poll().release();
            }
            return true;
        }
        while (!pending.isEmpty() && pending.peek().type() != 'X') {
            Frame frame = pending.poll();
            byte type = frame.type();
            frame.release();
            if (type == FrontendMessages.SYNC) {
                return true;
            }
        }
        return false;
    }

    /** Ends the unit for the client: its ReadyForQuery, unless the cluster's own already went with the answer. */
    private void finishToClient(byte newStatus, boolean readyForwarded) {
        if (ddlUncommitted && newStatus == 'I') {
            ddlUncommitted = false;
            SequenceDraws.catalogChanged();
        }
        flushRange();
        boolean readyAtClientsSync = false;
        if (splitEnd != null) {
            Frame end = splitEnd;
            splitEnd = null;
            boolean failed = splitPartFailed;
            splitPartFailed = false;
            if (session.pending().peek() == end) {
                if (!failed && !readyForwarded) {
                    // the statements before the end all ran: the end comes next, and its ReadyForQuery is the
                    // unit's only one
                    status = newStatus;
                    client.flush();
                    return;
                }
                // one of them failed: the server skips the rest of a string, or of a batch up to its Sync, after an
                // error, the end too; the first part's ReadyForQuery answers the client's Sync
                readyAtClientsSync = !dropSplitEnd();
            }
        }
        if (newStatus == 'I' && (tenantUndoneAtEnd || status == 'E')) {
            setTenant = tenantBeforeTransaction; // SET LOCAL ends with its transaction; a failed one sets nothing
        }
        if (newStatus == 'I') {
            tenantUndoneAtEnd = false;
            tenantAtSavepoints.clear();
            generated.transactionEnded();
        }
        status = newStatus;
        if (readyOwed && (readyForwarded || laneInFlight == 0)) {
            readyOwed = false; // the follower has answered already (lost, or dropped for a divergence)
        }
        if (!readyForwarded && !readyOwed && readyAtClientsSync) {
            readyAtSync = newStatus;
        } else if (!readyForwarded && !readyOwed) {
            client.write(ReadyForQuery.of(newStatus).encode(client.alloc()), client.voidPromise());
        }
        client.flush();
        if (status == 'I') {
            transactionPrimary = null;
            if (laneInFlight == 0 && readyAtSync == 0) {
                session.unitsIdle();
            }
        }
    }

    // --- a read green is slow to answer -----------------------------------------------------------------

    private void watchGreenRead(Unit unit) {
        greenReadWatched = unit;
        greenReadDueNanos = System.nanoTime() + greenReadTimeoutNanos;
        if (greenReadWatch == null) {
            greenReadWatch = client.eventLoop().schedule(this::greenReadWatchWakes, greenReadTimeoutNanos,
                    TimeUnit.NANOSECONDS); // (an armed timer wakes no later than the new due time)
        }
    }

    private void stopWatchingGreenRead() {
        greenReadWatched = null;
    }

    /** Units mode ends: nothing left to watch, and the timer goes rather than wake for nothing. */
    private void stopGreenReadTimer() {
        stopWatchingGreenRead();
        if (greenReadWatch != null) {
            greenReadWatch.cancel(false);
            greenReadWatch = null;
        }
    }

    private void greenReadWatchWakes() {
        greenReadWatch = null;
        Unit unit = greenReadWatched;
        if (unit == null || closed) {
            return;
        }
        long early = greenReadDueNanos - System.nanoTime();
        if (early > 0) {
            greenReadWatch = client.eventLoop().schedule(this::greenReadWatchWakes, early, TimeUnit.NANOSECONDS);
            return;
        }
        greenReadWatched = null;
        greenReadOverdue(unit);
    }

    /**
     * A read green serves has not started answering within {@code timeouts.green_read} (DESIGN 5: nothing green
     * does may delay a client past a timeout while blue leads). From then on green's answer is dropped, whatever
     * it turns out to be; the read is cancelled there, and once green has answered and its server has confirmed
     * the cancel (closed the cancel connection), it runs on blue like a read green failed (DESIGN 4.5): green is
     * blamed only if blue answers. Green is given up on (out of sync, blue runs the read at once) when it has
     * not answered within that time again, and when its server does not confirm the cancel within the connect
     * timeout: a cancel still on its way could cancel what green runs next. A read whose rows have begun to
     * reach the client is green's to finish. The watch starts over when it wakes while the proxy is not reading
     * green (the client is slow to read what came before).
     */
    private void greenReadOverdue(Unit unit) {
        BackendConnection green = backends.get(unit.primary);
        if (closed || current != unit || green == null || unit.primaryAnswered) {
            return;
        }
        if (readingPaused || sinks.get(unit.primary).peek() != unit.primarySink) {
            // green's answer may be waiting in the socket; or green is still busy with the proxy's own requests
            // sent before the read (a named Parse it had to learn), which a cancel would hit instead
            watchGreenRead(unit);
            return;
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(greenReadTimeoutNanos);
        if (unit.greenRead == GreenRead.IN_TIME) {
            if (!UnitRules.retryable(unit)) {
                return; // rows have reached the client: green's to finish
            }
            if (unit.primarySink.suppressed) {
                // green has failed it (blue runs it once green's answer ends) but has not ended its answer: given up
                // on if it does not within the timeout again
                unit.greenRead = GreenRead.OVERDUE;
                watchGreenRead(unit);
                return;
            }
            unit.greenRead = GreenRead.CANCELLING;
            unit.primarySink.suppressed = true;
            stats.greenReadOverdue();
            log.warn("green read overdue, cancelled there to run on blue session={} after={}ms", session, millis);
            green.cancel(confirmed -> greenCancelSettled(unit, green, confirmed));
            return; // watched again once green's server has confirmed the cancel
        }
        backendLost(green, "green did not end its answer to an overdue read within a further " + millis
                + " ms (timeouts.green_read)");
        green.abandon();
    }

    private void greenCancelSettled(Unit unit, BackendConnection green, boolean confirmed) {
        unit.greenRead = GreenRead.OVERDUE;
        if (!confirmed && !closed && backends.get(ClusterRole.GREEN) == green) {
            backendLost(green, "green's server did not confirm the cancel of an overdue read (timeouts.green_read)");
            green.abandon();
        } else if (confirmed && !closed && current == unit && !unit.primaryAnswered) {
            watchGreenRead(unit); // the backend now has the timeout again to answer
        }
        Runnable then = unit.afterGreenCancel;
        unit.afterGreenCancel = null;
        if (then != null && current == unit && !closed) {
            then.run();
        }
    }

    // --- a twin's transaction that waits on the other ------------------------------------------------------

    /**
     * While the follower runs what the leader has already answered (a wrapped write, before the proxy's COMMIT; a
     * transaction's lane, before the client's COMMIT goes to the leader), the leader's transaction sits idle, and an
     * {@code idle_in_transaction_session_timeout} there shorter than the follower's time would end the session
     * (25P03) though its client is not idle at all: it waits on the proxy (for the follower, or for other sessions'
     * commits). The follower's transaction, once it has run all it was sent of a transaction whose first units went
     * out before its end (a lane flushed at 16 units), sits idle the same way while the leader runs the next, or
     * while the lane holds the next back, and its server would end it: green out of sync. So at each
     * {@link #KEEPALIVE_NANOS} of such a wait the leader is sent a lone Sync, which a server answers with a
     * ReadyForQuery and nothing else (it ends no transaction block) and which starts its idle time over; the
     * follower is sent what the lane holds back, or, with nothing held, a Sync too. Only while the client waits (but
     * for the lane, whose requests the client sent): a client idle in its own transaction gets no help, and its
     * servers end it as they would without the proxy. Armed as work goes out to the follower and while its
     * transaction is open (in sync dual-write), and gone once neither holds.
     */
    private void keepAliveWakes() {
        keepAliveTimer = null;
        ClusterRole follower = leader.other();
        if (closed || state == null || state.followerWrites() != FollowerWrites.SYNC || !backends.containsKey(leader)
                || !backends.containsKey(follower) || (sinks.get(follower).isEmpty() && followerStatus == 'I')) {
            return;
        }
        // the follower runs something it was sent (the lane's requests held back are not sent yet)
        boolean followerWorks = false;
        for (Sink sink : sinks.get(follower)) {
            followerWorks |= !laneHeld.contains(sink);
        }
        boolean clientWaits = (current != null && !current.open && !current.skipping) || readyOwed
                || (laneInFlight > 0 && !session.pending().isEmpty());
        // the leader's transaction idles while the client waits on the proxy: for the follower, or for other
        // sessions' commits (a write held for them)
        if (clientWaits && leaderStatus != 'I' && sinks.get(leader).isEmpty()) {
            Sink sync = new Sink(Mode.DISCARD, answer -> { });
            sync.keepAlive = true;
            send(leader, sync, FrontendMessages.sync(client.alloc()));
            backends.get(leader).flush();
        }
        // the follower's transaction idles: what the lane holds back has waited long enough, and goes out (the
        // follower then idles no longer than the client between its statements); with nothing held, a Sync while
        // the client waits
        boolean followerKeptAlive = false;
        for (Sink sink : sinks.get(follower)) {
            followerKeptAlive |= sink.keepAlive;
        }
        if (!followerWorks && followerStatus != 'I' && !followerKeptAlive) {
            if (laneTo == follower && !laneHeld.isEmpty()) {
                flushLane();
            } else if (clientWaits) {
                Sink sync = new Sink(Mode.DISCARD, answer -> { });
                sync.keepAlive = true;
                send(follower, sync, FrontendMessages.sync(client.alloc()));
                flush(follower);
            }
        }
        if (keepAliveTimer == null) { // (a Sync sent above may have armed it)
            keepAliveTimer = client.eventLoop().schedule(this::keepAliveWakes, KEEPALIVE_NANOS, TimeUnit.NANOSECONDS);
        }
    }

    /** Arms {@link #keepAliveWakes} as work goes out to a twin, unless armed. */
    private void armKeepAlive() {
        if (keepAliveTimer == null && !closed && state != null && state.followerWrites() == FollowerWrites.SYNC) {
            keepAliveTimer = client.eventLoop().schedule(this::keepAliveWakes, KEEPALIVE_NANOS, TimeUnit.NANOSECONDS);
        }
    }

    private void stopKeepAlive() {
        if (keepAliveTimer != null) {
            keepAliveTimer.cancel(false);
            keepAliveTimer = null;
        }
    }

    /**
     * A keep-alive Sync the leader has not answered yet: the session's next unit waits for it. One is sent only to a
     * leader that owes nothing else, so while it is owed it heads the leader's queue.
     */
    private boolean leaderKeepAliveAhead() {
        Sink head = sinks.get(leader).peek();
        return head != null && head.keepAlive;
    }

    /** The one request the leader is answering, leaving out keep-alive Syncs; null when none or several. */
    private Sink onlyLeaderRequest() {
        Sink only = null;
        for (Sink sink : sinks.get(leader)) {
            if (!sink.keepAlive) {
                if (only != null) {
                    return null;
                }
                only = sink;
            }
        }
        return only;
    }

    // --- a follower that falls behind ------------------------------------------------------------------

    /** Makes sure the follower's oldest request is watched: sync dual-write waits for the follower's answers. */
    private void watchFollower() {
        if (closed || state == null || state.followerWrites() != FollowerWrites.SYNC) {
            return;
        }
        long due = System.nanoTime() + followerTimeoutNanos;
        if (followerWatch == null || due - followerWatchAt < 0) {
            // (an armed watch may wait for a request the leader took long over, answered since)
            stopWatchingFollower();
            watchAt(due);
        }
    }

    private void watchAt(long atNanos) {
        if (followerWatch != null) {
            followerWatch.cancel(false);
        }
        followerWatchAt = atNanos;
        followerWatch = client.eventLoop().schedule(this::checkFollower, Math.max(0, atNanos - System.nanoTime()),
                TimeUnit.NANOSECONDS);
    }

    /**
     * The follower answered: the request now oldest may be due before the watch wakes (the one answered was
     * allowed a long leader's time). Most answers leave the watch as it is.
     */
    private void watchSooner() {
        Sink oldest = sinks.get(leader.other()).peek();
        if (oldest == null) {
            stopWatchingFollower(); // nothing owed: the next request arms it afresh
            return;
        }
        if (followerWatch == null || !owedByFollower(oldest)) {
            return;
        }
        long due = overdueAt(oldest);
        if (due - followerWatchAt < 0) {
            followerWatch.cancel(false);
            watchAt(due);
        }
    }

    private void stopWatchingFollower() {
        if (followerWatch != null) {
            followerWatch.cancel(false);
            followerWatch = null;
        }
    }

    /** A request the follower owes the proxy (not a read it serves the client itself, nor one not sent yet). */
    private boolean owedByFollower(Sink sink) {
        return sink.mode != Mode.FORWARD && sink.mode != Mode.FORWARD_AFTER_DATA && !laneHeld.contains(sink);
    }

    private long overdueAt(Sink oldest) {
        return Math.max(oldest.sentNanos, followerAnsweredNanos) + oldest.leaderNanos + followerTimeoutNanos;
    }

    /**
     * The follower's oldest request, if the proxy waits for it (a write unit, the lane of a transaction,
     * a COMMIT): overdue once the follower has taken the follower timeout longer over it than the leader
     * took over the same work, counting from when it was sent or the follower's answer before it, whichever
     * is later. An overdue follower counts as lost (DESIGN 5: nothing green does may delay a client past a
     * timeout while blue leads): out of sync, its connection closed, and the session goes on with the
     * leader alone. A read the follower serves the client itself is not its debt, nor is a lane request
     * not yet sent.
     */
    private void checkFollower() {
        followerWatch = null;
        ClusterRole follower = leader.other();
        BackendConnection twin = backends.get(follower);
        if (closed || twin == null || sinks.get(follower).isEmpty() || state.followerWrites() != FollowerWrites.SYNC
                || creating == follower) {
            return; // a twin still being made answers its replay within replayOverdue's bound, as leader or follower
        }
        Sink oldest = sinks.get(follower).peek();
        if (laneHeld.contains(oldest)) {
            // held back for the end of the transaction, or already gone out with another flush of the follower's
            // connection: sent now either way, and watched from now
            flushLane();
        }
        if (!owedByFollower(oldest) || readingPaused) {
            // not its debt; or the proxy itself does not read the follower now (the client is slow to read):
            // its answer may be waiting in the socket, and the clock restarts when reading does
            watchFollower();
            return;
        }
        long due = overdueAt(oldest);
        if (System.nanoTime() - due < 0) {
            watchAt(due);
            return;
        }
        backendLost(twin, "no answer from the follower " + TimeUnit.NANOSECONDS.toMillis(followerTimeoutNanos)
                + " ms beyond the leader's time (timeouts.follower)");
        twin.abandon();
    }

    // --- shadow mode ---------------------------------------------------------------------------------

    private void mirrorLater(Unit unit, Sink answer, List<StatementOutcome> outcomes, boolean errorAtFirst) {
        byte leaderStatus = answer.status;
        if (backends.get(leader.other()) == null) {
            if (!errorAtFirst && unit.classification.mayChangeData()) {
                stats.mirrorDropped(); // the follower was lost while the leader ran the unit: nothing will mirror it
            }
            unit.release();
            return;
        }
        if (!unit.mirrorAbandoned && unit.statusBefore == 'E' && !errorAtFirst
                && (leaderStatus == 'I' || UnitRules.endsFailedTransaction(unit, outcomes))
                && !(outcomes.size() > 1 && UnitRules.startsWithRollback(unit))) {
            mirrorEndOfFailedTransaction(unit, answer, outcomes);
            return;
        }
        if (unit.mirrorAbandoned || mirrors.size() >= MIRROR_QUEUE_UNITS
                || (errorAtFirst && !(leaderStatus == 'I' && unit.statusBefore != 'I'))) {
            if (!errorAtFirst) {
                mirrorDropped(unit, leaderStatus);
            } else if (!unit.mirrorAbandoned && mirrors.size() < MIRROR_QUEUE_UNITS) {
                mirrorNamedStatements(unit, answer); // what failed is skipped, the statements it prepared are not
            }
            unit.release();
            return;
        }
        if (!migration.reserveShadowBytes(unit.bytes, maxMirroredBytes)) {
            mirrorDropped(unit, leaderStatus); // the writes every session has queued for the follower fill their budget
            unit.release();
            return;
        }
        // a large object the leader picked the OID of is made with that OID on the follower too, as under sync dual-write
        queueMirror(new Mirror(unit, outcomes, leaderStatus, answer.recorder == null ? null : answer.recorder.functionResult()));
    }

    /**
     * The leader's failed transaction ended (rolled back, whatever the client sent), while the follower's, which
     * skipped what failed, is healthy: the follower is sent a ROLLBACK, not the client's COMMIT. A unit that went
     * on after ending it cannot be sent to the follower in part: a divergence, as with sync dual-write.
     */
    private void mirrorEndOfFailedTransaction(Unit unit, Sink answer, List<StatementOutcome> outcomes) {
        if (outcomes.size() > 1) {
            diverged(unit, outcomes, List.of(), "the unit went on after ending a failed transaction, "
                    + "and the follower cannot be sent that part alone");
            dropTwin(unit.secondary, true);
            unit.release();
            return;
        }
        if (mirrors.size() >= MIRROR_QUEUE_UNITS) {
            mirrorDropped(unit, answer.status);
            unit.release();
            return;
        }
        mirrorNamedStatements(unit, answer);
        if (backends.get(leader.other()) == null) {
            unit.release(); // the statements it named could not be queued, and the twin went with them
            return;
        }
        Unit rollback = unit.partOf();
        unit.release();
        rollback.add(Frame.of(FrontendMessages.query(client.alloc(), UnitRules.followerRollback(answer.status))));
        if (mirrors.size() >= MIRROR_QUEUE_UNITS || !migration.reserveShadowBytes(rollback.bytes, maxMirroredBytes)) {
            mirrorDropped(rollback, answer.status);
            rollback.release();
            return;
        }
        queueMirror(new Mirror(rollback, outcomes, answer.status));
    }

    /**
     * A shadow write that will not reach the follower. Counted; and where the follower's session would then part
     * from the leader's (the write was part of a transaction, or began or ended one, or named statements later
     * units use), the twin goes: its transaction rolled back, the writes queued for it dropped too, and the session
     * relays to the leader alone until it tries for a new twin (as after a lost one). Mirroring the rest would
     * have the follower run a transaction's statements in autocommit, keep one open with its row locks, or commit
     * part of one, each unseen by the comparison.
     */
    private void mirrorDropped(Unit unit, byte leaderStatus) {
        stats.mirrorDropped();
        ClusterRole follower = leader.other();
        if (backends.containsKey(follower) && (unit.statusBefore != 'I' || leaderStatus != 'I' || unit.namesStatements)) {
            log.info("a shadow write of a transaction was dropped: the session's twin goes, a new one later session={}",
                    session);
            twinFailedEpoch = migration.control().current().epoch();
            dropTwin(follower, true);
        }
    }

    private void queueMirror(Mirror mirror) {
        mirrors.add(mirror);
        nextMirror();
    }

    /** A shadow write that ran on the follower, or never will: its buffers and its share of the queue go back. */
    private void mirrorDone(Mirror mirror) {
        migration.releaseShadowBytes(mirror.unit().bytes);
        mirror.unit().release();
    }

    /** The named Parse and Close messages the leader carried out in a unit the mirror skips, as a unit of their own. */
    private void mirrorNamedStatements(Unit unit, Sink answer) {
        if (!unit.namesStatements) {
            return;
        }
        List<Frame> named = namedStatementMessages(unit, answer, 0);
        if (named.isEmpty()) {
            return;
        }
        Unit names = unit.partOf();
        for (Frame frame : named) {
            names.add(frame.retain());
        }
        names.add(Frame.of(FrontendMessages.sync(client.alloc())));
        if (!migration.reserveShadowBytes(names.bytes, maxMirroredBytes)) {
            names.namesStatements = true;
            mirrorDropped(names, answer.status);
            names.release();
            return;
        }
        queueMirror(new Mirror(names, List.of(), answer.status));
    }

    private void nextMirror() {
        ClusterRole follower = leader.other();
        BackendConnection twin = backends.get(follower);
        if (mirrorRunning != null || mirrors.isEmpty() || twin == null) {
            return;
        }
        Mirror mirror = mirrors.poll();
        mirrorRunning = mirror;
        Sink record = new Sink(Mode.RECORD, sink -> {
            if (mirrorRunning != mirror) {
                return; // abandoned, and released, while it ran
            }
            mirrorRunning = null;
            if (!sink.lost) {
                String difference = compare(mirror.unit(), mirror.leaderOutcomes(), sink.recorder.outcomes());
                if (difference != null) {
                    diverged(mirror.unit(), mirror.leaderOutcomes(), sink.recorder.outcomes(), difference);
                }
            }
            mirrorDone(mirror);
            nextMirror();
            if (draining && mirrorRunning == null) {
                closeDrainedFollower();
            }
        });
        record.recorder = new OutcomeRecorder();
        sinks.get(follower).add(record);
        for (Frame frame : mirror.unit().frames) {
            if (!wroteLargeObjectCreation(twin, frame, mirror.leaderFunctionResult())
                    && !wroteGivenLargeObjectOid(twin, follower, frame, mirror.unit())) {
                writeTo(twin, follower, frame, false);
            }
        }
        twin.flush();
    }

    /**
     * A shadow write's copy of a large object created in SQL, its text given the OID the leader answered (see
     * {@link GeneratedValues#takesLargeObjectInShadow}): a Query, or a Parse of the unnamed statement. False, and
     * nothing written, for any other frame.
     */
    private boolean wroteGivenLargeObjectOid(BackendConnection twin, ClusterRole follower, Frame frame, Unit unit) {
        ByteBuf all = frame.content();
        boolean query = frame.type() == FrontendMessages.QUERY;
        if (unit.largeObject == null || unit.givenEdits == null || (!query && (frame.type() != FrontendMessages.PARSE
                || !FrontendMessages.parseName(all, all.readerIndex(), all.readableBytes()).isEmpty()))) {
            return false;
        }
        String given = TransactionTime.apply(sqlOf(frame), unit.givenEdits);
        twin.write(session.outgoing(frame.type(), FrontendMessages.withSql(client.alloc(), all, all.readerIndex(),
                all.readableBytes(), given), follower));
        return true;
    }

    private void abandonMirrors() {
        while (!mirrors.isEmpty()) {
            stats.mirrorDropped();
            mirrorDone(mirrors.poll());
        }
        if (mirrorRunning != null) {
            mirrorDone(mirrorRunning);
            mirrorRunning = null;
        }
    }

    // --- backend side --------------------------------------------------------------------------------

    private void send(ClusterRole role, Sink sink, ByteBuf message) {
        BackendConnection connection = backends.get(role);
        if (connection == null) {
            message.release();
            sink.lost = true;
            answer(sink);
            return;
        }
        sinks.get(role).add(sink);
        connection.write(message);
        sink.sentNanos = System.nanoTime();
        if (role != leader) {
            watchFollower();
            armKeepAlive();
        }
    }

    void onBackendFrames(BackendConnection from, FrameBatch frames) {
        ClusterRole role = ClientSession.roleOf(from);
        if (backends.get(role) != from) {
            frames.release();
            return;
        }
        batch = frames;
        batchFrom = role;
        try {
            frames.forEach(this::onBackendFrame);
            flushRange();
        } catch (MalformedClientMessage e) {
            // the answer brought the unit to a client message it could not read (one queued behind a batch)
            clientViolation(e.violation);
        } catch (ProtocolViolation e) {
            // a cluster's message the engine could not read (an ErrorResponse's fields, say): the batch is
            // released below, once, and the session ends as for any other fault of that cluster's
            session.failFromUnits(ErrorResponse.fatal("08006", "protocol violation from cluster "
                    + role.name().toLowerCase() + ": " + e.getMessage()));
        } finally {
            batch = null;
            rangeStart = -1; // an exception skipped flushRange: nothing of this batch may be sliced later
            rangeEnd = -1;
            frames.release();
        }
    }

    private boolean onBackendFrame(byte type, int offset, int length) {
        ClusterRole role = batchFrom;
        if (backends.get(role) == null) {
            return false; // dropped while handling an earlier frame
        }
        if (type == 'S' && role == leader) {
            reading.reported(batch.content(), offset, length);
        }
        Sink sink = sinks.get(role).peek();
        ByteBuf all = batch.content();
        if ((type == 'T' || type == 't' || type == 'D') && sink != null && sink.answerTypes != null) {
            // the client's answer, from the cluster whose OIDs it does not hold, is given the client's, and its
            // columns the tables of the cluster whose catalog the client reads (that one, where this is done)
            session.answered(role, TypeOidTranslation.answer(all, type, offset, length, sink.answerTypes, true));
        }
        if (sink == null) {
            // between requests a server sends only asynchronous messages (the leader's reach the client),
            // and a FATAL error just before it closes the connection (shutdown, administrator command)
            if (role == leader && (type == 'A' || type == 'N' || type == 'S' || type == 'E')) {
                if (type == 'E' && endsSession(batch, offset, length)) {
                    leaderEndForwarded = backends.get(role);
                }
                forward(offset, length);
            } else if (type == 'E') {
                Frame frame = batch.frameAt(offset, length);
                try {
                    ErrorResponse error = ErrorResponse.decode(frame);
                    followerEndedWith = "FATAL".equals(error.severity()) ? error.sqlState() : null;
                    followerFatal = error.endsSession() ? error.sqlState() + " " + error.message() : null;
                } finally {
                    frame.release();
                }
            } else if (type != 'A' && type != 'N' && type != 'S' && type != 'E') {
                if (role != leader) {
                    // the follower answered more than it was asked (a COPY by Execute it refused before copying
                    // in answers both Syncs, where the leader answers one): its answers are out of step, so its
                    // part of the session ends as a lost follower's; what the follower does never fails the client
                    BackendConnection twin = backends.get(role);
                    backendLost(twin, "cluster " + role.name().toLowerCase() + " answered what no request awaited:"
                            + " message '" + (char) type + "'");
                    twin.close();
                    return false;
                }
                session.failFromUnits(ErrorResponse.fatal("08006", "protocol violation from cluster "
                        + role.name().toLowerCase() + ": unexpected message '" + (char) type + "'"));
                return false;
            }
            return true;
        }
        if (type == 'E' && !sink.error) {
            sink.error = true;
            if (current != null && sink == current.primarySink && current.endFollows) {
                splitPartFailed = true;
            }
            Frame frame = batch.frameAt(offset, length);
            try {
                ErrorResponse error = ErrorResponse.decode(frame);
                sink.firstSqlState = error.sqlState();
                if (role != leader && error.endsSession()) {
                    followerFatal = error.sqlState() + " " + error.message();
                }
                if (current != null && (sink == current.retrySink || (sink == current.primarySink && UnitRules.retryable(current)))
                        && role != leader && "FATAL".equals(error.severity())) {
                    followerEndedWith = error.sqlState(); // said why it goes, as between requests (see backendLost)
                }
                if (role == leader && error.endsSession() && (sink.mode == Mode.FORWARD || sink.mode == Mode.COMMIT
                        || sink.mode == Mode.ROLLBACK || (sink.mode == Mode.FORWARD_AFTER_DATA && sink.forwarded))) {
                    leaderEndForwarded = backends.get(role);
                }
            } finally {
                frame.release();
            }
        }
        if (sink.recorder != null) {
            sink.recorder.record(batch, type, offset, length);
        }
        if (UnitRules.completes(type)) {
            sink.requestsDone++;
        }
        if (current != null && current.beforeQuery > 0 && sink == current.primarySink) {
            extendedAnswer(current, type);
        }
        if (type == '1') {
            sink.parsesDone++;
        } else if (type == '3') {
            sink.closesDone++;
        }
        if (type == '1' && sink.swallowParseComplete) {
            sink.swallowParseComplete = false; // the next frame forwarded starts a range of its own
            return true;
        }
        if (type == 'Z') {
            sink.status = all.getByte(offset + Frame.HEADER_LENGTH);
            if (role == leader) {
                leaderStatus = sink.status;
            } else {
                followerStatus = sink.status;
                if (followerStatus != 'I') {
                    armKeepAlive(); // its transaction is open, and may wait on the leader's
                }
            }
            Unit unit = current;
            if (sink.mode == Mode.FORWARD && unit != null && unit.primarySink == sink && unit.secondary == null && !unit.retry
                    && !unit.endFollows) {
                // a unit one cluster runs alone ends with that cluster's ReadyForQuery, which is exactly the
                // one the proxy would send: forwarded with the answer, it costs the client one write, not two
                forward(offset, length);
                unit.readyForwarded = true;
            }
            flushRange();
            if (sink.held != null) {
                if (sink.suppressed && unit != null && unit.primarySink == sink) {
                    unit.failedAnswer = sink.held; // the unit's retry decides: released, or the client's answer
                } else if (!sink.suppressed) {
                    // an answer without data (Parse, Describe, Sync: ParseComplete, ParameterDescription,
                    // RowDescription) was held whole: it succeeded, so it is the client's
                    for (Frame frame : sink.held) {
                        client.write(frame.content(), client.voidPromise());
                    }
                } else {
                    sink.held.forEach(Frame::release);
                }
                sink.held = null;
            }
            sinks.get(role).poll();
            if (unit != null && unit.cancelPending && unit.primarySink != null && role == unit.primary
                    && sinks.get(role).peek() == unit.primarySink) {
                unit.cancelPending = false;
                unit.cancelled = true;
                cancelUntilAnswered(unit, role, DEFERRED_CANCEL_RESENDS);
            }
            if (role != leader) {
                followerAnsweredNanos = System.nanoTime();
                watchSooner();
            }
            answer(sink); // a leader COMMIT is numbered by now, if it committed
            if (current == null && !closed && sinks.get(role).isEmpty()) {
                pump(); // a unit may have waited for the proxy's own requests to be answered
            }
            // a closed session draining its follower reads on: the answers to the rest of what it left there
            // may have come in the same read
            return (!closed || draining) && backends.get(role) != null;
        }
        if (type == 'A' && (sink.mode == Mode.FORWARD || sink.mode == Mode.FORWARD_AFTER_DATA)) {
            // a notification is the session's whatever becomes of the answer it came in: the leader's reaches the
            // client at once (also in a read green failed, which blue runs again, once green leads), a twin's
            // that listens too (a LISTEN in a unit with other statements) never, the client has the leader's
            if (role == leader) {
                forward(offset, length);
            }
            return true;
        }
        switch (sink.mode) {
            case FORWARD -> {
                if (type == 'G' && current != null && current.primarySink == sink) {
                    startCopyIn();
                }
                sink.forwarded = true;
                if (current != null && current.primarySink == sink && current.wrap && !current.extended) {
                    if (type == 'S' && current.heldCompletion != null) {
                        current.heldCompletion.add(batch.frameAt(offset, length)); // reported after it, as a server does
                        return true;
                    }
                    // another message follows the completion held: that statement was not the Query's last
                    sendHeldCompletion(current);
                    if (type == 'C') {
                        flushRange();
                        current.heldCompletion = new ArrayList<>(2);
                        current.heldCompletion.add(batch.frameAt(offset, length));
                        return true;
                    }
                }
                forward(offset, length);
            }
            case FORWARD_AFTER_DATA -> bufferOrForward(sink, type, offset, length);
            case COMMIT, ROLLBACK -> {
                // the end of a transaction the proxy wrapped: its errors and notices are the client's, and so
                // is a setting it reverts (SET LOCAL), which the server reports when it is ready again, and a
                // notification, which the server delivers once the transaction is over (the client's own NOTIFY)
                if (type == 'C' && sink.mode == Mode.COMMIT && current != null) {
                    sendHeldCompletion(current); // committed: the client's write is done, as a server alone tells it
                }
                if (type == 'S' && sink.error && current != null && reportedInHold(current, all, offset, length)) {
                    return true; // the failed COMMIT reverts a setting the client was never told of: nothing to say
                }
                if (type == 'E' || type == 'N' || type == 'S' || (type == 'A' && role == leader)) {
                    forward(offset, length);
                }
            }
            case COLLECT -> {
                if (type == 'D') {
                    sink.rows.add(dataRow(all, offset, length, sink.rowCharset));
                } else if (type == 'A' && role == leader) {
                    forward(offset, length); // delivered before the ReadyForQuery of the proxy's own query: the client's
                }
            }
            case RECORD, DISCARD -> {
                if (type == 'A' && role == leader) {
                    forward(offset, length);
                } else if (sink.keepAlive && role == leader
                        && (type == 'N' || type == 'S' || (type == 'E' && endsSession(batch, offset, length)))) {
                    // a keep-alive's answer is the idle leader's: what a server sends between requests (a setting the
                    // configuration changed, a FATAL error as it ends the connection) is the client's
                    if (type == 'E') {
                        leaderEndForwarded = backends.get(role);
                    }
                    forward(offset, length);
                }
            }
        }
        return true;
    }

    /**
     * {@link Mode#FORWARD_AFTER_DATA}: what comes before the answer's first row or completion is held (bounded by
     * {@link #RETRY_BUFFER_BYTES}), so that the read can still be answered from elsewhere. An error in green's
     * answer to a read it serves suppresses the rest (blue runs the read again); one in blue's answer to such a
     * read run again is held like the rest, the client's at the ReadyForQuery.
     */
    private void bufferOrForward(Sink sink, byte type, int offset, int length) {
        if (sink.suppressed) {
            return;
        }
        if (!sink.forwarded) {
            boolean data = switch (type) {
                case 'D', 'C', 'I', 'G', 'H', 's', 'V' -> true;
                default -> false;
            };
            if (type == 'E' && current != null && sink == current.primarySink) {
                sink.suppressed = true; // blue will answer instead; kept whole in case blue is gone by then
                if (sink.held == null) {
                    sink.held = new ArrayList<>(1);
                }
                sink.held.add(batch.frameAt(offset, length));
                return;
            }
            if (!data && sink.heldBytes + length <= RETRY_BUFFER_BYTES) {
                if (sink.held == null) {
                    sink.held = new ArrayList<>(4);
                }
                sink.held.add(batch.frameAt(offset, length));
                sink.heldBytes += length;
                return;
            }
            sink.forwarded = true;
            flushRange();
            if (sink.held != null) {
                for (Frame frame : sink.held) {
                    client.write(frame.content(), client.voidPromise());
                }
                sink.held = null;
            }
        }
        forward(offset, length);
    }

    /** Whether the ParameterStatus at {@code offset} names a setting one held with {@code unit}'s completion names. */
    private static boolean reportedInHold(Unit unit, ByteBuf all, int offset, int length) {
        if (unit.heldCompletion == null) {
            return false;
        }
        int name = offset + Frame.HEADER_LENGTH;
        int nameLength = all.bytesBefore(name, length - Frame.HEADER_LENGTH, (byte) 0);
        for (Frame held : unit.heldCompletion) {
            ByteBuf other = held.content();
            int otherName = other.readerIndex() + Frame.HEADER_LENGTH;
            if (held.type() == 'S' && nameLength >= 0
                    && other.bytesBefore(otherName, other.readableBytes() - Frame.HEADER_LENGTH, (byte) 0) == nameLength
                    && ByteBufUtil.equals(all, name, other, otherName, nameLength)) {
                return true;
            }
        }
        return false;
    }

    private void sendHeldCompletion(Unit unit) {
        if (unit.heldCompletion != null) {
            flushRange();
            for (Frame frame : unit.heldCompletion) {
                client.write(frame.content(), client.voidPromise());
            }
            unit.heldCompletion = null;
        }
    }

    private void startCopyIn() {
        Unit unit = current;
        unit.copiesStarted++;
        if (unit.copyEnds >= unit.copiesStarted) {
            // the client sent all this copy's data, behind a Flush, before it heard CopyInResponse: the unit
            // already holds it, and the copy is over on the client's side (its Sync may still be to come); the
            // ends of earlier copies of the same string do not count
            flush(unit.primary);
            return;
        }
        unit.copyIn = true;
        unit.open = true;
        // copy data the client sent before it heard CopyInResponse belongs to this unit, and so does a Sync or
        // Flush among it, which the server ignores while copying in
        ArrayDeque<Frame> pending = session.pending();
        while (!pending.isEmpty() && unit.open) {
            byte t = pending.peek().type();
            if (t != FrontendMessages.COPY_DATA && !UnitRules.endsCopy(t)
                    && !(unit.copyIn && (t == FrontendMessages.SYNC || t == FrontendMessages.FLUSH))) {
                break;
            }
            continueUnit(pending.poll());
        }
        if (current == unit && unit.open && !unit.copyIn) {
            continueFromPending(unit); // the Sync after CopyDone came in the same read
        }
        flush(unit.primary);
        session.pendingDrained(); // the client may have been held back for the data it sent ahead
    }

    private void forward(int offset, int length) {
        if (rangeEnd == offset) {
            rangeEnd += length;
            return;
        }
        flushRange();
        rangeStart = offset;
        rangeEnd = offset + length;
    }

    private void flushRange() {
        if (rangeStart >= 0 && batch != null) {
            client.write(batch.content().retainedSlice(rangeStart, rangeEnd - rangeStart), client.voidPromise());
        }
        rangeStart = -1;
        rangeEnd = -1;
    }

    private static String[] dataRow(ByteBuf all, int offset, int length, java.nio.charset.Charset charset) {
        int at = offset + Frame.HEADER_LENGTH;
        int columns = all.getUnsignedShort(at);
        at += 2;
        String[] row = new String[columns];
        for (int i = 0; i < columns; i++) {
            int size = all.getInt(at);
            at += 4;
            if (size >= 0) {
                row[i] = all.toString(at, size, charset);
                at += size;
            }
        }
        return row;
    }

    /** A backend connection broke. The leader's loss ends the session; a follower's is a divergence. */
    void backendLost(BackendConnection lost, String reason) {
        ClusterRole role = ClientSession.roleOf(lost);
        if (backends.get(role) != lost) {
            return;
        }
        if (closed && role == leader) {
            // a closed session waited for the leader to end its transaction (endOnFollowerAfterLeader)
            backends.remove(role);
            lose(takeWaiting(role));
            return;
        }
        Unit ending = role == leader ? leaderEndInFlight() : null;
        if (ending != null) {
            // lost while it ended the transaction: unless that was a rollback, what it did is unknown, so the
            // follower rolls back and that is a divergence. Left in place, the closing session would wait for
            // its answer, and hold the write barrier, until the shutdown grace ran out.
            if (!UnitRules.rollsBack(ending)) {
                diverged(ending, List.of(), List.of(), "the leader was lost while it ended the transaction: "
                        + "its outcome is unknown, and the follower rolled back");
            }
            dropTwin(leader.other(), true);
            backends.remove(leader).close(); // what waited for its answer is released with the session, below
        }
        if (role == leader || (current != null && role == current.primary && !UnitRules.retryable(current)
                && !UnitRules.greenAnswersInstead(current)) || (status != 'I' && role == transactionPrimary)) {
            // the client's transaction was running there (a read-only one green served, say), or part of
            // the answer to the read it ran has reached the client: it is gone
            if (lost == leaderEndForwarded) {
                session.endedByLeader(lost.cluster().name()); // the client has the leader's own FATAL: not a second
            } else {
                session.failFromUnits(ErrorResponse.fatal("08006", reason));
            }
            return;
        }
        backends.remove(role);
        String endedWith = followerEndedWith;
        followerEndedWith = null;
        String said = followerFatal;
        followerFatal = null;
        if (twinMayBeRemade(role, endedWith)) {
            log.info("follower connection ended while it owed no write: a new one at the next unit session={} cluster={}"
                    + " sqlstate={}", session, role, endedWith);
            remakingTwin = true;
            lose(takeWaiting(role)); // a read it ran again for green: green's answer is the client's
            return;
        }
        String why = said == null ? reason : reason + " (it ended the connection with FATAL " + said + ")";
        log.warn("follower lost session={} cluster={} reason={}", session, role, why);
        twinFailedEpoch = migration.control().current().epoch();
        reportFollowerLost(role, why);
        abandonMirrors();
        List<Sink> waiting = takeWaiting(role);
        flushRange();
        lose(waiting);
        session.pendingDrained(); // a follower that did not take more held the client back: it no longer does
    }

    /**
     * Whether the follower's connection, just lost, can be replaced by a new twin at the next unit, as for
     * a session that predates {@code start}, with the follower still in sync: the server ended that backend
     * alone and said so ({@code pg_terminate_backend}, a shutdown, green's {@code idle_session_timeout}),
     * while the session was between transactions and the follower owed it no answer (but a read it ran again
     * for green, none of whose answer reached the client: green's answer is given), so no write of the
     * session is in doubt there. Whether the twin held what a new one cannot have (temporary tables, WITH
     * HOLD cursors, session advisory locks) the new twin's snapshot says: a session pinned once may have
     * released them since. A connection that just closed (a crash, the network) could have lost commits it
     * had confirmed, and stays a lost follower.
     */
    private boolean twinMayBeRemade(ClusterRole role, String endedWith) {
        // a read the follower ran again for green, none of whose answer reached the client, puts no write in doubt
        boolean onlyARetriedRead = current != null && current.primary == role && UnitRules.greenAnswersInstead(current)
                && sinks.get(role).size() == 1 && sinks.get(role).peek() == current.retrySink;
        // nor does a read it served, none of whose answer reached the client: blue answers it instead
        boolean onlyARetryableRead = current != null && current.primary == role && UnitRules.retryable(current)
                && sinks.get(role).size() == 1 && sinks.get(role).peek() == current.primarySink;
        boolean onlyARead = onlyARetriedRead || onlyARetryableRead;
        return ("57P01".equals(endedWith) || "57P05".equals(endedWith))
                && status == 'I' && !closed && creating == null
                && !reading.customSettingsUnfollowed()
                && !droppingTwin && !listenersMoving && (sinks.get(role).isEmpty() || onlyARead)
                && laneInFlight == 0 && laneHeld.isEmpty() && mirrors.isEmpty() && mirrorRunning == null
                && (current == null || onlyARead || (current.primary != role && current.secondary != role));
    }

    /** Whether the ErrorResponse at {@code offset} of the batch is FATAL or PANIC. */
    private static boolean endsSession(FrameBatch batch, int offset, int length) {
        Frame frame = batch.frameAt(offset, length);
        try {
            return ErrorResponse.decode(frame).endsSession();
        } finally {
            frame.release();
        }
    }

    /**
     * The client asked to cancel: the backend running the current unit, if any, to send it to. A read
     * green serves that ends cancelled is the client's answer, not a failure to retry on blue. A wrapped
     * write the follower is running (the leader's side done, not committed) is cancelled there, and then
     * on both ({@link #cancelOnBoth}).
     */
    BackendConnection cancelRunning() {
        return cancelRunning(false);
    }

    /**
     * {@link #cancelRunning()}, for a cancel the client sent ({@code fromClient}): one that comes too late for the
     * statement is counted.
     */
    BackendConnection cancelRunning(boolean fromClient) {
        if (current == null) {
            cancelWaiting();
            return null;
        }
        if (current.greenRead != GreenRead.IN_TIME && current.primary == ClusterRole.GREEN) {
            current.cancelled = true;
            return null; // the proxy has cancelled it there itself and answers it: a second cancel could hit what follows
        }
        if (current.afterDraws != null) {
            if (fromClient) {
                stats.cancelTooLate();
            }
            return null; // (see Unit#afterDraws)
        }
        if (current.followerPart == FollowerPart.WRAPPED && current.generated != null && current.generated.any()) {
            // the follower takes what the leader made up: a draw under a lock of its own, cancelled halfway, would keep
            // the lock and a lowered sequence, and a cancel that hit the proxy's set_config would fail the statement with
            // another error than a cancel's (a divergence); the leader is done with the statement, so the cancel comes too
            // late, as on a server
            if (fromClient) {
                stats.cancelTooLate();
            }
            return null;
        }
        if (current.followerPart == FollowerPart.WRAPPED) {
            current.cancelled = true;
            current.cancelledOnFollower = true;
            return backends.get(current.secondary);
        }
        if (current.heldForCommits) {
            current.cancelPending = true; // sent once the unit's request is, and next in line (see sendStarted)
            return null;
        }
        ArrayDeque<Sink> queue = sinks.get(current.primary);
        Sink head = queue.peek();
        if (head != null && current.primarySink != null && head != current.primarySink
                && head.mode != Mode.FORWARD && head.mode != Mode.FORWARD_AFTER_DATA && queue.contains(current.primarySink)) {
            // the cluster still answers the proxy's own requests sent before the unit (a named Parse it had to
            // learn, the BEGIN of a wrapped write): a cancel now would hit those, so it waits for the unit's turn
            current.cancelPending = true;
            return null;
        }
        current.cancelled = true;
        return backends.get(current.primary);
    }

    /**
     * A cancel that finds no unit running, while the client's next one waits whole in the queue: for the write
     * barrier to reopen, for its twin to be made, or for the session's channels to move. To the client that unit
     * is running, and a cancel is meant for it: it is answered as the server answers a cancelled statement
     * (57014, then ReadyForQuery), and never runs. Before, the cancel was dropped and the unit ran once the wait
     * was over: a write the application had cancelled, through a query timeout say, committed. A unit whose Sync
     * has not arrived yet is left to run, as before: the cancel cannot be answered before it.
     */
    private void cancelWaiting() {
        ArrayDeque<Frame> pending = session.pending();
        if (closed || status != 'I' || readyOwed || readyAtSync != 0 || pending.isEmpty()
                || !session.answerCancelledWaitingUnit(ReadyForQuery.of(status))) {
            return;
        }
        cancelledWhileWaiting = true;
        leaveBarrierIfCancelledAndIdle();
    }

    private void leaveBarrierIfCancelledAndIdle() {
        if (cancelledWhileWaiting && !closed && isIdle() && !readyOwed && session.pending().isEmpty()) {
            session.unitsIdle();
        }
    }

    /**
     * Sends the cancel the client asked for while the cluster still answered the proxy's own requests, now
     * that the unit's request is next. Sent right after the answer before it, it can reach the server before
     * the backend has read the request, and a backend between requests ignores a cancel: while the unit's
     * answer has neither failed nor ended a little after the server confirmed the cancel, it is sent again,
     * unless the unit is still open to more of the client's requests (a Flush opened it). Until each is
     * confirmed nothing else is sent to that backend ({@link BackendConnection#cancel}), so none can land on
     * what follows the unit.
     */
    private void cancelUntilAnswered(Unit unit, ClusterRole role, int resends) {
        BackendConnection backend = backends.get(role);
        if (backend == null) {
            return;
        }
        backend.cancel(confirmed -> {
            if (confirmed && resends > 0) {
                client.eventLoop().schedule(() -> {
                    // a unit a Flush opened takes more of the client's requests: a resend could cancel one of those
                    if (!closed && current == unit && !unit.open && backends.get(role) == backend
                            && sinks.get(role).peek() == unit.primarySink && !unit.primarySink.error) {
                        cancelUntilAnswered(unit, role, resends - 1);
                    }
                }, DEFERRED_CANCEL_RESEND_MILLIS, TimeUnit.MILLISECONDS);
            }
        });
    }

    /**
     * Whether the twins take more: while the leader does not (slower than the client sending it COPY data),
     * or a synchronous follower does not (behind on a long transaction's statements, each kept here until it
     * answers), the client is not read, or what it sends would pile up here. A follower in shadow mode does not
     * count: its queue has bounds of its own, and it must not slow blue's clients.
     */
    boolean writable() {
        for (BackendConnection backend : backends.values()) {
            if (gatesReading(backend) && !backend.isWritable()) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code backend}'s writability says when to read the client ({@link #writable}). */
    boolean gatesReading(BackendConnection backend) {
        return backend == backends.get(leader) || (backend == backends.get(leader.other())
                && state != null && state.followerWrites() == FollowerWrites.SYNC);
    }

    /**
     * A twin's writability changed. The lane holds a transaction's statements back unflushed, which counts
     * against Netty's write limit (a large batch passes it): a follower that turns unwritable with statements
     * held is sent them, after the write under way, or the client, no longer read, would never send the COMMIT
     * that flushes them.
     */
    void backendWritabilityChanged(BackendConnection backend, boolean writable) {
        if (!writable && !laneHeld.isEmpty() && backend == backends.get(leader.other())) {
            client.eventLoop().execute(() -> {
                if (!closed && !laneHeld.isEmpty()) {
                    flushLane();
                }
            });
        }
    }

    void setAutoRead(boolean autoRead) {
        backends.values().forEach(b -> b.setAutoRead(autoRead));
        if (readingPaused && autoRead) {
            followerAnsweredNanos = System.nanoTime(); // the follower's time is counted again from now
        }
        readingPaused = !autoRead;
    }

    /**
     * Releases everything the session still holds; the backends are closed by the session. A follower left
     * to finish the session's last COMMIT gets {@code drainDeadline} to answer it; after that it counts as
     * lost (a divergence) and is closed, so that a COMMIT green never answers cannot hold the write
     * barrier for good.
     */
    void close(Duration drainDeadline) {
        if (closed) {
            return; // the session closes once, however many ways it learns of it
        }
        closed = true;
        settledIfSo(); // a routing change waiting for this session to follow it need not
        leaderHoldGeneration++; // a unit held for other sessions' requests goes with the session: nothing to give up
        giveBackTickets(current); // nor do the writes sent meanwhile wait for its COMMIT, or COMMITs for its write
        stopWatchingFollower();
        stopGreenReadTimer();
        stopKeepAlive();
        statements.release();
        this.drainDeadline = drainDeadline;
        Unit ending = leaderEndInFlight();
        // a keep-alive Sync the leader answers before the end: its answer must not be taken for the end's
        boolean keepAliveAhead = ending != null && leaderKeepAliveAhead();
        long endTicket = 0;
        OutcomeRecorder endSoFar = null;
        if (ending != null) {
            // the leader's error may have come in a read of its own, before the ReadyForQuery the session waits for
            Sink inFlight = onlyLeaderRequest();
            ending.leaderFailedBeforeClose = inFlight.error;
            ending.leaderSqlStateBeforeClose = inFlight.firstSqlState;
            // its answer is still read (endOnFollowerAfterLeader): other sessions' writes held for this COMMIT wait
            // for it, and for the number it gets there, as when the client stays
            endTicket = inFlight.leaderCommit;
            inFlight.leaderCommit = 0;
            endSoFar = inFlight.recorder; // what the leader has answered of the unit: the rest is recorded after it
        } else if (leftInTheMiddleOfAnEnd()) {
            diverged(current, List.of(), List.of(), "the client left in the middle of a unit that ends a transaction "
                    + "(before its Sync): what the leader committed is not known, and the follower rolled back");
        }
        // the leader ended the unit the client waited for (committed it), and the follower runs it now: its
        // outcome is still to be compared
        Unit finishing = current != null && current.followerPart == FollowerPart.AFTER_LEADER && current != ending
                && current.secondary == leader.other() && state != null
                && state.followerWrites() == FollowerWrites.SYNC ? current : null;
        if (current != null && current != ending) {
            current.release();
        }
        current = null;
        ClusterRole follower = leader.other();
        BackendConnection mirror = backends.get(follower);
        boolean shadowWrites = state != null && state.followerWrites() == FollowerWrites.ASYNC
                && (mirrorRunning != null || !mirrors.isEmpty());
        // the client has the leader's COMMIT; the follower's is still running: a failure there is a divergence (a
        // COMMIT AND CHAIN, or a COMMIT and a BEGIN in one unit, left the session in a next transaction, which the
        // leader rolls back now: what the lane has of it behind the commit is settled, not compared)
        boolean committing = laneInFlight > 0 && (status == 'I' || settleBehindLastCommit());
        followerFinishingAtClose = finishing != null && mirror != null;
        boolean drain = mirror != null && (shadowWrites || committing || ending != null || finishing != null);
        if (!shadowWrites) {
            abandonMirrors();
        }
        for (Map.Entry<ClusterRole, ArrayDeque<Sink>> entry : sinks.entrySet()) {
            if (drain && entry.getKey() == follower) {
                continue;
            }
            for (Sink sink : entry.getValue()) {
                if (sink.held != null) {
                    sink.held.forEach(Frame::release);
                }
                if (sink.owned != null) {
                    sink.owned.release();
                }
                commits.followerEnded(sink.commit); // no other session waits for a follower COMMIT never to come
                settle(sink); // nor for an answer this session will not read
            }
            entry.getValue().clear();
        }
        List<BackendConnection> closing = new ArrayList<>(backends.values());
        BackendConnection leaderConnection = backends.get(leader);
        backends.clear();
        if (ending != null) {
            closing.remove(leaderConnection);
            backends.put(leader, leaderConnection);
            if (keepAliveAhead) {
                Sink sync = new Sink(Mode.DISCARD, answer -> { });
                sync.keepAlive = true;
                sinks.get(leader).add(sync);
            }
            endOnFollowerAfterLeader(ending, endTicket, endSoFar);
        }
        if (readingPaused) {
            // the client no longer reads anything: what the clusters still answer is the proxy's to read
            backends.values().forEach(b -> b.setAutoRead(true));
            if (drain) {
                mirror.setAutoRead(true);
            }
            readingPaused = false;
        }
        if (drain) {
            // the follower finishes what this session left it, then logs off
            closing.remove(mirror);
            backends.put(follower, mirror);
            draining = true;
            if (committing || shadowWrites || (ending != null && !UnitRules.longOnItsOwn(ending))) {
                drainOverdueIn(mirror, drainDeadline.toNanos());
            } else if (finishing != null) {
                drainOverdueIn(mirror, drainDeadline.toNanos() + finishing.leaderNanos);
            }
            // a unit that commits on its own (a CALL, CREATE INDEX CONCURRENTLY) may take the leader a long time,
            // as it would with the client there: the follower's deadline starts once it is sent its part
        }
        closing.forEach(BackendConnection::close);
    }

    /**
     * For a session closing in a transaction: whether a lane request still in flight holds a commit the leader has
     * made (a COMMIT AND CHAIN; a COMMIT and a BEGIN in one unit), which the follower must then finish. What the
     * lane has behind the last such request is of the transaction the leader rolls back now: marked so, and what
     * the lane still holds of it is no longer awaited (the follower's log-off sends it ahead of the Terminate, and
     * the follower rolls it back as it ends).
     */
    private boolean settleBehindLastCommit() {
        ArrayDeque<Sink> lane = sinks.get(leader.other());
        Sink last = null;
        for (Sink sink : lane) {
            if (sink.commit != 0) {
                last = sink;
            }
        }
        if (last == null) {
            return false;
        }
        boolean behind = false;
        for (Iterator<Sink> it = lane.iterator(); it.hasNext(); ) {
            Sink sink = it.next();
            if (behind && laneHeld.remove(sink)) {
                it.remove();
                laneInFlight--;
                sink.owned.release();
            } else if (behind) {
                sink.leaderRolledBack = true;
            }
            behind |= sink == last;
        }
        return true;
    }

    /**
     * Gives the closed session's leader and follower {@code nanos} to finish what it left them; then what is
     * still running counts as lost. Not given up when the follower is done first: the leader's answer is
     * then still awaited, and its connection open.
     */
    private void drainOverdueIn(BackendConnection mirror, long nanos) {
        ScheduledFuture<?> overdue = client.eventLoop().schedule(() -> drainOverdue(mirror, Duration.ofNanos(nanos)),
                nanos, TimeUnit.NANOSECONDS);
        mirror.whenClosed(() -> {
            if (!backends.containsKey(leader)) {
                overdue.cancel(false);
            }
        });
    }

    /**
     * The client left while a unit that ends a transaction still waited for its Sync (opened by a Flush, or
     * taking the client's messages up to the Sync after an error): the leader may have run the COMMIT, and
     * cannot answer for it without the Sync, so the outcome is not known. Not a unit nothing commits in.
     */
    private boolean leftInTheMiddleOfAnEnd() {
        Unit unit = current;
        if (unit == null || unit.heldForCommits || !(unit.open || unit.skipping) || unit.copyIn || unit.primary != leader
                || unit.secondary != leader.other() || !backends.containsKey(unit.secondary) || state == null
                || state.followerWrites() != FollowerWrites.SYNC) {
            return false;
        }
        Classification c = unit.classification;
        if (!(c.has(Trait.TRANSACTION_END) && !c.has(Trait.ROLLBACK)) && !UnitRules.runsOnFollowerWhateverTheOutcome(unit)) {
            return false; // (a CALL inside a transaction block commits nothing on its own)
        }
        if (unit.primarySink != null && unit.primarySink.error && unit.primarySink.recorder != null) {
            // the leader failed first and skips the rest: only a COMMIT answered before that may stand
            List<StatementOutcome> outcomes = unit.primarySink.recorder.outcomes();
            return UnitRules.committedBefore(outcomes, UnitRules.firstFailed(outcomes));
        }
        return true;
    }

    /**
     * The unit whose end of transaction the leader is running while the client leaves: a wrapped write's
     * COMMIT, the client's own COMMIT (ROLLBACK, END) once the follower has run everything before it, or
     * a unit that commits on its own outside a transaction block and that the follower runs after the
     * leader (a CALL, DO, VACUUM, CREATE INDEX CONCURRENTLY). Null when there is none, or when anything
     * else is outstanding on the leader.
     */
    private Unit leaderEndInFlight() {
        Unit unit = current;
        if (unit == null || unit.primary != leader || unit.secondary != leader.other() || state == null
                || state.followerWrites() != FollowerWrites.SYNC
                || !backends.containsKey(leader) || !backends.containsKey(unit.secondary)) {
            return null;
        }
        if (unit.open || unit.skipping || unit.copyIn) {
            return null; // the leader answers nothing more without the client's Sync or CopyDone
        }
        Sink sink = onlyLeaderRequest(); // (a keep-alive Sync ahead of it is answered first, and changes nothing)
        if (sink == null) {
            return null;
        }
        boolean wrappedCommit = sink.mode == Mode.COMMIT;
        // the client's own end of transaction, or a unit that commits on its own unwrapped (a CALL or DO whose
        // procedure may commit, VACUUM, CREATE INDEX CONCURRENTLY): the follower has not run it yet
        // (the lane may still hold the transaction's earlier units where a COMMIT came after a Flush: they reach
        // the follower first, in order)
        // (or a statement the proxy cannot read that may be a COMMIT: the leader's answer tells, see
        // numberedWhenAnswered; what such a unit did when the leader fails it is not known: a divergence, as for any
        // unit of several statements that failed there)
        boolean clientsEnd = sink == unit.primarySink
                && (unit.classification.has(Trait.TRANSACTION_END) || (unit.unordered && unit.statusBefore == 'I')
                        || unit.unreadMayCommit);
        return wrappedCommit || clientsEnd ? unit : null;
    }

    /**
     * The client left while the leader ran {@code unit}'s end of transaction. The leader is left to answer;
     * then the follower ends its transaction the same way (the unit's own frames, or the COMMIT or ROLLBACK
     * of a write the proxy wrapped in a transaction), and both log off. Closing at once would roll the
     * follower back while the leader commits, or never run a CALL there that the leader ran: a write lost
     * on the follower that nobody would hear of. A leader answer that never comes leaves its outcome
     * unknown: that is a divergence, and the follower rolls back; unless the unit could only roll back.
     */
    private void endOnFollowerAfterLeader(Unit unit, long leaderCommitTicket, OutcomeRecorder answeredSoFar) {
        ClusterRole follower = unit.secondary;
        laneInFlight++; // the follower's end, still to be sent: keeps the session's write unit (and pass) open
        Sink leaderEnd = new Sink(Mode.DISCARD, answer -> {
            BackendConnection done = backends.remove(leader);
            if (done != null) {
                done.close();
            }
            if (answer.lost || !backends.containsKey(follower)) {
                laneInFlight--;
                if (backends.containsKey(follower)) {
                    if (!UnitRules.rollsBack(unit)) {
                        diverged(unit, List.of(), List.of(), "the client left while the leader ended the transaction, "
                                + "and the leader's answer was lost: the follower rolled back");
                    }
                    dropTwin(follower, true);
                }
                unit.release();
                return;
            }
            // what the unit saw of other sessions' commits on the leader, the follower's copy is to see too (a COMMIT
            // PREPARED finds the PREPARE TRANSACTION there), as when its client stays (see primaryDone)
            followerMustHave = Math.max(followerMustHave, unit.commitsSeen);
            if (UnitRules.longOnItsOwn(unit)) {
                // the follower's part (the unit again, or the end of a transaction) takes about as long as the
                // leader took over the unit
                drainOverdueIn(backends.get(follower), drainDeadline.toNanos() + System.nanoTime() - unit.startedNanos);
            }
            boolean leaderFailed = answer.error || unit.leaderFailedBeforeClose;
            String sqlState = answer.error ? answer.firstSqlState : unit.leaderSqlStateBeforeClose;
            // a CALL or DO that failed may have committed part of its work first: the follower runs it and must fail too
            boolean failureExpected = leaderFailed && UnitRules.followerRunsFailed(unit, sqlState);
            Sink followerEnd = new Sink(Mode.DISCARD, end -> {
                laneInFlight--;
                commits.followerEnded(end.commit);
                if (end.error != failureExpected || (end.lost && !droppingTwin)) {
                    diverged(unit, List.of(), List.of(), end.lost
                            ? "follower unreachable before it ended the transaction the leader ended"
                            : end.error ? "follower could not end the transaction the leader ended (SQLSTATE " + end.firstSqlState + ")"
                            : "follower succeeded where the leader failed (SQLSTATE " + sqlState + ")");
                }
                laneDone();
            });
            if (failureExpected) {
                replayOnFollower(unit, follower, followerEnd);
                return;
            }
            boolean leaderRolledBack = leaderFailed || unit.statusBefore == 'E';
            // the proxy's COMMIT of a write it wrapped, unless the client's own COMMIT ended that transaction
            boolean proxysEnd = unit.wrap && !unit.clientEndsWrap;
            // numbered as when its client stays: writes that saw it on the leader wait for it on the follower
            boolean numbered = !leaderRolledBack && (proxysEnd || UnitRules.numberedWhenAnswered(unit, answer));
            followerEnd.commit = numbered ? commits.leaderCommitted() : 0;
            if (!proxysEnd && leaderRolledBack && unit.classification.statementCount() != 1) {
                // the unit went on past what rolled the leader's transaction back, or failed part-way: what
                // stands on the leader is not known here, so neither rolling the follower back nor replaying
                // the unit can be trusted to match it
                laneInFlight--;
                diverged(unit, List.of(), List.of(), "the client left while the leader ended the transaction, "
                        + "in a unit of several statements that did not all commit there: the follower rolled back");
                dropTwin(follower, true);
                unit.release();
                return;
            }
            if (proxysEnd || leaderRolledBack) {
                // the transaction the leader ended: committed, or rolled back because it had failed or its end
                // failed (a deferred constraint, a serialization failure), which the follower's must not outdo
                send(follower, followerEnd, FrontendMessages.query(client.alloc(), leaderRolledBack ? "ROLLBACK" : "COMMIT"));
                flush(follower);
                unit.release();
            } else {
                replayOnFollower(unit, follower, followerEnd);
            }
        });
        leaderEnd.leaderCommit = leaderCommitTicket; // given back once the answer is in, and the commit numbered
        leaderEnd.recorder = answeredSoFar;
        sinks.get(leader).add(leaderEnd);
    }

    /** Sends the follower {@code unit}'s own frames, answered into {@code end}, and lets the unit go. */
    private void replayOnFollower(Unit unit, ClusterRole follower, Sink end) {
        BackendConnection twin = backends.get(follower);
        sinks.get(follower).add(end);
        for (Frame frame : unit.frames) {
            writeTo(twin, follower, frame, false);
        }
        flush(follower);
        unit.release();
    }

    private void drainOverdue(BackendConnection mirror, Duration deadline) {
        BackendConnection stillLeading = backends.get(leader);
        if (stillLeading != null) {
            backendLost(stillLeading, "no answer to the end of transaction of a session whose client had left, after "
                    + deadline.toMillis() + " ms");
            stillLeading.abandon();
        }
        if (backends.get(leader.other()) != mirror) {
            return;
        }
        backendLost(mirror, "no answer to what a session whose client had left still owed it (its COMMIT, shadow writes),"
                + " after " + deadline.toMillis() + " ms");
        mirror.abandon();
    }

    private void closeDrainedFollower() {
        BackendConnection done = backends.remove(leader.other());
        if (done != null) {
            done.close();
        }
    }

    /**
     * Runs {@code action} on the event loop once the follower's COMMIT this closed session left running (or a
     * unit the leader had ended and the follower still ran) is over: when that follower connection has
     * closed, whichever way (answered and logged off, lost, overdue, the proxy shutting down). At once when
     * there is none: queued shadow writes are not part of any unit.
     */
    void whenCommitDrained(Runnable action) {
        // shadow mode runs no lane: requests still in flight on it are the last transaction's end
        whenFollowerClosed(draining && (laneInFlight > 0 || followerFinishingAtClose), action);
    }

    /**
     * Runs {@code action} once the follower this closed session left working (the end of its last
     * transaction, queued shadow writes) is done and closed, whichever way; at once when there is none.
     */
    void whenDrained(Runnable action) {
        whenFollowerClosed(draining, action);
    }

    private void whenFollowerClosed(boolean waits, Runnable action) {
        BackendConnection follower = waits ? backends.get(leader.other()) : null;
        if (follower == null) {
            action.run();
        } else {
            follower.whenClosed(action);
        }
    }

    /** Whether the session, though closed, still has work running on the follower. */
    boolean draining() {
        return draining && !backends.isEmpty();
    }
}
