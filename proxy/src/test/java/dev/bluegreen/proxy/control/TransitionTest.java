package dev.bluegreen.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.routing.ClusterRole;
import org.junit.jupiter.api.Test;

/** The operator's journey as pure decisions: DESIGN §2's diagram, edge by edge. */
class TransitionTest {

    private static RoutingState go(Transition t) {
        assertThat(t).isInstanceOf(Transition.Go.class);
        return ((Transition.Go) t).next();
    }

    private static String refused(Transition t) {
        assertThat(t).isInstanceOf(Transition.Refused.class);
        return ((Transition.Refused) t).reason();
    }

    @Test
    void theWholeJourneyMovesThroughThePhasesWithRisingEpochs() {
        RoutingState blue = RoutingState.initial();
        RoutingState dual = go(Transition.start(blue));
        RoutingState half = go(Transition.setWeight(dual, 50));
        RoutingState all = go(Transition.setWeight(half, 100));
        RoutingState cutover = go(Transition.cutover(all));
        RoutingState green = go(Transition.finalizeMigration(cutover));

        assertThat(blue.phase()).isEqualTo(Phase.BLUE);
        assertThat(dual.phase()).isEqualTo(Phase.DUAL);
        assertThat(cutover.phase()).isEqualTo(Phase.CUTOVER);
        assertThat(cutover.leader()).isEqualTo(ClusterRole.GREEN);
        assertThat(green.phase()).isEqualTo(Phase.GREEN);
        assertThat(green.epoch()).isEqualTo(blue.epoch() + 5);
    }

    @Test
    void startAndCutoverNeedTheBarrierButWeightAndRollbackWhileBlueLeadsDoNot() {
        RoutingState dual = go(Transition.start(RoutingState.initial()));
        RoutingState all = go(Transition.setWeight(dual, 100));

        assertThat(((Transition.Go) Transition.start(RoutingState.initial())).needsBarrier()).isTrue();
        assertThat(((Transition.Go) Transition.setWeight(dual, 25)).needsBarrier()).isFalse();
        assertThat(((Transition.Go) Transition.rollback(all, false)).needsBarrier()).isFalse();
        assertThat(((Transition.Go) Transition.cutover(all)).needsBarrier()).isTrue();
        assertThat(((Transition.Go) Transition.rollback(go(Transition.cutover(all)), false)).needsBarrier()).isTrue();
    }

    @Test
    void aWeightAboveZeroNeedsSyncWritesAndAFollowerInSync() {
        assertThat(refused(Transition.setWeight(RoutingState.initial(), 5))).contains("sync dual-write");
        RoutingState shadow = go(Transition.startShadow(RoutingState.initial()));
        // in shadow mode green may have missed writes: sync dual-write starts over from a fresh copy
        assertThat(refused(Transition.setWeight(shadow, 5))).isEqualTo("shadow mode is on (async dual-write: green may"
                + " have missed writes and serves no reads); for sync dual-write, bgctl abort, make green a copy of blue"
                + " again, then bgctl start");
        assertThat(refused(Transition.start(shadow))).isEqualTo(Transition.SHADOW_TO_SYNC);
        assertThat(refused(Transition.startShadow(shadow))).isEqualTo("shadow mode is on already");
        assertThat(refused(Transition.start(go(Transition.start(RoutingState.initial())))))
                .isEqualTo("dual-write is already on (phase dual)");
        RoutingState diverged = go(Transition.followerOutOfSync(go(Transition.setWeight(go(Transition.start(RoutingState.initial())), 50)),
                ClusterRole.GREEN));
        assertThat(diverged.weight()).isZero();
        assertThat(refused(Transition.setWeight(diverged, 5))).contains("out of sync").contains("bgctl abort");
        assertThat(go(Transition.setWeight(diverged, 0)).weight()).isZero();
        assertThat(refused(Transition.start(diverged))).contains("green out of sync").contains("bgctl abort");
    }

    @Test
    void cutoverNeedsWeightHundredAndGreenInSync() {
        RoutingState dual = go(Transition.start(RoutingState.initial()));
        assertThat(refused(Transition.cutover(dual))).contains("weight 100");
        assertThat(refused(Transition.cutover(RoutingState.initial()))).contains("sync dual-write");
    }

    @Test
    void rollbackAfterCutoverGivesLeadershipBackAndKeepsGreenFollowingInSync() {
        RoutingState cutover = go(Transition.cutover(go(Transition.setWeight(go(Transition.start(RoutingState.initial())), 100))));

        RoutingState back = go(Transition.rollback(cutover, false));

        assertThat(back.leader()).isEqualTo(ClusterRole.BLUE);
        assertThat(back.weight()).isZero();
        assertThat(back.followerWrites()).isEqualTo(FollowerWrites.SYNC);
        assertThat(back.followerInSync()).isTrue();
    }

    @Test
    void finalizeIsIrreversibleUnlessForced() {
        RoutingState green = go(Transition.finalizeMigration(go(Transition.cutover(
                go(Transition.setWeight(go(Transition.start(RoutingState.initial())), 100))))));

        assertThat(refused(Transition.rollback(green, false))).contains("finalized");
        RoutingState forced = go(Transition.rollback(green, true));
        assertThat(forced.leader()).isEqualTo(ClusterRole.BLUE);
        assertThat(forced.dualWrite()).isFalse();
        assertThat(refused(Transition.start(green))).contains("finalized");
        assertThat(refused(Transition.finalizeMigration(green))).contains("finalized already");
    }

    @Test
    void frozenStateRefusesWeightChangesButNotRollback() {
        RoutingState frozen = go(Transition.freeze(go(Transition.setWeight(go(Transition.start(RoutingState.initial())), 25)), true));

        assertThat(refused(Transition.setWeight(frozen, 50))).contains("frozen");
        assertThat(go(Transition.rollback(frozen, false)).weight()).isZero();
    }

    @Test
    void abortTurnsDualWriteOffWhileBlueLeads() {
        RoutingState dual = go(Transition.start(RoutingState.initial()));

        RoutingState aborted = go(Transition.abort(dual));

        assertThat(aborted.phase()).isEqualTo(Phase.BLUE);
        assertThat(refused(Transition.abort(aborted))).contains("abort applies");
    }

    /** After a stop without shutting down (dual-write on), the follower may lack a commit until a verify says not. */
    @Test
    void aVerifyOwedKeepsTheFollowerFromReadsAndFromWritingUntilPaid() {
        RoutingState dual = go(Transition.start(RoutingState.initial()));
        RoutingState owed = go(Transition.owesVerify(dual));
        assertThat(owed.unverifiedSince()).isEqualTo(owed.epoch());
        RoutingState owedAgain = go(Transition.owesVerify(owed));
        assertThat(owedAgain.unverifiedSince()).as("another stop: owed from then on").isEqualTo(owed.epoch() + 1);
        assertThat(refused(Transition.verified(owedAgain, owed.epoch()))).contains("run it again");
        assertThat(refused(Transition.owesVerify(RoutingState.initial()))).contains("no follower");

        assertThat(refused(Transition.setWeight(owed, 10))).contains("green may lack a commit").contains("serves reads");
        assertThat(go(Transition.setWeight(owed, 0)).owesVerify()).as("carried on").isTrue();
        assertThat(go(Transition.freeze(owed, true)).owesVerify()).isTrue();
        assertThat(refused(Transition.verified(owed, owed.epoch() - 1))).contains("run it again");

        RoutingState paid = go(Transition.verified(owed, owed.epoch()));
        assertThat(paid.owesVerify()).isFalse();
        assertThat(refused(Transition.verified(paid, paid.epoch()))).contains("no verify is owed");
        RoutingState all = go(Transition.setWeight(paid, 100));
        assertThat(refused(Transition.cutover(go(Transition.owesVerify(all))))).contains("becomes the writer");
        assertThat(go(Transition.cutover(all)).leader()).isEqualTo(ClusterRole.GREEN);
    }

    @Test
    void afterCutoverAVerifyOwedKeepsBlueFromWritingButAForcedRollbackGoes() {
        RoutingState cutover = go(Transition.cutover(go(Transition.setWeight(go(Transition.start(RoutingState.initial())), 100))));
        RoutingState owed = go(Transition.owesVerify(cutover));

        assertThat(refused(Transition.rollback(owed, false))).contains("blue may lack a commit").contains("--force");
        assertThat(refused(Transition.setWeight(owed, 90))).contains("blue may lack a commit");
        RoutingState forced = go(Transition.rollback(owed, true));
        assertThat(forced.leader()).isEqualTo(ClusterRole.BLUE);
        assertThat(forced.owesVerify()).as("the clusters may still differ").isTrue();
        assertThat(go(Transition.abort(forced)).owesVerify()).as("no follower left to verify").isFalse();
        assertThat(go(Transition.finalizeMigration(owed)).owesVerify()).isFalse();
    }
}
