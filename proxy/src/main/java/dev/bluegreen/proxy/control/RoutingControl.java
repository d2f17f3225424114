package dev.bluegreen.proxy.control;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out the operator's commands: asks {@link Transition} for go or no-go, makes the change exact
 * with the {@link WriteBarrier} when it alters who receives writes, publishes the new state (sessions
 * read it at their next unit boundary) and records it in the history.
 *
 * <p>Commands are serialised; a command returns once its state is in effect. Callers must not be on an
 * event loop: a barrier waits for units that event loops are still running.
 */
public final class RoutingControl {

    private static final Logger log = LoggerFactory.getLogger(RoutingControl.class);

    /** The proxy refused a command; the message says why. */
    public static final class Refused extends Exception {
        public Refused(String reason) {
            super(reason, null, false, false);
        }
    }

    /** One change of state: who or which rule, what, why. */
    public record HistoryEntry(Instant at, long epoch, String actor, String command, String reason, RoutingState state) {}

    private final AtomicReference<RoutingState> state;
    private final WriteBarrier barrier = new WriteBarrier();
    private final Duration barrierTimeout;
    private final List<Consumer<RoutingState>> listeners = new CopyOnWriteArrayList<>();
    private final List<HistoryEntry> history = new ArrayList<>();
    private volatile Plan plan;

    public RoutingControl(RoutingState initial, Duration barrierTimeout) {
        this.state = new AtomicReference<>(initial);
        this.barrierTimeout = barrierTimeout;
    }

    /** The state in force: read it at each unit boundary. */
    public RoutingState current() {
        return state.get();
    }

    /** The rollout plan, if one was ever started (a finished plan stays, with its status). */
    public Optional<Plan> plan() {
        return Optional.ofNullable(plan);
    }

    /** Replaces the plan's position or status; the plan runner is its only writer. */
    public void plan(Plan next) {
        this.plan = next;
    }

    public WriteBarrier barrier() {
        return barrier;
    }

    public void onChange(Consumer<RoutingState> listener) {
        listeners.add(listener);
    }

    public synchronized List<HistoryEntry> history() {
        return List.copyOf(history);
    }

    public RoutingState start(String actor) throws Refused {
        return apply(actor, "start", null, Transition::start);
    }

    public RoutingState startShadow(String actor) throws Refused {
        return apply(actor, "start --shadow", null, Transition::startShadow);
    }

    public RoutingState setWeight(String actor, int weight) throws Refused {
        return apply(actor, "set-weight " + weight, null, s -> Transition.setWeight(s, weight));
    }

    public RoutingState rollback(String actor, String reason, boolean force) throws Refused {
        return apply(actor, force ? "rollback --force" : "rollback", reason, s -> Transition.rollback(s, force));
    }

    public RoutingState cutover(String actor) throws Refused {
        return apply(actor, "cutover", null, Transition::cutover);
    }

    public RoutingState finalizeMigration(String actor) throws Refused {
        return apply(actor, "finalize", null, Transition::finalizeMigration);
    }

    public RoutingState abort(String actor) throws Refused {
        return apply(actor, "abort", null, Transition::abort);
    }

    public RoutingState freeze(String actor, boolean frozen) throws Refused {
        return apply(actor, frozen ? "freeze" : "unfreeze", null, s -> Transition.freeze(s, frozen));
    }

    /** A divergence or an unreachable follower: recorded, weight back to the leader. Never throws. */
    public void followerOutOfSync(String actor, String reason) {
        try {
            apply(actor, "follower out of sync", reason, Transition::followerOutOfSync);
        } catch (Refused alreadyOut) {
            log.debug("follower already out of sync reason={}", reason);
        }
    }

    private synchronized RoutingState apply(String actor, String command, String reason,
                                            Function<RoutingState, Transition> rule) throws Refused {
        RoutingState before = state.get();
        Transition decision = rule.apply(before);
        if (decision instanceof Transition.Refused refused) {
            throw new Refused(refused.reason());
        }
        Transition.Go go = (Transition.Go) decision;
        if (go.needsBarrier()) {
            try {
                barrier.closeAndApply(barrierTimeout, () -> state.set(go.next())).join();
            } catch (CompletionException e) {
                if (e.getCause() instanceof WriteBarrier.TimedOut timedOut) {
                    throw new Refused(command + " did not happen: " + timedOut.getMessage());
                }
                throw e;
            }
        } else {
            state.set(go.next());
        }
        RoutingState after = go.next();
        history.add(new HistoryEntry(Instant.now(), after.epoch(), actor, command, reason, after));
        log.info("routing state changed epoch={} actor={} command={} phase={} weight={} reason={}",
                after.epoch(), actor, command, after.phase(), after.weight(), reason);
        listeners.forEach(listener -> listener.accept(after));
        return after;
    }
}
