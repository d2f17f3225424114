package dev.bluegreen.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Outcomes kept per thread, counted per second and timed per slice of the window, read together. */
class OutcomeWindowTest {

    private static final long MS = 1_000_000;

    private final TickingClock clock = new TickingClock();
    private final OutcomeWindow window = new OutcomeWindow(Duration.ofSeconds(60), clock.mock);

    @Test
    void percentilesAreInMillisecondsToTwoDigits() {
        IntStream.rangeClosed(1, 100).forEach(i -> window.record(i * MS, i % 10 == 0));

        OutcomeWindow.Snapshot snapshot = window.snapshot();

        assertThat(snapshot.count()).isEqualTo(100);
        assertThat(snapshot.failures()).isEqualTo(10);
        assertThat(snapshot.millisAt(50)).isCloseTo(50.0, within(0.5));
        assertThat(snapshot.millisAt(99)).isCloseTo(99.0, within(1.0));
    }

    @Test
    void whatEachThreadRecordedIsReadTogether() throws Exception {
        CompletableFuture<Void> other = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < 1_000; i++) {
                window.record(9 * MS, true);
            }
        });
        for (int i = 0; i < 1_000; i++) {
            window.record(MS, false);
        }
        other.get();

        OutcomeWindow.Snapshot snapshot = window.snapshot();

        assertThat(snapshot.count()).isEqualTo(2_000);
        assertThat(snapshot.failures()).isEqualTo(1_000);
        assertThat(snapshot.millisAt(25)).isCloseTo(1.0, within(0.02));
        assertThat(snapshot.millisAt(75)).isCloseTo(9.0, within(0.1));
    }

    @Test
    void countsCoverExactlyTheLastWindowOfSecondsAndLatenciesAtLeastFiveSixthsOfIt() {
        window.record(3 * MS, true);

        clock.advance(Duration.ofSeconds(49));
        window.record(5 * MS, false);
        assertThat(window.snapshot().count()).isEqualTo(2);
        assertThat(window.snapshot().latencies().getTotalCount()).isEqualTo(2);

        clock.advance(Duration.ofSeconds(10)); // the first is 59 s old: counted still
        assertThat(window.snapshot().count()).isEqualTo(2);
        assertThat(window.snapshot().failures()).isOne();
        assertThat(window.snapshot().latencies().getTotalCount()).as("in the oldest slice still in the window")
                .isEqualTo(2);

        clock.advance(Duration.ofSeconds(1)); // 60 s
        OutcomeWindow.Snapshot snapshot = window.snapshot();
        assertThat(snapshot.count()).isOne();
        assertThat(snapshot.failures()).isZero();
        assertThat(snapshot.millisAt(50)).isCloseTo(5.0, within(0.05));

        clock.advance(Duration.ofSeconds(61));
        assertThat(window.snapshot().count()).isZero();
        assertThat(window.snapshot().millisAt(50)).isNull();
    }

    @Test
    void aSecondOrSliceReusedAfterItLeftTheWindowStartsEmpty() {
        window.record(100 * MS, true);
        clock.advance(Duration.ofSeconds(60)); // the same slot of both rings

        window.record(2 * MS, false);

        OutcomeWindow.Snapshot snapshot = window.snapshot();
        assertThat(snapshot.count()).isOne();
        assertThat(snapshot.failures()).isZero();
        assertThat(snapshot.latencies().getMaxValue()).isLessThan(3_000);
    }

    @Test
    void writesAndFollowerWritesReadAsOne() {
        OutcomeWindow followed = new OutcomeWindow(Duration.ofSeconds(60), clock.mock);
        window.record(2 * MS, true);
        followed.record(8 * MS, false);

        OutcomeWindow.Snapshot writes = window.snapshot();
        OutcomeWindow.Snapshot both = writes.plus(followed.snapshot());

        assertThat(both.count()).isEqualTo(2);
        assertThat(both.failures()).isOne();
        assertThat(both.millisAt(100)).isCloseTo(8.0, within(0.1));
        assertThat(writes.latencies().getTotalCount()).as("left as it was").isOne();
        assertThat(writes.millisAt(100)).isCloseTo(2.0, within(0.05));
    }

    @Test
    void aLatencyUnderAMicrosecondIsOneNotZero() {
        window.record(400, false);

        assertThat(window.snapshot().millisAt(50)).isEqualTo(0.001);
    }

    @Test
    void theShortestWindowKeepsLatenciesForAtLeastFiveSixthsOfIt() {
        OutcomeWindow shortest = new OutcomeWindow(Duration.ofSeconds(2), clock.mock);
        clock.advance(Duration.ofMillis(250)); // mid-slice (slices of 333 ms)
        shortest.record(7 * MS, false);

        clock.advance(Duration.ofMillis(1_600));
        assertThat(shortest.snapshot().latencies().getTotalCount()).isOne();

        clock.advance(Duration.ofMillis(400));
        assertThat(shortest.snapshot().latencies().getTotalCount()).isZero();
    }

    private WeakReference<OutcomeWindow> recordedInByTwoThreads() throws Exception {
        OutcomeWindow dropped = new OutcomeWindow(Duration.ofSeconds(60), clock.mock);
        CompletableFuture.runAsync(() -> dropped.record(MS, false)).get();
        dropped.record(MS, false);
        return new WeakReference<>(dropped);
    }

    /** A window dropped (HealthWindows.reset on every start) is not kept alive by the threads that recorded in it. */
    @Test
    void aDroppedWindowIsCollected() throws Exception {
        WeakReference<OutcomeWindow> ref = recordedInByTwoThreads();

        await().atMost(Duration.ofSeconds(20)).until(() -> {
            System.gc();
            return ref.get() == null;
        });
    }
}
