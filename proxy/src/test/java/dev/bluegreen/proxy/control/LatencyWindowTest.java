package dev.bluegreen.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/** Latencies kept per thread and per slice of the window, read together. */
class LatencyWindowTest {

    private static final long MS = 1_000_000;

    private final TickingClock clock = new TickingClock();
    private final LatencyWindow window = new LatencyWindow(Duration.ofSeconds(60), clock.mock);

    @Test
    void percentilesAreInMillisecondsToTwoDigits() {
        IntStream.rangeClosed(1, 100).forEach(i -> window.record(i * MS));

        Histogram snapshot = window.snapshot();

        assertThat(snapshot.getTotalCount()).isEqualTo(100);
        assertThat(LatencyWindow.millisAt(snapshot, 50)).isCloseTo(50.0, within(0.5));
        assertThat(LatencyWindow.millisAt(snapshot, 99)).isCloseTo(99.0, within(1.0));
    }

    @Test
    void whatEachThreadRecordedIsReadTogether() throws Exception {
        CompletableFuture<Void> other = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < 1_000; i++) {
                window.record(9 * MS);
            }
        });
        for (int i = 0; i < 1_000; i++) {
            window.record(MS);
        }
        other.get();

        Histogram snapshot = window.snapshot();

        assertThat(snapshot.getTotalCount()).isEqualTo(2_000);
        assertThat(LatencyWindow.millisAt(snapshot, 25)).isCloseTo(1.0, within(0.02));
        assertThat(LatencyWindow.millisAt(snapshot, 75)).isCloseTo(9.0, within(0.1));
    }

    @Test
    void valuesStayForAtLeastFiveSixthsOfTheWindowAndLeaveWithinIt() {
        window.record(3 * MS);

        clock.advance(Duration.ofSeconds(49)); // under five sixths of 60 s
        assertThat(window.snapshot().getTotalCount()).isOne();
        window.record(5 * MS);

        clock.advance(Duration.ofSeconds(12)); // the first is 61 s old
        Histogram snapshot = window.snapshot();
        assertThat(snapshot.getTotalCount()).isOne();
        assertThat(LatencyWindow.millisAt(snapshot, 50)).isCloseTo(5.0, within(0.05));

        clock.advance(Duration.ofSeconds(61));
        assertThat(LatencyWindow.millisAt(window.snapshot(), 50)).isNull();
    }

    @Test
    void aSliceReusedAfterItLeftTheWindowStartsEmpty() {
        window.record(100 * MS);
        clock.advance(Duration.ofSeconds(60)); // the same slot of the ring, six slices on

        window.record(2 * MS);

        Histogram snapshot = window.snapshot();
        assertThat(snapshot.getTotalCount()).isOne();
        assertThat(snapshot.getMaxValue()).isLessThan(3_000);
    }
}
