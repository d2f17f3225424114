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
 * hands its request to the {@link Autopilot}, where commands and the rollout plan take turns, and
 * {@link RoutingControl} decides go or no-go and may wait on the write barrier: run them off any event loop.
 */
enum Command {

    START("start") {
        @Override
        RoutingState run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused {
            return ops.start(actor, request.reason());
        }
    },
    SHADOW("shadow") {
        @Override
        RoutingState run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused {
            return ops.startShadow(actor, request.reason());
        }
    },
    SET_WEIGHT("set-weight") {
        @Override
        RoutingState run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused {
            return ops.setWeight(actor, request.weight(), request.reason());
        }
    },
    ROLLOUT("rollout") {
        @Override
        RoutingState run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused {
            return ops.rollout(actor, request.steps() != null ? request.steps() : Plan.DEFAULT_STEPS,
                    request.bakeSeconds() != null ? Duration.ofSeconds(request.bakeSeconds()) : Plan.DEFAULT_BAKE,
                    request.reason());
        }
    },
    PAUSE("pause") {
        @Override
        RoutingState run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused {
            return ops.pause(actor, request.reason());
        }
    },
    RESUME("resume") {
        @Override
        RoutingState run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused {
            return ops.resume(actor, request.reason());
        }
    },
    ROLLBACK("rollback") {
        @Override
        RoutingState run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused {
            return ops.rollback(actor, request.reason(), request.force());
        }
    },
    CUTOVER("cutover") {
        @Override
        RoutingState run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused {
            return ops.cutover(actor, request.reason());
        }
    },
    FINALIZE("finalize") {
        @Override
        RoutingState run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused {
            return ops.finalizeMigration(actor, request.reason());
        }
    },
    ABORT("abort") {
        @Override
        RoutingState run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused {
            return ops.abort(actor, request.reason());
        }
    },
    FREEZE("freeze") {
        @Override
        RoutingState run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused {
            return ops.freeze(actor, true, request.reason());
        }
    },
    UNFREEZE("unfreeze") {
        @Override
        RoutingState run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused {
            return ops.freeze(actor, false, request.reason());
        }
    };

    private final String path;

    Command(String path) {
        this.path = path;
    }

    /** Carries the command out; returns the state now in force. May block on the write barrier. */
    abstract RoutingState run(Autopilot ops, String actor, CommandRequest request) throws RoutingControl.Refused;

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
