package dev.bluegreen.config;

import dev.bluegreen.config.HealthRule.Action;
import dev.bluegreen.config.HealthRule.Comparison;
import dev.bluegreen.config.HealthRule.Metric;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * How green's health is judged (DESIGN §6): the sliding window its outcomes are counted over and the
 * rules that judge them. A rule list in the file replaces the defaults whole.
 *
 * @param window how far back the figures reach; whole seconds, 2 s to 1 h
 * @param rules judged every second, in this order; names are unique
 */
public record Health(Duration window, List<HealthRule> rules) {

    public static final Duration DEFAULT_WINDOW = Duration.ofSeconds(60);
    /**
     * Outcomes are counted in one-second buckets, and a window has to hold the second in progress and at
     * least one before it to slide: a one-bucket window would empty itself at every second boundary (and
     * Resilience4j's lock-free window fails with a single bucket).
     */
    public static final Duration MIN_WINDOW = Duration.ofSeconds(2);
    public static final Duration MAX_WINDOW = Duration.ofHours(1);
    /** Units green ran (error rate) or units of one kind on each cluster (latency) before a verdict. */
    public static final int DEFAULT_MIN_SAMPLES = 100;

    /** DESIGN §6's example, as the defaults: a divergence needs no sample count to be proof. */
    public static final List<HealthRule> DEFAULT_RULES = List.of(
            new HealthRule("error_rate > 0.05", Metric.ERROR_RATE, Comparison.GREATER, 0.05, Action.PAUSE,
                    DEFAULT_MIN_SAMPLES),
            new HealthRule("latency_p95_ratio > 2", Metric.LATENCY_P95_RATIO, Comparison.GREATER, 2, Action.WARN,
                    DEFAULT_MIN_SAMPLES),
            new HealthRule("error_rate > 0.10", Metric.ERROR_RATE, Comparison.GREATER, 0.10, Action.ROLLBACK,
                    DEFAULT_MIN_SAMPLES),
            new HealthRule("divergences > 0", Metric.DIVERGENCES, Comparison.GREATER, 0, Action.ROLLBACK, 0));

    public Health {
        Objects.requireNonNull(window, "window");
        if (window.compareTo(MIN_WINDOW) < 0 || window.compareTo(MAX_WINDOW) > 0
                || window.toMillis() % 1000 != 0) {
            throw new IllegalArgumentException("the health window is whole seconds from 2s to 1h, was " + window);
        }
        rules = List.copyOf(rules);
        Set<String> names = new HashSet<>();
        for (HealthRule rule : rules) {
            if (!names.add(rule.name())) {
                throw new IllegalArgumentException("two health rules are named " + rule.name());
            }
        }
    }

    /** A 60 s window and {@link #DEFAULT_RULES}. */
    public static Health defaults() {
        return new Health(DEFAULT_WINDOW, DEFAULT_RULES);
    }
}
