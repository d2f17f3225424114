package dev.bluegreen.proxy.control;

import dev.bluegreen.proxy.control.RoutingControl.HistoryEntry;
import java.time.Duration;
import java.util.List;

/** {@link StateStore#inMemory}: keeps the epoch for compare-and-set and nothing else. */
final class MemoryStateStore implements StateStore {

    private final RoutingState initial;
    private long epoch;

    MemoryStateStore(RoutingState initial) {
        this.initial = initial;
        this.epoch = initial.epoch();
    }

    @Override
    public Snapshot open(Peer peer) {
        return new Snapshot(initial, List.of(), null);
    }

    @Override
    public SharedBarrier barrier(String command, long fromEpoch, Duration timeout) {
        return ALONE;
    }

    @Override
    public synchronized void save(long expectedEpoch, HistoryEntry change, Plan plan, SharedBarrier barrier) throws Conflict {
        if (epoch != expectedEpoch) {
            throw new Conflict("the stored epoch is " + epoch + ", not " + expectedEpoch, null);
        }
        epoch = change.epoch();
    }

    @Override
    public String instance() {
        return "local";
    }

    @Override
    public String describe() {
        return "memory (nothing survives a restart)";
    }

    @Override
    public void close() {
    }
}
