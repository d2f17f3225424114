package dev.bluegreen.proxy.control;

import io.micrometer.core.instrument.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.HdrHistogram.Histogram;

/**
 * Latencies over a sliding window, for the health rules' percentiles: recorded by the event loops once per
 * unit, read about once a second.
 *
 * <p>The window is cut into {@link #SLICES} slices of time; what is read covers the current slice and the
 * ones before it that are still in the window, so between five sixths of the window and all of it. Each
 * recording thread has a stripe of its own, an HdrHistogram per slice behind a lock only the reader ever
 * contends for: two event loops never write the same memory. (A Micrometer timer with percentiles, used
 * before, wrote every value into three concurrent histograms shared by all threads, a fifth of units mode's
 * own CPU under {@code pgbench -S}.)
 */
final class LatencyWindow {

    static final int SLICES = 6;
    /** Values are kept in microseconds, up to an hour, to two significant digits. */
    private static final long HIGHEST_MICROS = Duration.ofHours(1).toNanos() / 1_000;
    private static final int DIGITS = 2;

    private final Clock clock;
    private final long sliceNanos;
    private final List<Stripe> stripes = new CopyOnWriteArrayList<>();
    private final ThreadLocal<Stripe> own = ThreadLocal.withInitial(() -> {
        Stripe stripe = new Stripe();
        stripes.add(stripe);
        return stripe;
    });

    LatencyWindow(Duration window, Clock clock) {
        this.clock = clock;
        this.sliceNanos = window.toNanos() / SLICES;
        if (sliceNanos <= 0) {
            throw new IllegalArgumentException("window too short to slice: " + window);
        }
    }

    void record(long nanos) {
        own.get().record(clock.monotonicTime() / sliceNanos, Math.clamp(nanos / 1_000, 0, HIGHEST_MICROS));
    }

    /** Everything recorded in the window, all threads together. */
    Histogram snapshot() {
        long now = clock.monotonicTime() / sliceNanos;
        Histogram sum = new Histogram(HIGHEST_MICROS, DIGITS);
        for (Stripe stripe : stripes) {
            stripe.addTo(sum, now);
        }
        return sum;
    }

    /** The value at {@code percentile} (0–100) of a {@link #snapshot()}, in milliseconds; null when it is empty. */
    static Double millisAt(Histogram snapshot, double percentile) {
        return snapshot.getTotalCount() == 0 ? null : snapshot.getValueAtPercentile(percentile) / 1_000.0;
    }

    /** One thread's slices. */
    private static final class Stripe {
        private final Histogram[] slices = new Histogram[SLICES];
        private final long[] sliceOf = new long[SLICES];

        synchronized void record(long slice, long micros) {
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

        synchronized void addTo(Histogram sum, long now) {
            for (int i = 0; i < SLICES; i++) {
                if (slices[i] != null && sliceOf[i] <= now && sliceOf[i] > now - SLICES) {
                    sum.add(slices[i]);
                }
            }
        }
    }
}
