package dev.bluegreen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A rollout plan ({@code plan} in the proxy's state) as text: where it stands among its steps, how far
 * the step has baked, and why it holds or why it ended. Pure functions of the JSON, like {@link Views}.
 */
final class PlanView {

    private static final Set<String> FIELDS = Set.of("status", "steps", "position", "weight", "bakeSeconds",
            "stepStartedAt", "bakedSeconds", "holding", "note");

    private PlanView() {}

    /** The plan's lines for {@code status} and {@code rollout}; nothing when the proxy does not report plans. */
    static void addTo(Lines lines, JsonNode plan) {
        addTo(lines, plan, "dual");
    }

    /**
     * As {@link #addTo(Lines, JsonNode)}, in {@code phase}: outside {@code dual} a plan that has ended is the last
     * one, whose note (what was next then) no longer holds.
     */
    static void addTo(Lines lines, JsonNode plan, String phase) {
        addTo(lines, plan, phase, null);
    }

    /**
     * As {@link #addTo(Lines, JsonNode, String)}, beside the routing state's {@code weight}: a plan that is done
     * while the weight has moved since (a rollback, a {@code set-weight}) is the last one too, and its note
     * ("cutover is next") no longer holds. A plan that rolled back keeps its note, which says why.
     */
    static void addTo(Lines lines, JsonNode plan, String phase, JsonNode weight) {
        if (plan == null || plan.isMissingNode()) {
            return;
        }
        if (plan.isNull()) {
            boolean mayStart = phase.equals("dual") || phase.equals("blue"); // from blue, once dual-write is on
            lines.add("plan", mayStart ? "none (bgctl rollout starts one)" : "none");
            return;
        }
        String status = plan.path("status").asText("");
        boolean movedOn = status.equals("done") && weight != null && weight.isIntegralNumber()
                && plan.path("weight").isIntegralNumber() && weight.asInt() != plan.path("weight").asInt();
        if ((!phase.equals("dual") || movedOn) && !status.equals("running") && !status.equals("paused")) {
            lines.add("plan", "the last one " + status(plan) + ", " + position(plan));
            return;
        }
        lines.add("plan", status(plan) + ", " + position(plan) + (plan.path("steps").isArray() ? ": " + steps(plan) : ""));
        String bake = bake(plan);
        if (bake != null) {
            lines.add("plan bake", bake);
        }
        lines.addIf(plan, "holding", "plan holding", JsonNode::asText);
        lines.addIf(plan, "note", "plan note", JsonNode::asText);
        Views.extras(plan, FIELDS, "plan.", lines);
    }

    /** {@code running}, {@code rolled back}. */
    static String status(JsonNode plan) {
        return plan.path("status").asText("unknown").toLowerCase(Locale.ROOT).replace('_', ' ');
    }

    /** {@code weight 25 (step 3/6)}: the step in force, counted from 1 as people count. */
    static String position(JsonNode plan) {
        String weight = "weight " + plan.path("weight").asText("?");
        String step = step(plan);
        return step == null ? weight : weight + " (step " + step + ")";
    }

    /** {@code 3/6}, or null when the plan does not say. */
    static String step(JsonNode plan) {
        JsonNode steps = plan.path("steps");
        if (!plan.path("position").isIntegralNumber() || !steps.isArray()) {
            return null;
        }
        return (plan.get("position").asInt() + 1) + "/" + steps.size();
    }

    /** {@code 5, 10, [25], 50, 75, 100}: the step in force in brackets. */
    static String steps(JsonNode plan) {
        int position = plan.path("position").asInt(-1);
        List<String> weights = new ArrayList<>();
        JsonNode steps = plan.path("steps");
        for (int i = 0; i < steps.size(); i++) {
            String weight = steps.get(i).asText();
            weights.add(i == position ? "[" + weight + "]" : weight);
        }
        return String.join(", ", weights);
    }

    /**
     * {@code baked 2m10s of 5m (43 %)} while a step bakes (or holds, paused); null once the plan has
     * ended, when the bake no longer means anything.
     */
    static String bake(JsonNode plan) {
        String status = plan.path("status").asText("");
        if (!status.equals("running") && !status.equals("paused") || !plan.path("bakeSeconds").isNumber()) {
            return null;
        }
        long bake = plan.get("bakeSeconds").asLong();
        if (bake == 0) {
            return "none: each step lasts until every rule is healthy";
        }
        long baked = plan.path("bakedSeconds").asLong(0);
        String text = String.format(Locale.ROOT, "baked %s of %s (%d %%)", Durations.format(baked),
                Durations.format(bake), Math.min(100, 100 * baked / bake));
        if (status.equals("paused")) {
            text += ", not baking while paused";
        } else if (plan.hasNonNull("stepStartedAt")) {
            text += ", since " + Views.time(plan.get("stepStartedAt"));
        }
        return text;
    }
}
