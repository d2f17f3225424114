package dev.bluegreen.proxy.control;

import dev.bluegreen.config.Health;
import dev.bluegreen.proxy.dualwrite.Divergence;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.routing.ClusterRole;
import io.github.resilience4j.core.metrics.LockFreeSlidingTimeWindowMetrics;
import io.github.resilience4j.core.metrics.Metrics;
import io.github.resilience4j.core.metrics.Snapshot;
import io.micrometer.core.instrument.Clock;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Green's and blue's outcomes over a sliding time window (DESIGN §6), fed by the session engine as units
 * finish and read once a second by the health rules. Counts live in Resilience4j's lock-free sliding
 * windows, latencies in {@link LatencyWindow}s (HdrHistograms, a stripe per event loop) over the same
 * window: event loops record without contending. The count windows are copy-on-write: each record
 * allocates a copy of the current second's slice (about 100 bytes; 8 % of the bytes units mode allocated
 * per read under {@code pgbench -S}, measured with async-profiler).
 *
 * <p>{@link #reset()} forgets everything (a new {@code start}: what green did before belongs to another
 * migration attempt).
 */
public final class HealthWindows implements MigrationStats.Listener {

    private final Duration window;
    private final io.github.resilience4j.core.Clock countClock;
    private final Clock latencyClock;
    private volatile Windows windows;

    /** Windows on the system clock. */
    public HealthWindows(Duration window) {
        this(window, Clock.SYSTEM);
    }

    /** Windows on {@code clock} (tests move a {@code MockClock}). */
    public HealthWindows(Duration window, Clock clock) {
        // one bucket per second; a single bucket is not a sliding window (and breaks the lock-free one)
        if (window.compareTo(Health.MIN_WINDOW) < 0 || window.toMillis() % 1000 != 0) {
            throw new IllegalArgumentException("the health window is whole seconds, at least "
                    + Health.MIN_WINDOW.toSeconds() + " s, was " + window);
        }
        this.window = window;
        this.latencyClock = clock;
        this.countClock = new io.github.resilience4j.core.Clock() {
            @Override
            public long wallTime() {
                return clock.wallTime();
            }

            @Override
            public long monotonicTime() {
                return clock.monotonicTime();
            }
        };
        this.windows = new Windows();
    }

    public Duration window() {
        return window;
    }

    /** Forgets every outcome recorded so far. */
    public void reset() {
        windows = new Windows();
    }

    @Override
    public void unitServed(ClusterRole cluster, boolean read, long nanos, String sqlState) {
        Windows w = windows;
        Metrics.Outcome outcome = sqlState == null ? Metrics.Outcome.SUCCESS : Metrics.Outcome.ERROR;
        (read ? w.servedReads : w.servedWrites).get(cluster).record(nanos, TimeUnit.NANOSECONDS, outcome);
        (read ? w.readLatency : w.writeLatency).get(cluster).record(nanos);
    }

    /** A follower's writes count as that cluster's write latency: while blue leads, they are green's only writes. */
    @Override
    public void followerRan(ClusterRole cluster, long nanos) {
        Windows w = windows;
        w.followed.get(cluster).record(nanos, TimeUnit.NANOSECONDS, Metrics.Outcome.SUCCESS);
        w.writeLatency.get(cluster).record(nanos);
    }

    @Override
    public void readRetried() {
        // green ran the read and failed before any byte reached the client; blue answers it instead
        windows.retried.record(0, TimeUnit.NANOSECONDS, Metrics.Outcome.ERROR);
    }

    @Override
    public void greenError() {
        windows.blamed.record(0, TimeUnit.NANOSECONDS, Metrics.Outcome.ERROR);
    }

    @Override
    public void diverged(Divergence divergence) {
        Windows w = windows;
        w.divergences.record(0, TimeUnit.NANOSECONDS, Metrics.Outcome.ERROR);
        if (ClusterRole.BLUE.name().equalsIgnoreCase(divergence.leaderCluster())) {
            // green followed blue and did not do what blue did
            w.blamed.record(0, TimeUnit.NANOSECONDS, Metrics.Outcome.ERROR);
        }
    }

    /** The figures over the window, as of now. */
    public HealthFigures figures() {
        Windows w = windows;
        double seconds = window.toSeconds();
        Map<ClusterRole, HealthFigures.Cluster> clusters = new EnumMap<>(ClusterRole.class);
        for (ClusterRole cluster : ClusterRole.values()) {
            Snapshot reads = w.servedReads.get(cluster).getSnapshot();
            Snapshot writes = w.servedWrites.get(cluster).getSnapshot();
            long served = (long) reads.getTotalNumberOfCalls() + writes.getTotalNumberOfCalls();
            long followed = w.followed.get(cluster).getSnapshot().getTotalNumberOfCalls();
            long units = served + followed;
            long errors = (long) reads.getNumberOfFailedCalls() + writes.getNumberOfFailedCalls();
            clusters.put(cluster, new HealthFigures.Cluster(units, units / seconds, errors,
                    served == 0 ? null : (double) errors / served, served, followed,
                    latency(reads.getTotalNumberOfCalls(), reads.getNumberOfFailedCalls(), w.readLatency.get(cluster)),
                    latency(writes.getTotalNumberOfCalls() + followed, writes.getNumberOfFailedCalls(),
                            w.writeLatency.get(cluster))));
        }
        long retried = w.retried.getSnapshot().getTotalNumberOfCalls();
        long blamed = w.blamed.getSnapshot().getTotalNumberOfCalls();
        long divergences = w.divergences.getSnapshot().getTotalNumberOfCalls();
        return HealthFigures.of(clusters, retried, blamed, divergences);
    }

    private static HealthFigures.Latency latency(long count, long errors, LatencyWindow window) {
        if (count == 0) {
            return new HealthFigures.Latency(0, 0, null, null, null);
        }
        Histogram snapshot = window.snapshot();
        return new HealthFigures.Latency(count, errors, LatencyWindow.millisAt(snapshot, 50),
                LatencyWindow.millisAt(snapshot, 95), LatencyWindow.millisAt(snapshot, 99));
    }

    /** One generation of windows; {@link #reset()} replaces it whole. */
    private final class Windows {
        final Map<ClusterRole, Counts> servedReads = new EnumMap<>(ClusterRole.class);
        final Map<ClusterRole, Counts> servedWrites = new EnumMap<>(ClusterRole.class);
        final Map<ClusterRole, Counts> followed = new EnumMap<>(ClusterRole.class);
        final Map<ClusterRole, LatencyWindow> readLatency = new EnumMap<>(ClusterRole.class);
        final Map<ClusterRole, LatencyWindow> writeLatency = new EnumMap<>(ClusterRole.class);
        final Counts retried = new Counts();
        final Counts blamed = new Counts();
        final Counts divergences = new Counts();

        Windows() {
            for (ClusterRole cluster : ClusterRole.values()) {
                servedReads.put(cluster, new Counts());
                servedWrites.put(cluster, new Counts());
                followed.put(cluster, new Counts());
                readLatency.put(cluster, new LatencyWindow(window, latencyClock));
                writeLatency.put(cluster, new LatencyWindow(window, latencyClock));
            }
        }
    }

    /** A count of outcomes over the window. */
    private final class Counts {
        private final LockFreeSlidingTimeWindowMetrics metrics =
                new LockFreeSlidingTimeWindowMetrics((int) window.toSeconds(), countClock);

        void record(long duration, TimeUnit unit, Metrics.Outcome outcome) {
            metrics.record(duration, unit, outcome);
        }

        Snapshot getSnapshot() {
            return metrics.getSnapshot();
        }
    }
}
