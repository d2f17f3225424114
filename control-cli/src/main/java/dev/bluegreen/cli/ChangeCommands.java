package dev.bluegreen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * The commands that change the routing state: each is one {@code POST /api/v1/commands/<name>} with
 * the actor, and the proxy answers with the state now in force or refuses with its reason. bgctl
 * never decides whether a change is allowed; {@code step} only computes the next weight.
 */
final class ChangeCommands {

    private ChangeCommands() {}

    /** What every change shares: the request, its audit fields and how the answer is printed. */
    abstract static class Change implements Callable<Integer> {

        @ParentCommand Bgctl bgctl;
        @Spec CommandSpec spec;

        @Option(names = "--reason", paramLabel = "TEXT", description = "Why, for the proxy's history.")
        String reason;

        @Option(names = "--json", description = "Print the new state as the proxy returned it (JSON).")
        boolean json;

        @Override
        public Integer call() throws InterruptedException {
            check();
            try (AdminClient client = bgctl.client()) {
                return change(client);
            }
        }

        /** A usage problem the command line shows on its own, found before the proxy is asked anything. */
        void check() {}

        Integer change(AdminClient client) throws InterruptedException {
            return send(client, spec.name(), body());
        }

        /** The endpoint's name; the command's own name unless it differs. */
        final Integer send(AdminClient client, String endpoint, ObjectNode body) throws InterruptedException {
            JsonNode state = apply(client, endpoint, body);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(Json.pretty(state));
            } else {
                out.println(spec.name() + ": done (" + Views.summary(state) + ")");
            }
            out.flush();
            printWarnings(state);
            return 0;
        }

        /**
         * What the proxy says the operator should know of how the change went (start's check that could not be made,
         * a rollback that overtook it), on standard error.
         */
        final void printWarnings(JsonNode state) {
            PrintWriter err = spec.commandLine().getErr();
            state.path("warnings").forEach(warning -> err.println("bgctl: warning: " + warning.asText()));
            err.flush();
        }

        /** Sends the command and answers the state now in force, saying so when the proxy is slow to apply it. */
        final JsonNode apply(AdminClient client, String endpoint, ObjectNode body) throws InterruptedException {
            PrintWriter err = spec.commandLine().getErr();
            return client.command(endpoint, body, command -> {
                err.println("bgctl: waiting for the proxy to apply " + command
                        + " (a change of writer waits for in-flight transactions)...");
                err.flush();
            });
        }

        ObjectNode body() {
            ObjectNode body = AdminClient.JSON.createObjectNode();
            body.put("actor", bgctl.actor());
            if (reason != null) {
                body.put("reason", reason);
            }
            return body;
        }
    }

    @Command(name = "start", description = {
            "Turn dual-write on: every write runs on blue, then on green; green starts in sync at weight 0.",
            "With --shadow, green gets writes best effort (queue-bounded, drops counted) and never serves reads.",
            "Refused when the servers show that blue and green share a database (one server reached two ways);",
            "when they cannot be asked (no cluster user to log in as), it goes ahead and warns."})
    static final class Start extends Change {

        @Option(names = "--shadow", description = "Shadow mode instead of sync dual-write.")
        boolean shadow;

        @Override
        Integer change(AdminClient client) throws InterruptedException {
            return send(client, shadow ? "shadow" : "start", body());
        }
    }

    @Command(name = "set-weight", description = {
            "Set green's share of read units, 0-100 (%%).",
            "A running rollout plan is paused by it."})
    static final class SetWeight extends Change {

        @Parameters(paramLabel = "N", description = "Percent of read units green serves, 0-100.")
        int weight;

        @Override
        void check() {
            if (weight < 0 || weight > 100) {
                throw new ParameterException(spec.commandLine(), "N must be between 0 and 100, was " + weight);
            }
        }

        @Override
        Integer change(AdminClient client) throws InterruptedException {
            return send(client, "set-weight", body().put("weight", weight));
        }
    }

    @Command(name = "step", description = {
            "Raise the weight to the next of " + Step.STEPS_TEXT + " above the current one.",
            "Computed here from the current state, then sent as set-weight, refused if the weight moved "
                    + "meanwhile (a rollback); no bake time, no health gate (rollout has both)."})
    static final class Step extends Change {

        static final List<Integer> STEPS = List.of(5, 10, 25, 50, 75, 100);
        static final String STEPS_TEXT = "5, 10, 25, 50, 75, 100";

        @Override
        Integer change(AdminClient client) throws InterruptedException {
            JsonNode state = client.get("state");
            if (!state.path("weight").isNumber()) {
                throw BgctlException.refused("the proxy's state has no weight: " + state);
            }
            int current = state.get("weight").asInt();
            int next = next(current);
            if (next < 0) {
                throw BgctlException.refused("the weight is already " + current + "; nothing to step (cutover is next)");
            }
            spec.commandLine().getErr().println("bgctl: weight " + current + " -> " + next);
            // refused should the weight have moved meanwhile (a rollback): a step never undoes one
            return send(client, "set-weight", body().put("weight", next).put("fromWeight", current));
        }

        /** The first step above {@code current}, or -1 at the top. */
        static int next(int current) {
            return STEPS.stream().filter(w -> w > current).findFirst().orElse(-1);
        }
    }

    @Command(name = "rollback", description = {
            "Everything back to blue: weight 0, blue leads (after cutover, once in-flight transactions end).",
            "Refused when it would lose writes (blue out of sync, or finalized) unless --force."})
    static final class Rollback extends Change {

        @Option(names = "--force", description = "Roll back even if blue missed writes or the migration was finalized.")
        boolean force;

        @Override
        Integer change(AdminClient client) throws InterruptedException {
            // what only --force lets through is worth saying, as finalize says what it gives up; a state that cannot
            // be read first does not hold the rollback up
            JsonNode before = null;
            if (force && !json) {
                try {
                    before = client.get("state");
                } catch (BgctlException unread) {
                    before = null;
                }
            }
            Integer code = super.change(client);
            if (before != null) {
                PrintWriter out = spec.commandLine().getOut();
                if (before.path("finalized").asBoolean(false)) {
                    out.println("blue writes alone again: it lacks every write made since finalize, which only green"
                            + " holds (bgctl verify shows what differs); dual-write is off");
                } else if (!before.path("followerInSync").asBoolean(true) && before.path("leader").asText("").equals("green")) {
                    out.println("blue, out of sync, writes again: it lacks the writes it missed (bgctl verify shows"
                            + " what differs)");
                }
                out.flush();
            }
            return code;
        }

        @Override
        ObjectNode body() {
            ObjectNode body = super.body();
            if (force) {
                body.put("force", true);
            }
            return body;
        }
    }

    @Command(name = "cutover", description = "Make green the writer (needs weight 100 and green in sync); blue follows.")
    static final class Cutover extends Change {}

    @Command(name = "finalize", description = {"After cutover: dual-write off, green alone. Irreversible: blue stops "
            + "receiving writes, so a rollback afterwards (rollback --force) would lose every write since."})
    static final class Finalize extends Change {
        @Override
        Integer change(AdminClient client) throws InterruptedException {
            Integer code = super.change(client);
            if (!json) {
                spec.commandLine().getOut().println("blue receives no more writes: this cannot be undone without losing them");
                spec.commandLine().getOut().flush();
            }
            return code;
        }
    }

    @Command(name = "abort", description = "While blue leads: dual-write off, weight 0, green abandoned.")
    static final class Abort extends Change {}

    @Command(name = "freeze", description = "Hold the weight: set-weight and cutover are refused until unfreeze; "
            + "rollback still works.")
    static final class Freeze extends Change {}

    @Command(name = "unfreeze", description = "Lift a freeze.")
    static final class Unfreeze extends Change {}

    @Command(name = "pause", description = {
            "Stop the rollout plan from advancing; the weight stays where it is.",
            "The plan keeps its place; resume continues it with a fresh bake."})
    static final class Pause extends Change {}

    @Command(name = "resume", description = "Continue a paused rollout plan from the step in force, with a fresh bake.")
    static final class Resume extends Change {}
}
