package dev.bluegreen.bench;

import dev.bluegreen.bench.driver.ControlProtocol;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a dual-write scenario's pgbench connects: blue directly; blue and green directly at once,
 * with the load dual-write puts on them ({@link DualScenario#bothDirectClients}); or bluegreen in one
 * routing state, before {@code start} (dual-write off, blue alone) or with dual-write on and green
 * serving a share of reads. The order here is the order targets are shown in, and measured in the first
 * round (each later round starts one further on).
 */
enum DualTarget {
    DIRECT("direct", -1),
    /**
     * No proxy: pgbench straight to both clusters at the same time. On a machine where blue and green
     * share the cores this is the most dual-write could reach, and the figure the others are read against.
     */
    BOTH_DIRECT("no proxy, blue + green at once", -1),
    DUAL_WRITE_OFF("dual-write off", -1),
    WEIGHT_0("dual-write, weight 0", 0),
    WEIGHT_50("dual-write, weight 50", 50),
    WEIGHT_100("dual-write, weight 100", 100);

    private final String label;
    private final int weight; // -1: dual-write off

    DualTarget(String label, int weight) {
        this.label = label;
        this.weight = weight;
    }

    String label() {
        return label;
    }

    boolean throughProxy() {
        return this != DIRECT && this != BOTH_DIRECT;
    }

    boolean dualWrite() {
        return weight >= 0;
    }

    /** Whether the proxy in {@code state} is what this target measures; always for direct. */
    boolean holdsIn(ControlProtocol.State state) {
        if (!throughProxy()) {
            return true;
        }
        if (!dualWrite()) {
            return state.blueAlone();
        }
        return state.dualWrite() && state.inSync() && state.weight() == weight;
    }

    /**
     * The commands that take the proxy from {@code state} to this target, fewest first: none when it
     * holds already; a weight change while dual-write is on and green in sync; otherwise from blue
     * alone {@code start} and then the weight. Dual-write with green out of sync is aborted and started
     * afresh, since green may serve no reads until then; the caller must see that green holds blue's
     * data again before sending a {@code start}.
     */
    List<ControlProtocol.Command> commandsFrom(ControlProtocol.State state) {
        if (holdsIn(state)) {
            return List.of();
        }
        if (!state.blueAlone() && !state.dualWrite()) {
            throw new IllegalStateException("the harness never leaves blue leading, but the proxy is in phase "
                    + state.phase());
        }
        if (!dualWrite()) {
            return List.of(new ControlProtocol.Abort());
        }
        if (state.dualWrite() && state.inSync()) {
            return List.of(new ControlProtocol.SetWeight(weight));
        }
        List<ControlProtocol.Command> commands = new ArrayList<>();
        if (state.dualWrite()) {
            commands.add(new ControlProtocol.Abort());
        }
        commands.add(new ControlProtocol.Start());
        if (weight != 0) {
            commands.add(new ControlProtocol.SetWeight(weight));
        }
        return List.copyOf(commands);
    }
}
