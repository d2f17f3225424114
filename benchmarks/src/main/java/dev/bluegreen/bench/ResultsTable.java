package dev.bluegreen.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Every measured run, by scenario and target, and the table they make: the median of the repeats
 * per cell (throughput and latency each on their own), and as ratios the median of the ratios
 * within each round ({@link Tables#roundRatios}); under the table, bluegreen / PgBouncer round by round.
 * Two more columns show how much CPU the relay in the middle (the proxy's JVM, PgBouncer) burnt
 * during its measured runs, in percent of one core, because on a small machine the relay competes
 * with Postgres and pgbench for the same cores; the last one the worst share of the machine that
 * other processes took during any run of the row (see {@link MachineLoad}), a warning sign on a
 * shared machine. Rows keep the order scenarios were first measured in.
 *
 * <p>A cell with a failed run shows "failed" and no ratio: its other rounds are no longer paired with
 * the other targets' rounds, and a median over the rounds that happened to work would hide it. The
 * failures are listed under the table.
 */
final class ResultsTable {

    static final List<String> HEADERS = List.of(
            "protocol", "clients", "direct tps", "bluegreen tps", "pgbouncer tps", "bg/direct", "bg/pgbouncer",
            "direct ms", "bluegreen ms", "pgbouncer ms", "bluegreen cpu%", "pgbouncer cpu%",
            "other load%");

    private final Map<Scenario, Map<Target, List<PgbenchResult>>> runs = new LinkedHashMap<>();
    private final Map<Scenario, Map<Target, List<Double>>> relayCpu = new LinkedHashMap<>();
    private final Map<Scenario, List<Double>> otherLoad = new LinkedHashMap<>();
    private final Map<Scenario, Map<Target, List<String>>> failures = new LinkedHashMap<>();
    private static final String FAILED = "failed";

    void add(Scenario scenario, Target target, PgbenchResult result) {
        runs.computeIfAbsent(scenario, s -> new LinkedHashMap<>())
                .computeIfAbsent(target, t -> new ArrayList<>())
                .add(Objects.requireNonNull(result));
    }

    /** A run of the cell that did not complete; {@code reason} says why, in a line. */
    void fail(Scenario scenario, Target target, int round, String reason) {
        runs.computeIfAbsent(scenario, s -> new LinkedHashMap<>()); // the row shows, also when nothing in it worked
        failures.computeIfAbsent(scenario, s -> new LinkedHashMap<>())
                .computeIfAbsent(target, t -> new ArrayList<>())
                .add(scenario.protocol() + ", " + scenario.clients() + (scenario.clients() == 1 ? " client, " : " clients, ")
                        + target.label() + ", round " + round + ": " + reason);
    }

    /** Every failure, row by row. */
    List<String> failures() {
        List<String> all = new ArrayList<>();
        failures.values().forEach(targets -> targets.values().forEach(all::addAll));
        return all;
    }

    private boolean failed(Scenario scenario, Target target) {
        return !failures.getOrDefault(scenario, Map.of()).getOrDefault(target, List.of()).isEmpty();
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

    /** The median throughput and median latency of a cell's runs; null when it has none or one failed. */
    PgbenchResult median(Scenario scenario, Target target) {
        return failed(scenario, target) ? null : Tables.median(runs(scenario, target));
    }

    private List<PgbenchResult> runs(Scenario scenario, Target target) {
        return runs.getOrDefault(scenario, Map.of()).getOrDefault(target, List.of());
    }

    private String ratio(Scenario scenario, Target of, Target to) {
        return Tables.ratio(Tables.medianRatio(roundRatios(scenario, of, to)));
    }

    /** Round by round; empty while either cell has a failed round. */
    private List<Double> roundRatios(Scenario scenario, Target of, Target to) {
        if (failed(scenario, of) || failed(scenario, to)) {
            return List.of();
        }
        return Tables.roundRatios(runs(scenario, of), runs(scenario, to));
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
                    tps(scenario, Target.DIRECT, direct), tps(scenario, Target.BLUEGREEN, bluegreen),
                    tps(scenario, Target.PGBOUNCER, pgbouncer),
                    ratio(scenario, Target.BLUEGREEN, Target.DIRECT),
                    ratio(scenario, Target.BLUEGREEN, Target.PGBOUNCER),
                    Tables.latency(direct), Tables.latency(bluegreen), Tables.latency(pgbouncer),
                    cpu(scenario, Target.BLUEGREEN), cpu(scenario, Target.PGBOUNCER),
                    worstOtherLoad(scenario)));
        }
        return rows;
    }

    private String tps(Scenario scenario, Target target, PgbenchResult median) {
        return failed(scenario, target) ? FAILED : Tables.tps(median);
    }

    private String worstOtherLoad(Scenario scenario) {
        return Tables.percent(otherLoad.getOrDefault(scenario, List.of()),
                loads -> loads.stream().mapToDouble(Double::doubleValue).max().orElseThrow());
    }

    private String cpu(Scenario scenario, Target target) {
        return Tables.percent(relayCpu.getOrDefault(scenario, Map.of()).getOrDefault(target, List.of()),
                cell -> Tables.median(cell, Double::doubleValue));
    }

    /** "simple, 1 client: 0.92, 1.01, 0.87", one per scenario measured through both relays. */
    List<String> roundsAgainstPgBouncer() {
        List<String> lines = new ArrayList<>();
        for (Scenario scenario : runs.keySet()) {
            List<Double> ratios = roundRatios(scenario, Target.BLUEGREEN, Target.PGBOUNCER);
            if (!ratios.isEmpty()) {
                lines.add(scenario.protocol() + ", " + scenario.clients()
                        + (scenario.clients() == 1 ? " client: " : " clients: ") + Tables.ratios(ratios));
            }
        }
        return lines;
    }

    /** Plain text for a terminal: the title, then left-aligned columns two spaces apart, then the rounds. */
    String text(String title) {
        StringBuilder out = new StringBuilder(Tables.text(title, HEADERS, rows()));
        List<String> rounds = roundsAgainstPgBouncer();
        if (!rounds.isEmpty()) {
            out.append("bg/pgbouncer round by round:\n");
            rounds.forEach(line -> out.append("  ").append(line).append('\n'));
        }
        if (!failures().isEmpty()) {
            out.append("failed runs:\n");
            failures().forEach(failure -> out.append("  - ").append(failure).append('\n'));
        }
        return out.toString();
    }

    /** GitHub Markdown: the title as a paragraph, the table with the numbers right-aligned, then the rounds. */
    String markdown(String title) {
        StringBuilder out = new StringBuilder(Tables.markdown(title, HEADERS, Set.of("protocol"), rows()));
        List<String> rounds = roundsAgainstPgBouncer();
        if (!rounds.isEmpty()) {
            out.append("\nbg/pgbouncer round by round:\n\n");
            rounds.forEach(line -> out.append("- ").append(line).append('\n'));
        }
        if (!failures().isEmpty()) {
            out.append("\nfailed runs:\n\n");
            failures().forEach(failure -> out.append("- ").append(failure).append('\n'));
        }
        return out.toString();
    }
}
