package dev.bluegreen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code rollout --follow}: watches the plan the proxy runs and prints one line each time its step or
 * status changes, and a progress line while a step bakes: at every tenth of the bake (10 s apart at
 * least), whenever the reason it holds changes, and whenever the set of firing rules changes. Nothing
 * here steers the plan; it lives in the proxy, so a proxy that cannot be reached for a while is
 * retried, and stopping bgctl stops only the watching.
 *
 * <p>{@link #observe} is a pure function of what the proxy answered and what was printed before; the
 * loop in {@link #follow} only polls, stamps the time and decides when following ends.
 */
final class PlanFollower {

    static final Duration POLL = Duration.ofSeconds(1);
    /** Statuses in which the plan no longer moves by itself; {@code done} is the only good one. */
    private static final Set<String> ENDED = Set.of("done", "paused", "rolled_back", "aborted");
    private static final long MIN_PROGRESS_SECONDS = 10;
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

    private final PrintWriter out;
    private final PrintWriter err;
    private String lastStep;
    private String lastProgress;

    PlanFollower(PrintWriter out, PrintWriter err) {
        this.out = out;
        this.err = err;
    }

    /**
     * Follows from {@code state} (the answer that started the plan) until the plan ends.
     *
     * @return 0 once the plan is done
     * @throws BgctlException refused (exit 1) with the plan's note once it is paused, rolled back or
     *                        aborted, or when the proxy stops reporting it
     */
    int follow(AdminClient client, JsonNode state) throws InterruptedException {
        out.println("following the plan every " + Durations.format(POLL.toSeconds())
                + "; Ctrl-C stops following, not the plan (bgctl pause does)");
        out.flush();
        JsonNode health = null;
        String unreachable = null;
        while (true) {
            JsonNode plan = state.path("plan");
            if (!plan.isObject()) {
                throw BgctlException.refused("the proxy no longer reports a rollout plan (state: "
                        + Views.summary(state) + ")");
            }
            String time = LocalTime.now().format(CLOCK);
            observe(plan, health).forEach(line -> out.println(time + "  " + line));
            out.flush();
            String status = plan.path("status").asText("");
            if (status.equals("done")) {
                return 0;
            }
            if (ENDED.contains(status)) {
                String note = plan.path("note").isNull() ? null : plan.path("note").asText(null);
                throw BgctlException.refused("the rollout is " + PlanView.status(plan) + " at "
                        + PlanView.position(plan) + (note != null ? ": " + note : ""));
            }
            Thread.sleep(POLL.toMillis());
            try {
                JsonNode polled = client.get("state");
                health = client.getIfServed("health");
                state = polled;
                if (unreachable != null) {
                    err.println("bgctl: the proxy answers again");
                    err.flush();
                    unreachable = null;
                }
            } catch (BgctlException e) {
                if (!e.passing()) {
                    throw e;
                }
                if (unreachable == null) {
                    err.println("bgctl: " + e.getMessage() + " Retrying every second; the plan runs in the proxy.");
                    err.flush();
                }
                unreachable = e.getMessage();
            }
        }
    }

    /** The lines this answer adds to what was printed: none when nothing worth a line changed. */
    List<String> observe(JsonNode plan, JsonNode health) {
        List<String> lines = new ArrayList<>();
        String status = plan.path("status").asText("");
        String step = status + " " + PlanView.position(plan);
        String progress = status.equals("running") ? progress(plan, health) : null;
        if (!step.equals(lastStep)) {
            lastStep = step;
            lastProgress = progressKey(plan, health);
            lines.add(PlanView.position(plan) + ": " + PlanView.status(plan)
                    + (progress != null ? ", " + progress : "") + ending(plan, status));
        } else if (progress != null) {
            String key = progressKey(plan, health);
            if (!key.equals(lastProgress)) {
                lastProgress = key;
                lines.add(PlanView.position(plan) + ": " + progress);
            }
        }
        return lines;
    }

    /** {@code baked 2m10s of 5m, holding: inconclusive: …; firing: latency_p95_ratio > 2 (2.41 > 2, warn)}. */
    private static String progress(JsonNode plan, JsonNode health) {
        long bake = plan.path("bakeSeconds").asLong(0);
        StringBuilder text = new StringBuilder("baked ")
                .append(Durations.format(plan.path("bakedSeconds").asLong(0)))
                .append(" of ").append(Durations.format(bake));
        String holding = holding(plan);
        if (holding != null) {
            text.append(", holding: ").append(holding);
        }
        List<String> firing = firing(health);
        if (!firing.isEmpty()) {
            text.append("; firing: ").append(String.join(", ", firing));
        }
        return text.toString();
    }

    private static final Pattern DIGITS = Pattern.compile("[0-9]+");

    /** What makes a progress line worth printing: the bake's tenth, the holding reason, the firing rules. */
    private static String progressKey(JsonNode plan, JsonNode health) {
        long bake = plan.path("bakeSeconds").asLong(0);
        long every = Math.max(MIN_PROGRESS_SECONDS, bake / 10);
        // a reason's figures (40 of 100 samples, counted as they come) change every second; its kind is what is news
        String holding = holding(plan);
        return plan.path("bakedSeconds").asLong(0) / every + "|" + (holding == null ? "" : DIGITS.matcher(holding).replaceAll("#"))
                + "|" + firing(health);
    }

    /** Why the plan holds, but for the bake itself ("baking: 17 s of 20 s"), which the line shows already. */
    private static String holding(JsonNode plan) {
        String holding = plan.path("holding").asText(null);
        return holding == null || holding.startsWith("baking") ? null : holding;
    }

    private static List<String> firing(JsonNode health) {
        List<String> firing = new ArrayList<>();
        if (health != null) {
            health.path("rules").forEach(rule -> {
                if (rule.path("verdict").asText("").equals("firing")) {
                    firing.add(rule.path("name").asText("?") + " (" + HealthView.decimal(rule.path("value")) + ", "
                            + rule.path("action").asText("?") + ")");
                }
            });
        }
        return firing;
    }

    /** After a status that ends following: why, or what comes next. */
    private static String ending(JsonNode plan, String status) {
        if (status.equals("done")) {
            return "; every step baked, cutover is yours to run (bgctl cutover)";
        }
        if (ENDED.contains(status) && plan.hasNonNull("note")) {
            return ": " + plan.get("note").asText();
        }
        return "";
    }
}
