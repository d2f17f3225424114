package dev.bluegreen.proxy.control;

import dev.bluegreen.proxy.routing.ClusterRole;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out the operator's commands: asks {@link Transition} for go or no-go, makes the change exact
 * with the {@link WriteBarrier} when it alters who receives writes, saves it in the {@link StateStore}
 * (compare-and-set on the epoch), and only then publishes it: sessions read it at their next unit
 * boundary. Changes other proxy instances make arrive through the store and are published the same way.
 *
 * <p>The exception is a change toward blue: a rollback, or a follower marked out of sync. It must work
 * whatever the store does (a full disk, a read-only file system, an unreachable database), so it takes
 * effect here first and is saved after; when the store cannot save it, it stays in force on this instance
 * and is saved in the background as soon as the store can ({@link #unsaved()}), while every other command
 * is refused. Should another instance have saved a change meanwhile, the change is made again on top of
 * it. A change of writer that other instances share (a rollback after cutover with the {@code postgres}
 * store) is the one exception to the exception: one instance alone must not change who receives writes.
 *
 * <p>Commands are serialised; a command returns once its state is in effect. Callers must not be on an
 * event loop: a barrier waits for units that event loops are still running, and saving is blocking I/O.
 * The published state only ever moves to a higher epoch, whichever thread publishes it, but for a change
 * in force here and not saved yet: the store's own state replaces it should the change turn out moot.
 */
public final class RoutingControl implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RoutingControl.class);

    /** History kept in memory and by the stores; older entries are dropped. */
    public static final int HISTORY_KEPT = 10_000;

    private static final int CONFLICT_RETRIES = 5;
    /** The actors of what the proxy does after an unclean stop it found: its own at start, another's by heartbeat. */
    static final String STARTUP_ACTOR = "startup";
    static final String HEARTBEAT_ACTOR = "heartbeat";
    /** How soon a change the store could not save is tried again, doubling up to {@link #RETRY_MAX}. */
    private static final Duration RETRY_FIRST = Duration.ofSeconds(1);
    private static final Duration RETRY_MAX = Duration.ofSeconds(30);
    /** The longest a barrier that let a change in stays closed for sessions to follow it (see {@link #settleBeforeReopen}). */
    static final Duration SETTLE_AT_MOST = Duration.ofSeconds(2);

    /** The proxy refused a command; the message says why. */
    public static final class Refused extends Exception {

        /** Why, for callers that answer differently (an HTTP status) or retry. */
        public enum Why {
            /** The transition rules say no-go. */
            RULE,
            /** The write barrier did not drain in time; the message names who held it up. */
            BARRIER,
            /** Another instance changed the state first; this one reloaded it. */
            CONFLICT,
            /** The state store could not save the change. */
            STORE
        }

        private final Why why;

        public Refused(String reason) {
            this(Why.RULE, reason);
        }

        public Refused(Why why, String reason) {
            super(reason, null, false, false);
            this.why = why;
        }

        public Why why() {
            return why;
        }
    }

    /** One change of state: who or which rule, what, why. */
    public record HistoryEntry(Instant at, long epoch, String actor, String command, String reason, RoutingState state) {}

    /** The state in force and the plan saved with it: replaced together, only by a higher epoch. */
    private record Published(RoutingState state, Plan plan) {}

    /**
     * A divergence a session saw and reported, not yet recorded as the follower being out of sync.
     * {@code recorded} completes once it is.
     */
    private record PendingDivergence(ClusterRole follower, CompletableFuture<Void> recorded) {}

    /**
     * A change toward blue in force here that the store has not saved yet. {@code rule} makes it on whatever
     * state the store holds by the time it can save. {@code behindBarrier}: it was put in force behind this
     * instance's write barrier, so it may change who receives writes. {@code undone} completes, with why,
     * when the stored state moved on where the change would no longer stand, so that the command that made
     * it is not answered as done.
     */
    private record Unsaved(Instant at, String actor, String command, String reason,
                           Function<RoutingState, Transition> rule, UnaryOperator<Plan> planChange,
                           boolean behindBarrier, CompletableFuture<String> undone) {
        Unsaved(Instant at, String actor, String command, String reason, Function<RoutingState, Transition> rule,
                UnaryOperator<Plan> planChange, boolean behindBarrier) {
            this(at, actor, command, reason, rule, planChange, behindBarrier, new CompletableFuture<>());
        }

        String describe() {
            return command + " by " + actor + " at " + at;
        }
    }

    private final StateStore store;
    private final AtomicReference<Published> published;
    private final AtomicReference<PendingDivergence> pendingDivergence = new AtomicReference<>();
    private final WriteBarrier barrier = new WriteBarrier();
    private final Duration barrierTimeout;
    private final List<Consumer<RoutingState>> listeners = new CopyOnWriteArrayList<>();
    private volatile Function<RoutingState, CompletableFuture<Void>> settling =
            state -> CompletableFuture.completedFuture(null);
    private volatile boolean greenConfigured = true;
    private volatile DualWriteCheck beforeDualWrite = () -> DualWriteCheck.Answer.GO;
    private final Map<RollbackTrigger, AtomicLong> rollbacks = new EnumMap<>(Map.of(RollbackTrigger.OPERATOR,
            new AtomicLong(), RollbackTrigger.RULE, new AtomicLong(), RollbackTrigger.RECOVERY, new AtomicLong()));
    /** By epoch, at most {@link #HISTORY_KEPT}; guarded by itself, never by the command lock. */
    private final TreeMap<Long, HistoryEntry> history = new TreeMap<>();
    private final ReentrantLock commands = new ReentrantLock();
    /**
     * Completed by a change toward blue while a command or {@link #whileWritesQuiesced} waits for the
     * barrier; null otherwise. A change toward blue counts itself in {@link #towardBlue} before it looks
     * here, and a waiter looks at the count after it set this: one of the two sees the other.
     */
    private volatile CompletableFuture<Void> quiescing;
    private final AtomicLong towardBlue = new AtomicLong();

    /**
     * Guards {@link #stored}, {@link #unsaved}, {@link #settleWhenSaved} and every change of {@link #published}.
     * Never held while calling the store or waiting for {@link #commands}: the store calls the peer under
     * locks of its own while a command holding {@code commands} calls the store.
     */
    private final Object publishing = new Object();
    /** While {@link #unsaved} is not empty: the state the store holds, as far as this instance knows. */
    private Published stored;
    private final List<Unsaved> unsaved = new ArrayList<>();
    /** Divergences recorded here but not yet saved: another instance's barrier waits until they are. */
    private final List<PendingDivergence> settleWhenSaved = new ArrayList<>();
    // guarded by commands
    private ScheduledExecutorService retrier;
    private boolean retryScheduled;
    private Duration retryIn = RETRY_FIRST;
    private String storeFailure;
    private volatile boolean closed;

    /** Nothing durable: state starts at {@code initial} (tests, tools). */
    public RoutingControl(RoutingState initial, Duration barrierTimeout) {
        this(StateStore.inMemory(initial), barrierTimeout, initial);
    }

    private RoutingControl(StateStore store, Duration barrierTimeout, RoutingState placeholder) {
        this.store = store;
        this.barrierTimeout = barrierTimeout;
        this.published = new AtomicReference<>(new Published(placeholder, null));
    }

    /**
     * Loads the state, its history and the plan from {@code store} and joins the other instances sharing
     * it. Closes the store when that fails.
     */
    public static RoutingControl open(StateStore store, Duration barrierTimeout) throws StateStore.Failure {
        RoutingControl control = new RoutingControl(store, barrierTimeout,
                new RoutingState(0, ClusterRole.BLUE, FollowerWrites.OFF, 0, false, false, false));
        StateStore.Snapshot loaded;
        try {
            loaded = store.open(control.new Peer());
        } catch (StateStore.Failure | RuntimeException e) {
            store.close();
            throw e;
        }
        control.record(loaded.history());
        control.publish(loaded.state(), loaded.plan());
        RoutingState now = control.current();
        log.info("routing state loaded store={} instance={} epoch={} phase={} weight={} plan={}", store.describe(),
                store.instance(), now.epoch(), now.phase(), now.weight(),
                loaded.plan() == null ? "none" : loaded.plan().status() + "@" + loaded.plan().weight());
        if (store.endedUncleanly() && now.dualWrite()) {
            control.afterUncleanStop(now, store.shared() ? "a proxy instance sharing this state store"
                    : "the proxy before this one", STARTUP_ACTOR);
        }
        return control;
    }

    /**
     * A proxy stopped without closing the store while dual-write was on ({@code who}: the one before this
     * one, or another instance sharing the store): a follower COMMIT it had under way when it died (the
     * leader had committed) was lost unreported, so the follower may lack a commit. Green serving reads goes
     * back to blue, as a rollback, until the operator has checked with {@code bgctl verify}; after cutover,
     * blue serving reads goes to green (weight 100), and blue, which a rollback would make the writer again,
     * is the one to check.
     */
    private void afterUncleanStop(RoutingState state, String who, String actor) {
        String check = who + " stopped without shutting down (killed, crashed, its machine lost) while dual-write"
                + " was on; a commit cut off on the follower then is lost there: run bgctl verify";
        try {
            // first, so that nothing gives the follower reads between this and the moves below; in force even on a
            // frozen state or a store that cannot save it yet, as a rollback is
            applyTowardBlue(actor, "verify owed", check, Transition::owesVerify, Transition::owesVerify,
                    UnaryOperator.identity());
        } catch (Refused refused) {
            log.error("{}; recording that a verify is owed was refused: {}", check, refused.getMessage());
        }
        if (state.phase() == Phase.DUAL && state.weight() > 0) {
            try {
                rollback(actor, check + " before green serves reads again", false);
                log.error("green served reads when {} stopped without shutting down: rolled back to weight 0; run bgctl"
                        + " verify before raising the weight again", who);
            } catch (Refused refused) {
                log.error("{}; the rollback was refused: {}", check, refused.getMessage());
            }
        } else if (state.phase() == Phase.CUTOVER && state.weight() < 100) {
            try {
                applyTowardBlue(actor, "set-weight 100", check + " before blue, the follower, serves reads again",
                        Transition::followerServesNoReads, Transition::followerServesNoReads, UnaryOperator.identity());
                log.error("blue served reads after cutover when {} stopped without shutting down: weight set to 100;"
                        + " run bgctl verify before lowering it or rolling back", who);
            } catch (Refused refused) {
                log.error("{}; setting the weight to 100 was refused: {}", check, refused.getMessage());
            }
        } else {
            log.warn("{}{}", check, state.phase() == Phase.CUTOVER ? " before any rollback to blue" : " before raising the weight");
        }
    }

    /**
     * {@code bgctl verify} found the clusters alike in snapshots taken while epoch {@code checkedAt} was in force:
     * a verify owed since then or before is paid. Returns whether one was.
     */
    public boolean verified(String actor, String database, long checkedAt) {
        if (!current().owesVerify()) {
            return false;
        }
        try {
            apply(actor, "verified", "bgctl verify found database " + database + " alike",
                    s -> Transition.verified(s, checkedAt), UnaryOperator.identity());
            return true;
        } catch (Refused refused) {
            log.warn("a verify found the clusters alike but the verify owed stands: {}", refused.getMessage());
            return false;
        }
    }

    /** The state in force: read it at each unit boundary. */
    public RoutingState current() {
        return published.get().state();
    }

    /**
     * The rollout plan saved with the state in force, if one was ever started (a finished plan stays,
     * with its status). It changes only with a new epoch: read {@link #current()} first and a plan read
     * after it is the one saved with that state or a later one.
     */
    public Optional<Plan> plan() {
        return Optional.ofNullable(published.get().plan());
    }

    public WriteBarrier barrier() {
        return barrier;
    }

    /** This instance's name in the state store (what another instance's barrier failure calls it). */
    public String instance() {
        return store.instance();
    }

    /** Told of every state that takes effect here, whichever instance made it. */
    public void onChange(Consumer<RoutingState> listener) {
        listeners.add(listener);
    }

    /**
     * What a write barrier that let a change in waits for once the change is published here, before it
     * reopens: the sessions' own work to follow it (a session that listens moves its channels to a new
     * leader), so that no write held at the barrier runs under the new state before they have, and no
     * notification it raises goes to a channel still on its way. At most {@link #SETTLE_AT_MOST}.
     */
    public void settleBeforeReopen(Function<RoutingState, CompletableFuture<Void>> settle) {
        this.settling = settle;
    }

    /** See {@link #settleBeforeReopen}. The change is made: however this ends, the barrier reopens next. */
    private void awaitSettled(RoutingState state) {
        try {
            settling.apply(state).get(SETTLE_AT_MOST.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            log.warn("sessions had not followed the change within {} ms; the write barrier reopens epoch={}",
                    SETTLE_AT_MOST.toMillis(), state.epoch());
        } catch (ExecutionException | RuntimeException e) {
            log.warn("sessions could not be waited for to follow the change; the write barrier reopens epoch={}",
                    state.epoch(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Every change, oldest first, the most recent {@link #HISTORY_KEPT}, whichever instance made it. */
    public List<HistoryEntry> history() {
        synchronized (history) {
            return List.copyOf(history.values());
        }
    }

    /** Work done while no write unit is in flight; see {@link #whileWritesQuiesced}. */
    @FunctionalInterface
    public interface Quiesced<T, E extends Exception> {
        T run() throws E;
    }

    /**
     * Runs {@code action} while no write unit is in flight on this instance: closes the write barrier,
     * waits for the units inside (up to the barrier timeout), runs the action and reopens, whatever it did.
     * Holds the command lock meanwhile, as a command does, so a command issued now waits its turn instead
     * of finding the barrier busy; except a change toward blue (a rollback, green out of sync), which the
     * wait for the barrier gives way to: the action is refused, and the rollback takes effect at once
     * instead of up to the barrier timeout later. Only this instance's sessions are held; other instances
     * sharing the store are not asked.
     *
     * @param what names the caller in a refusal
     */
    public <T, E extends Exception> T whileWritesQuiesced(String what, Quiesced<T, E> action)
            throws Refused, InterruptedException, E {
        commands.lock();
        try {
            long seen = towardBlue.get();
            long deadline = System.nanoTime() + barrierTimeout.toNanos();
            WriteBarrier.Closed closed;
            try {
                closed = barrier.close();
            } catch (IllegalStateException busy) {
                throw new Refused(what + " needs the write barrier, and " + busy.getMessage());
            }
            CompletableFuture<Void> givesWay = new CompletableFuture<>();
            quiescing = givesWay;
            if (towardBlue.get() != seen) {
                givesWay.complete(null); // came before this could be told
            }
            try {
                List<String> holders = drain(closed, deadline, givesWay);
                if (givesWay.isDone()) {
                    throw new Refused(Refused.Why.CONFLICT, what + " gave way to a rollback issued while it waited"
                            + " for the write barrier; nothing was done, try again");
                }
                if (!holders.isEmpty()) {
                    throw new Refused(what + ": write barrier timed out after " + barrierTimeout.toMillis()
                            + " ms; held up by " + holders);
                }
                return action.run();
            } finally {
                quiescing = null;
                closed.reopen();
            }
        } finally {
            commands.unlock();
        }
    }

    /** How long a barrier waits for the write units inside. */
    public Duration barrierTimeout() {
        return barrierTimeout;
    }

    // The operator's commands. Each takes the reason the history keeps, and does to a rollout plan in
    // progress what the command means for it: a plan never goes on stepping under a change it did not make.

    public RoutingState start(String actor, String reason) throws Refused {
        return startTelling(actor, reason).state();
    }

    /** {@link #start}, with what the operator should hear of it: a check before dual-write that could not be made. */
    public Changed startTelling(String actor, String reason) throws Refused {
        return beginDualWrite("start", Transition::start, actor, reason);
    }

    public RoutingState startShadow(String actor, String reason) throws Refused {
        return startShadowTelling(actor, reason).state();
    }

    /** {@link #startShadow}, with what the operator should hear of it, as {@link #startTelling}. */
    public Changed startShadowTelling(String actor, String reason) throws Refused {
        return beginDualWrite("start --shadow", Transition::startShadow, actor, reason);
    }

    private Changed beginDualWrite(String command, Function<RoutingState, Transition> rule, String actor, String reason)
            throws Refused {
        requireGreen(command);
        List<String> warnings = new ArrayList<>();
        RoutingState after = apply(actor, command, reason, checkedBeforeDualWrite(command, rule, warnings));
        return new Changed(after, warnings);
    }

    /** A command carried out: the state now in force, and what the operator should hear of how it went. */
    public record Changed(RoutingState state, List<String> warnings) {
        public Changed {
            warnings = List.copyOf(warnings);
        }

        public static Changed to(RoutingState state) {
            return new Changed(state, List.of());
        }
    }

    /**
     * What {@code start} and {@code start --shadow} ask before dual-write begins (that blue and green are not
     * one database). Asked outside the command lock, as it may log in to the clusters; none by default.
     */
    @FunctionalInterface
    public interface DualWriteCheck {
        Answer ask();

        /**
         * {@code refusal}: why dual-write must not begin. {@code warning}: it may, but the check could not be
         * made, and the operator hears why.
         */
        record Answer(Optional<String> refusal, Optional<String> warning) {
            public static final Answer GO = new Answer(Optional.empty(), Optional.empty());

            public static Answer refuse(String why) {
                return new Answer(Optional.of(why), Optional.empty());
            }

            public static Answer unchecked(String why) {
                return new Answer(Optional.empty(), Optional.of(why));
            }
        }
    }

    public void checkBeforeDualWrite(DualWriteCheck check) {
        beforeDualWrite = Objects.requireNonNull(check, "check");
    }

    /**
     * {@code rule}, asking {@link #beforeDualWrite} first when it would begin dual-write in the state seen now (a
     * refusal of its own says why not first); a warning it gives goes to {@code warnings}. The check runs
     * outside the command lock; a state changed by the time the lock is held (an {@code abort} or forced
     * rollback meanwhile: every change is a new epoch) is refused rather than let through unchecked.
     */
    private Function<RoutingState, Transition> checkedBeforeDualWrite(String command, Function<RoutingState, Transition> rule,
                                                                     List<String> warnings) throws Refused {
        RoutingState seen = current();
        if (rule.apply(seen) instanceof Transition.Go) {
            DualWriteCheck.Answer answer = beforeDualWrite.ask();
            if (answer.refusal().isPresent()) {
                throw new Refused(answer.refusal().get());
            }
            answer.warning().ifPresent(warnings::add);
        }
        return s -> {
            Transition decision = rule.apply(s);
            if (decision instanceof Transition.Go && s.epoch() != seen.epoch()) {
                return new Transition.Refused("the state changed while " + command + " checked the clusters (epoch "
                        + seen.epoch() + ", now " + s.epoch() + "); run it again");
            }
            return decision;
        };
    }

    /**
     * This proxy has no green cluster configured: dual-write cannot begin. (Accepted, it would have saved a
     * state that needs green, and the proxy would then refuse to start again on it.)
     */
    public void withoutGreen() {
        greenConfigured = false;
    }

    private void requireGreen(String command) throws Refused {
        if (!greenConfigured) {
            throw new Refused(command + " needs a green cluster, and this proxy has none configured"
                    + " (clusters.green or --green)");
        }
    }

    /** The operator's weight: a running plan pauses rather than fight it. */
    public RoutingState setWeight(String actor, int weight, String reason) throws Refused {
        return apply(actor, "set-weight " + weight, reason, s -> Transition.setWeight(s, weight),
                Plan.pauseRunning("paused: " + actor + " set the weight to " + weight));
    }

    /**
     * The operator's weight, computed from the weight {@code from} they saw ({@code bgctl step}): refused
     * when another is in force by now, so that a step never undoes a rollback that came in between.
     */
    public RoutingState setWeight(String actor, int from, int weight, String reason) throws Refused {
        return apply(actor, "set-weight " + weight, reason, s -> s.weight() != from
                        ? new Transition.Refused("the weight is " + s.weight() + " now, not " + from + " as when the step"
                                + " was computed (epoch " + s.epoch() + "); check the state and step again")
                        : Transition.setWeight(s, weight),
                Plan.pauseRunning("paused: " + actor + " set the weight to " + weight));
    }

    /** Toward blue: in force here even when the store cannot save it (see the class comment). */
    public RoutingState rollback(String actor, String reason, boolean force) throws Refused {
        return rollbackTelling(actor, reason, force).state();
    }

    /**
     * {@link #rollback}, with what the operator should hear of it. One with nothing to do (blue leads, green
     * serves no reads, no plan is under way, no rollback waits to be saved), while no command is under way here and
     * the store is this instance's own, changes nothing and says so: no new epoch, no history entry, no rollback
     * counted. Otherwise it goes ahead as any rollback: in force at once, on top of whatever a command under way
     * makes (a {@code start} or {@code verify} waiting for the write barrier gives way to it).
     */
    public Changed rollbackTelling(String actor, String reason, boolean force) throws Refused {
        // only while no command is under way here (one may be about to raise the weight, or be waiting for the
        // barrier to start dual-write: the rollback goes on top of it, or makes it give way, as ever), and with a
        // store of this instance's own (another instance sharing one may have raised the weight unheard of yet:
        // the rollback's save finds it, and rolls it back)
        if (!store.shared() && !commands.isHeldByCurrentThread() && commands.tryLock()) {
            try {
                Published now = published.get();
                if (nothingToRollBack(now.state(), now.plan()) && !hasUnsaved()) {
                    log.info("rollback with nothing to do actor={} epoch={} phase={} reason={}", actor,
                            now.state().epoch(), now.state().phase(), reason);
                    return new Changed(now.state(), List.of("nothing to roll back: blue leads and green serves no reads"
                            + " (epoch " + now.state().epoch() + " stays in force, nothing recorded)"));
                }
            } finally {
                commands.unlock();
            }
        }
        Function<RoutingState, Transition> rule = s -> Transition.rollback(s, force);
        return Changed.to(applyTowardBlue(actor, force ? "rollback --force" : "rollback", reason, rule, rule,
                Plan.endActive(Plan.Status.ROLLED_BACK, "rolled back by " + actor + (reason == null ? "" : ": " + reason))));
    }

    /** Whether {@code thread} waits for the command lock (for tests). */
    boolean waitsForCommands(Thread thread) {
        return commands.hasQueuedThread(thread);
    }

    private static boolean nothingToRollBack(RoutingState state, Plan plan) {
        return state.leader() == ClusterRole.BLUE && state.weight() == 0 && (plan == null || !plan.active());
    }

    /** Who pulled the switch of a rollback, for metrics. */
    public enum RollbackTrigger {
        /** A person, through the admin API or bgctl. */
        OPERATOR,
        /** A health rule ({@code rule:...}). */
        RULE,
        /** The proxy after an unclean stop it found (its own at start, or another instance's by its heartbeat). */
        RECOVERY;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        static RollbackTrigger of(String actor) {
            if (actor.startsWith("rule:")) {
                return RULE;
            }
            return actor.equals(STARTUP_ACTOR) || actor.equals(HEARTBEAT_ACTOR) ? RECOVERY : OPERATOR;
        }
    }

    /**
     * Rollbacks this instance has made since it started, by {@code trigger}: a counter for metrics, which the
     * shared (and capped) history cannot give per instance.
     */
    public long rollbacks(RollbackTrigger trigger) {
        return rollbacks.get(trigger).get();
    }

    public RoutingState cutover(String actor, String reason) throws Refused {
        return apply(actor, "cutover", reason, Transition::cutover, Plan.endActive(Plan.Status.DONE, "cut over by " + actor));
    }

    public RoutingState finalizeMigration(String actor, String reason) throws Refused {
        return apply(actor, "finalize", reason, Transition::finalizeMigration);
    }

    public RoutingState abort(String actor, String reason) throws Refused {
        return apply(actor, "abort", reason, Transition::abort, Plan.endActive(Plan.Status.ABORTED, "aborted by " + actor));
    }

    public RoutingState freeze(String actor, boolean frozen, String reason) throws Refused {
        return apply(actor, frozen ? "freeze" : "unfreeze", reason, s -> Transition.freeze(s, frozen));
    }

    /**
     * Replaces the rollout plan, as a change of its own in the history (a new epoch, the routing state
     * otherwise unchanged). The {@link Autopilot} steps plans; this is for it and for tools and tests.
     */
    public RoutingState replacePlan(String actor, String command, Plan next) throws Refused {
        return apply(actor, command, null, Transition::record, p -> next);
    }

    /**
     * A session saw {@code follower} diverge or go missing. Called on the event loop before the unit that
     * saw it leaves the write barrier, so a change of writer that drains the barrier cannot miss it: the
     * change is refused here, and another instance's waits to acknowledge until it is recorded. Never
     * blocks; {@link #followerOutOfSync} records it.
     */
    public void divergenceSeen(ClusterRole follower) {
        pendingDivergence.compareAndSet(null, new PendingDivergence(follower, new CompletableFuture<>()));
    }

    /**
     * A divergence was seen here and is not yet recorded ({@link #divergenceSeen}): the follower is about to be
     * out of sync, and serves no more reads meanwhile. A client told of a commit the follower then failed to make
     * must not read without it on another connection before the new state is in force.
     */
    public boolean divergencePending() {
        return pendingDivergence.get() != null;
    }

    /**
     * A divergence or an unreachable follower: recorded, weight back to the leader. Never throws. Only
     * if {@code follower} still follows: a cluster that leads by now is not marked out of sync for what it
     * did as follower (a change of writer cannot have happened in between, see {@link #divergenceSeen}).
     * Toward blue: in force here at once, even when the store cannot save it; the divergence noted by
     * {@link #divergenceSeen} counts as recorded (another instance's barrier waits for it) only once saved.
     */
    public void followerOutOfSync(ClusterRole follower, String actor, String reason) {
        Function<RoutingState, Transition> rule = st -> Transition.followerOutOfSync(st, follower);
        // green out of sync takes the weight to 0: for a plan in progress that is a rollback, in the same change
        UnaryOperator<Plan> planChange = follower == ClusterRole.GREEN
                ? Plan.endActive(Plan.Status.ROLLED_BACK, PlanStepper.GREEN_OUT_OF_SYNC) : UnaryOperator.identity();
        try {
            applyTowardBlue(actor, "follower out of sync", reason, rule, rule, planChange);
        } catch (Refused refused) {
            if (refused.why() == Refused.Why.RULE) {
                log.info("follower out of sync not recorded: {} reason={}", refused.getMessage(), reason);
            } else {
                log.error("follower out of sync not recorded: {} reason={}", refused.getMessage(), reason);
            }
        } finally {
            PendingDivergence pending = pendingDivergence.get();
            if (pending != null && pending.follower() == follower) {
                synchronized (publishing) {
                    settleWhenSaved.add(pending);
                }
                settleIfSaved();
            }
        }
    }

    /**
     * Changes toward blue in force on this instance that the state store has not saved yet (it failed),
     * oldest first; empty in the normal case. A restart before they are saved goes back to the stored state.
     */
    public List<String> unsaved() {
        synchronized (publishing) {
            return unsaved.stream().map(Unsaved::describe).toList();
        }
    }

    /**
     * A follower was lost and could not be reported before the proxy stopped: the next start treats this
     * stop as a crash ({@link StateStore#endedUncleanly}).
     */
    public void reportsLost() {
        store.notAllSaved();
    }

    /** Stops hearing other instances and releases the store. */
    @Override
    public void close() {
        closed = true;
        ScheduledExecutorService retries = retrier;
        if (retries != null) {
            retries.shutdownNow();
        }
        List<String> left = unsaved();
        if (!left.isEmpty()) {
            log.error("routing state changes never saved: a restart goes back to the stored state store={} changes={}",
                    store.describe(), left);
            store.notAllSaved(); // the next start treats this stop as a crash
        }
        store.close();
    }

    private RoutingState apply(String actor, String command, String reason,
                               Function<RoutingState, Transition> rule) throws Refused {
        return apply(actor, command, reason, rule, UnaryOperator.identity());
    }

    /**
     * Decides, makes the change exact, saves it with the plan {@code planChange} makes of the plan in force
     * (state and plan in one compare-and-set), and publishes both. The plan runner moves the weight this
     * way, so that no instance ever sees a step's weight without its position.
     */
    RoutingState apply(String actor, String command, String reason, Function<RoutingState, Transition> rule,
                       UnaryOperator<Plan> planChange) throws Refused {
        commands.lock();
        try {
            requireSaved(command);
            RoutingState before = current();
            Transition decision = rule.apply(before);
            if (decision instanceof Transition.Refused refused) {
                throw new Refused(refused.reason());
            }
            return applySaved(actor, command, reason, before, (Transition.Go) decision, planChange);
        } finally {
            commands.unlock();
        }
    }

    /** Saves, then publishes. Holding {@link #commands}, with nothing unsaved. */
    private RoutingState applySaved(String actor, String command, String reason, RoutingState before, Transition.Go go,
                                    UnaryOperator<Plan> planChange) throws Refused {
        RoutingState after = go.next();
        Plan planAfter = planChange.apply(published.get().plan());
        if (go.needsBarrier()) {
            applyBehindBarrier(command, before, () -> new HistoryEntry(Instant.now(), after.epoch(), actor, command,
                    reason, after), planAfter);
        } else {
            HistoryEntry entry = new HistoryEntry(Instant.now(), after.epoch(), actor, command, reason, after);
            save(command, before, entry, planAfter, StateStore.ALONE);
            record(List.of(entry));
            publish(after, planAfter);
        }
        log.info("routing state changed epoch={} actor={} command={} phase={} weight={} reason={}",
                after.epoch(), actor, command, after.phase(), after.weight(), reason);
        return after;
    }

    /**
     * A change toward blue (a rollback, a follower out of sync): in force here first, then saved; when the
     * store cannot save it, it stays in force here and is saved as soon as the store can. {@code decide} is
     * asked now, on the state in force; {@code again} makes the same change on a newer stored state (another
     * instance's), should one arrive before it is saved. A change of writer shared with other instances is
     * saved first, as any other command.
     */
    RoutingState applyTowardBlue(String actor, String command, String reason, Function<RoutingState, Transition> decide,
                                 Function<RoutingState, Transition> again, UnaryOperator<Plan> planChange)
            throws Refused {
        Unsaved early = null;
        if (decide.apply(current()) instanceof Transition.Go go) {
            if (!go.needsBarrier()) {
                // in force at once, before the command lock: whatever holds it (a command waiting for the write
                // barrier or for a slow store) finds this change on top of its own when it publishes
                early = new Unsaved(Instant.now(), actor, command, reason, again, planChange, false);
                inForce(early);
                logChanged(actor, command, reason);
            }
            towardBlue.incrementAndGet();
            CompletableFuture<Void> quiesced = quiescing;
            if (quiesced != null) {
                quiesced.complete(null); // a command or verify waiting for the write barrier does not hold this up
            }
        }
        commands.lock();
        try {
            if (early != null) {
                return saveInForce(early, actor, command);
            }
            if (hasUnsaved()) {
                flushUnsaved(); // oldest first: this change goes on top of whatever is still waiting
            }
            RoutingState before = current();
            Transition decision = decide.apply(before);
            if (decision instanceof Transition.Refused refused) {
                throw new Refused(refused.reason());
            }
            Transition.Go go = (Transition.Go) decision;
            if (go.needsBarrier() && store.shared()) {
                // every instance changes writer or none does: the store has to agree before anything changes
                requireSaved(command);
                RoutingState saved = applySaved(actor, command, reason, before, go, planChange);
                countRollback(actor, command);
                return saved;
            }
            Unsaved change = new Unsaved(Instant.now(), actor, command, reason, again, planChange, go.needsBarrier());
            if (go.needsBarrier()) {
                behindLocalBarrier(command, before, () -> inForce(change));
            } else {
                inForce(change);
            }
            logChanged(actor, command, reason);
            return saveInForce(change, actor, command);
        } finally {
            commands.unlock();
        }
    }

    private void logChanged(String actor, String command, String reason) {
        RoutingState after = current();
        log.info("routing state changed epoch={} actor={} command={} phase={} weight={} reason={}",
                after.epoch(), actor, command, after.phase(), after.weight(), reason);
    }

    /**
     * Saves {@code change}, in force here already, with whatever else waits to be saved; when the store
     * cannot, it stays in force and is tried again later. Refused when another instance's change made it
     * moot before it was saved. Holding {@link #commands}.
     */
    private RoutingState saveInForce(Unsaved change, String actor, String command) throws Refused {
        boolean saved = flushUnsaved();
        String droppedWhy = change.undone().getNow(null);
        if (droppedWhy != null) {
            // another instance's change, or a command here, came before this one was saved, and this one no longer applies
            throw new Refused(Refused.Why.CONFLICT, command + " did not happen: the state changed first"
                    + " (now epoch " + current().epoch() + ", phase " + current().phase().name().toLowerCase()
                    + "): " + droppedWhy);
        }
        countRollback(actor, command);
        if (!saved) {
            retryLater();
        }
        return current();
    }

    private void countRollback(String actor, String command) {
        if (command.startsWith("rollback")) {
            rollbacks.get(RollbackTrigger.of(actor)).incrementAndGet();
        }
    }

    /** Refuses {@code command} while a change toward blue waits to be saved, after one more try at saving it. */
    private void requireSaved(String command) throws Refused {
        if (hasUnsaved() && !flushUnsaved()) {
            retryLater();
            throw new Refused(Refused.Why.STORE, command + " did not happen: the state store has not saved "
                    + String.join(", ", unsaved()) + ", which is in force on this instance only ("
                    + storeFailure + "); until it is saved, only rollback changes the routing state");
        }
    }

    private boolean hasUnsaved() {
        synchronized (publishing) {
            return !unsaved.isEmpty();
        }
    }

    /** Puts {@code change} in force here, on top of the changes not saved yet. */
    private void inForce(Unsaved change) {
        synchronized (publishing) {
            if (unsaved.isEmpty()) {
                stored = published.get();
            }
            unsaved.add(change);
            republish();
        }
    }

    /**
     * Saves the changes in force here that the store has not saved, oldest first, each made again on the
     * state the store holds. True when none is left. Holding {@link #commands}.
     */
    private boolean flushUnsaved() {
        int conflicts = 0;
        while (true) {
            Unsaved first;
            Published base;
            synchronized (publishing) {
                if (unsaved.isEmpty()) {
                    break;
                }
                first = unsaved.getFirst();
                base = stored;
            }
            Transition decision = first.rule().apply(base.state());
            if (!(decision instanceof Transition.Go go) || !mayApply(first, go)) {
                synchronized (publishing) {
                    republish(); // moot on this base: dropped there, and said why
                }
                continue;
            }
            RoutingState next = go.next();
            Plan plan = first.planChange().apply(base.plan());
            HistoryEntry entry = new HistoryEntry(first.at(), next.epoch(), first.actor(), first.command(),
                    first.reason(), next);
            try {
                store.save(base.state().epoch(), entry, plan, StateStore.ALONE);
            } catch (StateStore.Conflict conflict) {
                if (conflict.current() == null || ++conflicts > CONFLICT_RETRIES) {
                    notSaved(conflict.getMessage());
                    return false;
                }
                // another instance saved first: the change is made again on what it saved
                record(conflict.current().history());
                publish(conflict.current().state(), conflict.current().plan());
                continue;
            } catch (StateStore.Failure failure) {
                notSaved(failure.getMessage());
                return false;
            }
            record(List.of(entry));
            synchronized (publishing) {
                unsaved.removeIf(u -> u == first);
                Published saved = new Published(next, plan);
                if (stored == null) {
                    // the store's own news made the rest moot meanwhile; it may be newer than this
                    if (published.get().state().epoch() < next.epoch()) {
                        set(saved);
                    }
                } else {
                    if (stored.state().epoch() < next.epoch()) {
                        stored = saved;
                    }
                    republish();
                }
            }
            if (storeFailure != null) {
                log.warn("routing state saved after the state store failed epoch={} actor={} command={} store={}",
                        next.epoch(), first.actor(), first.command(), store.describe());
            }
        }
        storeFailure = null;
        retryIn = RETRY_FIRST;
        settleIfSaved();
        return true;
    }

    private void notSaved(String why) {
        storeFailure = why;
        log.error("routing state NOT SAVED: in force on this instance only, the state store is retried; "
                        + "every other command is refused meanwhile and a restart now would go back to the stored state "
                        + "store={} changes={} reason={}", store.describe(), unsaved(), why);
    }

    /** Holding {@link #commands}. */
    private void retryLater() {
        if (closed || retryScheduled) {
            return;
        }
        if (retrier == null) {
            retrier = Executors.newSingleThreadScheduledExecutor(
                    Thread.ofPlatform().name("bluegreen-state-retry").daemon(true).factory());
        }
        Duration in = retryIn;
        retryIn = in.multipliedBy(2).compareTo(RETRY_MAX) > 0 ? RETRY_MAX : in.multipliedBy(2);
        retryScheduled = true;
        try {
            retrier.schedule(this::retry, in.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closing) {
            retryScheduled = false;
        }
    }

    private void retry() {
        commands.lock();
        try {
            retryScheduled = false;
            if (!closed && !flushUnsaved()) {
                retryLater();
            }
        } finally {
            commands.unlock();
        }
    }

    /** Divergences recorded here count as recorded for the other instances once nothing is left unsaved. */
    private void settleIfSaved() {
        List<PendingDivergence> settled;
        synchronized (publishing) {
            if (!unsaved.isEmpty() || settleWhenSaved.isEmpty()) {
                return;
            }
            settled = List.copyOf(settleWhenSaved);
            settleWhenSaved.clear();
        }
        for (PendingDivergence pending : settled) {
            pendingDivergence.compareAndSet(pending, null);
            pending.recorded().complete(null);
        }
    }

    /**
     * Runs {@code action} behind this instance's own write barrier, for a change of writer that no other
     * instance shares: no write unit runs half under the old state and half under the new.
     */
    private void behindLocalBarrier(String command, RoutingState before, Runnable action) throws Refused {
        long deadline = System.nanoTime() + barrierTimeout.toNanos();
        WriteBarrier.Closed closed;
        try {
            closed = barrier.close();
        } catch (IllegalStateException busy) {
            throw new Refused(Refused.Why.BARRIER, command + " did not happen: " + busy.getMessage());
        }
        try {
            List<String> holders = drain(closed, deadline);
            if (!holders.isEmpty()) {
                throw new Refused(Refused.Why.BARRIER, command + " did not happen: write barrier timed out after "
                        + barrierTimeout.toMillis() + " ms; held up by " + holders);
            }
            PendingDivergence diverged = pendingDivergence.get();
            if (diverged != null && before.dualWrite() && diverged.follower() == before.follower()) {
                throw new Refused(Refused.Why.RULE, command + " did not happen: "
                        + diverged.follower().name().toLowerCase(Locale.ROOT)
                        + " diverged while in-flight writes finished and is being marked out of sync");
            }
            action.run();
            awaitSettled(current());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Refused(Refused.Why.BARRIER, command + " did not happen: interrupted while waiting on the write barrier");
        } finally {
            closed.reopen();
        }
    }

    /**
     * Closes the barrier here and on every other live instance, waits until all have drained, saves, and
     * publishes before reopening: no write unit runs half under the old state and half under the new.
     */
    private void applyBehindBarrier(String command, RoutingState before, Supplier<HistoryEntry> change,
                                    Plan planAfter) throws Refused {
        long seen = towardBlue.get();
        long deadline = System.nanoTime() + barrierTimeout.toNanos();
        StateStore.SharedBarrier shared;
        try {
            shared = store.barrier(command, before.epoch(), barrierTimeout);
        } catch (StateStore.Conflict conflict) {
            throw reloaded(command, conflict);
        } catch (StateStore.Failure failure) {
            throw storeFailed(command, failure);
        }
        WriteBarrier.Closed closed;
        try {
            closed = barrier.close();
        } catch (IllegalStateException busy) {
            shared.abandon(busy.getMessage());
            throw new Refused(Refused.Why.BARRIER, command + " did not happen: " + busy.getMessage());
        }
        CompletableFuture<Void> givesWay = new CompletableFuture<>();
        quiescing = givesWay;
        if (towardBlue.get() != seen) {
            givesWay.complete(null); // came before this could be told
        }
        try {
            List<String> holders = drain(closed, deadline, givesWay);
            if (holders.isEmpty() && !givesWay.isDone()) {
                holders = shared.awaitAcknowledged(deadline);
            } else {
                holders.addAll(shared.holders());
            }
            PendingDivergence diverged = pendingDivergence.get();
            if (diverged != null && before.dualWrite() && diverged.follower() == before.follower()) {
                // a unit that just drained saw the follower diverge: it must not become the writer, or lose its twin
                closed.reopen();
                shared.abandon("the follower diverged");
                throw new Refused(Refused.Why.RULE, command + " did not happen: "
                        + diverged.follower().name().toLowerCase(Locale.ROOT)
                        + " diverged while in-flight writes finished and is being marked out of sync");
            }
            if (givesWay.isDone() || hasUnsaved()) {
                // a rollback or a divergence arrived meanwhile, and is in force already or waits for this lock
                closed.reopen();
                shared.abandon("gave way to a change toward blue");
                throw new Refused(Refused.Why.CONFLICT, command + " did not happen: it gave way to a rollback or a"
                        + " follower out of sync that came while it waited for the write barrier; check the state");
            }
            if (!holders.isEmpty()) {
                closed.reopen(); // the waiting units go on before the caller hears of the failure
                shared.abandon("timed out");
                throw new Refused(Refused.Why.BARRIER, command + " did not happen: write barrier timed out after "
                        + barrierTimeout.toMillis() + " ms; held up by " + holders);
            }
            HistoryEntry entry = change.get();
            quiescing = null; // from here on a change toward blue goes on top of this one
            try {
                save(command, before, entry, planAfter, shared);
            } catch (Refused refused) {
                shared.abandon(refused.getMessage());
                throw refused;
            }
            record(List.of(entry));
            publish(entry.state(), planAfter);
            awaitSettled(entry.state());
        } catch (StateStore.Failure failure) {
            shared.abandon(failure.getMessage());
            throw storeFailed(command, failure);
        } catch (RuntimeException e) {
            shared.abandon("failed: " + e); // the other instances reopen now, not at the barrier's deadline
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            shared.abandon("interrupted");
            throw new Refused(Refused.Why.BARRIER, command + " did not happen: interrupted while waiting on the write barrier");
        } finally {
            quiescing = null;
            closed.reopen();
        }
    }

    /** Empty once drained; otherwise, at the deadline, the sessions still inside. */
    private static List<String> drain(WriteBarrier.Closed closed, long deadline) throws InterruptedException {
        return drain(closed, deadline, new CompletableFuture<>());
    }

    /** Waits for the units inside to leave, or for {@code givingWay} to complete first, or the deadline. */
    private static List<String> drain(WriteBarrier.Closed closed, long deadline, CompletableFuture<Void> givingWay)
            throws InterruptedException {
        try {
            CompletableFuture.anyOf(closed.drained(), givingWay).get(Math.max(0, deadline - System.nanoTime()),
                    TimeUnit.NANOSECONDS);
            return givingWay.isDone() ? new ArrayList<>(closed.holders()) : new ArrayList<>();
        } catch (TimeoutException e) {
            // empty when the last unit left between the timeout and this look: drained after all
            return new ArrayList<>(closed.holders());
        } catch (ExecutionException e) {
            throw new IllegalStateException("write barrier failed", e.getCause());
        }
    }

    private void save(String command, RoutingState before, HistoryEntry entry, Plan planAfter,
                      StateStore.SharedBarrier shared) throws Refused {
        try {
            store.save(before.epoch(), entry, planAfter, shared);
        } catch (StateStore.Conflict conflict) {
            throw reloaded(command, conflict);
        } catch (StateStore.Failure failure) {
            throw storeFailed(command, failure);
        }
    }

    private Refused reloaded(String command, StateStore.Conflict conflict) {
        if (conflict.current() == null) {
            // nothing changed: another instance's change of writer is under way, or this one's barrier lapsed
            return new Refused(Refused.Why.BARRIER, command + " did not happen: " + conflict.getMessage()
                    + "; nothing was changed, try again");
        }
        StateStore.Snapshot current = conflict.current();
        if (current != null) {
            record(current.history());
            publish(current.state(), current.plan());
        }
        RoutingState now = current();
        log.warn("command refused on a conflict command={} reason={} epoch={}", command, conflict.getMessage(), now.epoch());
        return new Refused(Refused.Why.CONFLICT, command + " refused: another proxy instance changed the routing state "
                + "first (" + conflict.getMessage() + "); reloaded epoch " + now.epoch() + " (phase "
                + now.phase().name().toLowerCase(Locale.ROOT) + ", weight " + now.weight()
                + "); nothing was changed, check the state and try again");
    }

    private Refused storeFailed(String command, StateStore.Failure failure) {
        log.error("command refused: state store failed command={} store={} reason={}", command, store.describe(),
                failure.getMessage());
        return new Refused(Refused.Why.STORE, command + " did not happen: the state store failed ("
                + failure.getMessage() + ")");
    }

    /**
     * A state the store holds: made the one in force if newer than the one in force; true if it was. While
     * changes wait to be saved, it becomes their base instead, and they are made again on top of it.
     */
    private boolean publish(RoutingState next, Plan plan) {
        synchronized (publishing) {
            if (!unsaved.isEmpty()) {
                if (next.epoch() <= stored.state().epoch()) {
                    return false;
                }
                stored = new Published(next, plan);
                return republish();
            }
            if (next.epoch() <= published.get().state().epoch()) {
                return false;
            }
            return set(new Published(next, plan));
        }
    }

    /**
     * Holding {@link #publishing}: the stored state with the unsaved changes made again on top of it, in
     * force. A change that no longer applies (another instance did it already, or the state moved where it
     * means nothing, or where it would need the other instances' barrier) is dropped, and said so.
     */
    private boolean republish() {
        Published effective = stored;
        for (Iterator<Unsaved> it = unsaved.iterator(); it.hasNext(); ) {
            Unsaved change = it.next();
            Transition decision = change.rule().apply(effective.state());
            if (decision instanceof Transition.Go go && mayApply(change, go)) {
                effective = new Published(go.next(), change.planChange().apply(effective.plan()));
                continue;
            }
            it.remove();
            String why = decision instanceof Transition.Refused refused ? refused.reason()
                    : "it would now change who receives writes, which needs the write barrier; do it again";
            if (!(decision instanceof Transition.Refused)) {
                // moot is fine (the state another instance saved already says so); undone is not
                change.undone().complete(why);
            }
            log.warn("routing state change not saved and dropped: the stored state moved on (epoch {}) store={} change=\"{}\" reason={}",
                    effective.state().epoch(), store.describe(), change.describe(), why);
        }
        if (unsaved.isEmpty()) {
            stored = null;
        }
        return set(effective);
    }

    /**
     * Whether {@code change}, made again on a newer state as {@code go}, may stand without asking anyone: not
     * when it would now change who receives writes, unless it was put in force behind this instance's write
     * barrier and no other instance shares the store (a change put in force without the barrier, while a
     * command that held the barrier cut over, must not change writer behind the sessions' backs).
     */
    private boolean mayApply(Unsaved change, Transition.Go go) {
        return !go.needsBarrier() || (change.behindBarrier() && !store.shared());
    }

    /** Holding {@link #publishing}: {@code next} in force; true if it differs from what was. */
    private boolean set(Published next) {
        Published before = published.getAndSet(next);
        if (before.equals(next)) {
            return false;
        }
        listeners.forEach(listener -> listener.accept(next.state()));
        return true;
    }

    private void record(Collection<HistoryEntry> entries) {
        synchronized (history) {
            for (HistoryEntry entry : entries) {
                history.putIfAbsent(entry.epoch(), entry);
            }
            while (history.size() > HISTORY_KEPT) {
                history.pollFirstEntry();
            }
        }
    }

    /** What the store tells of other instances. */
    private final class Peer implements StateStore.Peer {

        @Override
        public void changed(RoutingState next, Plan plan) {
            if (publish(next, plan)) {
                log.info("routing state changed by another instance epoch={} phase={} leader={} weight={}",
                        next.epoch(), next.phase(), next.leader(), next.weight());
            }
            settleIfSaved(); // the news may have made every unsaved change moot
        }

        @Override
        public void recorded(List<HistoryEntry> entries) {
            record(entries);
        }

        @Override
        public void departed(List<String> instances) {
            if (closed || !current().dualWrite()) {
                return;
            }
            String who = "proxy instance " + String.join(", ", instances);
            // saving the change may wait (the command lock, the store): not on the store's heartbeat thread,
            // which must go on beating lest this instance be taken for departed too
            Thread.ofPlatform().daemon().name("bluegreen-departed-instance").start(() -> {
                RoutingState now = current();
                if (!closed && now.dualWrite()) {
                    afterUncleanStop(now, who, HEARTBEAT_ACTOR);
                }
            });
        }

        /** Acknowledged only once drained and with no divergence left to record: see {@link #divergenceSeen}. */
        @Override
        public WriteBarrier.Closed closeBarrier() {
            return barrier.close().alsoAwaiting(() -> {
                PendingDivergence pending = pendingDivergence.get();
                return pending == null ? CompletableFuture.completedFuture(null) : pending.recorded();
            });
        }
    }
}
