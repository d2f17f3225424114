package dev.bluegreen.proxy.control;

import dev.bluegreen.config.HealthRule;
import dev.bluegreen.proxy.control.HealthVerdict.RuleVerdict;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The health rules as a pure function of the figures (DESIGN §6): no clock, no socket, no side effect.
 * A rule with fewer samples than its minimum, or nothing to compute its figure from, is inconclusive:
 * that holds a plan but never acts.
 */
public final class HealthJudge {

    private HealthJudge() {}

    public static HealthVerdict judge(List<HealthRule> rules, HealthFigures figures, Instant at) {
        List<RuleVerdict> verdicts = new ArrayList<>(rules.size());
        for (HealthRule rule : rules) {
            verdicts.add(judge(rule, figures));
        }
        return new HealthVerdict(overall(verdicts), verdicts, figures, at);
    }

    static RuleVerdict judge(HealthRule rule, HealthFigures f) {
        Double value;
        long samples;
        switch (rule.metric()) {
            case ERROR_RATE -> {
                // judged on the parts with enough samples each (see HealthFigures.errorRate)
                value = f.errorRate(rule.minSamples());
                samples = f.errorRateSamples(rule.minSamples());
            }
            case DIVERGENCES -> {
                value = (double) f.divergences();
                samples = f.greenRan();
            }
            case LATENCY_P95_RATIO, LATENCY_P99_RATIO -> {
                boolean p99 = rule.metric() == HealthRule.Metric.LATENCY_P99_RATIO;
                Ratio reads = ratio(f, true, p99);
                Ratio writes = ratio(f, false, p99);
                // judged on the kinds of unit both clusters answered often enough; the worse one counts
                long enough = Math.max(1, rule.minSamples());
                Double judged = worse(reads.samples >= enough ? reads.value : null,
                        writes.samples >= enough ? writes.value : null);
                value = judged != null ? judged : worse(reads.value, writes.value);
                samples = judged != null ? Math.max(reads.samples >= enough ? reads.samples : 0,
                        writes.samples >= enough ? writes.samples : 0) : Math.max(reads.samples, writes.samples);
            }
            default -> throw new IllegalStateException("unknown metric " + rule.metric());
        }
        RuleVerdict.Status status;
        if (value == null || samples < rule.minSamples() || unjudgedLatency(rule, f)) {
            status = RuleVerdict.Status.INCONCLUSIVE;
        } else {
            status = rule.op().holds(value, rule.threshold()) ? RuleVerdict.Status.FIRING : RuleVerdict.Status.HEALTHY;
        }
        return new RuleVerdict(rule, value, samples, status);
    }

    /** A latency rule with no kind of unit both clusters answered often enough: shown, never judged. */
    private static boolean unjudgedLatency(HealthRule rule, HealthFigures f) {
        if (rule.metric() != HealthRule.Metric.LATENCY_P95_RATIO && rule.metric() != HealthRule.Metric.LATENCY_P99_RATIO) {
            return false;
        }
        boolean p99 = rule.metric() == HealthRule.Metric.LATENCY_P99_RATIO;
        long enough = Math.max(1, rule.minSamples());
        Ratio reads = ratio(f, true, p99);
        Ratio writes = ratio(f, false, p99);
        return !(reads.value != null && reads.samples >= enough) && !(writes.value != null && writes.samples >= enough);
    }

    /** Green's p95 (or p99) over blue's, the worse of reads and writes where both clusters have samples; null without. */
    public static Double latencyRatio(HealthFigures f, boolean p99) {
        return worse(ratio(f, true, p99).value, ratio(f, false, p99).value);
    }

    /** Green's percentile over blue's for one kind of unit, and the smaller of their sample counts. */
    private record Ratio(Double value, long samples) {}

    private static Ratio ratio(HealthFigures f, boolean reads, boolean p99) {
        HealthFigures.Latency blue = f.blue().latency(reads);
        HealthFigures.Latency green = f.green().latency(reads);
        long samples = Math.min(blue.count(), green.count());
        Double b = p99 ? blue.p99Ms() : blue.p95Ms();
        Double g = p99 ? green.p99Ms() : green.p95Ms();
        if (samples == 0 || b == null || g == null || b <= 0) {
            return new Ratio(null, samples);
        }
        return new Ratio(g / b, samples);
    }

    private static Double worse(Double a, Double b) {
        if (a == null) {
            return b;
        }
        return b == null ? a : Math.max(a, b);
    }

    private static HealthVerdict.Overall overall(List<RuleVerdict> verdicts) {
        HealthVerdict.Overall overall = HealthVerdict.Overall.HEALTHY;
        for (RuleVerdict v : verdicts) {
            HealthVerdict.Overall mine = switch (v.status()) {
                case HEALTHY -> HealthVerdict.Overall.HEALTHY;
                case INCONCLUSIVE -> HealthVerdict.Overall.INCONCLUSIVE;
                case FIRING -> switch (v.rule().action()) {
                    case WARN -> HealthVerdict.Overall.WARN;
                    case PAUSE -> HealthVerdict.Overall.PAUSE;
                    case ROLLBACK -> HealthVerdict.Overall.ROLLBACK;
                };
            };
            if (mine.compareTo(overall) > 0) {
                overall = mine;
            }
        }
        return overall;
    }

    /** A threshold as written: {@code 0.05}, {@code 2}, not {@code 2.0} or {@code 5.0E-2}. */
    static String plain(double number) {
        return BigDecimal.valueOf(number).stripTrailingZeros().toPlainString();
    }
}
