package dev.bluegreen.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.config.Health;
import dev.bluegreen.config.HealthRule;
import dev.bluegreen.proxy.control.HealthVerdict.Overall;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Where a running plan goes next, without a clock or a socket. */
class PlanStepperTest {

    private static final Instant T0 = Instant.parse("2025-06-01T10:00:00Z");
    private static final Duration BAKE = Duration.ofMinutes(5);

    private static Plan plan(int position, Instant stepStartedAt) {
        return new Plan(Plan.DEFAULT_STEPS, BAKE, position, Plan.Status.RUNNING, stepStartedAt, null);
    }

    private static RoutingState dual(int weight) {
        return new RoutingState(7, ClusterRole.BLUE, FollowerWrites.SYNC, weight, true, false, false);
    }

    private static HealthVerdict verdict(Overall overall) {
        return new HealthVerdict(overall, List.of(), HealthFigures.empty(), T0);
    }

    @Test
    void aStepAdvancesOnlyAfterAFullHealthyBake() {
        Plan plan = plan(1, T0);
        HealthVerdict healthy = verdict(Overall.HEALTHY);

        PlanStepper.Decision early = PlanStepper.decide(plan, dual(10), healthy, T0, T0.plus(BAKE).minusSeconds(1));
        PlanStepper.Decision due = PlanStepper.decide(plan, dual(10), healthy, T0, T0.plus(BAKE));

        assertThat(early).isEqualTo(new PlanStepper.Decision.Hold("baking: 299 s of 300 s"));
        assertThat(due).isInstanceOf(PlanStepper.Decision.Advance.class);
        Plan next = ((PlanStepper.Decision.Advance) due).next();
        assertThat(next.weight()).isEqualTo(25);
        assertThat(next.stepStartedAt()).isEqualTo(T0.plus(BAKE));
    }

    @Test
    void theBakeCountsFromWhenTheVerdictLastBecameHealthy() {
        Plan plan = plan(0, T0);
        Instant healthySince = T0.plusSeconds(200);

        PlanStepper.Decision decision = PlanStepper.decide(plan, dual(5), verdict(Overall.HEALTHY), healthySince,
                T0.plus(BAKE));

        assertThat(decision).isEqualTo(new PlanStepper.Decision.Hold("baking: 100 s of 300 s"));
    }

    @Test
    void anInconclusiveOrFiringVerdictHoldsWithItsReason() {
        HealthRule rule = Health.DEFAULT_RULES.get(0);
        HealthVerdict inconclusive = new HealthVerdict(Overall.INCONCLUSIVE,
                List.of(new HealthVerdict.RuleVerdict(rule, null, 12, HealthVerdict.RuleVerdict.Status.INCONCLUSIVE)),
                HealthFigures.empty(), T0);

        PlanStepper.Decision decision = PlanStepper.decide(plan(0, T0), dual(5), inconclusive, null, T0.plus(BAKE));

        assertThat(decision).isEqualTo(
                new PlanStepper.Decision.Hold("inconclusive: error_rate > 0.05 has 12 of 100 samples"));
    }

    @Test
    void theLastStepBakedEndsThePlanAsDone() {
        Plan last = plan(5, T0);

        PlanStepper.Decision decision = PlanStepper.decide(last, dual(100), verdict(Overall.HEALTHY), T0, T0.plus(BAKE));

        assertThat(decision).isInstanceOf(PlanStepper.Decision.End.class);
        assertThat(((PlanStepper.Decision.End) decision).status()).isEqualTo(Plan.Status.DONE);
    }

    @Test
    void aWeightMovedOutsideThePlanPausesIt() {
        PlanStepper.Decision decision = PlanStepper.decide(plan(2, T0), dual(40), verdict(Overall.HEALTHY), T0, T0);

        assertThat(decision).isEqualTo(new PlanStepper.Decision.Pause(
                "the weight was set to 40 outside the plan (step 3 is 25)"));
    }

    @Test
    void greenOutOfSyncEndsThePlanAsRolledBackAndDualWriteOffAsAborted() {
        RoutingState outOfSync = new RoutingState(8, ClusterRole.BLUE, FollowerWrites.SYNC, 0, false, false, false);
        RoutingState blue = new RoutingState(9, ClusterRole.BLUE, FollowerWrites.OFF, 0, false, false, false);

        assertThat(PlanStepper.decide(plan(2, T0), outOfSync, verdict(Overall.HEALTHY), T0, T0))
                .extracting(d -> ((PlanStepper.Decision.End) d).status()).isEqualTo(Plan.Status.ROLLED_BACK);
        assertThat(PlanStepper.decide(plan(2, T0), blue, verdict(Overall.HEALTHY), T0, T0))
                .extracting(d -> ((PlanStepper.Decision.End) d).status()).isEqualTo(Plan.Status.ABORTED);
    }

    @Test
    void aFrozenStateHoldsAndAPausedPlanDoesNothing() {
        RoutingState frozen = new RoutingState(7, ClusterRole.BLUE, FollowerWrites.SYNC, 10, true, true, false);
        Plan paused = plan(1, T0).with(Plan.Status.PAUSED, "by alice");

        assertThat(PlanStepper.decide(plan(1, T0), frozen, verdict(Overall.HEALTHY), T0, T0.plus(BAKE)))
                .isEqualTo(new PlanStepper.Decision.Hold("frozen"));
        assertThat(PlanStepper.decide(paused, dual(10), verdict(Overall.HEALTHY), T0, T0.plus(BAKE)))
                .isInstanceOf(PlanStepper.Decision.Idle.class);
    }
}
