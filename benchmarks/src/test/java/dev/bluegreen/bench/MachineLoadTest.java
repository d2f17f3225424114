package dev.bluegreen.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

class MachineLoadTest {

    @Test
    void aProcessTreesTicksOverASpanAreItsShareOfOneCore() {
        // 150 ticks of 10 ms over 3 s: half a core
        assertThat(MachineLoad.percentOfOneCore(OptionalLong.of(1000), OptionalLong.of(1150), 3_000_000_000L))
                .hasValueCloseTo(50.0, within(1e-9));
        assertThat(MachineLoad.percentOfOneCore(OptionalLong.empty(), OptionalLong.of(1150), 3_000_000_000L)).isEmpty();
        assertThat(MachineLoad.percentOfOneCore(OptionalLong.of(1150), OptionalLong.of(20), 3_000_000_000L))
                .as("fewer ticks after than before: another process").isEmpty();
        assertThat(MachineLoad.treeTicks(OptionalLong.empty())).isEmpty();
        assertThat(MachineLoad.treeTicks(OptionalLong.of(-1))).as("a cluster that is stopped").isEmpty();
    }

    /** What a postmaster's figure rests on: a child's CPU stays in its parent's tree, running and once reaped. */
    @Test
    @EnabledOnOs(OS.LINUX)
    void aProcessTreeCountsItsChildrenRunningAndReaped() throws Exception {
        String loop = "i=0; while [ $i -lt 600000 ]; do i=$((i+1)); done"; // a few tenths of a second of CPU
        OptionalLong self = OptionalLong.of(ProcessHandle.current().pid());
        long before = MachineLoad.treeTicks(self).orElseThrow();
        Process child = new ProcessBuilder("sh", "-c", loop + "; echo half; " + loop).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(out.readLine()).isEqualTo("half");
            long running = MachineLoad.treeTicks(self).orElseThrow() - before;
            assertThat(child.waitFor()).isZero();
            long reaped = MachineLoad.treeTicks(self).orElseThrow() - before;

            assertThat(running).as("the first loop's CPU, the child still running").isGreaterThanOrEqualTo(10);
            assertThat(reaped - running).as("the second loop's, in this JVM's cutime once reaped").isGreaterThanOrEqualTo(10);
        }
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
