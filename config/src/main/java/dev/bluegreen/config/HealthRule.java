package dev.bluegreen.config;

import java.util.Locale;
import java.util.Objects;

/**
 * One health rule (DESIGN §6): when {@code metric op threshold} holds over the health window, do
 * {@code action}; with fewer than {@code minSamples} samples in the window the rule is inconclusive,
 * which holds a rollout plan but never acts.
 *
 * @param name how history, logs and the admin API name the rule ({@code rule:NAME}); defaults to
 *     {@code metric op threshold} as written
 * @param minSamples below this many samples in the window the rule has no verdict; 0 means never
 */
public record HealthRule(String name, Metric metric, Comparison op, double threshold, Action action, int minSamples) {

    /** What a rule measures over the window. */
    public enum Metric {
        /**
         * The share of units green ran in which it failed where blue, given the same work, did not:
         * retried reads blue answered, writes green diverged on while following blue, and the excess of
         * green's error rate over blue's for units only green ran. 0 to 1.
         */
        ERROR_RATE,
        /** Green's 95th percentile unit latency over blue's, for the same kind of unit (read or write). */
        LATENCY_P95_RATIO,
        /** Green's 99th percentile unit latency over blue's, for the same kind of unit. */
        LATENCY_P99_RATIO,
        /** Divergences recorded in the window, either way round. */
        DIVERGENCES;

        /** The spelling used in YAML: {@code error_rate}, {@code latency_p95_ratio}, … */
        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** How a metric is compared with the threshold. */
    public enum Comparison {
        GREATER(">"),
        GREATER_OR_EQUAL(">="),
        LESS("<"),
        LESS_OR_EQUAL("<=");

        private final String symbol;

        Comparison(String symbol) {
            this.symbol = symbol;
        }

        /** The spelling used in YAML and in messages: {@code >}, {@code >=}, {@code <}, {@code <=}. */
        public String symbol() {
            return symbol;
        }

        public boolean holds(double value, double threshold) {
            return switch (this) {
                case GREATER -> value > threshold;
                case GREATER_OR_EQUAL -> value >= threshold;
                case LESS -> value < threshold;
                case LESS_OR_EQUAL -> value <= threshold;
            };
        }
    }

    /** What the proxy does while a rule fires. */
    public enum Action {
        /** Logs it and shows it in the verdict; a firing rule of any action also holds a plan. */
        WARN,
        /** Pauses the running rollout plan until an operator resumes it. */
        PAUSE,
        /** Rolls back: every read to blue, the plan ends as rolled back. */
        ROLLBACK;

        /** The spelling used in YAML: {@code warn}, {@code pause}, {@code rollback}. */
        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public HealthRule {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(metric, "metric");
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(action, "action");
        if (name.isBlank()) {
            throw new IllegalArgumentException("a rule needs a name");
        }
        if (!Double.isFinite(threshold) || threshold < 0) {
            throw new IllegalArgumentException("a threshold is a number of at least 0, was " + threshold);
        }
        if (metric == Metric.ERROR_RATE && threshold > 1) {
            throw new IllegalArgumentException("an error rate threshold is between 0 and 1, was " + threshold);
        }
        if (minSamples < 0) {
            throw new IllegalArgumentException("min samples must be at least 0, was " + minSamples);
        }
    }

    /** {@code error_rate > 0.05 → pause}, for messages. */
    @Override
    public String toString() {
        return name + " (" + metric.configName() + " " + op.symbol() + " " + threshold + " → " + action.configName()
                + ", min " + minSamples + " samples)";
    }
}
