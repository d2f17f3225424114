package dev.bluegreen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ResultsTableTest {

    private static final Scenario SIMPLE_1 = new Scenario("simple", 1);
    private static final Scenario PREPARED_16 = new Scenario("prepared", 16);

    @Test
    void theTextTableHasTheTitleAndLeftAlignedColumnsTwoSpacesApartWithTheWorstOtherLoad() {
        ResultsTable table = new ResultsTable();
        table.add(SIMPLE_1, Target.DIRECT, new PgbenchResult(5000.4, 0.2));
        table.add(SIMPLE_1, Target.BLUEGREEN, new PgbenchResult(4000.0, 0.25));
        table.add(SIMPLE_1, Target.PGBOUNCER, new PgbenchResult(3200.0, 0.3125));
        table.addRelayCpu(SIMPLE_1, Target.BLUEGREEN, 61.4);
        table.addRelayCpu(SIMPLE_1, Target.PGBOUNCER, 38.6);
        table.addOtherLoad(SIMPLE_1, 2.2);
        table.addOtherLoad(SIMPLE_1, 7.9);
        table.addOtherLoad(SIMPLE_1, 0.4);

        String text = table.text("pgbench -S, scale 10");

        assertThat(text).isEqualTo("""
                pgbench -S, scale 10
                protocol  clients  direct tps  bluegreen tps  pgbouncer tps  bg/direct  bg/pgbouncer  direct ms  \
                bluegreen ms  pgbouncer ms  bluegreen cpu%  pgbouncer cpu%  other load%
                simple    1        5000        4000           3200           0.80       1.25          0.200      \
                0.250         0.313         61              39              8
                bg/pgbouncer round by round:
                  simple, 1 client: 1.25
                """);
    }

    @Test
    void eachCellIsTheMedianOfItsRepeats() {
        ResultsTable table = new ResultsTable();
        for (double tps : new double[] {900, 1000, 5000}) {
            table.add(PREPARED_16, Target.DIRECT, new PgbenchResult(tps, 16_000 / tps));
        }
        for (double tps : new double[] {400, 500, 600, 700}) {
            table.add(PREPARED_16, Target.BLUEGREEN, new PgbenchResult(tps, 16_000 / tps));
        }

        assertThat(table.median(PREPARED_16, Target.DIRECT)).isEqualTo(new PgbenchResult(1000, 16));
        assertThat(table.median(PREPARED_16, Target.BLUEGREEN).tps()).isEqualTo(550);
        // four rounds against three do not pair up: no ratio rather than a made-up one
        assertThat(table.rows().getFirst())
                .containsExactly("prepared", "16", "1000", "550", "-", "-", "-", "16.000", "29.333", "-", "-", "-", "-");
    }

    @Test
    void ratiosAreTheMedianOfTheRatiosWithinEachRoundNotTheRatioOfTheMedians() {
        // the machine ran twice as fast in round 2: every target shows it, their ratio does not
        ResultsTable table = new ResultsTable();
        double[] direct = {1000, 2000, 500};
        double[] bluegreen = {600, 1800, 450};
        for (int round = 0; round < 3; round++) {
            table.add(SIMPLE_1, Target.DIRECT, new PgbenchResult(direct[round], 1));
            table.add(SIMPLE_1, Target.BLUEGREEN, new PgbenchResult(bluegreen[round], 1));
            table.add(SIMPLE_1, Target.PGBOUNCER, new PgbenchResult(direct[round], 1));
        }

        List<String> row = table.rows().getFirst();

        assertThat(row.subList(2, 7)).containsExactly("1000", "600", "1000", "0.90", "0.90");
        assertThat(table.roundsAgainstPgBouncer()).containsExactly("simple, 1 client: 0.60, 0.90, 0.90");
    }

    @Test
    void aFailedRunMarksItsCellFailedTakesItsRatiosAwayAndIsListedUnderTheTable() {
        ResultsTable table = new ResultsTable();
        for (int round = 1; round <= 3; round++) {
            table.add(SIMPLE_1, Target.DIRECT, new PgbenchResult(1000, 1));
            table.add(SIMPLE_1, Target.PGBOUNCER, new PgbenchResult(800, 1.25));
            if (round == 2) {
                table.fail(SIMPLE_1, Target.BLUEGREEN, round, "pgbench exited with code 2");
            } else {
                table.add(SIMPLE_1, Target.BLUEGREEN, new PgbenchResult(900, 1.1));
            }
        }
        table.fail(PREPARED_16, Target.PGBOUNCER, 1, "pgbouncer is not running");

        assertThat(table.rows().get(0).subList(2, 7)).containsExactly("1000", "failed", "800", "-", "-");
        assertThat(table.rows().get(1).subList(0, 7)).containsExactly("prepared", "16", "-", "-", "failed", "-", "-");
        assertThat(table.roundsAgainstPgBouncer()).isEmpty();
        assertThat(table.failures()).containsExactly("simple, 1 client, bluegreen, round 2: pgbench exited with code 2",
                "prepared, 16 clients, pgbouncer, round 1: pgbouncer is not running");
        assertThat(table.text("t")).endsWith("""
                failed runs:
                  - simple, 1 client, bluegreen, round 2: pgbench exited with code 2
                  - prepared, 16 clients, pgbouncer, round 1: pgbouncer is not running
                """);
        assertThat(table.markdown("t")).contains("- simple, 1 client, bluegreen, round 2: pgbench exited with code 2");
    }

    @Test
    void rowsKeepTheOrderScenariosWereFirstMeasuredIn() {
        ResultsTable table = new ResultsTable();
        table.add(PREPARED_16, Target.DIRECT, new PgbenchResult(1, 1));
        table.add(SIMPLE_1, Target.DIRECT, new PgbenchResult(1, 1));
        table.add(PREPARED_16, Target.BLUEGREEN, new PgbenchResult(1, 1));

        assertThat(table.rows()).extracting(row -> row.getFirst()).containsExactly("prepared", "simple");
    }

    @Test
    void theMarkdownTableRightAlignsTheNumbers() {
        ResultsTable table = new ResultsTable();
        table.add(SIMPLE_1, Target.DIRECT, new PgbenchResult(2000, 0.5));
        table.add(SIMPLE_1, Target.BLUEGREEN, new PgbenchResult(1000, 1));
        table.add(SIMPLE_1, Target.PGBOUNCER, new PgbenchResult(1000, 1));

        String markdown = table.markdown("**title**");

        assertThat(markdown).isEqualTo("""
                **title**

                | protocol | clients | direct tps | bluegreen tps | pgbouncer tps | bg/direct | bg/pgbouncer \
                | direct ms | bluegreen ms | pgbouncer ms | bluegreen cpu% | pgbouncer cpu% | other load% |
                | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
                | simple | 1 | 2000 | 1000 | 1000 | 0.50 | 1.00 | 0.500 | 1.000 | 1.000 | - | - | - |

                bg/pgbouncer round by round:

                - simple, 1 client: 1.00
                """);
    }
}
