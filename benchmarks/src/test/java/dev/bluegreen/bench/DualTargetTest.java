package dev.bluegreen.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bluegreen.bench.driver.ControlProtocol.Abort;
import dev.bluegreen.bench.driver.ControlProtocol.SetWeight;
import dev.bluegreen.bench.driver.ControlProtocol.Start;
import dev.bluegreen.bench.driver.ControlProtocol.State;
import org.junit.jupiter.api.Test;

class DualTargetTest {

    private static final State BLUE_ALONE = new State(1, "BLUE", 0, false, 0, 0, 0);
    private static final State DUAL_AT_0 = new State(2, "DUAL", 0, true, 0, 0, 0);
    private static final State DUAL_AT_50 = new State(3, "DUAL", 50, true, 0, 0, 0);
    private static final State OUT_OF_SYNC = new State(4, "DUAL", 0, false, 0, 0, 1);

    @Test
    void fromBlueAloneDualWriteStartsAndThenTheWeightIsSet() {
        assertThat(DualTarget.WEIGHT_50.commandsFrom(BLUE_ALONE)).containsExactly(new Start(), new SetWeight(50));
    }

    @Test
    void weightZeroNeedsOnlyStartBecauseDualWriteBeginsThere() {
        assertThat(DualTarget.WEIGHT_0.commandsFrom(BLUE_ALONE)).containsExactly(new Start());
    }

    @Test
    void withDualWriteOnAndGreenInSyncOnlyTheWeightChanges() {
        assertThat(DualTarget.WEIGHT_100.commandsFrom(DUAL_AT_50)).containsExactly(new SetWeight(100));
    }

    @Test
    void aStateThatAlreadyHoldsNeedsNoCommand() {
        assertThat(DualTarget.WEIGHT_50.commandsFrom(DUAL_AT_50)).isEmpty();
        assertThat(DualTarget.DUAL_WRITE_OFF.commandsFrom(BLUE_ALONE)).isEmpty();
        assertThat(DualTarget.DIRECT.commandsFrom(DUAL_AT_50)).isEmpty();
        assertThat(DualTarget.BOTH_DIRECT.commandsFrom(OUT_OF_SYNC)).isEmpty();
    }

    @Test
    void onlyDirectAndBothClustersDirectlyGoAroundTheProxy() {
        assertThat(DualTarget.values()).filteredOn(target -> !target.throughProxy())
                .containsExactly(DualTarget.DIRECT, DualTarget.BOTH_DIRECT);
    }

    @Test
    void dualWriteOffIsReachedByAbort() {
        assertThat(DualTarget.DUAL_WRITE_OFF.commandsFrom(DUAL_AT_0)).containsExactly(new Abort());
    }

    @Test
    void greenOutOfSyncIsAbortedAndStartedAfreshSinceItMayServeNoReadsUntilThen() {
        assertThat(DualTarget.WEIGHT_50.commandsFrom(OUT_OF_SYNC)).containsExactly(new Abort(), new Start(),
                new SetWeight(50));
        assertThat(DualTarget.WEIGHT_0.commandsFrom(OUT_OF_SYNC)).containsExactly(new Abort(), new Start());
    }

    @Test
    void aDualWriteTargetDoesNotHoldOnceGreenFellOutOfSyncEvenAtTheSameWeight() {
        assertThat(DualTarget.WEIGHT_0.holdsIn(DUAL_AT_0)).isTrue();
        assertThat(DualTarget.WEIGHT_0.holdsIn(OUT_OF_SYNC)).isFalse();
        assertThat(DualTarget.WEIGHT_50.holdsIn(DUAL_AT_0)).isFalse();
        assertThat(DualTarget.DUAL_WRITE_OFF.holdsIn(DUAL_AT_0)).isFalse();
    }

    @Test
    void greenLeadingIsAStateTheHarnessNeverMakesSoItRefusesToGuess() {
        State cutover = new State(9, "CUTOVER", 100, true, 0, 0, 0);

        assertThatThrownBy(() -> DualTarget.DUAL_WRITE_OFF.commandsFrom(cutover))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("phase CUTOVER");
    }
}
