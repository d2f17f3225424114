package dev.bluegreen.proxy.control;

import dev.bluegreen.proxy.routing.ClusterRole;

/**
 * The operator's commands as pure decisions over the routing state: each returns go (the next state,
 * and whether a write barrier must make the switch exact) or no-go with the reason. Nothing here
 * touches a socket; {@link RoutingControl} carries decisions out.
 */
public sealed interface Transition {

    /** Go: move to {@code next}; {@code needsBarrier} when the change alters who receives writes. */
    record Go(RoutingState next, boolean needsBarrier) implements Transition {}

    /** No-go, with the reason the operator sees. */
    record Refused(String reason) implements Transition {}

    /** What an operator does about green out of sync while blue leads (docs/dual-write.md). */
    String GREEN_START_OVER = "to start over, bgctl abort, make green a copy of blue again, then bgctl start";

    /** Shadow mode's writes are best effort: green may lack some, so sync dual-write starts from a fresh copy. */
    String SHADOW_TO_SYNC = "shadow mode is on (async dual-write: green may have missed writes and serves no reads);"
            + " for sync dual-write, bgctl abort, make green a copy of blue again, then bgctl start";

    static Transition start(RoutingState s) {
        if (s.finalized()) {
            return new Refused("the migration was finalized; blue is retired");
        }
        if (s.phase() == Phase.DUAL && s.followerWrites() == FollowerWrites.SYNC && !s.followerInSync()) {
            return new Refused("dual-write is already on (phase " + s.phase().label() + "), with green out of sync; " + GREEN_START_OVER);
        }
        if (s.leader() == ClusterRole.BLUE && s.followerWrites() == FollowerWrites.ASYNC) {
            return new Refused(SHADOW_TO_SYNC);
        }
        if (s.phase() != Phase.BLUE) {
            return new Refused("dual-write is already on (phase " + s.phase().label() + ")");
        }
        return new Go(s.next(ClusterRole.BLUE, FollowerWrites.SYNC, 0, true, s.frozen(), false, 0), true);
    }

    /** Shadow mode: green receives writes best effort and may never serve reads. */
    static Transition startShadow(RoutingState s) {
        if (s.phase() != Phase.BLUE || s.finalized()) {
            return new Refused(s.followerWrites() == FollowerWrites.ASYNC && s.leader() == ClusterRole.BLUE
                    ? "shadow mode is on already" : "shadow mode starts from blue alone (phase " + s.phase().label() + ")");
        }
        return new Go(s.next(ClusterRole.BLUE, FollowerWrites.ASYNC, 0, false, s.frozen(), false, 0), false);
    }

    static Transition setWeight(RoutingState s, int weight) {
        if (weight < 0 || weight > 100) {
            return new Refused("weight must be between 0 and 100");
        }
        if (s.frozen()) {
            return new Refused("the state is frozen; unfreeze first");
        }
        if (weight > 0 && s.leader() == ClusterRole.BLUE && !s.followerMayServeReads()) {
            return new Refused(s.followerWrites() == FollowerWrites.ASYNC ? SHADOW_TO_SYNC
                    : s.followerWrites() != FollowerWrites.SYNC
                    ? "green may serve reads only with sync dual-write on (start first)"
                    : "green is out of sync: it missed writes and must not serve reads; " + GREEN_START_OVER);
        }
        if (s.leader() == ClusterRole.GREEN && weight < 100 && !s.followerMayServeReads()) {
            return new Refused("blue is out of sync: it missed writes and must not serve reads");
        }
        boolean followerReads = s.leader() == ClusterRole.BLUE ? weight > 0 : weight < 100;
        if (followerReads && s.owesVerify()) {
            return new Refused(unverified(s, "serves reads"));
        }
        return new Go(s.next(s.leader(), s.followerWrites(), weight, s.followerInSync(), s.frozen(), s.finalized()), false);
    }

    /**
     * The follower serves no reads (weight 0 while blue leads, 100 after cutover), frozen or not: a safety
     * move, as a rollback is, after a stop that may have cut a follower's commit off.
     */
    static Transition followerServesNoReads(RoutingState s) {
        int weight = s.leader() == ClusterRole.BLUE ? 0 : 100;
        if (!s.dualWrite() || s.weight() == weight) {
            return new Refused("the follower serves no reads already");
        }
        return new Go(s.next(s.leader(), s.followerWrites(), weight, s.followerInSync(), s.frozen(), s.finalized()), false);
    }

    /** Everything back to blue. Instant while blue leads; giving leadership back needs the barrier. */
    static Transition rollback(RoutingState s, boolean force) {
        if (s.finalized() && !force) {
            return new Refused("the migration was finalized: blue no longer receives writes; use --force to roll back anyway");
        }
        boolean leaderChanges = s.leader() != ClusterRole.BLUE;
        if (leaderChanges && s.dualWrite() && !s.followerInSync() && !force) {
            return new Refused("blue is out of sync; rolling back would lose writes (use --force)");
        }
        if (leaderChanges && s.owesVerify() && !force) {
            return new Refused(unverified(s, "becomes the writer again") + ", or roll back with --force");
        }
        FollowerWrites writes = s.finalized() ? FollowerWrites.OFF : s.followerWrites();
        // after cutover green led, so as the new follower it holds every write
        boolean inSync = !s.finalized() && (leaderChanges || s.followerInSync());
        return new Go(s.next(ClusterRole.BLUE, writes, 0, inSync, s.frozen(), false), leaderChanges);
    }

    static Transition cutover(RoutingState s) {
        if (s.leader() != ClusterRole.BLUE || s.followerWrites() != FollowerWrites.SYNC) {
            return new Refused("cutover needs blue leading with sync dual-write (phase " + s.phase().label() + ")");
        }
        if (!s.followerInSync()) {
            return new Refused("green is out of sync");
        }
        if (s.weight() != 100) {
            return new Refused("cutover needs weight 100 (now " + s.weight() + ")");
        }
        if (s.frozen()) {
            return new Refused("the state is frozen; unfreeze first");
        }
        if (s.owesVerify()) {
            return new Refused(unverified(s, "becomes the writer"));
        }
        // the weight stays green's share: at 100 green serves every read, as the new leader should
        return new Go(s.next(ClusterRole.GREEN, FollowerWrites.SYNC, 100, true, false, false), true);
    }

    /** Dual-write off, green alone. Irreversible: blue stops receiving writes. */
    static Transition finalizeMigration(RoutingState s) {
        if (s.finalized()) {
            return new Refused("the migration is finalized already: green alone receives writes");
        }
        if (s.phase() != Phase.CUTOVER) {
            return new Refused("finalize follows cutover (phase " + s.phase().label() + ")");
        }
        return new Go(s.next(ClusterRole.GREEN, FollowerWrites.OFF, 100, false, s.frozen(), true, 0), true);
    }

    /** Abandon green while blue leads: dual-write off, weight 0. */
    static Transition abort(RoutingState s) {
        if (s.phase() != Phase.DUAL) {
            return new Refused("abort applies while blue leads with dual-write on (phase " + s.phase().label() + ")");
        }
        return new Go(s.next(ClusterRole.BLUE, FollowerWrites.OFF, 0, false, s.frozen(), false, 0), false);
    }

    /**
     * A proxy stopped without shutting down while dual-write was on: a follower COMMIT it had under way may be
     * lost, so a verify is owed from the next epoch on (see {@link RoutingState#unverifiedSince}), frozen or not.
     * One owed already is owed from then on instead: a verify whose snapshots came before this stop cannot pay it.
     */
    static Transition owesVerify(RoutingState s) {
        if (!s.dualWrite()) {
            return new Refused("dual-write is off: there is no follower to verify");
        }
        return new Go(s.next(s.leader(), s.followerWrites(), s.weight(), s.followerInSync(), s.frozen(), s.finalized(),
                s.epoch() + 1), false);
    }

    /**
     * A verify found the clusters alike, from snapshots taken at {@code checkedAt} (the epoch in force then): the
     * verify owed is paid if it was owed by then. One owed later (another stop without shutting down) stands.
     */
    static Transition verified(RoutingState s, long checkedAt) {
        if (!s.owesVerify()) {
            return new Refused("no verify is owed");
        }
        if (s.unverifiedSince() > checkedAt) {
            return new Refused("the verify read the clusters at epoch " + checkedAt + ", before the stop without shutting"
                    + " down that epoch " + s.unverifiedSince() + " owes a verify for; run it again");
        }
        return new Go(s.next(s.leader(), s.followerWrites(), s.weight(), s.followerInSync(), s.frozen(), s.finalized(), 0),
                false);
    }

    private static String unverified(RoutingState s, String what) {
        String follower = s.follower().name().toLowerCase(java.util.Locale.ROOT);
        return follower + " may lack a commit cut off when a proxy stopped without shutting down (epoch "
                + s.unverifiedSince() + "): it " + what + " only once bgctl verify has found the clusters alike";
    }

    /**
     * {@code follower} diverged or became unreachable: it may no longer serve reads until re-synced. Refused
     * when it no longer follows (its leadership is not undone by what it did as follower).
     */
    static Transition followerOutOfSync(RoutingState s, ClusterRole follower) {
        if (!s.dualWrite() || !s.followerInSync()) {
            return new Refused("the follower is not in sync already");
        }
        if (s.follower() != follower) {
            return new Refused(follower.name().toLowerCase(java.util.Locale.ROOT) + " leads now (epoch " + s.epoch() + ")");
        }
        int weight = s.leader() == ClusterRole.BLUE ? 0 : 100;
        return new Go(s.next(s.leader(), s.followerWrites(), weight, false, s.frozen(), s.finalized()), false);
    }

    /**
     * A change that is not the routing state's but belongs in its history: a rollout plan started,
     * paused, resumed or ended. The state is unchanged but for a new epoch, which makes the plan's change a
     * compare-and-set like any other.
     */
    static Transition record(RoutingState s) {
        return new Go(s.next(s.leader(), s.followerWrites(), s.weight(), s.followerInSync(), s.frozen(), s.finalized()),
                false);
    }

    static Transition freeze(RoutingState s, boolean frozen) {
        if (s.frozen() == frozen) {
            return new Refused(frozen ? "already frozen" : "not frozen");
        }
        return new Go(s.next(s.leader(), s.followerWrites(), s.weight(), s.followerInSync(), frozen, s.finalized()), false);
    }
}
