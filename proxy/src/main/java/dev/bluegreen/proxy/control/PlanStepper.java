package dev.bluegreen.proxy.control;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * What a running rollout plan does next (DESIGN §6), as a pure function of the plan, the routing state,
 * the health verdict and the clock. {@link Autopilot} carries the decision out.
 *
 * <pre>
 *   not running ─────────────────────────────▶ Idle
 *   dual-write off / green out of sync / cut over ─▶ End (aborted, rolled back, done)
 *   weight moved by someone else ────────────▶ Pause
 *   frozen, or any rule not healthy, or bake not over ─▶ Hold (why)
 *   baked on the last step ──────────────────▶ End (done)
 *   baked ───────────────────────────────────▶ Advance (next step)
 * </pre>
 */
public final class PlanStepper {

    /** Why a plan ended when green fell out of sync: said by the change that did it, or by this, whichever saw it first. */
    static final String GREEN_OUT_OF_SYNC = "green fell out of sync and the weight went back to 0";

    private PlanStepper() {}

    public sealed interface Decision {
        /** No running plan: nothing to do. */
        record Idle() implements Decision {}

        /** Stay on this step; {@code why} is shown as the plan's holding reason. */
        record Hold(String why) implements Decision {}

        /** Move to {@code next}, whose weight takes effect with it. */
        record Advance(Plan next) implements Decision {}

        /** Stop advancing: someone else moved the weight. */
        record Pause(String note) implements Decision {}

        /** The plan is over. */
        record End(Plan.Status status, String note) implements Decision {}
    }

    /**
     * @param healthySince since when the verdict has been healthy without a break, null when it is not
     *                     healthy now; the bake counts from the later of this and the step's start
     */
    public static Decision decide(Plan plan, RoutingState state, HealthVerdict verdict, Instant healthySince, Instant now) {
        if (plan == null || plan.status() != Plan.Status.RUNNING) {
            return new Decision.Idle();
        }
        if (state.phase() == Phase.CUTOVER || state.phase() == Phase.GREEN) {
            return new Decision.End(Plan.Status.DONE, "green leads: cut over at weight " + state.weight());
        }
        if (state.phase() != Phase.DUAL) {
            return new Decision.End(Plan.Status.ABORTED, "dual-write is off (phase " + lower(state.phase()) + ")");
        }
        if (!state.followerMayServeReads()) {
            return new Decision.End(Plan.Status.ROLLED_BACK, GREEN_OUT_OF_SYNC);
        }
        if (state.weight() != plan.weight()) {
            return new Decision.Pause("the weight was set to " + state.weight() + " outside the plan (step "
                    + (plan.position() + 1) + " is " + plan.weight() + ")");
        }
        if (state.frozen()) {
            return new Decision.Hold("frozen");
        }
        if (verdict.overall() != HealthVerdict.Overall.HEALTHY || healthySince == null) {
            return new Decision.Hold(verdict.holdReason().orElse("waiting for the first health verdict"));
        }
        Duration baked = baked(plan, healthySince, now);
        if (baked.compareTo(plan.bake()) < 0) {
            return new Decision.Hold("baking: " + seconds(baked) + " of " + seconds(plan.bake()));
        }
        if (plan.position() == plan.steps().size() - 1) {
            return new Decision.End(Plan.Status.DONE, "weight " + plan.weight() + " baked " + seconds(plan.bake())
                    + " with every rule healthy; cutover is next");
        }
        return new Decision.Advance(plan.advancedAt(now));
    }

    /** How long the step has baked healthy, as of {@code now}; zero when not healthy now. */
    public static Duration baked(Plan plan, Instant healthySince, Instant now) {
        if (healthySince == null || plan.status() != Plan.Status.RUNNING) {
            return Duration.ZERO;
        }
        Instant from = healthySince.isAfter(plan.stepStartedAt()) ? healthySince : plan.stepStartedAt();
        Duration baked = Duration.between(from, now);
        return baked.isNegative() ? Duration.ZERO : baked;
    }

    private static String seconds(Duration d) {
        return d.toSeconds() + " s";
    }

    private static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
