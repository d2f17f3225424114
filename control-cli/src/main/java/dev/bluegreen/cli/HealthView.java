package dev.bluegreen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Green's health ({@code GET /api/v1/health}) as text: the overall verdict, each cluster's rate,
 * errors and latency percentiles side by side, the figures the rules judge, and every rule's verdict.
 * A firing rule is marked and upper-cased, with its value against its threshold and its action, so it
 * stands out in a redrawn screen. Pure functions of the JSON, like {@link Views}.
 */
final class HealthView {

    private static final Set<String> HEALTH_FIELDS = Set.of("verdict", "windowSeconds", "evaluatedAt", "figures",
            "rules");
    private static final Set<String> FIGURE_FIELDS = Set.of("clusters", "errorRate", "greenSamples", "greenBlamed",
            "latencyP95Ratio", "latencyP99Ratio", "latencySamples", "divergences");
    private static final List<String> CLUSTERS = List.of("blue", "green");

    private HealthView() {}

    static String render(JsonNode health) {
        StringBuilder out = new StringBuilder("health: ").append(verdict(health)).append('\n');
        JsonNode figures = health.path("figures");
        JsonNode clusters = figures.path("clusters");
        if (clusters.isObject()) {
            out.append(indent(clusters(clusters), "  "));
        }
        Lines green = new Lines("  ");
        if (figures.has("errorRate")) {
            // a rate per kind of unit, summed: the counts beside it are the window's, not its fraction
            green.add("green error rate (every kind)", rate(figures.get("errorRate"))
                    + outOf(figures.path("greenBlamed"), figures.path("greenSamples"), "units green ran failed where blue did not"));
        }
        if (figures.has("latencyP95Ratio") || figures.has("latencyP99Ratio")) {
            green.add("latency green/blue", "p95 " + ratio(figures.path("latencyP95Ratio"))
                    + ", p99 " + ratio(figures.path("latencyP99Ratio"))
                    + (figures.path("latencySamples").isNumber()
                            ? " (" + Views.count(figures.get("latencySamples")) + " samples)" : ""));
        }
        green.addIf(figures, "divergences", "divergences", d -> Views.count(d) + " in the window");
        if (figures.isObject()) {
            Views.extras(figures, FIGURE_FIELDS, "", green);
        }
        Views.extras(health, HEALTH_FIELDS, "", green);
        out.append(green);
        JsonNode rules = health.path("rules");
        if (rules.isArray() && !rules.isEmpty()) {
            out.append("  rules\n").append(indent(rules(rules), "  "));
        }
        return out.toString();
    }

    /** {@code healthy (green over the last 60 s, evaluated …)}, or {@code PAUSE: firing error_rate > 0.05 (…)}. */
    private static String verdict(JsonNode health) {
        String verdict = health.path("verdict").asText("unknown");
        List<String> firing = new ArrayList<>();
        health.path("rules").forEach(rule -> {
            if (rule.path("verdict").asText("").equals("firing")) {
                firing.add(rule.path("name").asText("?"));
            }
        });
        String text = firing.isEmpty() ? verdict
                : verdict.toUpperCase(Locale.ROOT) + ": firing " + String.join(", ", firing);
        List<String> window = new ArrayList<>();
        if (health.path("windowSeconds").isNumber()) {
            window.add("green over the last " + health.get("windowSeconds").asText() + " s");
        }
        if (health.hasNonNull("evaluatedAt")) {
            window.add("evaluated " + Views.time(health.get("evaluatedAt")));
        }
        return window.isEmpty() ? text : text + " (" + String.join(", ", window) + ")";
    }

    private static String clusters(JsonNode clusters) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"CLUSTER", "UNITS/S", "ERROR RATE", "READ P50/P95/P99 MS", "WRITE P50/P95/P99 MS"});
        List<String> names = new ArrayList<>(CLUSTERS);
        clusters.properties().forEach(e -> {
            if (!names.contains(e.getKey())) {
                names.add(e.getKey());
            }
        });
        for (String name : names) {
            JsonNode c = clusters.path(name);
            if (!c.isObject()) {
                continue;
            }
            rows.add(new String[] {
                    name,
                    c.hasNonNull("unitsPerSecond") ? String.format(Locale.ROOT, "%.1f", c.get("unitsPerSecond").asDouble()) : "-",
                    // errors are of the units it answered, the rate's base; those it only followed are not in it
                    rate(c.path("errorRate")) + (c.has("served") ? outOf(c.path("errors"), c.path("served"), "answered")
                            : outOf(c.path("errors"), c.path("units"), "units")),
                    percentiles(c.path("read")),
                    percentiles(c.path("write")),
            });
        }
        return Views.table(rows);
    }

    private static String rules(JsonNode rules) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"", "VERDICT", "RULE", "ACTION", "VALUE"});
        for (JsonNode rule : rules) {
            String verdict = rule.path("verdict").asText("?");
            boolean firing = verdict.equals("firing");
            rows.add(new String[] {
                    firing ? "!" : "",
                    firing ? "FIRING" : verdict,
                    rule.path("name").asText("?"),
                    firing ? rule.path("action").asText("").toUpperCase(Locale.ROOT) : rule.path("action").asText(""),
                    value(rule, verdict),
            });
        }
        return Views.table(rows);
    }

    /** What the rule judged: the value against the threshold when it fires, the samples it lacks when inconclusive. */
    private static String value(JsonNode rule, String verdict) {
        String samples = rule.path("samples").isNumber() ? Views.count(rule.get("samples")) : "?";
        return switch (verdict) {
            case "inconclusive" -> samples + " of " + Views.count(rule.path("minSamples")) + " samples needed";
            case "firing" -> decimal(rule.path("value")) + " " + rule.path("op").asText("vs") + " "
                    + decimal(rule.path("threshold")) + " (" + samples + " samples)";
            default -> decimal(rule.path("value")) + " (" + samples + " samples)";
        };
    }

    /** {@code 0.40 / 1.10 / 2.30}, a dash where there were no samples. */
    private static String percentiles(JsonNode latency) {
        if (!latency.isObject()) {
            return "-";
        }
        return ms(latency.path("p50Ms")) + " / " + ms(latency.path("p95Ms")) + " / " + ms(latency.path("p99Ms"));
    }

    /** {@code " (3 of 5,400 units)"}, or nothing when a count is missing. */
    private static String outOf(JsonNode part, JsonNode total, String what) {
        return part.isNumber() && total.isNumber()
                ? " (" + Views.count(part) + " of " + Views.count(total) + " " + what + ")" : "";
    }

    private static String rate(JsonNode rate) {
        return rate.isNumber() ? String.format(Locale.ROOT, "%.2f %%", 100 * rate.asDouble()) : "-";
    }

    private static String ratio(JsonNode ratio) {
        return ratio.isNumber() ? decimal(ratio) + "x" : "-";
    }

    private static String ms(JsonNode ms) {
        if (!ms.isNumber()) {
            return "-";
        }
        double v = ms.asDouble();
        return String.format(Locale.ROOT, v < 10 ? "%.2f" : v < 1000 ? "%.1f" : "%.0f", v);
    }

    /** Four significant digits at most, no trailing zeros: {@code 0.05}, {@code 2}, {@code 0.1234}. */
    static String decimal(JsonNode value) {
        if (!value.isNumber()) {
            return value.isMissingNode() || value.isNull() ? "-" : value.asText();
        }
        return value.decimalValue().round(new MathContext(4)).stripTrailingZeros().toPlainString();
    }

    private static String indent(String text, String indent) {
        return text.lines().map(l -> (indent + l).stripTrailing() + "\n").collect(Collectors.joining());
    }
}
