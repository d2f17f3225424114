package dev.bluegreen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code bgctl rollout}: starts a health-gated rollout plan in the proxy and, with {@code --follow},
 * watches it. The plan runs in the proxy, not here: bgctl only checks the steps and the bake time so a
 * typo is a usage error before anything is sent, and omits what was not given so the proxy's defaults
 * apply.
 */
@Command(name = "rollout", description = {
        "Start a health-gated rollout plan in the proxy: the weight moves through the steps, each held for "
                + "the bake time with every health rule healthy before the next.",
        "Steps below the current weight are skipped; a step equal to it bakes there. A firing rule restarts "
                + "the bake, an inconclusive "
                + "one holds it; a rule whose action is pause or rollback pauses the plan or rolls back. After "
                + "the last step the plan is done and cutover stays your call. The plan lives in the proxy and "
                + "carries on when bgctl exits: pause, resume, freeze, rollback and abort stop or change it at any "
                + "time (while a rollback waits to be saved by a failing state store, only rollback is taken).",
        "With --follow, bgctl then prints each change of step or status and the bake's progress until the "
                + "plan is done (exit 0), or rolled back, aborted or paused (exit 1, with the plan's note). "
                + "Ctrl-C stops following, not the plan."})
final class RolloutCommand extends ChangeCommands.Change {

    @Option(names = "--steps", paramLabel = "WEIGHTS",
            description = "Weights to step through, comma-separated, strictly increasing, each 1-100 "
                    + "(the proxy's default: 5,10,25,50,75,100).")
    String steps;

    @Option(names = "--bake", paramLabel = "DURATION",
            description = "How long each step must run with every rule healthy: 90s, 5m, 1h, 1m30s or a number "
                    + "of seconds, up to 24h (the proxy's default: 5m).")
    String bake;

    @Option(names = "--follow",
            description = "Keep printing the plan's progress until it ends; Ctrl-C stops following, not the plan.")
    boolean follow;

    private List<Integer> stepWeights;
    private Long bakeSeconds;

    @Override
    void check() {
        if (json && follow) {
            throw new ParameterException(spec.commandLine(), "--json and --follow do not go together: "
                    + "follow a plan as JSON with bgctl status --watch --json");
        }
        try {
            stepWeights = steps == null ? null : parseSteps(steps);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--steps " + steps + ": " + e.getMessage());
        }
        try {
            bakeSeconds = bake == null ? null : Durations.parseSeconds(bake);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--bake " + e.getMessage());
        }
    }

    @Override
    ObjectNode body() {
        ObjectNode body = super.body();
        if (stepWeights != null) {
            ArrayNode array = body.putArray("steps");
            stepWeights.forEach(array::add);
        }
        if (bakeSeconds != null) {
            body.put("bakeSeconds", bakeSeconds);
        }
        return body;
    }

    @Override
    Integer change(AdminClient client) throws InterruptedException {
        JsonNode state = apply(client, "rollout", body());
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.pretty(state));
            out.flush();
            printWarnings(state);
            return 0;
        }
        out.println("rollout: started (" + Views.summary(state) + ")");
        Lines plan = new Lines();
        PlanView.addTo(plan, state.get("plan"));
        out.print(plan);
        out.flush();
        printWarnings(state);
        if (!follow) {
            return 0;
        }
        try {
            return new PlanFollower(out, spec.commandLine().getErr()).follow(client, state);
        } catch (InterruptedException stopped) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("bgctl: stopped following; the plan keeps running in the proxy "
                    + "(bgctl status shows it, bgctl pause stops it)");
            err.flush();
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    /**
     * {@code 5,10,25}: whole numbers 1-100, strictly increasing, as the proxy takes them.
     *
     * @throws IllegalArgumentException saying what is wrong, for a usage error
     */
    static List<Integer> parseSteps(String text) {
        List<Integer> weights = new ArrayList<>();
        for (String part : text.split(",", -1)) {
            String step = part.strip();
            int weight;
            try {
                weight = Integer.parseInt(step);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(step.isEmpty() ? "a step is empty; write weights like 5,10,25,50,75,100"
                        : "'" + step + "' is not a whole number; write weights like 5,10,25,50,75,100");
            }
            if (weight < 1 || weight > 100) {
                throw new IllegalArgumentException("each step is a weight from 1 to 100, " + weight + " is not");
            }
            if (!weights.isEmpty() && weight <= weights.getLast()) {
                throw new IllegalArgumentException("steps must be strictly increasing, " + weight + " follows "
                        + weights.getLast());
            }
            weights.add(weight);
        }
        return weights;
    }
}
