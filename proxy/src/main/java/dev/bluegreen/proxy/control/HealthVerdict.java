package dev.bluegreen.proxy.control;

import dev.bluegreen.config.HealthRule;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The health rules' judgement of green at one moment (DESIGN §6): each rule's verdict with the figure and
 * the sample count behind it, and the overall verdict that plans and automatic actions follow.
 */
public record HealthVerdict(Overall overall, List<RuleVerdict> rules, HealthFigures figures, Instant at) {

    /** Ordered from harmless to strongest: a plan advances only on {@link #HEALTHY}. */
    public enum Overall { HEALTHY, INCONCLUSIVE, WARN, PAUSE, ROLLBACK }

    /**
     * One rule's verdict.
     *
     * @param value   the figure the rule compares, null when there is nothing to compute it from
     * @param samples how many samples the figure rests on
     */
    public record RuleVerdict(HealthRule rule, Double value, long samples, Status status) {

        public enum Status { HEALTHY, INCONCLUSIVE, FIRING }

        public RuleVerdict {
            Objects.requireNonNull(rule, "rule");
            Objects.requireNonNull(status, "status");
        }

        /**
         * {@code error_rate 0.1250 > 0.1 (rollback, 400 samples)} when it fires, {@code error_rate 0.0000, not > 0.1
         * (…)} when healthy, {@code error_rate n/a, not judged against > 0.1 (…)} otherwise: for history entries and
         * logs, where a healthy rule must not read as one that fired.
         */
        public String describe() {
            String shown = value == null ? "n/a" : String.format(java.util.Locale.ROOT, "%.4f", value);
            String against = switch (status) {
                case FIRING -> " ";
                case HEALTHY -> ", not ";
                case INCONCLUSIVE -> ", not judged against ";
            };
            return rule.name() + ": " + rule.metric().configName() + " " + shown + against + rule.op().symbol() + " "
                    + HealthJudge.plain(rule.threshold()) + " (" + rule.action().configName() + ", " + samples
                    + " samples)";
        }
    }

    public HealthVerdict {
        Objects.requireNonNull(overall, "overall");
        rules = List.copyOf(rules);
        Objects.requireNonNull(figures, "figures");
        Objects.requireNonNull(at, "at");
    }

    /** Before the first evaluation: nothing known yet. */
    public static HealthVerdict none(Instant at) {
        return new HealthVerdict(Overall.INCONCLUSIVE, List.of(), HealthFigures.empty(), at);
    }

    public List<RuleVerdict> firing() {
        return rules.stream().filter(r -> r.status() == RuleVerdict.Status.FIRING).toList();
    }

    public List<RuleVerdict> inconclusive() {
        return rules.stream().filter(r -> r.status() == RuleVerdict.Status.INCONCLUSIVE).toList();
    }

    /** The first firing rule with {@code action}, in configuration order. */
    public Optional<RuleVerdict> firing(HealthRule.Action action) {
        return firing().stream().filter(r -> r.rule().action() == action).findFirst();
    }

    /** Why a plan may not advance on this verdict; empty when it may. */
    public Optional<String> holdReason() {
        if (!firing().isEmpty()) {
            return Optional.of("firing: " + firing().get(0).describe());
        }
        if (!inconclusive().isEmpty()) {
            RuleVerdict first = inconclusive().get(0);
            return Optional.of("inconclusive: " + first.rule().name() + " has " + first.samples() + " of "
                    + first.rule().minSamples() + " samples");
        }
        return Optional.empty();
    }
}
