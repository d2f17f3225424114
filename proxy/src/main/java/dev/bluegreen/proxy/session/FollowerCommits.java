package dev.bluegreen.proxy.session;

import java.util.concurrent.Executor;

/**
 * The leader commits whose outcome some cluster has not yet caught up with, every session's on this instance:
 * those sent to the leader and not yet answered, and those the leader has made whose follower has not yet made
 * them.
 *
 * <p>The ordering rule (DESIGN §5) makes conflicting row locks reach the follower in the leader's order. It does
 * not order what a statement reads of rows it does not lock: an {@code UPDATE ... WHERE state = 'queued'} that
 * finds a row another session has just committed on the leader would find nothing on the follower when it runs
 * there before that session's follower {@code COMMIT} has landed (the row is new, or its old version does not
 * match), and the two clusters would part. So a commit is numbered when the leader's answer to it reaches the
 * proxy ({@link #leaderCommitted}) and stays pending until the follower has answered its own {@code COMMIT}, or
 * is lost ({@link #followerEnded}). A session notes the number reached so far when it sends one of its writes
 * to the leader ({@link #heard}): every commit up to it was visible to the write's statements there. What it
 * sends the follower after the leader's answer waits until every commit up to that number has landed there
 * ({@link #landed}, {@link #await}).
 *
 * <p>A commit the leader has made but not yet answered would escape that: the write may see it there, and its
 * follower would not wait for it. So every leader {@code COMMIT} gets a ticket when it is sent
 * ({@link #leaderCommitSent}) that it gives back once its answer has been dealt with
 * ({@link #leaderCommitAnswered}), numbered if it committed, and a session holds a write back from the leader
 * until the commits sent before it have answered ({@link #answered}, {@link #awaitAnswers}).
 *
 * <p>That covers every commit the leader made before the write was sent. The other direction: a write the leader
 * answered before another session's {@code COMMIT} was sent there did not see that commit, and its follower run
 * must not either. So a write run as a unit of its own on the follower once the leader has answered it takes a
 * ticket at that answer ({@link #followerRunStarted}), given back when the follower has answered it
 * ({@link #followerRunEnded}); a session sending a {@code COMMIT} to the leader notes the last ticket given
 * ({@link #followerRunsStarted}), and its follower {@code COMMIT} waits until those runs have ended
 * ({@link #runsEnded}, {@link #awaitRuns}).
 *
 * <p>What is left is the overlap: a {@code COMMIT} sent while a write is on its way to the leader or running
 * there, which the write may see there or not (only the leader knows). So such a write gets a ticket when it is
 * sent ({@link #leaderWriteSent}), given back once the leader has answered it and its follower run has its ticket
 * ({@link #leaderWriteAnswered}), and a {@code COMMIT} waits until the writes sent before it have answered
 * ({@link #writesAnswered}, {@link #awaitWrites}): they did not see it, and their follower runs go before its
 * follower {@code COMMIT}. Each side takes its ticket before it looks at the other's (a {@code COMMIT} as it begins
 * to wait, a write before it checks for {@code COMMIT}s in flight, keeping it while it waits for them), so that of a
 * write and a {@code COMMIT} that cross, at least one waits for the other. The wait is short and bounded
 * ({@code timeouts.commit_wait}): a write that waits for a row lock of the very transaction that commits never
 * answers before it, and then takes the row's new version, as the follower's run of it will (blocked behind the
 * same lock there, or after the same commit).
 *
 * <p>Not covered: a write still running on the leader when that bound runs out. One that waits for a row lock of
 * the committing transaction is fine as long as it takes the row's new version on both clusters, but one that
 * finds rows the transaction put in (a {@code DELETE} of a key it deleted and inserted again) may find them on the
 * follower only; one that runs longer than the bound, or that the leader is too busy to start within it, may see
 * the commit on one cluster and not the other. Nor are a commit made through another proxy instance, and the
 * statements of a transaction, which run on the follower at its end (a transaction's lane) and may there see a
 * commit the leader's run of them did not.
 *
 * <p>Thread-safe: sessions on every event loop share it. Each method holds a monitor for a few comparisons.
 */
final class FollowerCommits {

    /** Leader COMMITs sent and not yet answered, by ticket. */
    private final Outstanding onLeader = new Outstanding();
    /** Leader commits whose follower COMMIT has not answered, by number. */
    private final Outstanding onFollowers = new Outstanding();
    /** Writes the leader has answered whose follower run has not, by ticket. */
    private final Outstanding runsOnFollowers = new Outstanding();
    /** Writes sent to the leader whose follower run follows its answer, not yet answered there, by ticket. */
    private final Outstanding writesOnLeader = new Outstanding();

    /** The number of the last commit the leader has been heard to make. */
    long heard() {
        return onFollowers.last();
    }

    /** The leader has answered a {@code COMMIT} whose follower {@code COMMIT} is to follow: its number. */
    long leaderCommitted() {
        return onFollowers.add();
    }

    /**
     * The follower has answered the {@code COMMIT} numbered {@code commit}, whatever it said, or was lost before, or
     * the session let it go unanswered. Repeats, and 0, change nothing.
     */
    void followerEnded(long commit) {
        onFollowers.remove(commit);
    }

    /** Whether every commit numbered {@code upTo} or less has landed on its follower. */
    boolean landed(long upTo) {
        return onFollowers.doneUpTo(upTo);
    }

    /** Runs {@code then} on {@code executor} once {@link #landed landed(upTo)}, at once if it has. */
    void await(long upTo, Executor executor, Runnable then) {
        onFollowers.await(upTo, executor, then);
    }

    /**
     * Stops waiting for the commits numbered {@code upTo} or less that have not landed: one follower took too long,
     * and the sessions behind it go on without the order it would have given. Returns how many there were.
     */
    int giveUp(long upTo) {
        return onFollowers.forget(upTo);
    }

    /** How many commits the followers still owe, for tests and diagnostics. */
    int pending() {
        return onFollowers.size();
    }

    /** A {@code COMMIT} (or a unit that may commit) is about to go to the leader: its ticket. */
    long leaderCommitSent() {
        return onLeader.add();
    }

    /**
     * The leader's answer to the {@code COMMIT} with this ticket has been dealt with (numbered by
     * {@link #leaderCommitted} if it committed), or will never come. Repeats, and 0, change nothing.
     */
    void leaderCommitAnswered(long ticket) {
        onLeader.remove(ticket);
    }

    /** The ticket of the last {@code COMMIT} sent to the leader. */
    long leaderCommitsSent() {
        return onLeader.last();
    }

    /** Whether every leader {@code COMMIT} with a ticket up to {@code upTo} has answered. */
    boolean answered(long upTo) {
        return onLeader.doneUpTo(upTo);
    }

    /** Runs {@code then} on {@code executor} once {@link #answered answered(upTo)}, at once if so. */
    void awaitAnswers(long upTo, Executor executor, Runnable then) {
        onLeader.await(upTo, executor, then);
    }

    /**
     * Stops waiting for the leader {@code COMMIT}s with a ticket up to {@code upTo} that have not answered (one is
     * stuck, say behind a lock of the very session that waits for it). Returns how many there were.
     */
    int giveUpAnswers(long upTo) {
        return onLeader.forget(upTo);
    }

    /**
     * The leader has answered a write whose follower run is to follow now: its ticket, given back once the follower
     * has answered it, or was lost.
     */
    long followerRunStarted() {
        return runsOnFollowers.add();
    }

    /** The follower has answered the run with this ticket, or never will. Repeats, and 0, change nothing. */
    void followerRunEnded(long ticket) {
        runsOnFollowers.remove(ticket);
    }

    /** The ticket of the last write the leader has answered whose follower run was to follow. */
    long followerRunsStarted() {
        return runsOnFollowers.last();
    }

    /** Whether every follower run with a ticket up to {@code upTo} has been answered. */
    boolean runsEnded(long upTo) {
        return runsOnFollowers.doneUpTo(upTo);
    }

    /** Runs {@code then} on {@code executor} once {@link #runsEnded runsEnded(upTo)}, at once if so. */
    void awaitRuns(long upTo, Executor executor, Runnable then) {
        runsOnFollowers.await(upTo, executor, then);
    }

    /** Stops waiting for the follower runs with a ticket up to {@code upTo}. Returns how many there were. */
    int giveUpRuns(long upTo) {
        return runsOnFollowers.forget(upTo);
    }

    /** A write whose follower run is to follow the leader's answer goes to the leader: its ticket. */
    long leaderWriteSent() {
        return writesOnLeader.add();
    }

    /**
     * The leader has answered the write with this ticket and its follower run has its ticket, or the leader will
     * never answer it. Repeats, and 0, change nothing.
     */
    void leaderWriteAnswered(long ticket) {
        writesOnLeader.remove(ticket);
    }

    /** The ticket of the last such write sent to the leader. */
    long leaderWritesSent() {
        return writesOnLeader.last();
    }

    /** Whether every such write with a ticket up to {@code upTo} has been answered by the leader. */
    boolean writesAnswered(long upTo) {
        return writesOnLeader.doneUpTo(upTo);
    }

    /** Runs {@code then} on {@code executor} once {@link #writesAnswered writesAnswered(upTo)}, at once if so. */
    void awaitWrites(long upTo, Executor executor, Runnable then) {
        writesOnLeader.await(upTo, executor, then);
    }

    /**
     * Stops waiting for the writes with a ticket up to {@code upTo} the leader has not answered (one waits for a row
     * lock of the transaction that is to commit, say). Returns how many there were.
     */
    int giveUpWrites(long upTo) {
        return writesOnLeader.forget(upTo);
    }
}
