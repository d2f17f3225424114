package dev.bluegreen.bench.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bluegreen.bench.driver.ControlProtocol.Command;
import dev.bluegreen.bench.driver.ControlProtocol.Ok;
import dev.bluegreen.bench.driver.ControlProtocol.Refused;
import dev.bluegreen.bench.driver.ControlProtocol.Reply;
import dev.bluegreen.bench.driver.ControlProtocol.State;
import java.util.List;
import org.junit.jupiter.api.Test;

class ControlProtocolTest {

    @Test
    void everyCommandReadsBackFromTheLineItSends() {
        List<Command> commands = List.of(new ControlProtocol.Start(), new ControlProtocol.SetWeight(50),
                new ControlProtocol.Abort(), new ControlProtocol.Status());

        assertThat(commands).extracting(Command::line).containsExactly("start", "weight 50", "abort", "state");
        assertThat(commands).allSatisfy(command -> assertThat(Command.parse(command.line())).isEqualTo(command));
    }

    @Test
    void anythingElseIsNotACommand() {
        for (String line : List.of("", "stop", "weight", "weight fifty", "weight 1000", "start now")) {
            assertThatThrownBy(() -> Command.parse(line))
                    .as(line)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("start, weight N, abort or state");
        }
    }

    @Test
    void aStateReplyCarriesTheRoutingStateAndTheCountersBothWays() {
        Ok ok = new Ok(new State(3, "DUAL", 50, true, 1200, 1180, 0));

        assertThat(ok.line()).isEqualTo("bench-control ok epoch=3 phase=DUAL weight=50 in-sync=true "
                + "blue-units=1200 green-units=1180 divergences=0");
        assertThat(Reply.parse(ok.line())).isEqualTo(ok);
    }

    @Test
    void aRefusalKeepsItsReasonOnOneLine() {
        Refused refused = new Refused("green is out of sync:\n it missed writes");

        assertThat(refused.line()).isEqualTo("bench-control refused green is out of sync: it missed writes");
        assertThat(Reply.parse(refused.line())).isEqualTo(refused);
    }

    @Test
    void aReplyWithMissingOrUnknownFieldsIsRejectedRatherThanGuessed() {
        assertThatThrownBy(() -> Reply.parse("bench-control ok epoch=3 phase=DUAL weight=50"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected [epoch, phase, weight, in-sync");
        assertThatThrownBy(() -> Reply.parse("bench-control ok epoch=3 phase=DUAL weight=50 in-sync=yes "
                + "blue-units=0 green-units=0 divergences=0"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("in-sync is 'yes'");
        assertThatThrownBy(() -> Reply.parse("bench-control maybe"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown reply 'maybe'");
    }

    @Test
    void theDriverClassIsNamedRightWithoutTheHarnessLoadingIt() {
        assertThat(ControlProtocol.DRIVER_CLASS).isEqualTo(ProxyDriver.class.getName());
    }
}
