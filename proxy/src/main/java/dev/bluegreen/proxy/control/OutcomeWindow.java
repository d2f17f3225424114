package dev.bluegreen.proxy.control;

import io.micrometer.core.instrument.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.IntCountsHistogram;

/**
 * One kind of unit's outcomes over a sliding window, for the health rules: how many, how many failed, and
 * their latencies. Recorded by the event loops once per unit, read about once a second.
 *
 * <p>Counts are kept per second, so what is read covers exactly the last {@code window} seconds, the current
 * one included. Latencies are kept per sixth of the window ({@link #SLICES}), so their percentiles cover
 * between five sixths of the window and all of it; the latency figures' sample count is therefore the
 * histogram's own. Each recording thread has a stripe of its own behind a lock only the reader ever
 * contends for: two event loops never write the same memory. (Before, every unit
 * went into a lock-free window of Resilience4j, a copy-on-write slice per record, and a Micrometer timer
 * with percentiles, which wrote three concurrent histograms shared by all threads: together a fifth of units
 * mode's own CPU under {@code pgbench -S}.)
 */
final class OutcomeWindow {

    static final int SLICES = 6;
    /** Latencies are kept in microseconds, up to an hour, to two significant digits. */
    private static final long HIGHEST_MICROS = Duration.ofHours(1).toNanos() / 1_000;
    private static final int DIGITS = 2;
    private static final long SECOND = 1_000_000_000L;

    /** What a window holds as of a moment. */
    record Snapshot(long count, long failures, Histogram latencies) {

        /** The latency at {@code percentile} (0–100), in milliseconds; null with no latency recorded. */
        Double millisAt(double percentile) {
            return latencies.getTotalCount() == 0 ? null : latencies.getValueAtPercentile(percentile) / 1_000.0;
        }

        /** This snapshot and another, as one (a cluster's writes and its follower writes). */
        Snapshot plus(Snapshot other) {
            Histogram both = latencies.copy();
            both.add(other.latencies);
            return new Snapshot(count + other.count, failures + other.failures, both);
        }
    }

    /**
     * Each thread's place in every window's stripes, handed out once per thread. A window holds its stripes
     * itself: a thread-local per window would tie each window to every thread that recorded in it (the value
     * reaching its own key), and a window dropped on {@code reset()} would never be collected.
     */
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final ThreadLocal<Integer> SLOT = ThreadLocal.withInitial(THREADS::getAndIncrement);

    private final Clock clock;
    private final int seconds;
    private final long sliceNanos;
    /** By thread slot; copied on growth, so the reader sees every stripe made before it looks. */
    private volatile Stripe[] stripes = new Stripe[0];

    /** @param window whole seconds, at least two */
    OutcomeWindow(Duration window, Clock clock) {
        this.clock = clock;
        this.seconds = Math.toIntExact(window.toSeconds());
        this.sliceNanos = window.toNanos() / SLICES;
        if (seconds < 2 || window.toMillis() % 1000 != 0) {
            throw new IllegalArgumentException("the window is whole seconds, at least 2 s, was " + window);
        }
    }

    /** @param nanos the unit's latency: kept in whole microseconds, rounded up (a pipelined answer can take less than one) */
    void record(long nanos, boolean failed) {
        long now = clock.monotonicTime();
        long micros = Math.clamp(Math.ceilDiv(nanos, 1_000L), 1, HIGHEST_MICROS);
        stripe().record(Math.floorDiv(now, SECOND), Math.floorDiv(now, sliceNanos), micros, failed);
    }

    private Stripe stripe() {
        int slot = SLOT.get();
        Stripe[] all = stripes;
        Stripe stripe = slot < all.length ? all[slot] : null;
        return stripe != null ? stripe : newStripe(slot);
    }

    private synchronized Stripe newStripe(int slot) {
        Stripe[] all = stripes;
        if (slot >= all.length) {
            all = Arrays.copyOf(all, slot + 1);
        } else if (all[slot] != null) {
            return all[slot];
        } else {
            all = all.clone();
        }
        Stripe stripe = new Stripe(seconds);
        all[slot] = stripe;
        stripes = all;
        return stripe;
    }

    /** Everything recorded in the window, all threads together. */
    Snapshot snapshot() {
        long now = clock.monotonicTime();
        long second = Math.floorDiv(now, SECOND);
        long slice = Math.floorDiv(now, sliceNanos);
        long[] counts = new long[2];
        Histogram latencies = new Histogram(HIGHEST_MICROS, DIGITS);
        for (Stripe stripe : stripes) {
            if (stripe != null) {
                stripe.addTo(counts, latencies, second, slice);
            }
        }
        return new Snapshot(counts[0], counts[1], latencies);
    }

    /** One thread's seconds and slices. */
    private static final class Stripe {
        private final int seconds;
        private final long[] secondOf;
        private final long[] count;
        private final long[] failures;
        /** Int counts: a slice holds at most a sixth of the window's units of one thread. */
        private final IntCountsHistogram[] slices = new IntCountsHistogram[SLICES];
        private final long[] sliceOf = new long[SLICES];

        Stripe(int seconds) {
            this.seconds = seconds;
            this.secondOf = new long[seconds];
            this.count = new long[seconds];
            this.failures = new long[seconds];
            Arrays.fill(secondOf, Long.MIN_VALUE);
        }

        synchronized void record(long second, long slice, long micros, boolean failed) {
            int s = (int) Math.floorMod(second, (long) seconds);
            if (secondOf[s] != second) {
                secondOf[s] = second; // a second that left the window
                count[s] = 0;
                failures[s] = 0;
            }
            count[s]++;
            if (failed) {
                failures[s]++;
            }
            int i = (int) Math.floorMod(slice, (long) SLICES);
            IntCountsHistogram histogram = slices[i];
            if (histogram == null) {
                histogram = new IntCountsHistogram(HIGHEST_MICROS, DIGITS);
                slices[i] = histogram;
                sliceOf[i] = slice;
            } else if (sliceOf[i] != slice) {
                histogram.reset(); // a slice that left the window
                sliceOf[i] = slice;
            }
            histogram.recordValue(micros);
        }

        synchronized void addTo(long[] counts, Histogram latencies, long second, long slice) {
            for (int s = 0; s < seconds; s++) {
                if (secondOf[s] <= second && secondOf[s] > second - seconds) {
                    counts[0] += count[s];
                    counts[1] += failures[s];
                }
            }
            for (int i = 0; i < SLICES; i++) {
                if (slices[i] != null && sliceOf[i] <= slice && sliceOf[i] > slice - SLICES) {
                    latencies.add(slices[i]);
                }
            }
        }
    }
}
