package dev.bluegreen.proxy.session;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Executor;

/**
 * The commits the leader has made whose follower has not yet made them, every session's on this instance.
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
 * <p>That covers every commit made before the write was sent: a client told of its commit, a worker woken by
 * its {@code NOTIFY}, another session that read its rows. Not covered: a commit the leader made while the write
 * ran there, which the write may or may not have seen (waiting for it would have the follower's statements see
 * what the leader's may not have), one made through another proxy instance, and what the follower sees that
 * the leader did not (a commit landing on the follower after the leader ran the write, before the follower
 * did).
 *
 * <p>Thread-safe: sessions on every event loop share it. Each method holds the monitor for a few comparisons.
 */
final class FollowerCommits {

    private record Waiter(long upTo, Executor executor, Runnable then) { }

    /** The last number given to a leader's commit. */
    private long heard;
    private final TreeSet<Long> pending = new TreeSet<>();
    private final List<Waiter> waiters = new ArrayList<>();

    /** The number of the last commit the leader has been heard to make. */
    synchronized long heard() {
        return heard;
    }

    /** The leader has answered a {@code COMMIT} whose follower {@code COMMIT} is to follow: its number. */
    synchronized long leaderCommitted() {
        heard++;
        pending.add(heard);
        return heard;
    }

    /**
     * The follower has answered the {@code COMMIT} numbered {@code commit}, whatever it said, or was lost before, or
     * the session let it go unanswered. Repeats, and 0, change nothing.
     */
    void followerEnded(long commit) {
        if (commit <= 0) {
            return; // no commit: a sink that settles none
        }
        List<Waiter> ready;
        synchronized (this) {
            if (!pending.remove(commit)) {
                return;
            }
            ready = takeReady();
        }
        ready.forEach(waiter -> waiter.executor().execute(waiter.then()));
    }

    /** Whether every commit numbered {@code upTo} or less has landed on its follower. */
    synchronized boolean landed(long upTo) {
        return pending.isEmpty() || pending.first() > upTo;
    }

    /** Runs {@code then} on {@code executor} once {@link #landed landed(upTo)}, at once if it has. */
    void await(long upTo, Executor executor, Runnable then) {
        synchronized (this) {
            if (!landed(upTo)) {
                waiters.add(new Waiter(upTo, executor, then));
                return;
            }
        }
        executor.execute(then);
    }

    /**
     * Stops waiting for the commits numbered {@code upTo} or less that have not landed: one follower took too long,
     * and the sessions behind it go on without the order it would have given. Returns how many there were.
     */
    int giveUp(long upTo) {
        List<Waiter> ready;
        int dropped;
        synchronized (this) {
            var overdue = pending.headSet(upTo, true);
            dropped = overdue.size();
            overdue.clear();
            ready = takeReady();
        }
        ready.forEach(waiter -> waiter.executor().execute(waiter.then()));
        return dropped;
    }

    /** How many commits the followers still owe, for tests and diagnostics. */
    synchronized int pending() {
        return pending.size();
    }

    private List<Waiter> takeReady() {
        if (waiters.isEmpty()) {
            return List.of();
        }
        long first = pending.isEmpty() ? Long.MAX_VALUE : pending.first();
        List<Waiter> ready = new ArrayList<>();
        waiters.removeIf(waiter -> {
            if (waiter.upTo() < first) {
                ready.add(waiter);
                return true;
            }
            return false;
        });
        return ready;
    }
}
