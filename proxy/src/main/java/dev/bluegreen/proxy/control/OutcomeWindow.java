package dev.bluegreen.proxy.control;

import io.micrometer.core.instrument.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.HdrHistogram.Histogram;

/**
 * One kind of unit's outcomes over a sliding window, for the health rules: how many, how many failed, and
 * their latencies. Recorded by the event loops once per unit, read about once a second.
 *
 * <p>Counts are kept per second, so what is read covers exactly the last {@code window} seconds, the current
 * one included. Latencies are kept per sixth of the window ({@link #SLICES}), so their percentiles cover
 * between five sixths of the window and all of it. Each recording thread has a stripe of its own behind a
 * lock only the reader ever contends for: two event loops never write the same memory. (Before, every unit
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

    private final Clock clock;
    private final int seconds;
    private final long sliceNanos;
    private final List<Stripe> stripes = new CopyOnWriteArrayList<>();
    private final ThreadLocal<Stripe> own = ThreadLocal.withInitial(() -> {
        Stripe stripe = new Stripe();
        stripes.add(stripe);
        return stripe;
    });

    /** @param window whole seconds, at least two */
    OutcomeWindow(Duration window, Clock clock) {
        this.clock = clock;
        this.seconds = Math.toIntExact(window.toSeconds());
        this.sliceNanos = window.toNanos() / SLICES;
        if (seconds < 2 || window.toMillis() % 1000 != 0) {
            throw new IllegalArgumentException("the window is whole seconds, at least 2 s, was " + window);
        }
    }

    void record(long nanos, boolean failed) {
        long now = clock.monotonicTime();
        own.get().record(now / SECOND, now / sliceNanos, Math.clamp(nanos / 1_000, 0, HIGHEST_MICROS), failed);
    }

    /** Everything recorded in the window, all threads together. */
    Snapshot snapshot() {
        long now = clock.monotonicTime();
        long second = now / SECOND;
        long slice = now / sliceNanos;
        long[] counts = new long[2];
        Histogram latencies = new Histogram(HIGHEST_MICROS, DIGITS);
        for (Stripe stripe : stripes) {
            stripe.addTo(counts, latencies, second, slice);
        }
        return new Snapshot(counts[0], counts[1], latencies);
    }

    /** One thread's seconds and slices. */
    private final class Stripe {
        private final long[] secondOf = new long[seconds];
        private final long[] count = new long[seconds];
        private final long[] failures = new long[seconds];
        private final Histogram[] slices = new Histogram[SLICES];
        private final long[] sliceOf = new long[SLICES];

        Stripe() {
            Arrays.fill(secondOf, Long.MIN_VALUE);
        }

        synchronized void record(long second, long slice, long micros, boolean failed) {
            int s = Math.floorMod(second, seconds);
            if (secondOf[s] != second) {
                secondOf[s] = second; // a second that left the window
                count[s] = 0;
                failures[s] = 0;
            }
            count[s]++;
            if (failed) {
                failures[s]++;
            }
            int i = Math.floorMod(slice, SLICES);
            Histogram histogram = slices[i];
            if (histogram == null) {
                histogram = new Histogram(HIGHEST_MICROS, DIGITS);
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
