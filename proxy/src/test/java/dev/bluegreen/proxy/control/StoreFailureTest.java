package dev.bluegreen.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.bluegreen.config.Health;
import dev.bluegreen.config.HealthRule;
import dev.bluegreen.config.HealthRule.Action;
import dev.bluegreen.config.HealthRule.Comparison;
import dev.bluegreen.config.HealthRule.Metric;
import dev.bluegreen.proxy.control.RoutingControl.HistoryEntry;
import dev.bluegreen.proxy.dualwrite.Divergence;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A state store that cannot save (a full disk, a read-only file system, a database out of reach): moves
 * toward blue take effect all the same, and are saved once the store can; nothing else changes meanwhile.
 */
class StoreFailureTest {

    private static final Duration SAVED_WITHIN = Duration.ofSeconds(10);

    private static RoutingState dual(long epoch, int weight) {
        return new RoutingState(epoch, ClusterRole.BLUE, FollowerWrites.SYNC, weight, true, false, false);
    }

    @Test
    void aRollbackTakesEffectAtOnceWhenTheStoreCannotSaveItAndIsSavedOnceItCan() throws Exception {
        FlakyStore store = new FlakyStore(dual(5, 50), false);
        RoutingControl control = RoutingControl.open(store, Duration.ofSeconds(1));
        store.failing = true;

        RoutingState after = control.rollback("alice", "green is slow", false);

        assertThat(after.weight()).isZero();
        assertThat(control.current().weight()).isZero();
        assertThat(control.unsaved()).singleElement().asString().startsWith("rollback by alice");
        assertThat(store.saved).isEmpty();

        store.failing = false;
        await().atMost(SAVED_WITHIN).until(() -> control.unsaved().isEmpty());
        assertThat(store.state).isEqualTo(control.current());
        assertThat(store.state.weight()).isZero();
        assertThat(control.history()).extracting(HistoryEntry::command).containsExactly("rollback");
        control.close();
    }

    @Test
    void aDivergenceWhileTheStoreCannotSaveStopsGreenServingReadsAtOnce() throws Exception {
        FlakyStore store = new FlakyStore(dual(5, 50), false);
        RoutingControl control = RoutingControl.open(store, Duration.ofSeconds(1));
        store.failing = true;

        assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> control.followerOutOfSync(ClusterRole.GREEN, "session 1", "diverged"));

        assertThat(control.current().weight()).isZero();
        assertThat(control.current().followerInSync()).isFalse();
        assertThat(control.unsaved()).singleElement().asString().startsWith("follower out of sync by session 1");
        control.close();
    }

    @Test
    void everyOtherCommandIsRefusedUntilTheRollbackIsSaved() throws Exception {
        FlakyStore store = new FlakyStore(dual(5, 50), false);
        RoutingControl control = RoutingControl.open(store, Duration.ofSeconds(1));
        store.failing = true;
        control.rollback("alice", null, false);

        assertThatThrownBy(() -> control.setWeight("bob", 25, null))
                .isInstanceOfSatisfying(RoutingControl.Refused.class,
                        r -> assertThat(r.why()).isEqualTo(RoutingControl.Refused.Why.STORE))
                .hasMessageContaining("set-weight 25 did not happen: the state store has not saved rollback by alice")
                .hasMessageContaining("No space left on device");
        assertThat(control.current().weight()).isZero();
        control.close();
    }

    @Test
    void aRollbackNotYetSavedIsMadeAgainOnTopOfWhatAnotherInstanceSavedMeanwhile() throws Exception {
        FlakyStore store = new FlakyStore(dual(5, 50), true);
        RoutingControl control = RoutingControl.open(store, Duration.ofSeconds(1));
        store.failing = true;
        control.rollback("alice", null, false);
        // another instance, which still reaches the store, raised the weight; its notification was lost
        store.state = dual(6, 75);

        store.failing = false;

        await().atMost(SAVED_WITHIN).until(() -> control.unsaved().isEmpty());
        assertThat(store.state.epoch()).isEqualTo(7);
        assertThat(store.state.weight()).isZero();
        assertThat(control.current()).isEqualTo(store.state);
        control.close();
    }

    /**
     * Another instance cut over and this one has not heard of it yet: a rollback here, decided on the
     * state this instance still knows (blue leading, so no barrier), meets the cutover when it is saved,
     * and on that state it needs every instance's barrier. It is dropped, and the command says so (a
     * conflict) instead of answering done.
     */
    @Test
    void aRollbackDroppedBecauseAnotherInstanceCutOverFirstIsNotAnsweredAsDone() throws Exception {
        FlakyStore store = new FlakyStore(dual(5, 100), true);
        RoutingControl control = RoutingControl.open(store, Duration.ofSeconds(1));
        // another instance cut over; its notification has not arrived
        store.state = new RoutingState(6, ClusterRole.GREEN, FollowerWrites.SYNC, 100, true, false, false);

        assertThatThrownBy(() -> control.rollback("alice", null, false))
                .isInstanceOfSatisfying(RoutingControl.Refused.class,
                        r -> assertThat(r.why()).isEqualTo(RoutingControl.Refused.Why.CONFLICT))
                .hasMessageContaining("rollback did not happen: the state changed first (now epoch 6, phase cutover)");
        assertThat(control.current().leader()).isEqualTo(ClusterRole.GREEN);
        assertThat(control.rollbacks(RoutingControl.RollbackTrigger.OPERATOR)).as("rollbacks counted").isZero();
        assertThat(control.unsaved()).isEmpty();
        control.close();
    }

    @Test
    void aRollbackAfterCutoverWithAStoreSharedByOtherInstancesIsRefusedWhenTheStoreCannotSaveIt() throws Exception {
        RoutingState cutover = new RoutingState(7, ClusterRole.GREEN, FollowerWrites.SYNC, 100, true, false, false);
        FlakyStore store = new FlakyStore(cutover, true);
        RoutingControl control = RoutingControl.open(store, Duration.ofSeconds(1));
        store.failing = true;

        assertThatThrownBy(() -> control.rollback("alice", null, false))
                .isInstanceOfSatisfying(RoutingControl.Refused.class,
                        r -> assertThat(r.why()).isEqualTo(RoutingControl.Refused.Why.STORE));

        assertThat(control.current()).isEqualTo(cutover);
        assertThat(control.unsaved()).isEmpty();
        control.close();
    }

    @Test
    void aRollbackAfterCutoverWithAStoreOfItsOwnGivesBlueTheLeadBeforeTheStoreSavesIt() throws Exception {
        RoutingState cutover = new RoutingState(7, ClusterRole.GREEN, FollowerWrites.SYNC, 100, true, false, false);
        FlakyStore store = new FlakyStore(cutover, false);
        RoutingControl control = RoutingControl.open(store, Duration.ofSeconds(1));
        store.failing = true;

        control.rollback("alice", null, false);

        assertThat(control.current().leader()).isEqualTo(ClusterRole.BLUE);
        assertThat(control.current().weight()).isZero();
        store.failing = false;
        await().atMost(SAVED_WITHIN).until(() -> control.unsaved().isEmpty());
        assertThat(store.state.leader()).isEqualTo(ClusterRole.BLUE);
        control.close();
    }

    @Test
    void aHealthRuleRollsBackEvenWhenTheStoreCannotSaveIt() throws Exception {
        FlakyStore store = new FlakyStore(dual(5, 50), false);
        RoutingControl control = RoutingControl.open(store, Duration.ofSeconds(1));
        TickingClock clock = new TickingClock();
        HealthWindows windows = new HealthWindows(Duration.ofSeconds(10), clock.mock);
        Autopilot autopilot = new Autopilot(control, windows, new Health(Duration.ofSeconds(10), List.of(
                new HealthRule("divergences > 0", Metric.DIVERGENCES, Comparison.GREATER, 0, Action.ROLLBACK, 0))),
                clock, Duration.ofSeconds(1));
        store.failing = true;
        windows.diverged(new Divergence(Instant.now(), "s1", "blue", "insert into t values ($1)", "INSERT 0 1",
                "ERROR 42P01", "error"));
        clock.advance(Duration.ofSeconds(1));

        autopilot.tick();

        assertThat(control.current().weight()).isZero();
        assertThat(control.unsaved()).singleElement().asString().startsWith("rollback by rule:divergences > 0");
        control.close();
    }

    /** The other instances may change writer only once this one's divergence is saved, not merely in force here. */
    @Test
    void anotherInstancesBarrierWaitsUntilTheDivergenceIsSaved() throws Exception {
        FlakyStore store = new FlakyStore(dual(5, 50), true);
        RoutingControl control = RoutingControl.open(store, Duration.ofSeconds(1));
        store.failing = true;
        control.divergenceSeen(ClusterRole.GREEN);
        control.followerOutOfSync(ClusterRole.GREEN, "session 1", "diverged");

        WriteBarrier.Closed closedForAnother = store.peer.closeBarrier();

        assertThat(closedForAnother.drained()).isNotDone();
        store.failing = false;
        await().atMost(SAVED_WITHIN).until(() -> closedForAnother.drained().isDone());
        assertThat(store.state.followerInSync()).isFalse();
        closedForAnother.reopen();
        control.close();
    }

    /**
     * A store that takes its time (a state database whose packets are dropped, a hung file system) holds
     * up the command saving to it, but not a rollback: the rollback is in force at once and saved on top of
     * that command's change once the store answers.
     */
    @Test
    void aRollbackTakesEffectAtOnceWhileAnotherCommandWaitsForASlowStore() throws Exception {
        FlakyStore store = new FlakyStore(dual(5, 50), false);
        RoutingControl control = RoutingControl.open(store, Duration.ofSeconds(1));
        store.slow = new CountDownLatch(1);
        CompletableFuture<RoutingState> raise = CompletableFuture.supplyAsync(() -> refusedUnchecked(
                () -> control.setWeight("alice", 100, null)), OWN_THREAD);
        await().atMost(SAVED_WITHIN).until(() -> store.saving);

        CompletableFuture<RoutingState> rollback = CompletableFuture.supplyAsync(() -> refusedUnchecked(
                () -> control.rollback("rule:latency", "green is slow", false)), OWN_THREAD);

        await().atMost(SAVED_WITHIN).until(() -> control.current().weight() == 0); // (the store is held meanwhile)
        assertThat(raise).as("still saving").isNotDone();
        store.slow.countDown();
        assertThat(raise).succeedsWithin(SAVED_WITHIN).extracting(RoutingState::weight).isEqualTo(100);
        assertThat(rollback).succeedsWithin(SAVED_WITHIN).extracting(RoutingState::weight).isEqualTo(0);
        assertThat(control.current().weight()).isZero();
        assertThat(control.unsaved()).isEmpty();
        assertThat(store.state.weight()).isZero();
        assertThat(store.saved).extracting(HistoryEntry::command).containsExactly("set-weight 100", "rollback");
        control.close();
    }

    /** A cutover waiting for the write barrier gives way to a rollback rather than hold it up to the barrier's timeout. */
    @Test
    void aCutoverWaitingForTheWriteBarrierGivesWayToARollback() throws Exception {
        FlakyStore store = new FlakyStore(dual(5, 100), false);
        RoutingControl control = RoutingControl.open(store, Duration.ofSeconds(60));
        WriteBarrier.Pass session = control.barrier().pass("session-7");
        control.barrier().tryEnter(session, () -> { }); // a write transaction left open
        CompletableFuture<RoutingState> cutover = CompletableFuture.supplyAsync(() -> refusedUnchecked(
                () -> control.cutover("alice", null)), OWN_THREAD);
        await().atMost(SAVED_WITHIN).until(() -> control.barrier().closing());

        RoutingState after = assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> control.rollback("bob", "green errors", false));

        assertThat(after.weight()).isZero();
        assertThat(after.leader()).isEqualTo(ClusterRole.BLUE);
        assertThat(cutover).failsWithin(SAVED_WITHIN).withThrowableThat()
                .withMessageContaining("cutover did not happen: it gave way to a rollback");
        assertThat(control.barrier().closing()).isFalse();
        assertThat(store.saved).extracting(HistoryEntry::command).containsExactly("rollback");
        control.barrier().exit(session);
        control.close();
    }

    /** Not the common pool, which may have a single thread on a small machine. */
    private static final Executor OWN_THREAD = command -> Thread.ofPlatform().daemon(true).start(command);

    private static RoutingState refusedUnchecked(RefusableCommand command) {
        try {
            return command.run();
        } catch (RoutingControl.Refused refused) {
            throw new CompletionException(refused);
        }
    }

    private interface RefusableCommand {
        RoutingState run() throws RoutingControl.Refused;
    }

    /** Saves what it is given unless told to fail; stands for any store, one instance's or shared. */
    private static final class FlakyStore implements StateStore {
        final List<HistoryEntry> saved = new CopyOnWriteArrayList<>();
        private final boolean shared;
        volatile boolean failing;
        /** When set, a save waits for it, {@link #saving} meanwhile. */
        volatile CountDownLatch slow;
        volatile boolean saving;
        volatile RoutingState state;
        volatile Plan plan;
        volatile Peer peer;

        FlakyStore(RoutingState initial, boolean shared) {
            this.state = initial;
            this.shared = shared;
        }

        @Override
        public Snapshot open(Peer newPeer) {
            peer = newPeer;
            return new Snapshot(state, List.of(), plan);
        }

        @Override
        public SharedBarrier barrier(String command, long fromEpoch, Duration timeout) throws Conflict, Failure {
            if (failing && shared) {
                throw new Failure("connection refused", null);
            }
            if (state.epoch() != fromEpoch) {
                throw new Conflict("the stored epoch is " + state.epoch(), new Snapshot(state, List.of(), plan));
            }
            return ALONE;
        }

        @Override
        public synchronized void save(long expectedEpoch, HistoryEntry change, Plan newPlan, SharedBarrier barrier)
                throws Conflict, Failure {
            CountDownLatch wait = slow;
            if (wait != null) {
                saving = true;
                try {
                    wait.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new Failure("interrupted", e);
                }
                saving = false;
            }
            if (failing) {
                throw new Failure("No space left on device", null);
            }
            if (state.epoch() != expectedEpoch) {
                throw new Conflict("the stored epoch is " + state.epoch() + ", not " + expectedEpoch,
                        new Snapshot(state, List.of(new HistoryEntry(Instant.now(), state.epoch(), "other", "set-weight",
                                null, state)), plan));
            }
            state = change.state();
            plan = newPlan;
            saved.add(change);
        }

        @Override
        public boolean shared() {
            return shared;
        }

        @Override
        public String instance() {
            return "local";
        }

        @Override
        public String describe() {
            return "flaky";
        }

        @Override
        public void close() {
        }
    }
}
