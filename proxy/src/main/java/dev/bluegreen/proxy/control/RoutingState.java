package dev.bluegreen.proxy.control;

import dev.bluegreen.proxy.routing.ClusterRole;

/**
 * The routing state: a small immutable value, replaced whole on every change with a higher epoch.
 * Sessions read the current value at each unit boundary; nothing mutates it in place.
 *
 * @param weight         0–100, the share of read units green serves
 * @param followerInSync the follower has executed every write the leader committed since dual-write began
 * @param finalized      dual-write was switched off after cutover; blue is retired
 * @param unverifiedSince the epoch from which a {@code bgctl verify} is owed, 0 when none is: a proxy stopped
 *                        without shutting down while dual-write was on, and a follower COMMIT it had under way
 *                        may be lost. Until a verify finds the clusters alike, the follower serves no reads and
 *                        does not become the writer (cutover, rollback after cutover) but by force
 */
public record RoutingState(long epoch, ClusterRole leader, FollowerWrites followerWrites, int weight,
                           boolean followerInSync, boolean frozen, boolean finalized, long unverifiedSince) {

    public RoutingState {
        if (weight < 0 || weight > 100) {
            throw new IllegalArgumentException("weight must be 0..100, was " + weight);
        }
        if (unverifiedSince < 0 || unverifiedSince > epoch) {
            throw new IllegalArgumentException("unverifiedSince must be 0.." + epoch + ", was " + unverifiedSince);
        }
    }

    /** A state that owes no verify. */
    public RoutingState(long epoch, ClusterRole leader, FollowerWrites followerWrites, int weight,
                        boolean followerInSync, boolean frozen, boolean finalized) {
        this(epoch, leader, followerWrites, weight, followerInSync, frozen, finalized, 0);
    }

    /** Blue alone, as a proxy starts with no stored state. */
    public static RoutingState initial() {
        return new RoutingState(1, ClusterRole.BLUE, FollowerWrites.OFF, 0, false, false, false);
    }

    public Phase phase() {
        if (followerWrites == FollowerWrites.OFF) {
            return leader == ClusterRole.BLUE ? Phase.BLUE : Phase.GREEN;
        }
        return leader == ClusterRole.BLUE ? Phase.DUAL : Phase.CUTOVER;
    }

    public ClusterRole follower() {
        return leader == ClusterRole.BLUE ? ClusterRole.GREEN : ClusterRole.BLUE;
    }

    public boolean dualWrite() {
        return followerWrites != FollowerWrites.OFF;
    }

    /** Who serves reads at this weight: only a follower in sync may (or the leader, always). */
    public boolean followerMayServeReads() {
        return followerWrites == FollowerWrites.SYNC && followerInSync;
    }

    /** Whether a verify is owed (see {@code unverifiedSince}). */
    public boolean owesVerify() {
        return unverifiedSince > 0;
    }

    /** The next state, still owing the verify this one owes, if any. */
    RoutingState next(ClusterRole leader, FollowerWrites writes, int weight, boolean inSync, boolean frozen, boolean finalized) {
        return next(leader, writes, weight, inSync, frozen, finalized, unverifiedSince);
    }

    RoutingState next(ClusterRole leader, FollowerWrites writes, int weight, boolean inSync, boolean frozen, boolean finalized,
                      long unverifiedSince) {
        return new RoutingState(epoch + 1, leader, writes, weight, inSync, frozen, finalized, unverifiedSince);
    }
}
