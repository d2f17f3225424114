package dev.bluegreen.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.config.Health;
import dev.bluegreen.config.HealthRule;
import dev.bluegreen.config.HealthRule.Action;
import dev.bluegreen.config.HealthRule.Comparison;
import dev.bluegreen.config.HealthRule.Metric;
import dev.bluegreen.proxy.control.HealthVerdict.Overall;
import dev.bluegreen.proxy.control.HealthVerdict.RuleVerdict.Status;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rules as a pure function: figures in, verdicts out. */
class HealthJudgeTest {

    private static final Instant NOW = Instant.parse("2025-06-01T10:00:00Z");
    private static final HealthFigures.Latency NONE = new HealthFigures.Latency(0, 0, null, null, null);

    private static HealthFigures figures(long greenServed, long greenErrors, long blueServed, long blueErrors, long retried,
                                         long blamed, long divergences) {
        Map<ClusterRole, HealthFigures.Cluster> clusters = new EnumMap<>(ClusterRole.class);
        clusters.put(ClusterRole.GREEN, cluster(greenServed, greenErrors, 0, reads(greenServed, greenErrors)));
        clusters.put(ClusterRole.BLUE, cluster(blueServed, blueErrors, 0, reads(blueServed, blueErrors)));
        // the blamed are reads blue answered
        return HealthFigures.of(clusters, greenServed + retried, blamed, blamed, divergences);
    }

    /** Reads a cluster answered, without latency figures. */
    private static HealthFigures.Latency reads(long count, long errors) {
        return new HealthFigures.Latency(count, errors, null, null, null);
    }

    private static HealthFigures.Cluster cluster(long served, long errors, long followed, HealthFigures.Latency read) {
        return new HealthFigures.Cluster(served + followed, (served + followed) / 60.0, errors,
                served == 0 ? null : (double) errors / served, served, followed, read, NONE);
    }

    @Test
    void greenFailingWhereBlueDidNotFiresTheRollbackRuleWithItsFigures() {
        HealthFigures f = figures(300, 0, 900, 0, 100, 100, 0);

        HealthVerdict verdict = HealthJudge.judge(Health.DEFAULT_RULES, f, NOW);

        assertThat(f.errorRate()).isEqualTo(0.25); // 100 blamed of 400 green ran
        assertThat(verdict.overall()).isEqualTo(Overall.ROLLBACK);
        assertThat(verdict.firing(Action.ROLLBACK)).get().extracting(r -> r.rule().name()).isEqualTo("error_rate > 0.10");
        assertThat(verdict.firing(Action.ROLLBACK).get().describe())
                .isEqualTo("error_rate > 0.10: error_rate 0.2500 > 0.1 (rollback, 400 samples)");
    }

    @Test
    void tooFewSamplesIsInconclusiveNotARollback() {
        HealthFigures f = figures(40, 0, 100, 0, 40, 40, 0); // half of green's units failed, but only 80 ran

        HealthVerdict verdict = HealthJudge.judge(Health.DEFAULT_RULES, f, NOW);

        assertThat(verdict.overall()).isEqualTo(Overall.INCONCLUSIVE);
        assertThat(verdict.firing()).isEmpty();
        assertThat(verdict.holdReason()).get().asString().startsWith("inconclusive: error_rate > 0.05 has 80 of 100");
        assertThat(verdict.rules()).extracting(HealthVerdict.RuleVerdict::describe)
                .contains("error_rate > 0.05: error_rate n/a, not judged against > 0.05 (pause, 80 samples)");
    }

    @Test
    void aHealthyRuleDoesNotReadAsOneThatFired() {
        HealthVerdict verdict = HealthJudge.judge(Health.DEFAULT_RULES, figures(300, 0, 900, 0, 100, 0, 0), NOW);

        assertThat(verdict.rules()).extracting(HealthVerdict.RuleVerdict::describe)
                .contains("error_rate > 0.10: error_rate 0.0000, not > 0.1 (rollback, 300 samples)");
    }

    @Test
    void oneDivergenceIsEnoughWithoutSamples() {
        HealthVerdict verdict = HealthJudge.judge(Health.DEFAULT_RULES, figures(0, 0, 0, 0, 0, 0, 1), NOW);

        assertThat(verdict.overall()).isEqualTo(Overall.ROLLBACK);
        assertThat(verdict.firing(Action.ROLLBACK).get().rule().metric()).isEqualTo(Metric.DIVERGENCES);
    }

    @Test
    void greensOwnErrorsCountOnlyBeyondBluesErrorRate() {
        // blue fails 10 % of what it answers; green 10 % too: nothing beyond blue's rate
        HealthFigures same = figures(200, 20, 1000, 100, 0, 0, 0);
        // green fails 30 %: 40 of its 200 errors are beyond blue's 10 %
        HealthFigures worse = figures(200, 60, 1000, 100, 0, 0, 0);

        assertThat(same.errorRate()).isZero();
        assertThat(worse.errorRate()).isCloseTo(0.2, org.assertj.core.api.Assertions.within(1e-9));
    }

    @Test
    void withoutBluesAnswersToCompareGreensOwnErrorsAreTheApplications() {
        // after cutover at weight 100 blue answers nothing: green's unique-key violations are not green's fault
        HealthFigures f = figures(1000, 150, 0, 0, 0, 0, 0);

        assertThat(f.errorRate()).isZero();
    }

    @Test
    void latencyRatiosAreJudgedOnKindsBothClustersAnsweredOftenEnough() {
        HealthRule p95 = new HealthRule("slow", Metric.LATENCY_P95_RATIO, Comparison.GREATER, 2, Action.PAUSE, 100);
        Map<ClusterRole, HealthFigures.Cluster> clusters = new EnumMap<>(ClusterRole.class);
        clusters.put(ClusterRole.BLUE, cluster(500, 0, 0, new HealthFigures.Latency(500, 0, 1.0, 2.0, 3.0)));
        clusters.put(ClusterRole.GREEN, cluster(150, 0, 0, new HealthFigures.Latency(150, 0, 2.0, 5.0, 9.0)));
        HealthFigures enough = HealthFigures.of(clusters, 0, 0, 0, 0);
        clusters.put(ClusterRole.GREEN, cluster(50, 0, 0, new HealthFigures.Latency(50, 0, 2.0, 5.0, 9.0)));
        HealthFigures tooFew = HealthFigures.of(clusters, 0, 0, 0, 0);

        HealthVerdict.RuleVerdict judged = HealthJudge.judge(List.of(p95), enough, NOW).rules().get(0);
        HealthVerdict.RuleVerdict unsure = HealthJudge.judge(List.of(p95), tooFew, NOW).rules().get(0);

        assertThat(judged.value()).isEqualTo(2.5);
        assertThat(judged.status()).isEqualTo(Status.FIRING);
        assertThat(unsure.status()).isEqualTo(Status.INCONCLUSIVE);
        assertThat(unsure.value()).isEqualTo(2.5); // shown, not acted on
    }

    @Test
    void theOverallVerdictIsTheStrongestFiringAction() {
        HealthRule warn = new HealthRule("w", Metric.ERROR_RATE, Comparison.GREATER, 0.01, Action.WARN, 0);
        HealthRule pause = new HealthRule("p", Metric.ERROR_RATE, Comparison.GREATER, 0.02, Action.PAUSE, 0);
        HealthRule rollback = new HealthRule("r", Metric.ERROR_RATE, Comparison.GREATER, 0.5, Action.ROLLBACK, 0);
        HealthFigures f = figures(100, 0, 100, 0, 0, 5, 0);

        HealthVerdict verdict = HealthJudge.judge(List.of(warn, pause, rollback), f, NOW);

        assertThat(verdict.overall()).isEqualTo(Overall.PAUSE);
        assertThat(verdict.rules()).extracting(HealthVerdict.RuleVerdict::status)
                .containsExactly(Status.FIRING, Status.FIRING, Status.HEALTHY);
    }

    @Test
    void everyRuleHealthyIsHealthyAndNoRulesAtAllToo() {
        Map<ClusterRole, HealthFigures.Cluster> clusters = new EnumMap<>(ClusterRole.class);
        clusters.put(ClusterRole.BLUE, cluster(1000, 0, 0, new HealthFigures.Latency(1000, 0, 1.0, 2.0, 3.0)));
        clusters.put(ClusterRole.GREEN, cluster(1000, 0, 0, new HealthFigures.Latency(1000, 0, 1.0, 2.2, 3.5)));
        HealthFigures f = HealthFigures.of(clusters, 0, 0, 0, 0);

        assertThat(HealthJudge.judge(Health.DEFAULT_RULES, f, NOW).overall()).isEqualTo(Overall.HEALTHY);
        assertThat(HealthJudge.judge(List.of(), f, NOW).overall()).isEqualTo(Overall.HEALTHY);
    }

    @Test
    void withoutLatencySamplesOnBothClustersTheLatencyRuleHoldsAsInconclusive() {
        HealthFigures f = figures(1000, 0, 1000, 0, 0, 0, 0);

        HealthVerdict verdict = HealthJudge.judge(Health.DEFAULT_RULES, f, NOW);

        assertThat(verdict.overall()).isEqualTo(Overall.INCONCLUSIVE);
        assertThat(verdict.inconclusive()).extracting(r -> r.rule().name()).containsExactly("latency_p95_ratio > 2");
    }
}
