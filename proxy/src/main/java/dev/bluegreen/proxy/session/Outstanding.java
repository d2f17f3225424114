package dev.bluegreen.proxy.session;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Executor;

/** Numbers given in order, each outstanding until removed, with whoever waits for all up to one to go. */
final class Outstanding {

    private record Waiter(long upTo, Executor executor, Runnable then) { }

    private long last;
    private final TreeSet<Long> outstanding = new TreeSet<>();
    private final List<Waiter> waiters = new ArrayList<>();

    synchronized long last() {
        return last;
    }

    synchronized long add() {
        last++;
        outstanding.add(last);
        return last;
    }

    synchronized int size() {
        return outstanding.size();
    }

    synchronized boolean doneUpTo(long upTo) {
        return outstanding.isEmpty() || outstanding.first() > upTo;
    }

    void remove(long number) {
        if (number <= 0) {
            return; // none given
        }
        List<Waiter> ready;
        synchronized (this) {
            if (!outstanding.remove(number)) {
                return;
            }
            ready = takeReady();
        }
        ready.forEach(waiter -> waiter.executor().execute(waiter.then()));
    }

    void await(long upTo, Executor executor, Runnable then) {
        synchronized (this) {
            if (!doneUpTo(upTo)) {
                waiters.add(new Waiter(upTo, executor, then));
                return;
            }
        }
        executor.execute(then);
    }

    int forget(long upTo) {
        List<Waiter> ready;
        int dropped;
        synchronized (this) {
            var overdue = outstanding.headSet(upTo, true);
            dropped = overdue.size();
            overdue.clear();
            ready = takeReady();
        }
        ready.forEach(waiter -> waiter.executor().execute(waiter.then()));
        return dropped;
    }

    private List<Waiter> takeReady() {
        if (waiters.isEmpty()) {
            return List.of();
        }
        long first = outstanding.isEmpty() ? Long.MAX_VALUE : outstanding.first();
        List<Waiter> ready = new ArrayList<>();
        waiters.removeIf(waiter -> {
            if (waiter.upTo() < first) {
                ready.add(waiter);
                return true;
            }
            return false;
        });
        return ready;
    }
}
