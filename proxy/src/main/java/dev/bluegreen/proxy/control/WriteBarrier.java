package dev.bluegreen.proxy.control;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Makes a change of who receives writes exact (DESIGN §5): while closing, new write units wait (their
 * continuation is queued, nothing blocks an event loop); when the in-flight units have finished the
 * change is applied and the barrier reopens. On timeout nothing changes, the waiting units proceed,
 * and the failure names the sessions that held it up. Reads never pass through here.
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

    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "write-barrier-timer");
        t.setDaemon(true);
        return t;
    });

    private final Set<Object> inside = new LinkedHashSet<>();
    private final List<Runnable> waiting = new ArrayList<>();
    private CompletableFuture<Void> drained;

    /**
     * Lets a write unit in. Returns true when it may go now (the caller must {@link #exit} when it ends);
     * otherwise {@code whenAdmitted} runs once the barrier reopens, already admitted.
     */
    public synchronized boolean tryEnter(Object holder, Runnable whenAdmitted) {
        if (drained == null) {
            inside.add(holder);
            return true;
        }
        waiting.add(() -> {
            synchronized (this) {
                inside.add(holder);
            }
            whenAdmitted.run();
        });
        return false;
    }

    public void exit(Object holder) {
        CompletableFuture<Void> done = null;
        synchronized (this) {
            if (inside.remove(holder) && inside.isEmpty() && drained != null) {
                done = drained;
            }
        }
        if (done != null) {
            done.complete(null);
        }
    }

    /**
     * Stops admitting write units and waits for those inside to finish, then runs {@code change} and
     * reopens. Completes exceptionally with {@link TimedOut} (and reopens, unchanged) after {@code timeout}.
     */
    public CompletableFuture<Void> closeAndApply(Duration timeout, Runnable change) {
        CompletableFuture<Void> empty;
        synchronized (this) {
            if (drained != null) {
                return CompletableFuture.failedFuture(new IllegalStateException("another barrier is in progress"));
            }
            drained = new CompletableFuture<>();
            empty = drained;
            if (inside.isEmpty()) {
                empty.complete(null);
            }
        }
        CompletableFuture<Void> result = new CompletableFuture<>();
        var timer = TIMER.schedule(() -> {
            List<String> holders;
            synchronized (this) {
                holders = inside.stream().map(String::valueOf).toList();
            }
            empty.completeExceptionally(new TimedOut(timeout, holders));
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        empty.whenComplete((ok, failure) -> {
            timer.cancel(false);
            if (failure != null) {
                reopen(); // the waiting units go on before the caller hears of the failure
                result.completeExceptionally(failure);
                return;
            }
            try {
                change.run();
                result.complete(null);
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            } finally {
                reopen();
            }
        });
        return result;
    }

    /** Sessions inside right now, for status and error messages. */
    public synchronized List<String> holders() {
        return inside.stream().map(String::valueOf).toList();
    }

    private void reopen() {
        List<Runnable> admitted;
        synchronized (this) {
            drained = null;
            admitted = new ArrayList<>(waiting);
            waiting.clear();
        }
        admitted.forEach(Runnable::run);
    }
}
