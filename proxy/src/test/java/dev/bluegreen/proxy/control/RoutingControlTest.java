package dev.bluegreen.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.proxy.routing.ClusterRole;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The orchestrator: decisions applied, refusals explained, barriers respected, every change recorded. */
class RoutingControlTest {

    @Test
    void aJourneyIsAppliedRecordedAndAnnounced() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));
        List<RoutingState> announced = new ArrayList<>();
        control.onChange(announced::add);

        control.start("alice", null);
        control.setWeight("alice", 100, null);
        RoutingState cutover = control.cutover("alice", null);
        RoutingState back = control.rollback("auto", "error_rate 0.12 > 0.10", false);

        assertThat(cutover.leader()).isEqualTo(ClusterRole.GREEN);
        assertThat(back.leader()).isEqualTo(ClusterRole.BLUE);
        assertThat(control.current()).isEqualTo(back);
        assertThat(announced).extracting(RoutingState::epoch).containsExactly(2L, 3L, 4L, 5L);
        assertThat(control.history()).extracting(RoutingControl.HistoryEntry::command)
                .containsExactly("start", "set-weight 100", "cutover", "rollback");
        assertThat(control.history().get(3).actor()).isEqualTo("auto");
        assertThat(control.history().get(3).reason()).isEqualTo("error_rate 0.12 > 0.10");
    }

    @Test
    void greenOutOfSyncEndsAPausedPlanAsRolledBackInTheSameChange() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));
        control.start("alice", null);
        control.replacePlan("alice", "rollout", new Plan(List.of(10, 50), Duration.ofMinutes(5), 0, Plan.Status.PAUSED,
                Instant.parse("2025-06-01T10:00:00Z"), "paused by alice"));
        control.setWeight("alice", 10, null);

        control.followerOutOfSync(ClusterRole.GREEN, "session 3", "diverged");

        RoutingControl.HistoryEntry last = control.history().getLast();
        assertThat(last.command()).isEqualTo("follower out of sync");
        assertThat(last.epoch()).isEqualTo(control.current().epoch());
        assertThat(control.plan()).get().extracting(Plan::status).isEqualTo(Plan.Status.ROLLED_BACK);
        assertThat(control.plan().get().note()).isEqualTo("green fell out of sync and the weight went back to 0");
    }

    @Test
    void aRefusedCommandChangesNothingAndSaysWhy() {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));

        assertThatThrownBy(() -> control.setWeight("bob", 10, null))
                .isInstanceOf(RoutingControl.Refused.class).hasMessageContaining("sync dual-write");
        assertThat(control.current()).isEqualTo(RoutingState.initial());
        assertThat(control.history()).isEmpty();
    }

    @Test
    void startIsRefusedWithTheReasonTheCheckBeforeDualWriteGivesAndChangesNothing() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));
        List<String> asked = new ArrayList<>();
        control.checkBeforeDualWrite(counted(asked, RoutingControl.DualWriteCheck.Answer.refuse("blue and green are one server")));

        assertThatThrownBy(() -> control.start("alice", null))
                .isInstanceOf(RoutingControl.Refused.class).hasMessage("blue and green are one server");
        assertThatThrownBy(() -> control.startShadow("alice", null))
                .isInstanceOf(RoutingControl.Refused.class).hasMessage("blue and green are one server");

        assertThat(asked).hasSize(2);
        assertThat(control.current()).isEqualTo(RoutingState.initial());
        assertThat(control.history()).isEmpty();
    }

    @Test
    void theCheckBeforeDualWriteIsAskedOnlyWhenTheCommandWouldBeginIt() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));
        List<String> asked = new ArrayList<>();
        control.checkBeforeDualWrite(counted(asked, RoutingControl.DualWriteCheck.Answer.GO));
        control.start("alice", null);

        assertThatThrownBy(() -> control.start("alice", null))
                .isInstanceOf(RoutingControl.Refused.class).hasMessage("dual-write is already on (phase dual)");
        assertThat(asked).hasSize(1);
    }

    @Test
    void aCheckThatCouldNotBeMadeLetsStartGoAheadAndTellsTheOperatorWhy() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));
        List<String> asked = new ArrayList<>();
        control.checkBeforeDualWrite(counted(asked, RoutingControl.DualWriteCheck.Answer.unchecked("no user to log in as")));

        RoutingControl.Changed started = control.startTelling("alice", null);
        RoutingControl.Changed again = RoutingControl.Changed.to(control.abort("alice", null));
        RoutingControl.Changed shadow = control.startShadowTelling("alice", null);

        assertThat(started.state().dualWrite()).isTrue();
        assertThat(started.warnings()).containsExactly("no user to log in as");
        assertThat(again.warnings()).isEmpty();
        assertThat(shadow.state().followerWrites()).isEqualTo(FollowerWrites.ASYNC);
        assertThat(shadow.warnings()).containsExactly("no user to log in as");
        assertThat(asked).hasSize(2);
    }

    /** A check that gives {@code answer}, noting in {@code asked} each time it is asked. */
    private static RoutingControl.DualWriteCheck counted(List<String> asked, RoutingControl.DualWriteCheck.Answer answer) {
        return () -> {
            asked.add("asked");
            return answer;
        };
    }

    @Test
    void aStateChangedWhileStartCheckedTheClustersRefusesTheStartRatherThanLetItThroughUnchecked() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));
        control.checkBeforeDualWrite(() -> {
            try {
                control.freeze("bob", true, null); // another command's change, made while the check logs in
            } catch (RoutingControl.Refused e) {
                throw new AssertionError(e);
            }
            return RoutingControl.DualWriteCheck.Answer.GO;
        });

        assertThatThrownBy(() -> control.start("alice", null))
                .isInstanceOf(RoutingControl.Refused.class)
                .hasMessage("the state changed while start checked the clusters (epoch 1, now 2); run it again");
        assertThat(control.current().dualWrite()).isFalse();
        assertThat(control.history()).extracting(RoutingControl.HistoryEntry::command).containsExactly("freeze");
    }

    @Test
    void workDoneWhileWritesAreQuiescedSeesNoUnitInsideAndACommandMeanwhileWaitsItsTurn() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));
        WriteBarrier.Pass writer = control.barrier().pass("session-7");
        CountDownLatch quiesced = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            Future<Boolean> work = threads.submit(() -> control.whileWritesQuiesced("verify", () -> {
                quiesced.countDown();
                finish.await();
                return !writer.inside();
            }));
            assertThat(quiesced.await(5, TimeUnit.SECONDS)).isTrue();
            // a new write unit waits; admitted once the work is done, it ends at once
            assertThat(control.barrier().tryEnter(writer, () -> control.barrier().exit(writer))).isFalse();
            CompletableFuture<RoutingState> start = new CompletableFuture<>();
            Thread starter = new Thread(() -> {
                try {
                    start.complete(control.start("dave", null));
                } catch (RoutingControl.Refused e) {
                    start.completeExceptionally(e);
                }
            });
            starter.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> control.waitsForCommands(starter));

            finish.countDown();

            assertThat(work.get(5, TimeUnit.SECONDS)).isTrue();
            assertThat(start.get(5, TimeUnit.SECONDS).phase()).as("the command ran after, not refused").isEqualTo(Phase.DUAL);
        } finally {
            threads.shutdownNow();
        }
    }

    /**
     * A rollback issued while a verify waits for the write barrier (a long transaction holds it up) takes
     * effect at once: the verify gives way and is refused, instead of the rollback waiting up to the
     * barrier timeout for the command lock.
     */
    @Test
    void aRollbackDoesNotWaitForAVerifyWaitingForTheBarrier() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofMinutes(2));
        control.start("alice", null);
        control.setWeight("alice", 50, null);
        control.barrier().tryEnter(control.barrier().pass("session-9"), () -> { }); // a transaction left open
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            Future<String> verify = threads.submit(() -> control.whileWritesQuiesced("verify", () -> "checked"));
            await().atMost(Duration.ofSeconds(5)).until(() -> control.barrier().closing());

            Future<RoutingState> rollback = threads.submit(() -> control.rollback("bob", "green is slow", false));

            assertThat(rollback.get(5, TimeUnit.SECONDS).weight()).as("in force at once, not two minutes later").isZero();
            assertThatThrownBy(() -> verify.get(5, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(RoutingControl.Refused.class)
                    .hasMessageContaining("verify gave way to a rollback");
            assertThat(control.barrier().closing()).as("the verify's barrier reopened").isFalse();
        } finally {
            threads.shutdownNow();
        }
    }

    /** A change toward blue that is refused (nothing it would do) leaves a waiting verify be. */
    @Test
    void aRefusedRollbackLeavesAVerifyWaitingForTheBarrierBe() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofMinutes(2));
        control.start("alice", null);
        control.setWeight("alice", 100, null);
        control.cutover("alice", null);
        control.finalizeMigration("alice", null);
        WriteBarrier.Pass writer = control.barrier().pass("session-9");
        control.barrier().tryEnter(writer, () -> { });
        ExecutorService threads = Executors.newSingleThreadExecutor();
        try {
            Future<String> verify = threads.submit(() -> control.whileWritesQuiesced("verify", () -> "checked"));
            await().atMost(Duration.ofSeconds(5)).until(() -> control.barrier().closing());

            CompletableFuture<RoutingState> rollback = new CompletableFuture<>();
            Thread roller = new Thread(() -> {
                try {
                    rollback.complete(control.rollback("bob", null, false));
                } catch (RoutingControl.Refused e) {
                    rollback.completeExceptionally(e);
                }
            });
            roller.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> control.waitsForCommands(roller));
            control.barrier().exit(writer);

            assertThat(verify.get(5, TimeUnit.SECONDS)).as("not given way to").isEqualTo("checked");
            assertThatThrownBy(() -> rollback.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(RoutingControl.Refused.class)
                    .hasMessageContaining("finalized");
        } finally {
            threads.shutdownNow();
        }
    }

    /**
     * A rollback with nothing to do (blue leads, green serves no reads, no plan under way) changes nothing:
     * no epoch, no history entry, no rollback counted, nothing announced; the operator hears so.
     */
    @Test
    void aRollbackWithNothingToDoChangesAndRecordsNothing() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));
        List<RoutingState> announced = new ArrayList<>();
        control.onChange(announced::add);
        RoutingControl.Changed alone = control.rollbackTelling("bob", "just in case", false);
        control.start("alice", null);
        control.setWeight("alice", 25, null);
        control.setWeight("alice", 0, null);
        RoutingControl.Changed atZero = control.rollbackTelling("bob", null, true);

        assertThat(alone.state()).isEqualTo(RoutingState.initial());
        assertThat(alone.warnings()).containsExactly(
                "nothing to roll back: blue leads and green serves no reads (epoch 1 stays in force, nothing recorded)");
        assertThat(atZero.state().epoch()).isEqualTo(4);
        assertThat(atZero.warnings()).singleElement().asString().startsWith("nothing to roll back");
        assertThat(control.current().epoch()).isEqualTo(4);
        assertThat(announced).extracting(RoutingState::epoch).containsExactly(2L, 3L, 4L);
        assertThat(control.history()).extracting(RoutingControl.HistoryEntry::command)
                .containsExactly("start", "set-weight 25", "set-weight 0");
        assertThat(control.rollbacks(RoutingControl.RollbackTrigger.OPERATOR)).isZero();
    }

    /** At weight 0 a plan under way is something to roll back: it ends as rolled back, a change as ever. */
    @Test
    void aRollbackAtWeightZeroEndsAPlanUnderWay() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));
        control.start("alice", null);
        control.replacePlan("alice", "rollout", new Plan(List.of(10, 50), Duration.ofMinutes(5), 0, Plan.Status.PAUSED,
                Instant.parse("2025-06-01T10:00:00Z"), "paused by alice"));

        RoutingControl.Changed back = control.rollbackTelling("bob", null, false);

        assertThat(back.warnings()).isEmpty();
        assertThat(back.state().epoch()).isEqualTo(control.current().epoch()).isGreaterThan(2);
        assertThat(control.history().getLast().command()).isEqualTo("rollback");
        assertThat(control.plan()).get().extracting(Plan::status).isEqualTo(Plan.Status.ROLLED_BACK);
        assertThat(control.rollbacks(RoutingControl.RollbackTrigger.OPERATOR)).isEqualTo(1);
    }

    /**
     * While a command is under way (a {@code start} waiting for the write barrier; a {@code set-weight} saving to
     * a slow store would do as well) a rollback is never skipped as having nothing to do: the command may be about
     * to change the state. It goes ahead, recorded, and the start gives way to it.
     */
    @Test
    void aRollbackWhileACommandIsUnderWayGoesAheadThoughItFindsNothingToDo() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofMinutes(2));
        WriteBarrier.Pass writer = control.barrier().pass("session-9");
        control.barrier().tryEnter(writer, () -> { }); // a transaction left open
        ExecutorService threads = Executors.newSingleThreadExecutor();
        try {
            Future<RoutingState> start = threads.submit(() -> control.start("alice", null));
            await().atMost(Duration.ofSeconds(5)).until(() -> control.barrier().closing());

            RoutingControl.Changed rollback = control.rollbackTelling("bob", null, false);

            assertThat(rollback.warnings()).isEmpty();
            assertThatThrownBy(() -> start.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(RoutingControl.Refused.class)
                    .hasMessageContaining("gave way to a rollback");
            assertThat(control.current().dualWrite()).isFalse();
            assertThat(control.history()).extracting(RoutingControl.HistoryEntry::command).containsExactly("rollback");
        } finally {
            control.barrier().exit(writer);
            threads.shutdownNow();
        }
    }

    @Test
    void quiescingGivesUpAfterTheBarrierTimeoutNamingTheUnitInside() {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofMillis(100));
        control.barrier().tryEnter(control.barrier().pass("session-42"), () -> { });

        assertThatThrownBy(() -> control.whileWritesQuiesced("verify", () -> "never"))
                .isInstanceOf(RoutingControl.Refused.class)
                .hasMessage("verify: write barrier timed out after 100 ms; held up by [session-42]");
    }

    @Test
    void aBarrierHeldUpByAWriteUnitTimesOutNamingItAndChangesNothing() {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofMillis(100));
        control.barrier().tryEnter(control.barrier().pass("session-42"), () -> { });

        assertThatThrownBy(() -> control.start("carol", null))
                .isInstanceOf(RoutingControl.Refused.class)
                .hasMessageContaining("start did not happen")
                .hasMessageContaining("session-42");
        assertThat(control.current().phase()).isEqualTo(Phase.BLUE);
    }

    @Test
    void aDivergenceTakesTheWeightBackOnceAndNeverThrows() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));
        control.start("alice", null);
        control.setWeight("alice", 50, null);

        control.followerOutOfSync(ClusterRole.GREEN, "dual-write", "UPDATE 1 vs UPDATE 0");
        control.followerOutOfSync(ClusterRole.GREEN, "dual-write", "again");

        assertThat(control.current().weight()).isZero();
        assertThat(control.current().followerInSync()).isFalse();
        assertThat(control.history()).hasSize(3);
    }

    @Test
    void aDivergenceSeenByAUnitStillDrainingStopsTheCutoverAndIsRecordedAgainstGreen() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));
        control.start("alice", null);
        control.setWeight("alice", 100, null);
        WriteBarrier.Pass session = control.barrier().pass("session-7");
        control.barrier().tryEnter(session, () -> { });
        CompletableFuture<RoutingState> cutover = CompletableFuture.supplyAsync(() -> {
            try {
                return control.cutover("alice", null);
            } catch (RoutingControl.Refused refused) {
                throw new CompletionException(refused);
            }
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> control.barrier().closing());
        assertThat(cutover).as("draining session-7").isNotDone();

        // the unit in flight sees green diverge, notes it, and leaves the barrier; the report is recorded later
        control.divergenceSeen(ClusterRole.GREEN);
        control.barrier().exit(session);

        assertThat(cutover).failsWithin(Duration.ofSeconds(5)).withThrowableThat()
                .withMessageContaining("cutover did not happen: green diverged");
        assertThat(control.current().leader()).isEqualTo(ClusterRole.BLUE);
        control.followerOutOfSync(ClusterRole.GREEN, "session-7", "UPDATE 1 vs UPDATE 0");
        assertThat(control.current().followerInSync()).isFalse();
        assertThat(control.current().weight()).isZero();
    }

    @Test
    void aClusterThatLeadsByNowIsNotMarkedOutOfSyncForWhatItDidAsFollower() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));
        control.start("alice", null);
        control.setWeight("alice", 100, null);
        RoutingState cutover = control.cutover("alice", null);

        control.followerOutOfSync(ClusterRole.GREEN, "session-7", "a late report from before the cutover");

        assertThat(control.current()).isEqualTo(cutover);
        assertThat(control.current().followerInSync()).as("blue, the follower now, is not blamed").isTrue();
    }
}
