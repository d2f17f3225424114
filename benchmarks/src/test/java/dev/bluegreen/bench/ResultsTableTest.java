package dev.bluegreen.bench;

import static org.assertj.core.api.Assertions.assertThat;

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
                """);
    }

    @Test
    void eachCellIsTheMedianOfItsRepeatsAndRatiosComeFromTheMedians() {
        ResultsTable table = new ResultsTable();
        for (double tps : new double[] {900, 1000, 5000}) {
            table.add(PREPARED_16, Target.DIRECT, new PgbenchResult(tps, 16_000 / tps));
        }
        for (double tps : new double[] {400, 500, 600, 700}) {
            table.add(PREPARED_16, Target.BLUEGREEN, new PgbenchResult(tps, 16_000 / tps));
        }

        assertThat(table.median(PREPARED_16, Target.DIRECT)).isEqualTo(new PgbenchResult(1000, 16));
        assertThat(table.median(PREPARED_16, Target.BLUEGREEN).tps()).isEqualTo(550);
        assertThat(table.rows().getFirst())
                .containsExactly("prepared", "16", "1000", "550", "-", "0.55", "-", "16.000", "29.333", "-", "-", "-", "-");
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
                """);
    }
}
