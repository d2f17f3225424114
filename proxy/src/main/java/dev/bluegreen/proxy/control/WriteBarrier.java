package dev.bluegreen.proxy.control;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Makes a change of who receives writes exact (DESIGN §5): while closing, new write units wait (their
 * continuation is queued, nothing blocks an event loop); when the in-flight units have finished the
 * change is applied and the barrier reopens. On timeout nothing changes, the waiting units proceed,
 * and the failure names the sessions that held it up.
 *
 * <p>Every session enters at the start of each unit, so the open barrier costs two volatile writes and
 * a volatile read per unit and takes no lock: a session marks its {@link Pass} inside, then looks at
 * {@code closing}; a closing barrier sets {@code closing}, then looks at every pass. Whichever runs
 * second sees the other.
 */
public final class WriteBarrier {

    /** The barrier did not drain in time; {@link #holders()} are the sessions still inside. */
    public static final class TimedOut extends Exception {
        private final List<String> holders;

        TimedOut(Duration timeout, List<String> holders) {
            super("write barrier timed out after " + timeout.toMillis() + " ms; held up by " + holders, null, false, false);
            this.holders = List.copyOf(holders);
        }

        public List<String> holders() {
            return holders;
        }
    }

    /** One session's way through the barrier, made once per session. */
    public static final class Pass {
        private final Object holder;
        private final Runnable whenClosing;
        private volatile boolean inside;

        private Pass(Object holder, Runnable whenClosing) {
            this.holder = holder;
            this.whenClosing = whenClosing;
        }

        public boolean inside() {
            return inside;
        }

        @Override
        public String toString() {
            return String.valueOf(holder);
        }
    }

    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "write-barrier-timer");
        t.setDaemon(true);
        return t;
    });

    private final Set<Pass> passes = ConcurrentHashMap.newKeySet();
    private final List<Waiter> waiting = new ArrayList<>();
    private volatile boolean closing;
    private CompletableFuture<Void> drained;

    /** A pass for a new session; give it back with {@link #release} when the session ends. */
    public Pass pass(Object holder) {
        return pass(holder, null);
    }

    /**
     * A pass whose session is told, by {@code whenClosing} (run on the thread closing the barrier, so it must only
     * hand over), each time a barrier starts to close while the pass is inside: the unit it holds the pass for may
     * turn out to be a read, which the barrier need not wait for (DESIGN §5), and the session then {@link #exit}s.
     */
    public Pass pass(Object holder, Runnable whenClosing) {
        Pass pass = new Pass(holder, whenClosing);
        passes.add(pass);
        return pass;
    }

    public void release(Pass pass) {
        exit(pass);
        passes.remove(pass);
    }

    /**
     * Lets a unit in. Returns true when it may go now (the caller must {@link #exit} when it ends);
     * otherwise {@code whenAdmitted} runs once the barrier reopens, already admitted. A pass already
     * inside goes on, closing or not: its unit (a batch that came in several reads, a transaction) is
     * what the barrier waits for, and turning it away halfway would let the change in under it.
     */
    public boolean tryEnter(Pass pass, Runnable whenAdmitted) {
        if (pass.inside) {
            return true;
        }
        pass.inside = true;
        if (!closing) {
            return true;
        }
        pass.inside = false;
        synchronized (this) {
            if (!closing) {
                pass.inside = true;
                return true;
            }
            // admitted in reopen itself, under this lock, before any later barrier can start counting
            waiting.add(new Waiter(pass, whenAdmitted));
        }
        checkDrained();
        return false;
    }

    /** Whether a change is waiting for the passes inside to leave (new units wait meanwhile). */
    public boolean closing() {
        return closing;
    }

    public void exit(Pass pass) {
        if (!pass.inside) {
            return;
        }
        pass.inside = false;
        if (closing) {
            checkDrained();
        }
    }

    /**
     * Stops admitting units and waits for those inside to finish, then runs {@code change} and
     * reopens. Completes exceptionally with {@link TimedOut} (and reopens, unchanged) after {@code timeout}.
     */
    public CompletableFuture<Void> closeAndApply(Duration timeout, Runnable change) {
        Closed closed;
        try {
            closed = close();
        } catch (IllegalStateException busy) {
            return CompletableFuture.failedFuture(busy);
        }
        CompletableFuture<Void> empty = closed.drained;
        CompletableFuture<Void> result = new CompletableFuture<>();
        var timer = TIMER.schedule(() -> empty.completeExceptionally(new TimedOut(timeout, holders())),
                timeout.toMillis(), TimeUnit.MILLISECONDS);
        empty.whenComplete((ok, failure) -> {
            timer.cancel(false);
            if (failure != null) {
                closed.reopen(); // the waiting units go on before the caller hears of the failure
                result.completeExceptionally(failure);
                return;
            }
            try {
                change.run();
                result.complete(null);
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            } finally {
                closed.reopen();
            }
        });
        return result;
    }

    /**
     * Stops admitting units and returns at once; the caller waits for {@link Closed#drained()}, makes its
     * change (blocking work such as persisting it may happen here, off the event loops) and then must
     * {@link Closed#reopen()}. Throws {@link IllegalStateException} while another barrier is closed.
     */
    public Closed close() {
        CompletableFuture<Void> empty;
        synchronized (this) {
            if (drained != null) {
                throw new IllegalStateException("another write barrier is in progress");
            }
            drained = new CompletableFuture<>();
            empty = drained;
            closing = true;
        }
        for (Pass pass : passes) {
            if (pass.inside && pass.whenClosing != null) {
                pass.whenClosing.run();
            }
        }
        checkDrained();
        return new Closed(empty);
    }

    /** A closed barrier: new units wait until it reopens. */
    public final class Closed {
        private final CompletableFuture<Void> drained;
        private final AtomicBoolean open = new AtomicBoolean();
        private volatile Supplier<CompletableFuture<Void>> then = () -> CompletableFuture.completedFuture(null);

        private Closed(CompletableFuture<Void> drained) {
            this.drained = drained;
        }

        /**
         * Completes (on whichever thread let the last unit out, often an event loop) once no unit is inside
         * and what {@link #alsoAwaiting} asks for, looked at only then, has completed.
         */
        public CompletableFuture<Void> drained() {
            return drained.copy().thenCompose(ignored -> then.get());
        }

        /** Makes {@link #drained()} wait, once no unit is inside, for what {@code more} then returns too. */
        public Closed alsoAwaiting(Supplier<CompletableFuture<Void>> more) {
            this.then = more;
            return this;
        }

        /** Sessions still inside, for the failure message. */
        public List<String> holders() {
            return WriteBarrier.this.holders();
        }

        /** Admits the waiting units; harmless when called again. */
        public void reopen() {
            if (open.compareAndSet(false, true)) {
                WriteBarrier.this.reopen(drained);
            }
        }
    }

    /** Sessions inside right now, for status and error messages. */
    public List<String> holders() {
        return passes.stream().filter(Pass::inside).map(String::valueOf).sorted().toList();
    }

    private void checkDrained() {
        CompletableFuture<Void> done;
        synchronized (this) {
            done = drained;
        }
        if (done != null && !done.isDone() && passes.stream().noneMatch(Pass::inside)) {
            done.complete(null);
        }
    }

    private void reopen(CompletableFuture<Void> closedBy) {
        List<Runnable> admitted;
        synchronized (this) {
            if (drained != closedBy) {
                return;
            }
            drained = null;
            closing = false;
            admitted = new ArrayList<>(waiting.size());
            for (Waiter waiter : waiting) {
                waiter.pass.inside = true;
                admitted.add(waiter.whenAdmitted);
            }
            waiting.clear();
        }
        admitted.forEach(Runnable::run);
    }

    /** A unit that came while the barrier was closing: let in when it reopens. */
    private record Waiter(Pass pass, Runnable whenAdmitted) {
    }
}
