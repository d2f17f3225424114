package dev.bluegreen.proxy.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.dualwrite.Divergence;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Every meter reads its figure at scrape time, under the name Prometheus users will query. */
class ProxyMetricsTest {

    private final RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(1));
    private final MigrationStats stats = new MigrationStats();
    private final AtomicInteger sessions = new AtomicInteger();
    private final ProxyMetrics metrics = ProxyMetrics.prometheus(control, stats, sessions::get,
            cluster -> cluster.equals("green") ? 2 : 5);

    @Test
    void theRoutingStateIsReadAtScrapeTime() throws Exception {
        control.start("test", null);
        control.setWeight("test", 40, null);

        String scrape = metrics.scrape();

        assertThat(scrape).contains("bluegreen_epoch 3.0", "bluegreen_weight 40.0",
                "bluegreen_leader{cluster=\"blue\"} 1.0", "bluegreen_leader{cluster=\"green\"} 0.0",
                "bluegreen_phase{phase=\"dual\"} 1.0", "bluegreen_phase{phase=\"blue\"} 0.0",
                "bluegreen_follower_in_sync 1.0", "bluegreen_frozen 0.0", "bluegreen_write_barrier_holders 0.0");
    }

    @Test
    void migrationCountersAreCountersBySource() {
        stats.unitServed(ClusterRole.BLUE, true, 1_000_000, null);
        stats.unitServed(ClusterRole.GREEN, true, 1_000_000, null);
        stats.unitServed(ClusterRole.GREEN, true, 1_000_000, null);
        stats.greenError();
        stats.readRetried();
        stats.mirrorDropped();
        stats.unordered();
        stats.cancelTooLate();
        stats.writeHeldForCommits();
        stats.writeHeldForCommits();
        stats.sessionPinned();
        stats.nonDeterministic("select now()");
        stats.nonDeterministic("select random()");
        stats.diverged(new Divergence(Instant.now(), "s", "BLUE", "update t set v = $1", "UPDATE 1", "UPDATE 0", "tag"));
        sessions.set(7);

        String scrape = metrics.scrape();

        assertThat(scrape).contains("bluegreen_units_served_total{cluster=\"blue\"} 1.0",
                "bluegreen_units_served_total{cluster=\"green\"} 2.0", "bluegreen_green_errors_total 1.0",
                "bluegreen_read_retries_total 1.0", "bluegreen_mirror_drops_total 1.0",
                
                "bluegreen_unordered_statements_total 1.0", "bluegreen_cancels_too_late_total 1.0", "bluegreen_writes_held_for_commits_total 2.0", "bluegreen_pinned_sessions_total 1.0",
                "bluegreen_nondeterministic_statements_total 2.0", "bluegreen_divergences_total 1.0",
                "bluegreen_client_sessions 7.0",
                "bluegreen_backend_connections{cluster=\"blue\"} 5.0", "bluegreen_backend_connections{cluster=\"green\"} 2.0");
    }

    @Test
    void unitLatencyIsAHistogramByClusterAndKindAndErrorsCountBySqlStateClass() {
        stats.unitServed(ClusterRole.GREEN, true, 2_000_000, null);
        stats.unitServed(ClusterRole.GREEN, false, 5_000_000, "23505");
        stats.unitServed(ClusterRole.BLUE, false, 1_000_000, "40P01");

        String scrape = metrics.scrape();

        assertThat(scrape).contains(
                "bluegreen_unit_latency_seconds_count{cluster=\"green\",kind=\"read\"} 1",
                "bluegreen_unit_latency_seconds_count{cluster=\"green\",kind=\"write\"} 1",
                "bluegreen_unit_latency_seconds_bucket{cluster=\"green\",kind=\"read\",le=\"+Inf\"} 1",
                "bluegreen_unit_errors_total{cluster=\"green\",sqlstate_class=\"23\"} 1.0",
                "bluegreen_unit_errors_total{cluster=\"blue\",sqlstate_class=\"40\"} 1.0");
        assertThat(scrape).doesNotContain("sqlstate_class=\"0");
    }

    /** Units take from tens of microseconds: a quarter and three quarters of a millisecond land in different buckets. */
    @Test
    void unitLatencyBucketsResolveBelowAMillisecond() {
        for (int i = 0; i < 10; i++) {
            stats.unitServed(ClusterRole.BLUE, true, 250_000, null);
        }

        String scrape = metrics.scrape();

        // the smallest bucket that holds all ten: at or under half a millisecond
        double smallestHoldingAll = scrape.lines()
                .filter(l -> l.startsWith("bluegreen_unit_latency_seconds_bucket{cluster=\"blue\",kind=\"read\",le="))
                .filter(l -> (l.endsWith("} 10") || l.endsWith("} 10.0")) && !l.contains("+Inf"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.indexOf("le=\"") + 4, l.indexOf("\"}"))))
                .min().orElseThrow();
        assertThat(smallestHoldingAll).isLessThanOrEqualTo(0.0005);
    }

    @Test
    void rollbacksCountByTrigger() throws Exception {
        control.start("test", null);
        control.setWeight("test", 10, null);
        control.rollback("operator", "by hand", false);
        control.setWeight("test", 10, null);
        control.rollback("rule:error_rate", "error_rate 0.2 > 0.1", false);
        control.rollback("operator", "nothing left to roll back", false);

        assertThat(metrics.scrape()).contains("bluegreen_rollbacks_total{trigger=\"operator\"} 1.0",
                "bluegreen_rollbacks_total{trigger=\"rule\"} 1.0", "bluegreen_rollbacks_total{trigger=\"recovery\"} 0.0");
    }

    @Test
    void everyMeterIsNamedHereAndPrefixed() {
        assertThat(metrics.registry().getMeters()).allSatisfy(meter ->
                assertThat(meter.getId().getName()).startsWith("bluegreen."));
        assertThat(metrics.registry().get(ProxyMetrics.WEIGHT).gauge().value()).isZero();
    }
}
