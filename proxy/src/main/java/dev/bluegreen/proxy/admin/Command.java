package dev.bluegreen.proxy.admin;

import dev.bluegreen.proxy.control.Autopilot;
import dev.bluegreen.proxy.control.Plan;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;

/**
 * The operator's commands, one constant each, as {@code POST /api/v1/commands/<path>} names them. Each
 * hands its request to {@link RoutingControl} (the plan commands to the {@link Autopilot}), which decides
 * go or no-go and may wait on the write barrier: run them off any event loop.
 */
enum Command {

    START("start", (ops, actor, r) -> ops.control().startTelling(actor, r.reason())),
    SHADOW("shadow", (ops, actor, r) -> ops.control().startShadowTelling(actor, r.reason())),
    SET_WEIGHT("set-weight", (Plain) (ops, actor, r) -> r.fromWeight() == null
            ? ops.control().setWeight(actor, r.weight(), r.reason())
            : ops.control().setWeight(actor, r.fromWeight(), r.weight(), r.reason())),
    ROLLOUT("rollout", (Plain) (ops, actor, r) -> ops.rollout(actor, r.steps() != null ? r.steps() : Plan.DEFAULT_STEPS,
            r.bakeSeconds() != null ? Duration.ofSeconds(r.bakeSeconds()) : Plan.DEFAULT_BAKE, r.reason())),
    PAUSE("pause", (Plain) (ops, actor, r) -> ops.pause(actor, r.reason())),
    RESUME("resume", (Plain) (ops, actor, r) -> ops.resume(actor, r.reason())),
    ROLLBACK("rollback", (ops, actor, r) -> ops.control().rollbackTelling(actor, r.reason(), r.force())),
    CUTOVER("cutover", (Plain) (ops, actor, r) -> ops.control().cutover(actor, r.reason())),
    FINALIZE("finalize", (Plain) (ops, actor, r) -> ops.control().finalizeMigration(actor, r.reason())),
    ABORT("abort", (Plain) (ops, actor, r) -> ops.control().abort(actor, r.reason())),
    FREEZE("freeze", (Plain) (ops, actor, r) -> ops.control().freeze(actor, true, r.reason())),
    UNFREEZE("unfreeze", (Plain) (ops, actor, r) -> ops.control().freeze(actor, false, r.reason()));

    /** What a command does: carries it out and returns the state now in force, with any warning for the operator. */
    @FunctionalInterface
    private interface Action {
        RoutingControl.Changed run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused;
    }

    /** A command with nothing to tell beyond the state it leaves. */
    @FunctionalInterface
    private interface Plain extends Action {
        RoutingState carryOut(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused;

        @Override
        default RoutingControl.Changed run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused {
            return RoutingControl.Changed.to(carryOut(ops, actor, request));
        }
    }

    private final String path;
    private final Action action;

    Command(String path, Action action) {
        this.path = path;
        this.action = action;
    }

    /** Carries the command out; returns the state now in force. May block on the write barrier. */
    RoutingControl.Changed run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused {
        return action.run(ops, actor, request);
    }

    String path() {
        return path;
    }

    boolean takesWeight() {
        return this == SET_WEIGHT;
    }

    boolean takesForce() {
        return this == ROLLBACK;
    }

    boolean takesPlan() {
        return this == ROLLOUT;
    }

    static Optional<Command> byPath(String path) {
        return Arrays.stream(values()).filter(c -> c.path.equals(path)).findFirst();
    }
}
