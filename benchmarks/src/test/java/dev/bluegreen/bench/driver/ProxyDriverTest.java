package dev.bluegreen.bench.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bluegreen.bench.driver.ControlProtocol.Ok;
import dev.bluegreen.bench.driver.ControlProtocol.Refused;
import dev.bluegreen.bench.driver.ControlProtocol.Reply;
import dev.bluegreen.config.Overrides;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProxyDriverTest {

    private final RoutingControl routing = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(1));
    private final MigrationStats stats = new MigrationStats();

    @Test
    void theFlagsAreTheProxysOwnAndAllRequired() {
        Overrides overrides = ProxyDriver.overrides(List.of("--listen", "127.0.0.1:7000", "--admin", "127.0.0.1:7001",
                "--state-dir", "/tmp/s", "--blue", "postgresql://postgres@127.0.0.1:5433/postgres",
                "--green", "postgresql://postgres@127.0.0.1:5434/postgres"));

        assertThat(overrides).isEqualTo(new Overrides("127.0.0.1:7000", "postgresql://postgres@127.0.0.1:5433/postgres",
                "postgresql://postgres@127.0.0.1:5434/postgres", "127.0.0.1:7001", Path.of("/tmp/s")));
        assertThatThrownBy(() -> ProxyDriver.overrides(List.of("--listen", "127.0.0.1:7000")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageEndingWith("is required");
    }

    @Test
    void startThenWeightPutsGreenOnHalfTheReadsWithDualWriteOn() {
        ProxyDriver.handle(new ControlProtocol.Start(), routing, stats);

        Reply reply = ProxyDriver.handle(new ControlProtocol.SetWeight(50), routing, stats);

        assertThat(reply).isInstanceOfSatisfying(Ok.class, ok -> {
            assertThat(ok.state().phase()).isEqualTo("DUAL");
            assertThat(ok.state().weight()).isEqualTo(50);
            assertThat(ok.state().inSync()).isTrue();
        });
    }

    @Test
    void aWeightBeforeStartIsRefusedWithTheProxysReasonAndChangesNothing() {
        Reply reply = ProxyDriver.handle(new ControlProtocol.SetWeight(50), routing, stats);

        assertThat(reply).isInstanceOfSatisfying(Refused.class,
                refused -> assertThat(refused.reason()).contains("start first"));
        assertThat(routing.current()).isEqualTo(RoutingState.initial());
    }

    @Test
    void abortLeavesBlueAloneAgain() {
        ProxyDriver.handle(new ControlProtocol.Start(), routing, stats);

        Reply reply = ProxyDriver.handle(new ControlProtocol.Abort(), routing, stats);

        assertThat(reply).isInstanceOfSatisfying(Ok.class, ok -> assertThat(ok.state().blueAlone()).isTrue());
    }
}
