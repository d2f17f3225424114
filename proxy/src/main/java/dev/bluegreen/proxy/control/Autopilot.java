package dev.bluegreen.proxy.control;

import dev.bluegreen.config.Health;
import dev.bluegreen.config.HealthRule;
import dev.bluegreen.proxy.control.HealthVerdict.RuleVerdict;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The part of the control plane that acts by itself (DESIGN §6): once a second it judges green's health
 * over the sliding window, carries out what the rules call for (warn, pause the plan, roll back) and moves
 * a running rollout plan on, and takes the plan commands (rollout, pause, resume). The plan changes only
 * together with a new epoch of the routing state (one compare-and-set), and every decision here is
 * carried out only on the state it was taken on: a command, another instance or a divergence that
 * changed the state meanwhile makes it refuse, to be judged again at the next tick. The other commands
 * go to {@link RoutingControl}, which ends or pauses a plan as they require.
 *
 * <p>Decisions are {@link HealthJudge} and {@link PlanStepper}, pure functions; this class is the
 * orchestrator. Its methods block (a barrier, the state store): never call them on an event loop.
 *
 * <p>Two threads: one judges every tick and rolls back, and never waits for another command (a rollback is in
 * force before it takes the command lock, see {@link RoutingControl#applyTowardBlue}); the other moves the
 * plan and pauses it, which waits for the command lock and the store like an operator's command. So a
 * {@code verify} holding the command lock while the write barrier drains, or a slow store, delays a plan's
 * step, never the rules: a step that waited is decided again on the health of the moment it is applied.
 */
public final class Autopilot implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Autopilot.class);

    public static final Duration DEFAULT_TICK = Duration.ofSeconds(1);
    /** Longest bake a plan accepts. */
    public static final Duration MAX_BAKE = Duration.ofHours(24);
    static final String PLAN_ACTOR = "plan";
    static final Duration MAX_ROLLBACK_BACKOFF = Duration.ofMinutes(5);

    private final RoutingControl control;
    private final HealthWindows windows;
    private final List<HealthRule> rules;
    private final Clock clock;
    private final Duration tick;
    private final ScheduledExecutorService thread;
    /** Where the plan's changes wait their turn, off the thread that judges. */
    private final ExecutorService planner;
    /** A plan tick is queued or running on {@link #planner}: one at a time, none queued behind it. */
    private final AtomicBoolean planning = new AtomicBoolean();

    private volatile HealthVerdict verdict;
    private volatile String holding;
    private volatile Instant healthySince;
    private Set<String> firingBefore = Set.of();
    /**
     * After an automatic rollback was refused (a rollback after cutover waits for the write barrier, and
     * a session kept it from draining), the next attempt waits this long, doubling up to
     * {@link #MAX_ROLLBACK_BACKOFF}: each attempt closes the barrier for its whole timeout, and retrying
     * every tick would hold most writes up while the rollback still could not happen.
     */
    private Duration rollbackBackoff = Duration.ZERO;
    private volatile Instant rollbackRetryAt;
    /** A rollback rule fires where no rollback is possible, and the log has said so. */
    private boolean rollbackImpossibleSaid;

    public Autopilot(RoutingControl control, HealthWindows windows, Health health, Clock clock, Duration tick) {
        this.control = control;
        this.windows = windows;
        this.rules = health.rules();
        this.clock = clock;
        this.tick = tick;
        this.verdict = HealthVerdict.none(clock.instant());
        this.thread = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("bluegreen-autopilot").daemon(true).factory());
        this.planner = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().name("bluegreen-autopilot-plan").daemon(true).factory());
        // what green did before a new start belongs to an earlier attempt
        control.onChange(new StartWatcher(control.current().phase()));
    }

    /** Begins judging and stepping, once per tick. */
    public Autopilot start() {
        thread.scheduleWithFixedDelay(this::tickSafely, tick.toMillis(), tick.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    public RoutingControl control() {
        return control;
    }

    public HealthVerdict verdict() {
        return verdict;
    }

    public Duration window() {
        return windows.window();
    }

    /** The figures in the window now, as the next tick will judge them. */
    public HealthFigures figures() {
        return windows.figures();
    }

    /** Why a running plan does not advance yet; empty when it is about to, or no plan runs. */
    public Optional<String> holding() {
        return Optional.ofNullable(holding);
    }

    /** How long the plan's step has baked healthy so far. */
    public Duration baked() {
        Plan plan = control.plan().orElse(null);
        return plan == null ? Duration.ZERO : PlanStepper.baked(plan, healthySince, clock.instant());
    }

    // ---- the operator's commands ------------------------------------------------------------------

    /**
     * Starts a rollout plan: steps at or below the weight in force are skipped, the first one above it
     * takes effect now (a weight already on a step bakes there). Replaces a paused or finished plan.
     */
    public synchronized RoutingState rollout(String actor, List<Integer> steps, Duration bake, String reason)
            throws RoutingControl.Refused {
        Optional<String> invalid = invalidSteps(steps, bake);
        if (invalid.isPresent()) {
            throw new RoutingControl.Refused(invalid.get());
        }
        return decidedAfresh(attempt -> rollout(actor, steps, bake, reason, attempt));
    }

    private RoutingState rollout(String actor, List<Integer> steps, Duration bake, String reason, Attempt attempt)
            throws RoutingControl.Refused {
        Plan current = control.plan().orElse(null);
        if (current != null && current.status() == Plan.Status.RUNNING) {
            throw new RoutingControl.Refused("a rollout plan is already running (step " + (current.position() + 1) + " of "
                    + current.steps().size() + ", weight " + current.weight() + "); pause it first");
        }
        RoutingState now = control.current();
        if (now.phase() != Phase.DUAL || !now.followerMayServeReads()) {
            throw new RoutingControl.Refused("a rollout needs blue leading with sync dual-write and green in sync (phase "
                    + lower(now.phase()) + (now.phase() == Phase.DUAL && now.followerWrites() == FollowerWrites.SYNC
                    && !now.followerInSync()
                    ? ", green out of sync); " + Transition.GREEN_START_OVER : ")"));
        }
        if (now.frozen()) {
            throw new RoutingControl.Refused("the state is frozen; unfreeze first");
        }
        int position = 0;
        while (position < steps.size() && steps.get(position) < now.weight()) {
            position++;
        }
        if (position == steps.size()) {
            throw new RoutingControl.Refused("the weight is already " + now.weight() + ", above every step of " + steps);
        }
        Plan plan = new Plan(steps, bake, position, Plan.Status.RUNNING, clock.instant(),
                "started by " + actor + (reason == null ? "" : ": " + reason));
        int weight = plan.weight();
        String command = "rollout " + steps + " bake " + bake.toSeconds() + "s";
        RoutingState after = weight == now.weight()
                ? control.apply(actor, command, reason, attempt.on(now, Transition::record), p -> plan)
                : control.apply(actor, command + ": set-weight " + weight, reason,
                        attempt.on(now, s -> Transition.setWeight(s, weight)), p -> plan);
        healthySince = null;
        holding = "baking from now";
        return after;
    }

    public synchronized RoutingState pause(String actor, String reason) throws RoutingControl.Refused {
        return decidedAfresh(attempt -> {
            RoutingState now = control.current();
            Plan plan = control.plan().filter(p -> p.status() == Plan.Status.RUNNING)
                    .orElseThrow(() -> new RoutingControl.Refused("no rollout plan is running"));
            return control.apply(actor, "pause", reason, attempt.on(now, Transition::record),
                    p -> plan.with(Plan.Status.PAUSED, "paused by " + actor + (reason == null ? "" : ": " + reason)));
        });
    }

    public synchronized RoutingState resume(String actor, String reason) throws RoutingControl.Refused {
        return decidedAfresh(attempt -> resume(actor, reason, attempt));
    }

    private RoutingState resume(String actor, String reason, Attempt attempt) throws RoutingControl.Refused {
        RoutingState now = control.current();
        Plan plan = control.plan().filter(p -> p.status() == Plan.Status.PAUSED)
                .orElseThrow(() -> new RoutingControl.Refused("no rollout plan is paused"));
        if (now.phase() != Phase.DUAL || !now.followerMayServeReads()) {
            throw new RoutingControl.Refused("the plan can resume only while blue leads with green in sync (phase "
                    + lower(now.phase()) + ")");
        }
        if (now.weight() != plan.weight()) {
            throw new RoutingControl.Refused("the weight is " + now.weight() + " but the plan's step is " + plan.weight()
                    + "; set-weight " + plan.weight() + " first, or start a new rollout");
        }
        Plan resumed = new Plan(plan.steps(), plan.bake(), plan.position(), Plan.Status.RUNNING, clock.instant(),
                "resumed by " + actor + (reason == null ? "" : ": " + reason));
        RoutingState after = control.apply(actor, "resume", reason, attempt.on(now, Transition::record), p -> resumed);
        healthySince = null;
        return after;
    }

    // ---- once per tick ----------------------------------------------------------------------------

    /**
     * Whatever a tick throws is logged and the next tick runs: a periodic task that throws is never run
     * again, and the health rules and the plan would stop without a word. Errors too (out of memory while
     * building a tick's figures, say): the next tick may well succeed.
     */
    private void tickSafely() {
        boolean rolledBack;
        try {
            rolledBack = judge();
        } catch (RuntimeException | Error e) {
            log.error("autopilot tick failed; the next one runs as usual", e);
            return;
        }
        if (!rolledBack && planning.compareAndSet(false, true)) {
            try {
                planner.execute(() -> {
                    try {
                        planTick();
                    } catch (RuntimeException | Error e) {
                        log.error("autopilot plan tick failed; the next one runs as usual", e);
                    } finally {
                        planning.set(false);
                    }
                });
            } catch (RejectedExecutionException closing) {
                planning.set(false);
            }
        }
    }

    /**
     * Judges, acts on the rules, steps the plan, all on the calling thread. Package-private so tests can drive it
     * without a timer.
     */
    void tick() {
        if (!judge()) {
            planTick();
        }
    }

    /** Judges the window and rolls back if a rule says so; true when it rolled back. Never waits for a command. */
    private boolean judge() {
        Instant now = clock.instant();
        HealthVerdict judged = HealthJudge.judge(rules, windows.figures(), now);
        verdict = judged;
        if (judged.overall() == HealthVerdict.Overall.HEALTHY) {
            if (healthySince == null) {
                healthySince = now;
            }
        } else {
            healthySince = null;
        }
        warnOfNewlyFiring(judged);
        return rollBackOnRules(judged, now);
    }

    /**
     * Pauses the plan on a rule's word or moves it on, on the latest verdict: waits for the command lock, as an
     * operator's plan command does.
     */
    private synchronized void planTick() {
        HealthVerdict judged = verdict;
        Instant now = clock.instant();
        if (pauseOnRules(judged)) {
            return;
        }
        step(judged, now);
    }

    private void warnOfNewlyFiring(HealthVerdict judged) {
        Set<String> firing = new HashSet<>();
        for (RuleVerdict rule : judged.firing()) {
            firing.add(rule.rule().name());
            if (!firingBefore.contains(rule.rule().name())) {
                log.warn("health rule firing rule=\"{}\" figures=\"{}\"", rule.rule().name(), describe(rule, judged));
            }
        }
        for (String stopped : firingBefore) {
            if (!firing.contains(stopped)) {
                log.info("health rule no longer firing rule=\"{}\"", stopped);
            }
        }
        firingBefore = firing;
    }

    /** True when it rolled back (the plan waits for the next tick). */
    private boolean rollBackOnRules(HealthVerdict judged, Instant now) {
        RoutingState state = control.current();
        boolean greenServes = greenServes(state);
        Optional<RuleVerdict> rollback = judged.firing(HealthRule.Action.ROLLBACK);
        if (rollback.isPresent() && greenServes && Transition.rollback(state, false) instanceof Transition.Refused no) {
            // after cutover with blue out of sync (blue's own divergence keeps the rule firing): nothing to roll
            // back to, which is said once rather than an attempt refused at every tick
            if (!rollbackImpossibleSaid) {
                log.warn("health rule fires but no rollback is possible rule=\"{}\" reason=\"{}\"",
                        rollback.get().rule().name(), no.reason());
                rollbackImpossibleSaid = true;
            }
            rollback = Optional.empty();
        } else if (rollback.isEmpty()) {
            rollbackImpossibleSaid = false;
        }
        if (rollback.isEmpty() || !greenServes) {
            // the wait ends with what it was for (green serves nothing), or once the rule stayed quiet for a
            // whole wait past the attempt that was due: not at one quiet tick of a rule that flaps
            if (!greenServes || (rollbackRetryAt != null && !now.isBefore(rollbackRetryAt.plus(rollbackBackoff)))) {
                rollbackBackoff = Duration.ZERO;
                rollbackRetryAt = null;
            }
        } else if (rollbackRetryAt == null || !now.isBefore(rollbackRetryAt)) {
            RuleVerdict rule = rollback.get();
            String reason = describe(rule, judged);
            try {
                // toward blue: in force here even if the store cannot save it yet
                // on the state in force when it is applied, not only the one judged: a plan step the other thread
                // applied meanwhile (a higher weight) is rolled back too, at once, rather than refused until the next tick
                Function<RoutingState, Transition> rollBack = s -> greenServes(s) ? Transition.rollback(s, false)
                        : new Transition.Refused("green serves nothing now (epoch " + s.epoch() + ")");
                control.applyTowardBlue("rule:" + rule.rule().name(), "rollback", reason, rollBack, rollBack,
                        Plan.endActive(Plan.Status.ROLLED_BACK, "rolled back by rule " + rule.rule().name() + ": " + reason));
                log.warn("automatic rollback rule=\"{}\" figures=\"{}\"", rule.rule().name(), reason);
                rollbackBackoff = Duration.ZERO;
                rollbackRetryAt = null;
                return true;
            } catch (RoutingControl.Refused refused) {
                if (refused.why() != RoutingControl.Refused.Why.BARRIER) {
                    // another instance changed the state first, or the store failed: the next tick tries again
                    log.error("automatic rollback refused rule=\"{}\" reason=\"{}\"", rule.rule().name(), refused.getMessage());
                    return false;
                }
                rollbackBackoff = rollbackBackoff.isZero() ? firstRollbackBackoff()
                        : min(rollbackBackoff.multipliedBy(2), MAX_ROLLBACK_BACKOFF);
                rollbackRetryAt = now.plus(rollbackBackoff);
                log.error("automatic rollback refused rule=\"{}\" reason=\"{}\" next_attempt_in_s={}", rule.rule().name(),
                        refused.getMessage(), rollbackBackoff.toSeconds());
                return false;
            }
        }
        return false;
    }

    private static boolean greenServes(RoutingState state) {
        return state.phase() == Phase.CUTOVER || (state.phase() == Phase.DUAL && state.weight() > 0);
    }

    /** True when it paused the plan (it waits for the next tick). */
    private boolean pauseOnRules(HealthVerdict judged) {
        RoutingState state = control.current();
        Optional<RuleVerdict> pause = judged.firing(HealthRule.Action.PAUSE);
        Plan plan = control.plan().orElse(null);
        // a plan the state has ended already (green out of sync, dual-write off, cut over) is not paused: a
        // paused plan is never ended by the stepper, and would stay paused for good instead of rolled back
        boolean planCanGoOn = state.phase() == Phase.DUAL && state.followerMayServeReads();
        if (pause.isPresent() && plan != null && plan.status() == Plan.Status.RUNNING && planCanGoOn) {
            RuleVerdict rule = pause.get();
            String reason = describe(rule, judged);
            try {
                control.apply("rule:" + rule.rule().name(), "pause", reason, decidedAt(state, Transition::record),
                        p -> plan.with(Plan.Status.PAUSED, "paused by rule " + rule.rule().name() + ": " + reason));
                log.warn("rollout paused by a health rule rule=\"{}\" figures=\"{}\"", rule.rule().name(), reason);
                return true;
            } catch (RoutingControl.Refused refused) {
                log.warn("rollout pause refused rule=\"{}\" reason=\"{}\"", rule.rule().name(), refused.getMessage());
            }
        }
        return false;
    }

    /** Three barrier timeouts, at least 30 s: writes flow at least three quarters of the time. */
    private Duration firstRollbackBackoff() {
        return min(MAX_ROLLBACK_BACKOFF, max(Duration.ofSeconds(30), control.barrierTimeout().multipliedBy(3)));
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    /** When the next automatic rollback may be tried, after one was refused; empty when none waits. */
    public Optional<Instant> rollbackRetryAt() {
        return Optional.ofNullable(rollbackRetryAt);
    }

    private void step(HealthVerdict judged, Instant now) {
        RoutingState state = control.current();
        Plan plan = control.plan().orElse(null);
        PlanStepper.Decision decision = PlanStepper.decide(plan, state, judged, healthySince, now);
        switch (decision) {
            case PlanStepper.Decision.Idle idle -> holding = null;
            case PlanStepper.Decision.Hold hold -> holding = hold.why();
            case PlanStepper.Decision.Advance advance -> {
                Plan next = advance.next();
                // the figures behind it, as for every automatic action (DESIGN §6)
                String reason = "step " + (next.position() + 1) + " of " + next.steps().size() + " after step "
                        + (plan.position() + 1) + " (weight " + plan.weight() + ") baked " + plan.bake().toSeconds()
                        + " s with every rule healthy: " + judged.rules().stream().map(RuleVerdict::describe)
                                .collect(Collectors.joining("; "));
                try {
                    control.apply(PLAN_ACTOR, "set-weight " + next.weight(), reason,
                            decidedAt(state, s -> stillHealthy().orElseGet(() -> Transition.setWeight(s, next.weight()))),
                            p -> next);
                    healthySince = null; // the new step bakes from now, on figures of its own weight
                    holding = "baking from now";
                    log.info("rollout advanced weight={} step={}/{}", next.weight(), next.position() + 1, next.steps().size());
                } catch (RoutingControl.Refused refused) {
                    holding = "cannot advance: " + refused.getMessage();
                }
            }
            case PlanStepper.Decision.Pause pause ->
                    changePlan(state, plan.with(Plan.Status.PAUSED, pause.note()), "pause", pause.note());
            case PlanStepper.Decision.End end -> changePlan(state, plan.with(end.status(), end.note()),
                    "rollout " + lower(end.status()).replace('_', ' '), end.note());
        }
    }

    private void changePlan(RoutingState decidedOn, Plan next, String command, String reason) {
        try {
            control.apply(PLAN_ACTOR, command, reason, decidedAt(decidedOn, Transition::record), p -> next);
            holding = null;
            log.info("rollout plan status={} note=\"{}\"", next.status(), next.note());
        } catch (RoutingControl.Refused refused) {
            holding = "cannot record the plan's change: " + refused.getMessage();
        }
    }

    /**
     * Refused unless every rule is healthy now: a step decided on one verdict and applied after waiting for the
     * command lock (a {@code verify} draining the write barrier, a slow store) goes on the health of that moment.
     */
    private Optional<Transition> stillHealthy() {
        HealthVerdict now = HealthJudge.judge(rules, windows.figures(), clock.instant());
        return now.overall() == HealthVerdict.Overall.HEALTHY ? Optional.empty()
                : Optional.of(new Transition.Refused("health is " + lower(now.overall())
                        + " now, after waiting to apply the step; judged again at the next tick"));
    }

    /**
     * {@code rule}, but only on the state the decision was taken on: a change another command or instance
     * made meanwhile (a rollback, a pause) is not undone by a decision that did not see it.
     */
    private static Function<RoutingState, Transition> decidedAt(RoutingState decidedOn,
                                                                Function<RoutingState, Transition> rule) {
        return s -> s.epoch() == decidedOn.epoch() ? rule.apply(s)
                : new Transition.Refused("the state changed meanwhile (epoch " + s.epoch() + ", decided on "
                        + decidedOn.epoch() + "); judged again at the next tick");
    }

    /** An operator's command decided on a state and applied on a newer one is decided again, this often at most. */
    private static final int DECISIONS = 3;

    /**
     * Runs an operator's command, deciding it again on the newer state when the state moved between its
     * reading the state and applying the change (another command, another instance): its checks hold for
     * the state it changes, and the operator hears what is true now, not of a tick to come.
     */
    private static RoutingState decidedAfresh(OperatorCommand command) throws RoutingControl.Refused {
        for (int n = 1; ; n++) {
            Attempt attempt = new Attempt(n == DECISIONS);
            try {
                return command.run(attempt);
            } catch (RoutingControl.Refused refused) {
                if (!attempt.moved || n == DECISIONS) {
                    throw refused;
                }
            }
        }
    }

    private interface OperatorCommand {
        RoutingState run(Attempt attempt) throws RoutingControl.Refused;
    }

    /** One attempt at an operator's command: whether the state moved under it. */
    private static final class Attempt {
        private final boolean last;
        private boolean moved;

        Attempt(boolean last) {
            this.last = last;
        }

        Function<RoutingState, Transition> on(RoutingState decidedOn, Function<RoutingState, Transition> rule) {
            return s -> {
                if (s.epoch() == decidedOn.epoch()) {
                    return rule.apply(s);
                }
                moved = true;
                return new Transition.Refused(last
                        ? "the routing state kept changing while the command was decided (now epoch " + s.epoch()
                                + "); nothing was changed, check the state and try again"
                        : "the state moved to epoch " + s.epoch() + " while the command was decided");
            };
        }
    }

    /** The rule's verdict (its own value and samples), and the window's counts behind it. */
    private String describe(RuleVerdict rule, HealthVerdict judged) {
        HealthFigures f = judged.figures();
        return rule.describe() + "; over " + windows.window().toSeconds() + " s green ran " + f.greenRan()
                + " units, failed " + f.greenBlamed() + " where blue did not, " + f.divergences() + " divergences";
    }

    static Optional<String> invalidSteps(List<Integer> steps, Duration bake) {
        if (steps == null || steps.isEmpty()) {
            return Optional.of("a plan needs at least one step");
        }
        int before = 0;
        for (int step : steps) {
            if (step < 1 || step > 100) {
                return Optional.of("every step is a weight from 1 to 100, got " + step);
            }
            if (step <= before) {
                return Optional.of("steps must increase, got " + steps);
            }
            before = step;
        }
        if (bake == null || bake.isNegative() || bake.compareTo(MAX_BAKE) > 0) {
            return Optional.of("the bake time is from 0 to 24 h, got " + bake);
        }
        return Optional.empty();
    }

    private static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }

    /** Stops ticking and waits (briefly) for a tick under way, so that the store is not closed under it. */
    @Override
    public void close() {
        thread.shutdownNow();
        planner.shutdownNow();
        try {
            if (!thread.awaitTermination(5, TimeUnit.SECONDS) || !planner.awaitTermination(5, TimeUnit.SECONDS)) {
                log.warn("autopilot tick still running at close");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Forgets the windows when dual-write starts from blue alone. */
    private final class StartWatcher implements java.util.function.Consumer<RoutingState> {
        private Phase last;

        StartWatcher(Phase now) {
            this.last = now;
        }

        @Override
        public synchronized void accept(RoutingState next) {
            if (next.phase() == Phase.DUAL && last == Phase.BLUE) {
                windows.reset();
            }
            last = next.phase();
        }
    }
}
