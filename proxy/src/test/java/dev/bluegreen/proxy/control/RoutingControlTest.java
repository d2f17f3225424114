package dev.bluegreen.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bluegreen.proxy.routing.ClusterRole;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The orchestrator: decisions applied, refusals explained, barriers respected, every change recorded. */
class RoutingControlTest {

    @Test
    void aJourneyIsAppliedRecordedAndAnnounced() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));
        List<RoutingState> announced = new ArrayList<>();
        control.onChange(announced::add);

        control.start("alice");
        control.setWeight("alice", 100);
        RoutingState cutover = control.cutover("alice");
        RoutingState back = control.rollback("auto", "error_rate 0.12 > 0.10", false);

        assertThat(cutover.leader()).isEqualTo(ClusterRole.GREEN);
        assertThat(back.leader()).isEqualTo(ClusterRole.BLUE);
        assertThat(control.current()).isEqualTo(back);
        assertThat(announced).extracting(RoutingState::epoch).containsExactly(2L, 3L, 4L, 5L);
        assertThat(control.history()).extracting(RoutingControl.HistoryEntry::command)
                .containsExactly("start", "set-weight 100", "cutover", "rollback");
        assertThat(control.history().get(3).actor()).isEqualTo("auto");
        assertThat(control.history().get(3).reason()).isEqualTo("error_rate 0.12 > 0.10");
    }

    @Test
    void aRefusedCommandChangesNothingAndSaysWhy() {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));

        assertThatThrownBy(() -> control.setWeight("bob", 10))
                .isInstanceOf(RoutingControl.Refused.class).hasMessageContaining("sync dual-write");
        assertThat(control.current()).isEqualTo(RoutingState.initial());
        assertThat(control.history()).isEmpty();
    }

    @Test
    void aBarrierHeldUpByAWriteUnitTimesOutNamingItAndChangesNothing() {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofMillis(100));
        control.barrier().tryEnter(control.barrier().pass("session-42"), () -> { });

        assertThatThrownBy(() -> control.start("carol"))
                .isInstanceOf(RoutingControl.Refused.class)
                .hasMessageContaining("start did not happen")
                .hasMessageContaining("session-42");
        assertThat(control.current().phase()).isEqualTo(Phase.BLUE);
    }

    @Test
    void aDivergenceTakesTheWeightBackOnceAndNeverThrows() throws Exception {
        RoutingControl control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(5));
        control.start("alice");
        control.setWeight("alice", 50);

        control.followerOutOfSync("dual-write", "UPDATE 1 vs UPDATE 0");
        control.followerOutOfSync("dual-write", "again");

        assertThat(control.current().weight()).isZero();
        assertThat(control.current().followerInSync()).isFalse();
        assertThat(control.history()).hasSize(3);
    }
}
