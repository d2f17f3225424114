package dev.bluegreen.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class MachineLoadTest {

    @Test
    void aProcessTreesTicksOverASpanAreItsShareOfOneCore() {
        // 150 ticks of 10 ms over 3 s: half a core
        assertThat(MachineLoad.percentOfOneCore(OptionalLong.of(1000), OptionalLong.of(1150), 3_000_000_000L))
                .hasValueCloseTo(50.0, within(1e-9));
        assertThat(MachineLoad.percentOfOneCore(OptionalLong.empty(), OptionalLong.of(1150), 3_000_000_000L)).isEmpty();
        assertThat(MachineLoad.treeTicks(OptionalLong.of(ProcessHandle.current().pid()))).isPresent();
        assertThat(MachineLoad.treeTicks(OptionalLong.empty())).isEmpty();
        assertThat(MachineLoad.treeTicks(OptionalLong.of(-1))).as("a cluster that is stopped").isEmpty();
    }

    @Test
    void machineTicksCountIdleAndIowaitAsIdleAndLeaveGuestTimeInsideUser() {
        long[] ticks = MachineLoad.machineTicks("cpu  1000 10 300 5000 200 0 40 50 99 0");

        assertThat(ticks).containsExactly(6600, 1400);
    }

    @Test
    void processTicksAddOwnAndReapedChildrenTimeEvenWhenTheCommandHoldsSpacesAndParentheses() {
        String stat = "4242 (postgres: idle (x)) S 1 4242 4242 0 -1 4194560 900 0 0 0 "
                + "120 30 7 3 20 0 1 0 100 1000000 500 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

        assertThat(MachineLoad.processTicks(stat)).isEqualTo(160);
    }

    @Test
    void otherLoadIsBusyTimeNotSpentByTheHarnessAsAShareOfAllCores() {
        MachineLoad.Sample before = new MachineLoad.Sample(10_000, 4_000, 2_000);
        MachineLoad.Sample after = new MachineLoad.Sample(13_000, 6_500, 4_000);

        assertThat(MachineLoad.otherPercent(before, after)).isCloseTo(16.667, within(0.001));
    }

    @Test
    void otherLoadNeverGoesNegativeWhenOurCountRunsAheadOfTheMachine() {
        MachineLoad.Sample before = new MachineLoad.Sample(10_000, 4_000, 2_000);
        MachineLoad.Sample after = new MachineLoad.Sample(13_000, 5_000, 3_100);

        assertThat(MachineLoad.otherPercent(before, after)).isZero();
    }
}
