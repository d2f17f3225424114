package dev.bluegreen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.bench.DualResultsTable.ProxyCounters;
import dev.bluegreen.bench.driver.ControlProtocol.State;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class DualResultsTableTest {

    private static final DualScenario SELECT_ONLY = new DualScenario(Workload.SELECT_ONLY, "simple");
    private static final DualScenario TPCB = new DualScenario(Workload.TPCB_LIKE, "prepared");

    private static MeasuredRun run(double tps, double cpu, double otherLoad) {
        return new MeasuredRun(new PgbenchResult(tps, 16_000 / tps), OptionalDouble.of(cpu),
                OptionalDouble.of(otherLoad));
    }

    private static MeasuredRun direct(double tps, double otherLoad) {
        return new MeasuredRun(new PgbenchResult(tps, 16_000 / tps), OptionalDouble.empty(),
                OptionalDouble.of(otherLoad));
    }

    @Test
    void countersBetweenTwoStatesAreTheUnitsAndDivergencesOfTheRunAndGreensShareOfThem() {
        State before = new State(3, "DUAL", 50, true, 100, 50, 1);
        State after = new State(3, "DUAL", 50, true, 1100, 1050, 1);

        ProxyCounters counters = ProxyCounters.between(before, after);

        assertThat(counters).isEqualTo(new ProxyCounters(1000, 1000, 0));
        assertThat(counters.greenPercent()).hasValue(50.0);
        assertThat(new ProxyCounters(0, 0, 0).greenPercent()).isEmpty();
    }

    @Test
    void eachRowThroughTheProxyStandsBesideDirectAndDualWriteOffWithItsGoal() {
        DualResultsTable table = new DualResultsTable();
        table.add(SELECT_ONLY, DualTarget.DIRECT, direct(20000, 1.2), Optional.empty());
        table.add(SELECT_ONLY, DualTarget.DUAL_WRITE_OFF, run(12000, 55, 0.4),
                Optional.of(new ProxyCounters(1000, 0, 0)));
        table.add(SELECT_ONLY, DualTarget.WEIGHT_0, run(11000, 60, 0), Optional.of(new ProxyCounters(1000, 0, 0)));
        table.add(SELECT_ONLY, DualTarget.WEIGHT_50, run(9000, 70, 3.6), Optional.of(new ProxyCounters(510, 490, 0)));
        table.add(SELECT_ONLY, DualTarget.WEIGHT_100, run(10000, 65, 0), Optional.of(new ProxyCounters(0, 1000, 0)));

        List<List<String>> rows = table.rows();

        assertThat(rows).extracting(row -> row.get(2))
                .containsExactly("no proxy, blue + green at once", "dual-write off", "dual-write, weight 0",
                        "dual-write, weight 50", "dual-write, weight 100");
        assertThat(rows.get(3)).containsExactly("select-only", "simple", "dual-write, weight 50", "20000", "9000",
                "0.45", "0.75", "0.800", "1.778", "49", "0", "70", "4", "-", "-", "78", "-",
                ">= 0.80 x dual-write off", "NO");
        assertThat(rows.get(1)).containsExactly("select-only", "simple", "dual-write off", "20000", "12000",
                "0.60", "1.00", "0.800", "1.333", "0", "0", "55", "1", "-", "-", "46", "-", "-", "-");
    }

    @Test
    void aFailureInAnyRoundMarksTheCellFailedWithoutRatiosAndIsListedUnderTheTable() {
        DualResultsTable table = new DualResultsTable();
        table.add(TPCB, DualTarget.DIRECT, direct(2000, 0), Optional.empty());
        table.add(TPCB, DualTarget.DUAL_WRITE_OFF, run(1500, 40, 0), Optional.of(new ProxyCounters(1, 0, 0)));
        table.add(TPCB, DualTarget.WEIGHT_0, run(900, 50, 0), Optional.of(new ProxyCounters(1, 0, 0)));
        table.fail(TPCB, DualTarget.WEIGHT_0, 2, "pgbench run was aborted");

        List<String> row = table.rows().get(2);

        assertThat(row.subList(2, 7)).containsExactly("dual-write, weight 0", "2000", "failed", "-", "-");
        assertThat(row.subList(17, 19)).containsExactly(">= 0.40 x direct", "-");
        assertThat(table.failures()).containsExactly(
                "tpcb-like prepared, dual-write, weight 0, round 2: pgbench run was aborted");
        assertThat(table.text("title")).endsWith("""
                failed runs:
                  - tpcb-like prepared, dual-write, weight 0, round 2: pgbench run was aborted
                """);
    }

    @Test
    void theTpcbGoalIsJudgedOnTheRatiosWithinEachRoundAndDivergencesAreSummedOverTheRounds() {
        DualResultsTable table = new DualResultsTable();
        for (double tps : new double[] {1000, 1200, 800}) {
            table.add(TPCB, DualTarget.DIRECT, direct(tps, 0), Optional.empty());
        }
        table.add(TPCB, DualTarget.WEIGHT_0, run(500, 50, 0), Optional.of(new ProxyCounters(10, 0, 2)));
        table.add(TPCB, DualTarget.WEIGHT_0, run(400, 50, 0), Optional.of(new ProxyCounters(10, 0, 0)));
        table.add(TPCB, DualTarget.WEIGHT_0, run(300, 50, 0), Optional.of(new ProxyCounters(10, 0, 1)));

        List<String> row = table.rows().get(2);

        // the medians, 400 against 1000, would say 0.40; round by round it was 0.50, 0.33 and 0.38
        assertThat(row.get(3)).isEqualTo("1000");
        assertThat(row.get(4)).isEqualTo("400");
        assertThat(row.get(5)).isEqualTo("0.38");
        assertThat(row.get(10)).isEqualTo("3");
        assertThat(row.get(18)).isEqualTo("NO");
        assertThat(table.goalRounds())
                .containsExactly("tpcb-like prepared, dual-write, weight 0, bg/direct: 0.50, 0.33, 0.38");
        assertThat(table.text("title")).endsWith("""
                round by round:
                  tpcb-like prepared, dual-write, weight 0, bg/direct: 0.50, 0.33, 0.38
                """);
    }

    @Test
    void bothClustersDrivenDirectlyStandBesideDirectAsARowOfTheirOwnAndRoundByRoundBeforeTheGoal() {
        DualResultsTable table = new DualResultsTable();
        double[][] rounds = {{1000, 420, 1300, 380}, {1200, 456, 1400, 400}, {800, 304, 1100, 290}};
        for (double[] round : rounds) {
            table.add(TPCB, DualTarget.DIRECT, direct(round[0], 0), Optional.empty());
            table.add(TPCB, DualTarget.BOTH_DIRECT, direct(round[1], 2), Optional.empty());
            table.add(TPCB, DualTarget.DUAL_WRITE_OFF, run(round[2], 40, 0), Optional.of(new ProxyCounters(1, 0, 0)));
            table.add(TPCB, DualTarget.WEIGHT_0, run(round[3], 50, 0), Optional.of(new ProxyCounters(1, 0, 0)));
        }

        List<String> row = table.rows().getFirst();

        // no proxy: no ratio to dual-write off, no green share, no proxy CPU, no goal
        assertThat(row).containsExactly("tpcb-like", "prepared", "no proxy, blue + green at once", "1000", "420",
                "0.38", "-", "16.000", "38.095", "-", "-", "-", "2", "-", "-", "-", "-", "-", "-");
        assertThat(table.goalRounds()).containsExactly(
                "tpcb-like prepared, no proxy, blue + green at once, /direct: 0.42, 0.38, 0.38",
                "tpcb-like prepared, dual-write, weight 0, bg/direct: 0.38, 0.33, 0.36");
    }

    @Test
    void whereTheCpuWentIsEachServersAndTheProxysCpuPerTransactionOfTheRow() {
        DualResultsTable table = new DualResultsTable();
        PgbenchResult fast = new PgbenchResult(5000, 3.2);
        PgbenchResult slow = new PgbenchResult(2000, 8);
        // blue at 110 % of a core for 5,000 transactions a second: 220 us each
        table.add(TPCB, DualTarget.DIRECT, new MeasuredRun(fast, OptionalDouble.empty(), OptionalDouble.of(0),
                OptionalDouble.of(110), OptionalDouble.of(0.5)), Optional.empty());
        table.add(TPCB, DualTarget.WEIGHT_0, new MeasuredRun(slow, OptionalDouble.of(40), OptionalDouble.of(0),
                OptionalDouble.of(64), OptionalDouble.of(46)), Optional.of(new ProxyCounters(1, 0, 0)));
        table.add(TPCB, DualTarget.BOTH_DIRECT, new MeasuredRun(slow, OptionalDouble.empty(), OptionalDouble.of(0),
                OptionalDouble.of(50), OptionalDouble.empty()), Optional.empty());

        List<List<String>> rows = table.rows();

        assertThat(rows.get(2).subList(13, 17)).as("dual-write: blue, green, the proxy, blue direct")
                .containsExactly("320", "230", "200", "220");
        assertThat(rows.get(0).subList(13, 17)).as("no proxy: no proxy CPU; green's not measured")
                .containsExactly("250", "-", "-", "220");
        assertThat(new MeasuredRun(new PgbenchResult(0, 0), OptionalDouble.empty(), OptionalDouble.empty(),
                OptionalDouble.of(50), OptionalDouble.empty()).microsPerTransaction(OptionalDouble.of(50)))
                .as("no transactions, no figure").isEmpty();
    }

    @Test
    void theMarkdownTableLeftAlignsTheWordsAndRightAlignsTheNumbers() {
        DualResultsTable table = new DualResultsTable();
        table.add(TPCB, DualTarget.DIRECT, direct(1000, 0), Optional.empty());

        String markdown = table.markdown("**title**");

        assertThat(markdown).startsWith("""
                **title**

                | workload | protocol | bluegreen | direct tps | bluegreen tps | bg/direct | bg/dw-off | direct ms \
                | bluegreen ms | green served% | divergences | bluegreen cpu% | other load% | blue us/tx | green us/tx \
                | bluegreen us/tx | direct blue us/tx | target | met |
                | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: \
                | ---: | ---: | --- | --- |
                | tpcb-like | prepared | no proxy, blue + green at once | 1000 | - | - | - | 16.000 | - | - | - \
                | - | 0 | - | - | - | - | - | - |
                | tpcb-like | prepared | dual-write off | 1000 | - | - | - | 16.000 | - | - | - | - | 0 | - | - | - | - \
                | - | - |
                """);
    }
}
