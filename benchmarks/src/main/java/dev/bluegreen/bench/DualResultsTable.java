package dev.bluegreen.bench;

import dev.bluegreen.bench.driver.ControlProtocol;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.function.Function;

/**
 * The dual-write table: one row per scenario and target through bluegreen, and one for blue and
 * green driven directly at once (what the machine leaves for dual-write), each beside blue direct
 * and the proxy with dual-write off measured in the same rounds, as medians of the repeats, with the
 * ratios the medians of the ratios within each round ({@link Tables#roundRatios}); then what the
 * proxy said about its runs (green's share of the units it served, divergences), the proxy's CPU, the
 * worst load of other processes during the row's runs, and the goal for the row where it sets
 * one, judged on that ratio. Beside them, where each row's CPU went: blue's and green's servers and the
 * proxy, per transaction the row counted, and blue's per direct transaction. Under the table, each goal's
 * ratio round by round.
 *
 * <p>A cell that failed in any round shows "failed" and no ratio: a median over the rounds that
 * happened to work would hide exactly what the table is for. The reasons are listed under the table.
 */
final class DualResultsTable {

    static final List<String> HEADERS = List.of(
            "workload", "protocol", "bluegreen", "direct tps", "bluegreen tps", "bg/direct", "bg/dw-off",
            "direct ms", "bluegreen ms", "green served%", "divergences", "bluegreen cpu%", "other load%",
            "blue us/tx", "green us/tx", "bluegreen us/tx", "direct blue us/tx", "target", "met");
    private static final Set<String> WORDS = Set.of("workload", "protocol", "bluegreen", "target", "met");
    private static final String FAILED = "failed";

    /** What the proxy counted during one measured run: units answered by each cluster, divergences. */
    record ProxyCounters(long blueUnits, long greenUnits, long divergences) {

        static ProxyCounters between(ControlProtocol.State before, ControlProtocol.State after) {
            return new ProxyCounters(after.blueUnits() - before.blueUnits(), after.greenUnits() - before.greenUnits(),
                    after.divergences() - before.divergences());
        }

        /** Green's share of the units served; empty when the proxy counted none. */
        OptionalDouble greenPercent() {
            long total = blueUnits + greenUnits;
            return total <= 0 ? OptionalDouble.empty() : OptionalDouble.of(100.0 * greenUnits / total);
        }
    }

    private static final class Cell {
        final List<MeasuredRun> runs = new ArrayList<>();
        final List<ProxyCounters> counters = new ArrayList<>();
        final List<String> failures = new ArrayList<>();
    }

    private final Map<DualScenario, Map<DualTarget, Cell>> cells = new LinkedHashMap<>();

    /** One measured run; {@code counters} for runs through the proxy. */
    void add(DualScenario scenario, DualTarget target, MeasuredRun run, Optional<ProxyCounters> counters) {
        Cell cell = cell(scenario, target);
        cell.runs.add(Objects.requireNonNull(run));
        counters.ifPresent(cell.counters::add);
    }

    /** A run that did not happen or cannot be trusted, and why. */
    void fail(DualScenario scenario, DualTarget target, int round, String reason) {
        cell(scenario, target).failures.add(scenario.workload().label() + " " + scenario.protocol() + ", "
                + target.label() + ", round " + round + ": " + reason);
    }

    private Cell cell(DualScenario scenario, DualTarget target) {
        return cells.computeIfAbsent(scenario, s -> new LinkedHashMap<>()).computeIfAbsent(target, t -> new Cell());
    }

    /** Every failure, in the order they happened per cell. */
    List<String> failures() {
        List<String> all = new ArrayList<>();
        cells.values().forEach(targets -> targets.values().forEach(cell -> all.addAll(cell.failures)));
        return all;
    }

    private Optional<Cell> find(DualScenario scenario, DualTarget target) {
        return Optional.ofNullable(cells.getOrDefault(scenario, Map.of()).get(target));
    }

    private boolean failed(DualScenario scenario, DualTarget target) {
        return find(scenario, target).map(cell -> !cell.failures.isEmpty()).orElse(false);
    }

    /** The medians of a cell's runs; null when it has none or any of its rounds failed. */
    PgbenchResult median(DualScenario scenario, DualTarget target) {
        return failed(scenario, target) ? null : Tables.median(results(scenario, target));
    }

    /** This cell's throughput over another's, round by round; empty while either has a failed round. */
    private List<Double> roundRatios(DualScenario scenario, DualTarget of, DualTarget to) {
        if (failed(scenario, of) || failed(scenario, to)) {
            return List.of();
        }
        return Tables.roundRatios(results(scenario, of), results(scenario, to));
    }

    private List<PgbenchResult> results(DualScenario scenario, DualTarget target) {
        return find(scenario, target)
                .map(cell -> cell.runs.stream().map(MeasuredRun::result).toList())
                .orElse(List.of());
    }

    private OptionalDouble ratio(DualScenario scenario, DualTarget of, DualTarget to) {
        return Tables.medianRatio(roundRatios(scenario, of, to));
    }

    /** The formatted cells in {@link #HEADERS} order, one row per scenario and target through the proxy. */
    List<List<String>> rows() {
        List<List<String>> rows = new ArrayList<>();
        for (DualScenario scenario : cells.keySet()) {
            PgbenchResult direct = median(scenario, DualTarget.DIRECT);
            for (DualTarget target : scenario.targets()) {
                if (target == DualTarget.DIRECT) {
                    continue;
                }
                PgbenchResult result = median(scenario, target);
                Optional<DualScenario.Goal> goal = scenario.goal(target);
                rows.add(List.of(
                        scenario.workload().label(),
                        scenario.protocol(),
                        target.label(),
                        failed(scenario, DualTarget.DIRECT) ? FAILED : Tables.tps(direct),
                        failed(scenario, target) ? FAILED : Tables.tps(result),
                        Tables.ratio(ratio(scenario, target, DualTarget.DIRECT)),
                        target.throughProxy() ? Tables.ratio(ratio(scenario, target, DualTarget.DUAL_WRITE_OFF)) : "-",
                        Tables.latency(direct),
                        Tables.latency(result),
                        greenServed(scenario, target),
                        divergences(scenario, target),
                        Tables.percent(values(scenario, target, MeasuredRun::relayCpuPercent),
                                cpu -> Tables.median(cpu, Double::doubleValue)),
                        worstOtherLoad(scenario, target),
                        micros(scenario, target, MeasuredRun::blueCpuPercent),
                        micros(scenario, target, MeasuredRun::greenCpuPercent),
                        target.throughProxy() ? micros(scenario, target, MeasuredRun::relayCpuPercent) : "-",
                        micros(scenario, DualTarget.DIRECT, MeasuredRun::blueCpuPercent),
                        goal.map(DualScenario.Goal::text).orElse("-"),
                        goal.map(g -> g.verdict(ratio(scenario, target, g.baseline()))).orElse("-")));
            }
        }
        return rows;
    }

    private List<Double> values(DualScenario scenario, DualTarget target,
                                Function<MeasuredRun, OptionalDouble> value) {
        List<Double> values = new ArrayList<>();
        find(scenario, target).ifPresent(cell -> cell.runs.forEach(run -> value.apply(run).ifPresent(values::add)));
        return values;
    }

    /**
     * The median over a cell's runs of one process tree's CPU per transaction the run counted, in µs: where
     * the machine's CPU went, when it is what limits the throughput.
     */
    private String micros(DualScenario scenario, DualTarget target, Function<MeasuredRun, OptionalDouble> cpuPercent) {
        return Tables.percent(values(scenario, target, run -> run.microsPerTransaction(cpuPercent.apply(run))),
                micros -> Tables.median(micros, Double::doubleValue));
    }

    private String greenServed(DualScenario scenario, DualTarget target) {
        List<Double> shares = new ArrayList<>();
        find(scenario, target).ifPresent(cell -> cell.counters.forEach(c -> c.greenPercent().ifPresent(shares::add)));
        return Tables.percent(shares, share -> Tables.median(share, Double::doubleValue));
    }

    /** The sum over the rounds: one divergence is one too many, whichever round it came in. */
    private String divergences(DualScenario scenario, DualTarget target) {
        return find(scenario, target)
                .filter(cell -> !cell.counters.isEmpty())
                .map(cell -> Long.toString(cell.counters.stream().mapToLong(ProxyCounters::divergences).sum()))
                .orElse("-");
    }

    /** Over the row's own runs and the direct runs it is compared with. */
    private String worstOtherLoad(DualScenario scenario, DualTarget target) {
        List<Double> loads = new ArrayList<>(values(scenario, DualTarget.DIRECT, MeasuredRun::otherLoadPercent));
        loads.addAll(values(scenario, target, MeasuredRun::otherLoadPercent));
        return Tables.percent(loads, all -> all.stream().mapToDouble(Double::doubleValue).max().orElseThrow());
    }

    /**
     * "select-only simple, dual-write, weight 50, bg/dw-off: 0.81, 0.76, 0.92", one per row with a
     * goal, each after the same for both clusters driven directly at once over direct, the most the
     * machine leaves for dual-write in that round.
     */
    List<String> goalRounds() {
        List<String> lines = new ArrayList<>();
        for (DualScenario scenario : cells.keySet()) {
            List<Double> bothDirect = roundRatios(scenario, DualTarget.BOTH_DIRECT, DualTarget.DIRECT);
            if (!bothDirect.isEmpty()) {
                lines.add(scenario.workload().label() + " " + scenario.protocol() + ", "
                        + DualTarget.BOTH_DIRECT.label() + ", /direct: " + Tables.ratios(bothDirect));
            }
            for (DualTarget target : scenario.targets()) {
                scenario.goal(target).ifPresent(goal -> {
                    List<Double> ratios = roundRatios(scenario, target, goal.baseline());
                    if (!ratios.isEmpty()) {
                        lines.add(scenario.workload().label() + " " + scenario.protocol() + ", " + target.label()
                                + ", " + (goal.baseline() == DualTarget.DIRECT ? "bg/direct" : "bg/dw-off") + ": "
                                + Tables.ratios(ratios));
                    }
                });
            }
        }
        return lines;
    }

    /** Plain text for a terminal: the title, the table, each goal's rounds, then the failures if any. */
    String text(String title) {
        StringBuilder out = new StringBuilder(Tables.text(title, HEADERS, rows()));
        List<String> rounds = goalRounds();
        if (!rounds.isEmpty()) {
            out.append("round by round:\n");
            rounds.forEach(line -> out.append("  ").append(line).append('\n'));
        }
        List<String> failures = failures();
        if (!failures.isEmpty()) {
            out.append("failed runs:\n");
            failures.forEach(failure -> out.append("  - ").append(failure).append('\n'));
        }
        return out.toString();
    }

    /** GitHub Markdown: the title as a paragraph, the table, each goal's rounds, then the failures as a list. */
    String markdown(String title) {
        StringBuilder out = new StringBuilder(Tables.markdown(title, HEADERS, WORDS, rows()));
        List<String> rounds = goalRounds();
        if (!rounds.isEmpty()) {
            out.append("\nRound by round:\n\n");
            rounds.forEach(line -> out.append("- ").append(line).append('\n'));
        }
        List<String> failures = failures();
        if (!failures.isEmpty()) {
            out.append("\nFailed runs:\n\n");
            failures.forEach(failure -> out.append("- ").append(failure).append('\n'));
        }
        return out.toString();
    }
}
