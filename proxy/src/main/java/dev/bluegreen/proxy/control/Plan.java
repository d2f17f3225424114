package dev.bluegreen.proxy.control;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * A rollout plan's position (DESIGN §6): the weights to step through, how long each must bake with every
 * health rule healthy, and where the plan stands. Immutable; the plan runner replaces it through
 * {@link RoutingControl#plan(Plan)}, which keeps it with the routing state so it survives a restart.
 *
 * @param position      index into {@code steps} of the weight in force (the one baking now)
 * @param stepStartedAt when the current step's weight took effect (the bake counts from here)
 * @param note          why the plan is in its status (who paused it, which rule held or rolled it back)
 */
public record Plan(List<Integer> steps, Duration bake, int position, Status status, Instant stepStartedAt, String note) {

    public enum Status { RUNNING, PAUSED, DONE, ABORTED, ROLLED_BACK }

    public static final List<Integer> DEFAULT_STEPS = List.of(5, 10, 25, 50, 75, 100);
    public static final Duration DEFAULT_BAKE = Duration.ofMinutes(5);

    public Plan {
        steps = List.copyOf(steps);
        Objects.requireNonNull(bake, "bake");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(stepStartedAt, "stepStartedAt");
        if (steps.isEmpty()) {
            throw new IllegalArgumentException("a plan needs at least one step");
        }
        if (position < 0 || position >= steps.size()) {
            throw new IllegalArgumentException("position " + position + " outside the " + steps.size() + " steps");
        }
    }

    public int weight() {
        return steps.get(position);
    }

    public boolean active() {
        return status == Status.RUNNING || status == Status.PAUSED;
    }

    public Plan with(Status newStatus, String newNote) {
        return new Plan(steps, bake, position, newStatus, stepStartedAt, newNote);
    }

    /** What a change of state does to the plan in force: one running or paused ends with {@code status}. */
    static UnaryOperator<Plan> endActive(Status status, String note) {
        return p -> p != null && p.active() ? p.with(status, note) : p;
    }

    /** What a change of state does to the plan in force: a running one pauses, any other is left alone. */
    static UnaryOperator<Plan> pauseRunning(String note) {
        return p -> p != null && p.status() == Status.RUNNING ? p.with(Status.PAUSED, note) : p;
    }

    public Plan advancedAt(Instant now) {
        return new Plan(steps, bake, position + 1, status, now, note);
    }
}
