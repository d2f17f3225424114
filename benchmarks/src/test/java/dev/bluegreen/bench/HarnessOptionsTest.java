package dev.bluegreen.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bluegreen.bench.HarnessOptions.Suite;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HarnessOptionsTest {

    private static final Path ROOT = Path.of("/repo");

    @Test
    void noArgumentsGiveTheDocumentedDefaults() {
        HarnessOptions options = HarnessOptions.parse(List.of(), ROOT);

        assertThat(options).isEqualTo(new HarnessOptions(Set.of(Suite.RELAY, Suite.DUAL), 15, 5, 1, 10, 0,
                List.of(1, 16), List.of("simple", "prepared"), Path.of("/repo/proxy/target/bluegreen-proxy.jar"),
                Path.of("/repo/benchmarks/target/pgbench-results.md")));
    }

    @Test
    void everyOptionOverridesItsDefault() {
        HarnessOptions options = HarnessOptions.parse(List.of("--scenarios", "relay", "--duration", "30",
                "--warmup", "0", "--repeat", "3", "--scale", "1", "--threads", "4", "--clients", "1,8,64",
                "--protocols", "extended", "--proxy-jar", "/tmp/p.jar", "--out", "out.md"), ROOT);

        assertThat(options).isEqualTo(new HarnessOptions(Set.of(Suite.RELAY), 30, 0, 3, 1, 4, List.of(1, 8, 64),
                List.of("extended"), Path.of("/tmp/p.jar"), Path.of("/repo/out.md")));
    }

    @Test
    void theDualWriteScenariosCanRunAlone() {
        HarnessOptions options = HarnessOptions.parse(List.of("--scenarios", "dual"), ROOT);

        assertThat(options.suites()).containsExactly(Suite.DUAL);
    }

    @Test
    void scenariosListedTwiceOrWithSpacesRunOnce() {
        HarnessOptions options = HarnessOptions.parse(List.of("--scenarios", "dual, relay,dual"), ROOT);

        assertThat(options.suites()).containsExactlyInAnyOrder(Suite.RELAY, Suite.DUAL);
    }

    @Test
    void anUnknownScenarioGroupIsRefusedWithTheChoices() {
        assertThatThrownBy(() -> HarnessOptions.parse(List.of("--scenarios", "dual,tpcb"), ROOT))
                .isInstanceOf(HarnessOptions.UsageException.class)
                .hasMessageContaining("'tpcb' is not one of relay, dual");
    }

    @Test
    void threadsNeverExceedClients() {
        HarnessOptions defaults = HarnessOptions.parse(List.of(), ROOT);
        HarnessOptions four = HarnessOptions.parse(List.of("--threads", "4"), ROOT);

        assertThat(defaults.threadsFor(1)).isEqualTo(1);
        assertThat(defaults.threadsFor(16)).isEqualTo(2);
        assertThat(four.threadsFor(2)).isEqualTo(2);
        assertThat(four.threadsFor(16)).isEqualTo(4);
    }

    @Test
    void anUnknownProtocolIsRefusedWithTheChoices() {
        assertThatThrownBy(() -> HarnessOptions.parse(List.of("--protocols", "simple,binary"), ROOT))
                .isInstanceOf(HarnessOptions.UsageException.class)
                .hasMessageContaining("'binary' is not one of simple, extended, prepared");
    }

    @Test
    void aZeroDurationIsRefused() {
        assertThatThrownBy(() -> HarnessOptions.parse(List.of("--duration", "0"), ROOT))
                .isInstanceOf(HarnessOptions.UsageException.class)
                .hasMessageContaining("--duration must be at least 1");
    }

    @Test
    void anOptionWithoutItsValueIsRefused() {
        assertThatThrownBy(() -> HarnessOptions.parse(List.of("--repeat"), ROOT))
                .isInstanceOf(HarnessOptions.UsageException.class)
                .hasMessageContaining("--repeat needs a value");
    }

    @Test
    void anUnknownOptionIsNamedEvenWhenItComesLast() {
        assertThatThrownBy(() -> HarnessOptions.parse(List.of("--duration", "5", "--bogus"), ROOT))
                .isInstanceOf(HarnessOptions.UsageException.class)
                .hasMessage("unknown option --bogus");
    }
}
