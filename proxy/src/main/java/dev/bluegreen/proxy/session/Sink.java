package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.dualwrite.OutcomeRecorder;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.TypeOidTranslation;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;

/**
 * How the answer to one request a session in units mode ({@link Units}) sent a backend is consumed, up to and including
 * its ReadyForQuery. Owned by the session's event loop.
 */
final class Sink {

    /** What becomes of the answer. */
    enum Mode { FORWARD, FORWARD_AFTER_DATA, RECORD, DISCARD, COMMIT, ROLLBACK, COLLECT }

    final Mode mode;
    final Consumer<Sink> done;
    OutcomeRecorder recorder;
    List<String[]> rows;
    List<Frame> held;
    int heldBytes;
    boolean error;
    String firstSqlState;
    byte status = 'I';
    boolean lost;
    /** A retryable read failed before any byte reached the client: the rest of its answer is dropped. */
    boolean suppressed;
    /**
     * Some of this answer has gone to the client: a read can then no longer be answered from elsewhere
     * (run again on blue, or green's answer given in place of blue's).
     */
    boolean forwarded;
    /** The unit whose frames this answer's callback releases: a session closing first releases them. */
    Unit owned;
    /**
     * The answer is the client's, from the cluster whose type OIDs the client does not hold: its descriptions and rows
     * are given the client's ({@link TypeOidTranslation#answer}); null for most.
     */
    TypeOidTranslation.Types answerTypes;
    /** The proxy put the unnamed statement's Parse ahead of the unit: its ParseComplete is not the client's. */
    boolean swallowParseComplete;
    /** ParseComplete and CloseComplete messages in the answer: how many of the unit's Parse and Close ran. */
    int parsesDone;
    int closesDone;
    /** Messages in the answer that complete an extended-protocol request (see {@link Units#completes}). */
    int requestsDone;
    /**
     * A request to the follower: when it left (a lane request: when it was queued, until the lane is
     * flushed), and how long the leader took over the same work, which the follower is allowed on top of
     * the follower timeout.
     */
    long sentNanos;
    long leaderNanos;
    /** The leader's commit ({@link FollowerCommits}) that this follower answer settles; 0: none. */
    long commit;
    /**
     * A request to the leader that may commit: its ticket ({@link FollowerCommits#leaderCommitSent}), given
     * back once its answer has been dealt with, or the session has let it go; 0: none.
     */
    long leaderCommit;
    /**
     * A write's run on the follower, the leader having answered it: its ticket
     * ({@link FollowerCommits#followerRunStarted}), which other sessions' follower COMMITs wait for; 0: none.
     */
    long followerRun;
    /**
     * A wrapped write sent to the leader: its ticket ({@link FollowerCommits#leaderWriteSent}), which other
     * sessions' COMMITs wait for; 0: none.
     */
    long leaderWrite;
    /** An insert's turn among those into its table ({@link LeaderInserts}), given back once answered; or null. */
    LeaderInserts.Ticket drawTurn;
    /**
     * A lane request behind the last commit of a session whose client has gone (a COMMIT AND CHAIN's next
     * transaction): the leader rolled it back when the session closed, so what the follower makes of it is not
     * compared, nor is its loss a divergence. The follower rolls it back too as it logs off.
     */
    boolean leaderRolledBack;
    /** A lone Sync the proxy sent the leader so that its transaction, waiting on the follower, does not idle out. */
    boolean keepAlive;
    /** How {@link Mode#COLLECT} reads the rows' text: a session snapshot's in the session's own bytes. */
    Charset rowCharset = StandardCharsets.UTF_8;

    Sink(Mode mode, Consumer<Sink> done) {
        this.mode = mode;
        this.done = done;
    }

    boolean failedBeforeData() {
        return (lost && !forwarded) || suppressed;
    }
}
