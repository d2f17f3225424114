package dev.bluegreen.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.bluegreen.config.Health;
import dev.bluegreen.proxy.dualwrite.Divergence;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Outcomes the engine reports, counted over the window and forgotten after it. */
class HealthWindowsTest {

    private static final long MS = 1_000_000;

    private final TickingClock clock = new TickingClock();
    private final HealthWindows windows = new HealthWindows(Duration.ofSeconds(10), clock.mock);

    @Test
    void readsGreenFailedAndBlueAnsweredAreBlamedOnGreen() {
        for (int i = 0; i < 30; i++) {
            windows.unitServed(ClusterRole.GREEN, true, 2 * MS, null);
        }
        for (int i = 0; i < 10; i++) {
            windows.readRetried();
            windows.greenError();
            windows.unitServed(ClusterRole.BLUE, true, 3 * MS, null);
        }

        HealthFigures f = windows.figures();

        assertThat(f.greenRan()).isEqualTo(40);
        assertThat(f.greenBlamed()).isEqualTo(10);
        assertThat(f.errorRate()).isEqualTo(0.25);
        assertThat(f.green().served()).isEqualTo(30);
        assertThat(f.blue().units()).isEqualTo(10);
    }

    /**
     * Reads blue runs again for green are no sample of blue's own: those the application gets wrong fail on blue
     * too, and counted as blue's reads they raised blue's error rate until green's own read errors (here in
     * read-only transactions, which are not run again) no longer exceeded it.
     */
    @Test
    void readsBlueRanAgainForGreenDoNotMaskGreensOwnReadErrors() {
        for (int i = 0; i < 100; i++) {
            windows.unitServed(ClusterRole.BLUE, true, MS, null);
        }
        for (int i = 0; i < 300; i++) {
            windows.unitServed(ClusterRole.GREEN, true, MS, i < 30 ? "42501" : null);
        }
        for (int i = 0; i < 20; i++) {
            windows.readRetried();
            windows.readFailedOnBoth(MS, "22012"); // failed on blue too: green's sample, as blue's own would be
            windows.retryServed(ClusterRole.BLUE, MS, "22012"); // not green's fault
        }

        HealthFigures f = windows.figures();

        assertThat(f.greenRan()).isEqualTo(320);
        assertThat(f.greenBlamed()).isZero();
        // green's reads: 320, 50 failed; blue's own: 100, none failed
        assertThat(f.errorRate()).isCloseTo(50.0 / 320, within(1e-9));
    }

    /** Too few units of every kind on green's side is no evidence: the error rate rule is inconclusive, not healthy. */
    @Test
    void tooFewOfEveryKindIsInconclusiveNotARateOfZero() {
        for (int i = 0; i < 60; i++) {
            windows.unitServed(ClusterRole.BLUE, false, MS, null);
            windows.followerRan(ClusterRole.GREEN, MS);
        }
        for (int i = 0; i < 40; i++) { // green failed every read it served; blue answered them
            windows.readRetried();
            windows.greenError();
            windows.retryServed(ClusterRole.BLUE, MS, null);
        }

        HealthFigures f = windows.figures();

        assertThat(f.greenRan()).isEqualTo(100);
        assertThat(f.errorRate(100)).isNull();
        assertThat(f.errorRateSamples(100)).as("the most any kind had: green's 60 followed writes").isEqualTo(60);
        assertThat(HealthJudge.judge(Health.DEFAULT_RULES, f, Instant.EPOCH).rules())
                .filteredOn(r -> r.rule().metric() == dev.bluegreen.config.HealthRule.Metric.ERROR_RATE)
                .allSatisfy(r -> assertThat(r.status()).isEqualTo(HealthVerdict.RuleVerdict.Status.INCONCLUSIVE));
    }

    /**
     * Reads inside a read-write transaction run on the leader whatever the weight: no sample of the reads the
     * weight sends to either cluster, so they do not set blue's read error rate that green's is compared with.
     */
    @Test
    void readsInAWriteTransactionAreNoSampleOfBluesReads() {
        for (int i = 0; i < 200; i++) {
            windows.readInAWriteTransaction(ClusterRole.BLUE, MS, null);
        }
        for (int i = 0; i < 100; i++) {
            windows.unitServed(ClusterRole.BLUE, true, MS, i < 10 ? "57014" : null);
        }

        HealthFigures f = windows.figures();

        assertThat(f.blue().read().count()).isEqualTo(100);
        assertThat(f.blue().read().errors()).isEqualTo(10);
        assertThat(f.blue().units()).as("still units blue ran").isEqualTo(300);
    }

    /**
     * At weight 100 (and after cutover) blue serves no reads to compare green's with, but a read green failed
     * that blue then answered is green's failure for certain: such failures still count.
     */
    @Test
    void atWeightHundredTheReadsGreenFailedThatBlueAnsweredStillCount() {
        for (int i = 0; i < 5_000; i++) {
            windows.unitServed(ClusterRole.BLUE, false, MS, null);
            windows.followerRan(ClusterRole.GREEN, MS);
        }
        for (int i = 0; i < 700; i++) {
            windows.unitServed(ClusterRole.GREEN, true, MS, null);
        }
        for (int i = 0; i < 300; i++) {
            windows.readRetried();
            windows.greenError();
            windows.retryServed(ClusterRole.BLUE, MS, null);
        }

        HealthFigures f = windows.figures();

        assertThat(f.errorRate(100)).isCloseTo(0.3, within(1e-9));
        assertThat(HealthJudge.judge(Health.DEFAULT_RULES, f, Instant.EPOCH).overall())
                .isEqualTo(HealthVerdict.Overall.ROLLBACK);
    }

    /**
     * The writes green follows do not water down the reads it fails for the clients it serves: each kind of
     * unit is a rate of its own. Counted together, 300 failed reads among 60,600 units read as 0.5 %, under
     * every rule, while half of green's clients' reads failed.
     */
    @Test
    void theWritesGreenFollowsDoNotWaterDownTheReadsItFails() {
        for (int i = 0; i < 60_000; i++) {
            windows.unitServed(ClusterRole.BLUE, false, MS, null);
            windows.followerRan(ClusterRole.GREEN, MS);
        }
        for (int i = 0; i < 5_400; i++) {
            windows.unitServed(ClusterRole.BLUE, true, MS, null);
        }
        for (int i = 0; i < 600; i++) {
            windows.unitServed(ClusterRole.GREEN, true, MS, i % 2 == 0 ? "XX000" : null); // in read-only transactions
        }

        HealthFigures f = windows.figures();

        assertThat(f.errorRate()).isCloseTo(0.5, within(1e-9));
        assertThat(HealthJudge.judge(Health.DEFAULT_RULES, f, Instant.EPOCH).overall())
                .isEqualTo(HealthVerdict.Overall.ROLLBACK);
    }

    @Test
    void writesGreenRanAsFollowerCountAsItsUnitsAndItsDivergencesAsItsFailures() {
        for (int i = 0; i < 20; i++) {
            windows.unitServed(ClusterRole.BLUE, false, 4 * MS, null);
            windows.followerRan(ClusterRole.GREEN, 6 * MS);
        }
        windows.diverged(new Divergence(Instant.now(), "s1", "blue", "update t set v = $1", "UPDATE 1", "UPDATE 0", "rows"));

        HealthFigures f = windows.figures();

        assertThat(f.green().followed()).isEqualTo(20);
        assertThat(f.greenRan()).isEqualTo(20);
        assertThat(f.greenBlamed()).isEqualTo(1);
        assertThat(f.divergences()).isEqualTo(1);
        assertThat(f.green().write().count()).isEqualTo(20);
        assertThat(f.green().write().p95Ms()).isCloseTo(6.0, within(0.2));
        assertThat(f.blue().write().p95Ms()).isCloseTo(4.0, within(0.2));
        assertThat(HealthJudge.latencyRatio(f, false)).isCloseTo(1.5, within(0.1));
    }

    @Test
    void aDivergenceWhileGreenLeadsIsNotGreensFault() {
        windows.diverged(new Divergence(Instant.now(), "s1", "green", "delete from t", "DELETE 1", "DELETE 0", "rows"));

        assertThat(windows.figures().greenBlamed()).isZero();
        assertThat(windows.figures().divergences()).isEqualTo(1);
    }

    @Test
    void outcomesOlderThanTheWindowAreForgotten() {
        windows.unitServed(ClusterRole.GREEN, true, MS, "42P01");
        windows.greenError();
        assertThat(windows.figures().green().errors()).isEqualTo(1);

        clock.advance(Duration.ofSeconds(12));

        HealthFigures f = windows.figures();
        assertThat(f.green().errors()).isZero();
        assertThat(f.greenBlamed()).isZero();
        assertThat(f.errorRate()).isNull();
    }

    /**
     * Counts are kept by seconds, latencies by sixths of the window: the error rate is of counts alone. Green
     * following every write and failing none has no excess errors, whatever share of them blue failed, even
     * just after a latency slice has left the window.
     */
    @Test
    void greenFollowingWritesBlueFailedHasNoErrorRateAsLatencySlicesLeave() {
        HealthWindows minute = new HealthWindows(Duration.ofSeconds(60), clock.mock);
        for (int second = 0; second < 70; second++) {
            for (int i = 0; i < 100; i++) {
                minute.unitServed(ClusterRole.BLUE, false, 2 * MS, i < 40 ? "23505" : null);
                minute.followerRan(ClusterRole.GREEN, 3 * MS);
            }
            clock.advance(Duration.ofSeconds(1));
        }
        clock.advance(Duration.ofMillis(100)); // just past a slice boundary (70 s)

        HealthFigures f = minute.figures();

        assertThat(f.green().followed()).isEqualTo(f.blue().served());
        assertThat(f.green().write().count()).isEqualTo(f.green().followed());
        assertThat(f.errorRate()).isZero();
    }

    @Test
    void theShortestWindowTheConfigurationAcceptsKeepsCountingAsItSlides() {
        HealthWindows shortest = new HealthWindows(Health.MIN_WINDOW, clock.mock);
        long[] seen = new long[5];

        for (int second = 0; second < seen.length; second++) {
            shortest.unitServed(ClusterRole.GREEN, true, MS, null);
            seen[second] = shortest.figures().green().units();
            clock.advance(Duration.ofSeconds(1));
        }

        // each second's unit, plus the one before it still in the window
        assertThat(seen).containsExactly(1, 2, 2, 2, 2);
    }

    @Test
    void aWindowTooShortToSlideIsRefused() {
        assertThatThrownBy(() -> new HealthWindows(Duration.ofSeconds(1), clock.mock))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 2 s");
    }

    @Test
    void resetForgetsEverything() {
        windows.unitServed(ClusterRole.BLUE, true, MS, null);

        windows.reset();

        assertThat(windows.figures().blue().units()).isZero();
        assertThat(windows.figures().blue().read().p50Ms()).isNull();
    }
}
