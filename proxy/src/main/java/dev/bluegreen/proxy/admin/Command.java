package dev.bluegreen.proxy.admin;

import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import java.util.Arrays;
import java.util.Optional;

/**
 * The operator's commands, one constant each, as {@code POST /api/v1/commands/<path>} names them. Each
 * hands its request to {@link RoutingControl}, which decides go or no-go and may wait on the write
 * barrier: run them off any event loop.
 */
enum Command {

    START("start") {
        @Override
        RoutingState run(RoutingControl control, String actor, CommandRequest request) throws RoutingControl.Refused {
            return control.start(actor);
        }
    },
    SHADOW("shadow") {
        @Override
        RoutingState run(RoutingControl control, String actor, CommandRequest request) throws RoutingControl.Refused {
            return control.startShadow(actor);
        }
    },
    SET_WEIGHT("set-weight") {
        @Override
        RoutingState run(RoutingControl control, String actor, CommandRequest request) throws RoutingControl.Refused {
            return control.setWeight(actor, request.weight());
        }
    },
    ROLLBACK("rollback") {
        @Override
        RoutingState run(RoutingControl control, String actor, CommandRequest request) throws RoutingControl.Refused {
            return control.rollback(actor, request.reason(), request.force());
        }
    },
    CUTOVER("cutover") {
        @Override
        RoutingState run(RoutingControl control, String actor, CommandRequest request) throws RoutingControl.Refused {
            return control.cutover(actor);
        }
    },
    FINALIZE("finalize") {
        @Override
        RoutingState run(RoutingControl control, String actor, CommandRequest request) throws RoutingControl.Refused {
            return control.finalizeMigration(actor);
        }
    },
    ABORT("abort") {
        @Override
        RoutingState run(RoutingControl control, String actor, CommandRequest request) throws RoutingControl.Refused {
            return control.abort(actor);
        }
    },
    FREEZE("freeze") {
        @Override
        RoutingState run(RoutingControl control, String actor, CommandRequest request) throws RoutingControl.Refused {
            return control.freeze(actor, true);
        }
    },
    UNFREEZE("unfreeze") {
        @Override
        RoutingState run(RoutingControl control, String actor, CommandRequest request) throws RoutingControl.Refused {
            return control.freeze(actor, false);
        }
    };

    private final String path;

    Command(String path) {
        this.path = path;
    }

    /** Carries the command out; returns the state now in force. May block on the write barrier. */
    abstract RoutingState run(RoutingControl control, String actor, CommandRequest request) throws RoutingControl.Refused;

    String path() {
        return path;
    }

    boolean takesWeight() {
        return this == SET_WEIGHT;
    }

    boolean takesForce() {
        return this == ROLLBACK;
    }

    static Optional<Command> byPath(String path) {
        return Arrays.stream(values()).filter(c -> c.path.equals(path)).findFirst();
    }
}
