package dev.bluegreen.proxy.control;

import dev.bluegreen.proxy.control.RoutingControl.HistoryEntry;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Where the routing state lives between restarts and how proxy instances share it (DESIGN §7). Its one
 * caller is {@link RoutingControl}, which loads it once, saves each change before publishing it (a
 * compare-and-set on the epoch) and hears the changes other instances make through a {@link Peer}.
 *
 * <p>Every method may block on I/O: none may be called on an event loop. Implementations: an in-memory
 * one here (tests, nothing durable), the {@code file} and {@code postgres} stores in {@code proxy.store}.
 */
public interface StateStore extends AutoCloseable {

    /**
     * What a store holds.
     *
     * @param history oldest first, at most {@link RoutingControl#HISTORY_KEPT} entries
     * @param plan    null when no rollout plan was ever started
     */
    record Snapshot(RoutingState state, List<HistoryEntry> history, Plan plan) {
        public Snapshot {
            Objects.requireNonNull(state, "state");
            history = List.copyOf(history);
        }
    }

    /** The stored state moved on without this instance, or someone else holds the barrier: nothing was saved. */
    final class Conflict extends Exception {
        private final transient Snapshot current;

        /** @param current what is stored now, to publish before refusing; null when unknown */
        public Conflict(String message, Snapshot current) {
            super(message, null, false, false);
            this.current = current;
        }

        public Snapshot current() {
            return current;
        }
    }

    /** The store could not be read or written. */
    final class Failure extends Exception {
        public Failure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** What a store tells the routing control of other instances; called on the store's own threads. */
    interface Peer {

        /**
         * Another instance made {@code state} the state in force, with {@code plan} (null: none) saved with
         * it; ignored unless its epoch is newer.
         */
        void changed(RoutingState state, Plan plan);

        /** History entries written by any instance (known ones are ignored). */
        void recorded(List<HistoryEntry> entries);

        /**
         * Another instance is about to change who receives writes: close this instance's write barrier and
         * keep it closed until the store reopens it. Throws {@link IllegalStateException} while this
         * instance's barrier is already closed.
         */
        WriteBarrier.Closed closeBarrier();

        /**
         * Other instances stopped without leaving the store (killed, crashed, their machine lost) while this
         * one ran: each may have cut a follower's COMMIT off unreported. One instance hears of each.
         */
        default void departed(List<String> instances) {
        }
    }

    /** The part of a write barrier that spans the other instances. */
    interface SharedBarrier {

        /**
         * Waits until every other live instance has drained its write units and holds them, or until
         * {@code deadlineNanos} ({@link System#nanoTime()}). Returns who still held it up then; empty
         * means every instance is ready.
         */
        List<String> awaitAcknowledged(long deadlineNanos) throws Failure, InterruptedException;

        /** Who holds it up right now. */
        List<String> holders();

        /** Nothing changes: the other instances reopen. Never throws. */
        void abandon(String why);
    }

    /** A barrier with nobody else to wait for: one instance alone. */
    SharedBarrier ALONE = new SharedBarrier() {
        @Override
        public List<String> awaitAcknowledged(long deadlineNanos) {
            return List.of();
        }

        @Override
        public List<String> holders() {
            return List.of();
        }

        @Override
        public void abandon(String why) {
        }
    };

    /**
     * Loads what is stored (the initial state when nothing is) and from then on tells {@code peer} of
     * other instances' changes.
     */
    Snapshot open(Peer peer) throws Failure;

    /**
     * For a change of who receives writes from {@code fromEpoch}: asks every other live instance to close
     * its write barrier. {@link Conflict} when the stored epoch is no longer {@code fromEpoch} or another
     * instance's barrier is in progress.
     */
    SharedBarrier barrier(String command, long fromEpoch, Duration timeout) throws Conflict, Failure;

    /**
     * Saves {@code change} (its state, and itself as a history entry) together with {@code plan} (null when
     * no plan was ever started), if the stored epoch is still {@code expectedEpoch}, and ends
     * {@code barrier} with it. State and plan are saved atomically: a rollout step that moves the weight
     * and the plan's position is one compare-and-set, so no instance ever sees one without the other.
     */
    void save(long expectedEpoch, HistoryEntry change, Plan plan, SharedBarrier barrier) throws Conflict, Failure;

    /** This instance's name, as other instances and barrier failures show it. */
    String instance();

    /**
     * Whether other proxy instances may share this store. A change of writer must then be saved (and the
     * others' barriers acknowledged) before it takes effect anywhere; with a store of its own, an instance
     * may put a rollback in force before the store has saved it.
     */
    default boolean shared() {
        return false;
    }

    /**
     * After {@link #open}: whether a proxy that used this store stopped without closing it (killed, crashed,
     * its machine lost): the one before this one, or, in a shared store, another instance that stopped before
     * any live one noticed. It may have cut a follower's COMMIT off without reporting it, so green may lack a
     * commit blue has. False where the store cannot tell.
     */
    default boolean endedUncleanly() {
        return false;
    }

    /**
     * Something this instance knew was never saved (a change the store failed to save, a follower lost
     * that could not be reported before it stopped): when it closes, the next open must still find that it
     * stopped uncleanly ({@link #endedUncleanly}).
     */
    default void notAllSaved() {
    }

    /** For logs: which store, where. Never a credential. */
    String describe();

    @Override
    void close();

    /** Nothing durable and nothing shared: a proxy whose state starts at {@code initial} every time. */
    static StateStore inMemory(RoutingState initial) {
        return new MemoryStateStore(initial);
    }
}
