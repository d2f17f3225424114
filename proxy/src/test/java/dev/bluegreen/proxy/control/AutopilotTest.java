package dev.bluegreen.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.bluegreen.config.Health;
import dev.bluegreen.config.HealthRule;
import dev.bluegreen.config.HealthRule.Action;
import dev.bluegreen.config.HealthRule.Comparison;
import dev.bluegreen.config.HealthRule.Metric;
import dev.bluegreen.proxy.dualwrite.Divergence;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The orchestrator on a hand-moved clock: rules acted on, plans stepped, every change in the history. */
class AutopilotTest {

    private static final long MS = 1_000_000;
    private static final Duration TICK = Duration.ofSeconds(5);
    private static final List<HealthRule> RULES = List.of(
            new HealthRule("error_rate > 0.05", Metric.ERROR_RATE, Comparison.GREATER, 0.05, Action.PAUSE, 20),
            new HealthRule("error_rate > 0.10", Metric.ERROR_RATE, Comparison.GREATER, 0.10, Action.ROLLBACK, 20),
            new HealthRule("divergences > 0", Metric.DIVERGENCES, Comparison.GREATER, 0, Action.ROLLBACK, 0));

    private final TickingClock clock = new TickingClock();
    /** The autopilot's clock: the same time, and what another command did meanwhile when armed. */
    private final MeanwhileClock meanwhile = new MeanwhileClock(clock);
    private RoutingControl control;
    private HealthWindows windows;
    private Autopilot autopilot;

    @BeforeEach
    void setUp() throws Exception {
        control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(1));
        windows = new HealthWindows(Duration.ofSeconds(10), clock.mock);
        autopilot = new Autopilot(control, windows, new Health(Duration.ofSeconds(10), RULES), meanwhile, TICK);
        control.start("alice", null);
    }

    /** One tick's worth of traffic: {@code ok} reads each cluster answered, {@code failed} reads green failed and blue answered. */
    private void traffic(int ok, int failed) {
        for (int i = 0; i < ok; i++) {
            windows.unitServed(ClusterRole.GREEN, true, 2 * MS, null);
            windows.unitServed(ClusterRole.BLUE, true, 2 * MS, null);
        }
        for (int i = 0; i < failed; i++) {
            windows.readRetried();
            windows.greenError();
            windows.unitServed(ClusterRole.BLUE, true, 2 * MS, null);
        }
    }

    private void tick(int ok, int failed) {
        traffic(ok, failed);
        clock.advance(TICK);
        autopilot.tick();
    }

    private Plan plan() {
        return control.plan().orElseThrow();
    }

    @Test
    void aPlanStepsThroughEveryWeightOnlyAfterHealthyBakesAndEndsDone() throws Exception {
        autopilot.rollout("alice", List.of(10, 50, 100), Duration.ofSeconds(30), null);
        assertThat(control.current().weight()).isEqualTo(10);

        for (int i = 0; i < 6; i++) { // healthy from the first tick: 25 s baked after six
            tick(20, 0);
        }
        assertThat(control.current().weight()).isEqualTo(10);
        assertThat(autopilot.holding()).get().asString().startsWith("baking: 25 s of 30 s");

        for (int i = 0; i < 30 && plan().status() == Plan.Status.RUNNING; i++) {
            tick(20, 0);
        }

        assertThat(plan().status()).isEqualTo(Plan.Status.DONE);
        assertThat(control.current().weight()).isEqualTo(100);
        assertThat(control.history()).extracting(h -> h.actor() + " " + h.command()).containsSubsequence(
                "alice rollout [10, 50, 100] bake 30s: set-weight 10", "plan set-weight 50", "plan set-weight 100",
                "plan rollout done");
        // each advance is audited with the figures behind it
        assertThat(control.history()).filteredOn(h -> h.command().equals("set-weight 50")).singleElement()
                .satisfies(h -> assertThat(h.reason()).contains("baked 30 s with every rule healthy: error_rate > 0.05:"));
    }

    @Test
    void aRollbackRuleRollsBackAndTheHistorySaysWhichRuleWithWhichFigures() throws Exception {
        autopilot.rollout("alice", List.of(10, 50, 100), Duration.ofSeconds(30), null);
        tick(20, 0);

        tick(20, 20);

        assertThat(control.current().weight()).isZero();
        assertThat(control.current().leader()).isEqualTo(ClusterRole.BLUE);
        RoutingControl.HistoryEntry last = control.history().get(control.history().size() - 1);
        assertThat(last.actor()).isEqualTo("rule:error_rate > 0.10");
        assertThat(last.command()).isEqualTo("rollback");
        assertThat(last.reason()).contains("error_rate 0.5000 > 0.1 (rollback, 40 samples)")
                .contains("green ran 40 units, failed 20 where blue did not");
        assertThat(plan().status()).isEqualTo(Plan.Status.ROLLED_BACK);
        assertThat(plan().note()).startsWith("rolled back by rule error_rate > 0.10");
    }

    /**
     * After cutover a rollback needs the write barrier. One refused because a session kept the barrier
     * from draining is not tried again at every tick, each time closing the barrier for its whole timeout
     * and holding most writes up: the next attempt waits 30 s (at least three barrier timeouts), doubling.
     */
    @Test
    void anAutomaticRollbackRefusedAtTheBarrierWaitsBeforeItTriesAgain() throws Exception {
        control.setWeight("alice", 100, null);
        control.cutover("alice", null);
        WriteBarrier.Pass session = control.barrier().pass("session[1]");
        assertThat(control.barrier().tryEnter(session, () -> { })).isTrue(); // idle in transaction, say

        tick(20, 20);
        assertThat(control.current().phase()).isEqualTo(Phase.CUTOVER);
        assertThat(autopilot.rollbackRetryAt()).contains(clock.instant().plusSeconds(30));

        control.barrier().exit(session); // the barrier could drain now, but the attempt waits its turn
        tick(20, 20);
        assertThat(control.current().phase()).as("before the next attempt is due").isEqualTo(Phase.CUTOVER);

        control.barrier().tryEnter(session, () -> { });
        clock.advance(Duration.ofSeconds(25));
        tick(20, 20);
        assertThat(control.current().phase()).as("refused again").isEqualTo(Phase.CUTOVER);
        assertThat(autopilot.rollbackRetryAt()).as("the wait doubled").contains(clock.instant().plusSeconds(60));

        control.barrier().exit(session);
        clock.advance(Duration.ofSeconds(60));
        tick(20, 20);
        assertThat(control.current().leader()).isEqualTo(ClusterRole.BLUE);
        assertThat(autopilot.rollbackRetryAt()).isEmpty();
    }

    /** A rule that stops firing for a tick does not make the next refused attempt come at once. */
    @Test
    void theWaitAfterARefusedAutomaticRollbackOutlastsARuleThatFlaps() throws Exception {
        control.setWeight("alice", 100, null);
        control.cutover("alice", null);
        WriteBarrier.Pass session = control.barrier().pass("session[1]");
        assertThat(control.barrier().tryEnter(session, () -> { })).isTrue();

        tick(20, 20);
        Instant due = clock.instant().plusSeconds(30);
        assertThat(autopilot.rollbackRetryAt()).contains(due);
        tick(5_000, 0);
        assertThat(autopilot.verdict().firing(HealthRule.Action.ROLLBACK)).as("the rule stopped firing").isEmpty();
        tick(0, 5_000);
        assertThat(control.current().phase()).isEqualTo(Phase.CUTOVER);
        assertThat(autopilot.rollbackRetryAt()).as("no attempt made before it was due").contains(due);
        control.barrier().exit(session);
    }

    /**
     * After cutover, blue (the follower) diverging keeps the divergence rule firing, and no rollback is
     * possible (blue is out of sync): that is said once, not an automatic rollback tried and refused at
     * every tick.
     */
    @Test
    void aRollbackRuleFiringWhenNoRollbackIsPossibleIsSaidOnceNotTriedEveryTick() throws Exception {
        control.setWeight("alice", 100, null);
        control.cutover("alice", null);
        control.followerOutOfSync(ClusterRole.BLUE, "session s1", "diverged");
        Logger logger = (Logger) LoggerFactory.getLogger(Autopilot.class);
        ListAppender<ILoggingEvent> seen = new ListAppender<>();
        seen.start();
        logger.addAppender(seen);
        try {
            for (int i = 0; i < 5; i++) { // blue goes on diverging: the rule fires at every tick
                windows.diverged(new Divergence(Instant.now(), "s1", "green", "update t set v = 1", "UPDATE 1",
                        "UPDATE 0", "command tag"));
                tick(20, 0);
            }
        } finally {
            logger.detachAppender(seen);
        }

        assertThat(autopilot.verdict().firing(HealthRule.Action.ROLLBACK)).as("the rule fires").isPresent();
        assertThat(seen.list).extracting(ILoggingEvent::getFormattedMessage)
                .noneMatch(message -> message.startsWith("automatic rollback refused"))
                .filteredOn(message -> message.contains("no rollback is possible")).hasSize(1);
        assertThat(control.current().leader()).isEqualTo(ClusterRole.GREEN);
    }

    /** A tick that fails with an Error, not only an exception, is logged and the next ticks still run. */
    @Test
    void aTickThatFailsWithAnErrorDoesNotStopTheTicksAfterIt() throws Exception {
        AtomicInteger reads = new AtomicInteger();
        Clock failingOnce = new Clock() {
            @Override
            public ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                if (reads.incrementAndGet() == 2) { // the constructor reads it first, the first tick second
                    throw new AssertionError("a clock that failed once");
                }
                return Instant.now();
            }
        };
        try (Autopilot ticking = new Autopilot(control, windows, new Health(Duration.ofSeconds(10), RULES), failingOnce,
                Duration.ofMillis(20)).start()) {
            Instant first = ticking.verdict().at();
            await().atMost(Duration.ofSeconds(10)).until(() -> ticking.verdict().at().isAfter(first));
        }
        assertThat(reads.get()).isGreaterThan(2);
    }

    @Test
    void greenFallingOutOfSyncInTheTickAPauseRuleFiresEndsThePlanAsRolledBack() throws Exception {
        autopilot.rollout("alice", List.of(10, 50, 100), Duration.ofSeconds(300), null);
        tick(20, 0);
        windows.diverged(new Divergence(Instant.now(), "s1", "blue", "insert into t values ($1)", "INSERT 0 1",
                "ERROR 42P01", "error"));
        control.followerOutOfSync(ClusterRole.GREEN, "session s1", "diverged");

        tick(100, 8); // 8 of 208: the pause rule fires too

        assertThat(plan().status()).isEqualTo(Plan.Status.ROLLED_BACK);
        assertThat(plan().note()).isEqualTo("green fell out of sync and the weight went back to 0");
        tick(20, 0);
        assertThat(plan().status()).isEqualTo(Plan.Status.ROLLED_BACK);
        assertThat(control.history()).noneMatch(h -> h.command().equals("pause"));
    }

    /** As an instance of an older version records it: green out of sync, the plan left running. */
    @Test
    void aPauseRuleLeavesAPlanThatGreenOutOfSyncEndedForTheStepperToEnd() throws Exception {
        autopilot.rollout("alice", List.of(10, 50, 100), Duration.ofSeconds(300), null);
        tick(20, 0);
        control.apply("elsewhere", "follower out of sync", null, s -> Transition.followerOutOfSync(s, ClusterRole.GREEN),
                p -> p);

        tick(100, 8);
        tick(20, 0);

        assertThat(plan().status()).isEqualTo(Plan.Status.ROLLED_BACK);
        assertThat(control.history()).extracting(RoutingControl.HistoryEntry::command)
                .doesNotContain("pause").contains("rollout rolled back");
    }

    @Test
    void belowTheMinimumSamplesThePlanHoldsAndNothingRollsBack() throws Exception {
        autopilot.rollout("alice", List.of(10, 50, 100), Duration.ofSeconds(10), null);

        for (int i = 0; i < 24; i++) { // two minutes of a trickle, every read green ran failing
            tick(1, 2);
        }

        assertThat(control.current().weight()).isEqualTo(10);
        assertThat(plan().status()).isEqualTo(Plan.Status.RUNNING);
        assertThat(autopilot.verdict().overall()).isEqualTo(HealthVerdict.Overall.INCONCLUSIVE);
        assertThat(autopilot.holding()).get().asString().startsWith("inconclusive: error_rate > 0.05 has");
        assertThat(control.history()).noneMatch(h -> h.actor().startsWith("rule:"));
    }

    @Test
    void aPauseRulePausesThePlanAndResumeBakesAfresh() throws Exception {
        autopilot.rollout("alice", List.of(10, 50, 100), Duration.ofSeconds(10), null);
        tick(100, 8); // 8 of 208: above 0.05, below 0.10

        assertThat(plan().status()).isEqualTo(Plan.Status.PAUSED);
        assertThat(plan().note()).startsWith("paused by rule error_rate > 0.05");
        assertThat(control.current().weight()).isEqualTo(10);

        clock.advance(Duration.ofSeconds(20)); // the bad minute leaves the window
        autopilot.resume("bob", "fixed the index");
        for (int i = 0; i < 6 && control.current().weight() == 10; i++) {
            tick(20, 0);
        }

        assertThat(control.current().weight()).isEqualTo(50);
        assertThat(control.history()).extracting(RoutingControl.HistoryEntry::command).contains("pause", "resume");
    }

    @Test
    void theOperatorsWeightPausesThePlanAndTheOperatorsRollbackEndsIt() throws Exception {
        autopilot.rollout("alice", List.of(10, 50, 100), Duration.ofSeconds(10), null);

        control.setWeight("bob", 30, null);
        assertThat(plan().status()).isEqualTo(Plan.Status.PAUSED);
        assertThat(plan().note()).isEqualTo("paused: bob set the weight to 30");

        control.rollback("bob", "p99 doubled", false);
        assertThat(plan().status()).isEqualTo(Plan.Status.ROLLED_BACK);
        assertThat(plan().note()).isEqualTo("rolled back by bob: p99 doubled");
    }

    @Test
    void aSecondRolloutWhileOneRunsIsRefusedAndBadStepsAreRefused() throws Exception {
        autopilot.rollout("alice", List.of(10, 50), Duration.ofSeconds(10), null);

        assertThatThrownBy(() -> autopilot.rollout("bob", List.of(25), Duration.ofSeconds(10), null))
                .isInstanceOf(RoutingControl.Refused.class).hasMessageContaining("already running");
        assertThatThrownBy(() -> autopilot.rollout("bob", List.of(50, 25), Duration.ofSeconds(10), null))
                .hasMessageContaining("steps must increase");
        assertThatThrownBy(() -> autopilot.rollout("bob", List.of(5, 101), Duration.ofSeconds(10), null))
                .hasMessageContaining("from 1 to 100");
    }

    @Test
    void aRolloutStartsAtTheFirstStepAboveTheWeightInForce() throws Exception {
        control.setWeight("alice", 25, null);

        autopilot.rollout("alice", Plan.DEFAULT_STEPS, Duration.ofSeconds(10), null);

        assertThat(plan().weight()).isEqualTo(25);
        assertThat(plan().position()).isEqualTo(2);
        assertThat(control.current().weight()).isEqualTo(25);
    }

    @Test
    void aRolloutNeedsDualWriteWithGreenInSync() {
        RoutingControl blueAlone = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(1));
        Autopilot idle = new Autopilot(blueAlone, windows, new Health(Duration.ofSeconds(10), RULES), clock, TICK);

        assertThatThrownBy(() -> idle.rollout("alice", Plan.DEFAULT_STEPS, Duration.ofSeconds(10), null))
                .isInstanceOf(RoutingControl.Refused.class).hasMessageContaining("phase blue");
    }

    /**
     * An operator's command whose state another command moved while it was being decided is decided again
     * on the new state. Before, it was refused with the autopilot's own "judged again at the next tick",
     * which no tick would ever do for an operator.
     */
    @Test
    void aRolloutWhoseStateMovedWhileItWasDecidedIsDecidedAgainOnTheNewState() throws Exception {
        meanwhile.then(() -> control.setWeight("bob", 30, null), 1);

        RoutingState after = autopilot.rollout("alice", List.of(10, 50, 100), Duration.ofSeconds(10), null);

        assertThat(after.weight()).isEqualTo(50);
        assertThat(plan().position()).isEqualTo(1);
        assertThat(control.history()).extracting(RoutingControl.HistoryEntry::command)
                .containsExactly("start", "set-weight 30", "rollout [10, 50, 100] bake 10s: set-weight 50");
    }

    @Test
    void aResumeWhoseStateMovedWhileItWasDecidedAnswersForTheNewState() throws Exception {
        autopilot.rollout("alice", List.of(10, 50, 100), Duration.ofSeconds(10), null);
        autopilot.pause("bob", null);
        meanwhile.then(() -> control.setWeight("carol", 30, null), 1);

        assertThatThrownBy(() -> autopilot.resume("bob", null))
                .isInstanceOf(RoutingControl.Refused.class)
                .hasMessage("the weight is 30 but the plan's step is 10; set-weight 10 first, or start a new rollout");
        assertThat(plan().status()).isEqualTo(Plan.Status.PAUSED);
    }

    @Test
    void aStateThatKeepsMovingWhileACommandIsDecidedRefusesItAskingToTryAgain() throws Exception {
        AtomicInteger weight = new AtomicInteger(30);
        meanwhile.then(() -> control.setWeight("bob", weight.getAndIncrement(), null), 3);

        assertThatThrownBy(() -> autopilot.rollout("alice", List.of(40, 50, 100), Duration.ofSeconds(10), null))
                .isInstanceOf(RoutingControl.Refused.class)
                .hasMessage("the routing state kept changing while the command was decided (now epoch 5); nothing was"
                        + " changed, check the state and try again");
        assertThat(control.plan()).isEmpty();
        assertThat(control.current().weight()).isEqualTo(32);
    }

    /** What another command does while the autopilot decides one: run at its next readings of the time. */
    private interface Meanwhile {
        void run() throws Exception;
    }

    private static final class MeanwhileClock extends Clock {
        private final Clock time;
        private Meanwhile meanwhile;
        private int times;

        MeanwhileClock(Clock time) {
            this.time = time;
        }

        void then(Meanwhile action, int readings) {
            meanwhile = action;
            times = readings;
        }

        @Override
        public Instant instant() {
            if (times > 0) {
                times--;
                try {
                    meanwhile.run();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
            return time.instant();
        }

        @Override
        public ZoneId getZone() {
            return time.getZone();
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }
}
