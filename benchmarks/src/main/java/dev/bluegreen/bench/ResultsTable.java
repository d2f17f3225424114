package dev.bluegreen.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;

/**
 * Every measured run, by scenario and target, and the table they make: the median of the repeats
 * per cell (throughput and latency each on their own), with the ratios taken from those medians.
 * Two more columns show how much CPU the relay in the middle (the proxy's JVM, PgBouncer) burnt
 * during its measured runs, in percent of one core, because on a small machine the relay competes
 * with Postgres and pgbench for the same cores; the last one the worst share of the machine that
 * other processes took during any run of the row (see {@link MachineLoad}), a warning sign on a
 * shared machine. Rows keep the order scenarios were first measured in.
 */
final class ResultsTable {

    static final List<String> HEADERS = List.of(
            "protocol", "clients", "direct tps", "bluegreen tps", "pgbouncer tps", "bg/direct", "bg/pgbouncer",
            "direct ms", "bluegreen ms", "pgbouncer ms", "bluegreen cpu%", "pgbouncer cpu%",
            "other load%");

    private final Map<Scenario, Map<Target, List<PgbenchResult>>> runs = new LinkedHashMap<>();
    private final Map<Scenario, Map<Target, List<Double>>> relayCpu = new LinkedHashMap<>();
    private final Map<Scenario, List<Double>> otherLoad = new LinkedHashMap<>();

    void add(Scenario scenario, Target target, PgbenchResult result) {
        runs.computeIfAbsent(scenario, s -> new LinkedHashMap<>())
                .computeIfAbsent(target, t -> new ArrayList<>())
                .add(Objects.requireNonNull(result));
    }

    /** CPU time of the relay during one measured run, as a percentage of one core over the run. */
    void addRelayCpu(Scenario scenario, Target target, double percentOfOneCore) {
        relayCpu.computeIfAbsent(scenario, s -> new LinkedHashMap<>())
                .computeIfAbsent(target, t -> new ArrayList<>())
                .add(percentOfOneCore);
    }

    /** CPU used by processes outside the harness during one run, in percent of the whole machine. */
    void addOtherLoad(Scenario scenario, double percentOfMachine) {
        otherLoad.computeIfAbsent(scenario, s -> new ArrayList<>()).add(percentOfMachine);
    }

    /** The median throughput and median latency of a cell's runs; null when it has none. */
    PgbenchResult median(Scenario scenario, Target target) {
        List<PgbenchResult> cell = runs.getOrDefault(scenario, Map.of()).getOrDefault(target, List.of());
        if (cell.isEmpty()) {
            return null;
        }
        return new PgbenchResult(median(cell, PgbenchResult::tps), median(cell, PgbenchResult::latencyMs));
    }

    private static <T> double median(List<T> cell, ToDoubleFunction<T> value) {
        double[] sorted = cell.stream().mapToDouble(value).sorted().toArray();
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /** The formatted cells, one list per scenario, in {@link #HEADERS} order; "-" where a run is missing. */
    List<List<String>> rows() {
        List<List<String>> rows = new ArrayList<>();
        for (Scenario scenario : runs.keySet()) {
            PgbenchResult direct = median(scenario, Target.DIRECT);
            PgbenchResult bluegreen = median(scenario, Target.BLUEGREEN);
            PgbenchResult pgbouncer = median(scenario, Target.PGBOUNCER);
            rows.add(List.of(
                    scenario.protocol(),
                    Integer.toString(scenario.clients()),
                    tps(direct), tps(bluegreen), tps(pgbouncer),
                    ratio(bluegreen, direct), ratio(bluegreen, pgbouncer),
                    latency(direct), latency(bluegreen), latency(pgbouncer),
                    cpu(scenario, Target.BLUEGREEN), cpu(scenario, Target.PGBOUNCER),
                    worstOtherLoad(scenario)));
        }
        return rows;
    }

    private String worstOtherLoad(Scenario scenario) {
        List<Double> loads = otherLoad.getOrDefault(scenario, List.of());
        return loads.isEmpty() ? "-"
                : String.format(Locale.ROOT, "%.0f", loads.stream().mapToDouble(Double::doubleValue).max().orElseThrow());
    }

    private String cpu(Scenario scenario, Target target) {
        List<Double> cell = relayCpu.getOrDefault(scenario, Map.of()).getOrDefault(target, List.of());
        return cell.isEmpty() ? "-" : String.format(Locale.ROOT, "%.0f", median(cell, Double::doubleValue));
    }

    /** Plain text for a terminal: the title, then left-aligned columns two spaces apart. */
    String text(String title) {
        List<List<String>> rows = rows();
        int[] widths = new int[HEADERS.size()];
        for (int column = 0; column < widths.length; column++) {
            widths[column] = HEADERS.get(column).length();
            for (List<String> row : rows) {
                widths[column] = Math.max(widths[column], row.get(column).length());
            }
        }
        StringBuilder out = new StringBuilder(title).append('\n');
        out.append(textLine(HEADERS, widths));
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

    /** GitHub Markdown: the title as a paragraph, then the table with the numbers right-aligned. */
    String markdown(String title) {
        StringBuilder out = new StringBuilder(title).append("\n\n");
        out.append(markdownLine(HEADERS));
        out.append(HEADERS.stream().map(h -> h.equals("protocol") ? "---" : "---:")
                .collect(Collectors.joining(" | ", "| ", " |\n")));
        for (List<String> row : rows()) {
            out.append(markdownLine(row));
        }
        return out.toString();
    }

    private static String markdownLine(List<String> cells) {
        return cells.stream().collect(Collectors.joining(" | ", "| ", " |\n"));
    }

    private static String tps(PgbenchResult result) {
        return result == null ? "-" : String.format(Locale.ROOT, "%.0f", result.tps());
    }

    private static String latency(PgbenchResult result) {
        return result == null ? "-" : String.format(Locale.ROOT, "%.3f", result.latencyMs());
    }

    /** Throughput of {@code of} relative to {@code to}: 1.00 is parity, below 1 is slower. */
    private static String ratio(PgbenchResult of, PgbenchResult to) {
        if (of == null || to == null || to.tps() == 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2f", of.tps() / to.tps());
    }
}
