package dev.bluegreen.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class DualScenarioTest {

    private static final DualScenario SELECT_ONLY = new DualScenario(Workload.SELECT_ONLY, "simple");
    private static final DualScenario TPCB = new DualScenario(Workload.TPCB_LIKE, "simple");

    @Test
    void selectOnlyRunsAtEveryWeightAndTpcbWithDualWriteOffAndOnBesideDirect() {
        assertThat(SELECT_ONLY.targets()).containsExactly(DualTarget.DIRECT, DualTarget.BOTH_DIRECT,
                DualTarget.DUAL_WRITE_OFF, DualTarget.WEIGHT_0, DualTarget.WEIGHT_50, DualTarget.WEIGHT_100);
        assertThat(TPCB.targets()).containsExactly(DualTarget.DIRECT, DualTarget.BOTH_DIRECT,
                DualTarget.DUAL_WRITE_OFF, DualTarget.WEIGHT_0);
    }

    @Test
    void bothClustersDirectlyGetWhatDualWriteAsksOfThemEveryWriteOnEachOrHalfTheReadsOnEach() {
        PgbenchResult blue = new PgbenchResult(600, 20);
        PgbenchResult green = new PgbenchResult(400, 40);

        assertThat(TPCB.bothDirectClients()).isEqualTo(16);
        assertThat(TPCB.bothDirect(blue, green)).isEqualTo(new PgbenchResult(500, 28));
        assertThat(SELECT_ONLY.bothDirectClients()).isEqualTo(8);
        assertThat(SELECT_ONLY.bothDirect(blue, green)).isEqualTo(new PgbenchResult(1000, 28));
        assertThat(SELECT_ONLY.bothDirect(new PgbenchResult(0, 0), new PgbenchResult(0, 0)))
                .isEqualTo(new PgbenchResult(0, 0));
    }

    @Test
    void theIssueSetsTwoGoalsTpcbWithDualWriteAgainstDirectAndWeight50AgainstDualWriteOff() {
        assertThat(TPCB.goal(DualTarget.WEIGHT_0)).contains(new DualScenario.Goal(DualTarget.DIRECT, 0.4));
        assertThat(SELECT_ONLY.goal(DualTarget.WEIGHT_50))
                .contains(new DualScenario.Goal(DualTarget.DUAL_WRITE_OFF, 0.8));
        assertThat(SELECT_ONLY.goal(DualTarget.WEIGHT_0)).isEmpty();
        assertThat(TPCB.goal(DualTarget.DUAL_WRITE_OFF)).isEmpty();
    }

    @Test
    void aGoalIsMetAtExactlyItsRatioAndMissedJustBelow() {
        DualScenario.Goal goal = new DualScenario.Goal(DualTarget.DIRECT, 0.4);

        assertThat(goal.met(OptionalDouble.of(0.4))).contains(true);
        assertThat(goal.met(OptionalDouble.of(0.399))).contains(false);
        assertThat(goal.met(OptionalDouble.empty())).isEmpty();
        assertThat(goal.text()).isEqualTo(">= 0.40 x direct");
    }

    @Test
    void aMissThatTheTwoDecimalsWouldHideIsSpelledOut() {
        DualScenario.Goal goal = new DualScenario.Goal(DualTarget.DUAL_WRITE_OFF, 0.8);

        assertThat(goal.verdict(OptionalDouble.of(0.8))).isEqualTo("yes");
        assertThat(goal.verdict(OptionalDouble.of(0.796))).isEqualTo("NO (0.796)");
        assertThat(goal.verdict(OptionalDouble.of(0.79))).isEqualTo("NO");
        assertThat(goal.verdict(OptionalDouble.empty())).isEqualTo("-");
    }
}
