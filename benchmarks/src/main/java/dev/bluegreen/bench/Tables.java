package dev.bluegreen.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/** What the harness's tables share: medians, ratios, number formats, and the text and Markdown layouts. */
final class Tables {

    private Tables() {
    }

    static <T> double median(List<T> cell, ToDoubleFunction<T> value) {
        double[] sorted = cell.stream().mapToDouble(value).sorted().toArray();
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /** The median throughput and median latency of a cell's runs, each on its own; null when it has none. */
    static PgbenchResult median(List<PgbenchResult> cell) {
        return cell.isEmpty() ? null
                : new PgbenchResult(median(cell, PgbenchResult::tps), median(cell, PgbenchResult::latencyMs));
    }

    static String tps(PgbenchResult result) {
        return result == null ? "-" : String.format(Locale.ROOT, "%.0f", result.tps());
    }

    static String latency(PgbenchResult result) {
        return result == null ? "-" : String.format(Locale.ROOT, "%.3f", result.latencyMs());
    }

    /**
     * Throughput of {@code of} relative to {@code to}, round by round (1.00 is parity, below 1 is slower):
     * the runs of one round took turns minutes apart, so their ratio leaves out how fast the machine
     * happened to be that round. Empty unless both have the same number of runs, at least one.
     */
    static List<Double> roundRatios(List<PgbenchResult> of, List<PgbenchResult> to) {
        if (of.isEmpty() || of.size() != to.size()) {
            return List.of();
        }
        List<Double> ratios = new ArrayList<>(of.size());
        for (int round = 0; round < of.size(); round++) {
            if (to.get(round).tps() == 0) {
                return List.of();
            }
            ratios.add(of.get(round).tps() / to.get(round).tps());
        }
        return ratios;
    }

    /** The median of {@link #roundRatios}; empty when there are none. */
    static OptionalDouble medianRatio(List<Double> roundRatios) {
        return roundRatios.isEmpty() ? OptionalDouble.empty() : OptionalDouble.of(median(roundRatios, Double::doubleValue));
    }

    static String ratio(OptionalDouble ratio) {
        return ratio.isEmpty() ? "-" : String.format(Locale.ROOT, "%.2f", ratio.getAsDouble());
    }

    /** "0.92, 1.01, 0.87": each round's ratio, for the line under a table. */
    static String ratios(List<Double> ratios) {
        return ratios.stream().map(r -> String.format(Locale.ROOT, "%.2f", r)).collect(Collectors.joining(", "));
    }

    static String percent(List<Double> values, ToDoubleFunction<List<Double>> summary) {
        return values.isEmpty() ? "-" : String.format(Locale.ROOT, "%.0f", summary.applyAsDouble(values));
    }

    /** Plain text for a terminal: the title, then left-aligned columns two spaces apart. */
    static String text(String title, List<String> headers, List<List<String>> rows) {
        int[] widths = new int[headers.size()];
        for (int column = 0; column < widths.length; column++) {
            widths[column] = headers.get(column).length();
            for (List<String> row : rows) {
                widths[column] = Math.max(widths[column], row.get(column).length());
            }
        }
        StringBuilder out = new StringBuilder(title).append('\n');
        out.append(textLine(headers, widths));
        for (List<String> row : rows) {
            out.append(textLine(row, widths));
        }
        return out.toString();
    }

    private static String textLine(List<String> cells, int[] widths) {
        StringBuilder line = new StringBuilder();
        for (int column = 0; column < cells.size(); column++) {
            line.append(String.format(Locale.ROOT, "%-" + widths[column] + "s", cells.get(column)));
            line.append("  ");
        }
        return line.toString().stripTrailing() + "\n";
    }

    /** GitHub Markdown: the title as a paragraph, then the table; numbers right-aligned, {@code words} left. */
    static String markdown(String title, List<String> headers, Set<String> words, List<List<String>> rows) {
        StringBuilder out = new StringBuilder(title).append("\n\n");
        out.append(markdownLine(headers));
        out.append(headers.stream().map(h -> words.contains(h) ? "---" : "---:")
                .collect(Collectors.joining(" | ", "| ", " |\n")));
        for (List<String> row : rows) {
            out.append(markdownLine(row));
        }
        return out.toString();
    }

    private static String markdownLine(List<String> cells) {
        return cells.stream().collect(Collectors.joining(" | ", "| ", " |\n"));
    }
}
