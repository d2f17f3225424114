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

/**
 * Green's and blue's outcomes over a sliding time window (DESIGN §6), fed by the session engine as units
 * finish and read once a second by the health rules. Each unit goes to an {@link OutcomeWindow} (counts per
 * second, latencies in HdrHistograms, a stripe per event loop), so event loops record without contending;
 * the rare events (a read retried, green blamed, a divergence) are counted in Resilience4j's lock-free
 * sliding windows.
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
        (read ? w.servedReads : w.servedWrites).get(cluster).record(nanos, sqlState != null);
    }

    /** Not a sample: the client ended the unit, not the cluster (see {@link MigrationStats.Listener#unitCancelled}). */
    @Override
    public void unitCancelled(ClusterRole cluster, boolean read, long nanos) {
    }

    /**
     * Not a sample of blue's own reads: these are the reads green failed first, and the ones the application gets
     * wrong fail on blue too. Counted with blue's reads they made blue's read error rate the application's error
     * rate among green's failures (near 1 at weight 100), and the excess of green's own read errors over it
     * vanished. Green's failures that blue answered are blamed on green ({@link #greenError}).
     */
    @Override
    public void retryServed(ClusterRole cluster, long nanos, String sqlState) {
    }

    /** A follower's writes count as that cluster's write latency: while blue leads, they are green's only writes. */
    @Override
    public void followerRan(ClusterRole cluster, long nanos) {
        windows.followed.get(cluster).record(nanos, false);
    }

    @Override
    public void readRetried() {
        // green ran the read and failed before any byte reached the client; blue answers it instead
        windows.retried.record(0, TimeUnit.NANOSECONDS, Metrics.Outcome.ERROR);
    }

    /**
     * Not a sample of either cluster's reads as the weight routes them: the leader runs it whatever the weight,
     * and after an error in its transaction every one fails (25P02). It counts among the cluster's units and
     * errors, not in its read sample or read latency.
     */
    @Override
    public void readInAWriteTransaction(ClusterRole cluster, long nanos, String sqlState) {
        windows.readsInWriteTransactions.get(cluster).record(nanos, sqlState != null); // units and errors only
    }

    @Override
    public void readFailedOnBoth(long greenNanos, String greenSqlState) {
        Windows w = windows;
        w.servedReads.get(ClusterRole.GREEN).record(greenNanos, true);
        w.failedOnBoth.record(0, TimeUnit.NANOSECONDS, Metrics.Outcome.ERROR); // counted with the retried too
    }

    @Override
    public void greenError() {
        windows.blamedReads.record(0, TimeUnit.NANOSECONDS, Metrics.Outcome.ERROR);
    }

    @Override
    public void diverged(Divergence divergence) {
        Windows w = windows;
        w.divergences.record(0, TimeUnit.NANOSECONDS, Metrics.Outcome.ERROR);
        if (ClusterRole.BLUE.name().equalsIgnoreCase(divergence.leaderCluster())) {
            // green followed blue and did not do what blue did
            w.blamedWrites.record(0, TimeUnit.NANOSECONDS, Metrics.Outcome.ERROR);
        }
    }

    /** The figures over the window, as of now. */
    public HealthFigures figures() {
        Windows w = windows;
        double seconds = window.toSeconds();
        Map<ClusterRole, HealthFigures.Cluster> clusters = new EnumMap<>(ClusterRole.class);
        for (ClusterRole cluster : ClusterRole.values()) {
            OutcomeWindow.Snapshot reads = w.servedReads.get(cluster).snapshot();
            OutcomeWindow.Snapshot writes = w.servedWrites.get(cluster).snapshot();
            OutcomeWindow.Snapshot followed = w.followed.get(cluster).snapshot();
            OutcomeWindow.Snapshot inWriteTransactions = w.readsInWriteTransactions.get(cluster).snapshot();
            long served = reads.count() + writes.count() + inWriteTransactions.count();
            long units = served + followed.count();
            long errors = reads.failures() + writes.failures() + inWriteTransactions.failures();
            clusters.put(cluster, new HealthFigures.Cluster(units, units / seconds, errors,
                    served == 0 ? null : (double) errors / served, served, followed.count(),
                    latency(reads), latency(writes.plus(followed))));
        }
        long retried = w.retried.getSnapshot().getTotalNumberOfCalls();
        long blamedReads = w.blamedReads.getSnapshot().getTotalNumberOfCalls();
        long blamed = blamedReads + w.blamedWrites.getSnapshot().getTotalNumberOfCalls();
        long divergences = w.divergences.getSnapshot().getTotalNumberOfCalls();
        long ran = clusters.get(ClusterRole.GREEN).units() + retried - w.failedOnBoth.getSnapshot().getTotalNumberOfCalls();
        return HealthFigures.of(clusters, ran, blamed, blamedReads, divergences);
    }

    private static HealthFigures.Latency latency(OutcomeWindow.Snapshot outcomes) {
        // the count is of the window's seconds, as the error rate needs it to be; the percentiles are of its
        // latency slices (see OutcomeWindow), null for a moment after the last of them has left
        if (outcomes.count() == 0) {
            return new HealthFigures.Latency(0, 0, null, null, null);
        }
        return new HealthFigures.Latency(outcomes.count(), outcomes.failures(), outcomes.millisAt(50),
                outcomes.millisAt(95), outcomes.millisAt(99));
    }

    /** One generation of windows; {@link #reset()} replaces it whole. */
    private final class Windows {
        final Map<ClusterRole, OutcomeWindow> servedReads = new EnumMap<>(ClusterRole.class);
        final Map<ClusterRole, OutcomeWindow> servedWrites = new EnumMap<>(ClusterRole.class);
        final Map<ClusterRole, OutcomeWindow> followed = new EnumMap<>(ClusterRole.class);
        final Map<ClusterRole, OutcomeWindow> readsInWriteTransactions = new EnumMap<>(ClusterRole.class);
        final Counts retried = new Counts();
        /** Green blamed: the reads it failed that blue then answered. */
        final Counts blamedReads = new Counts();
        /** Green blamed: the writes it diverged on while following blue. */
        final Counts blamedWrites = new Counts();
        /** Of {@link #retried}, the reads blue failed too, which are in green's read sample as well. */
        final Counts failedOnBoth = new Counts();
        final Counts divergences = new Counts();

        Windows() {
            for (ClusterRole cluster : ClusterRole.values()) {
                servedReads.put(cluster, new OutcomeWindow(window, latencyClock));
                servedWrites.put(cluster, new OutcomeWindow(window, latencyClock));
                followed.put(cluster, new OutcomeWindow(window, latencyClock));
                readsInWriteTransactions.put(cluster, new OutcomeWindow(window, latencyClock));
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
