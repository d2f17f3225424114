package dev.bluegreen.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.bluegreen.config.HealthRule.Action;
import dev.bluegreen.config.HealthRule.Comparison;
import dev.bluegreen.config.HealthRule.Metric;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The {@code health} and {@code state_store} sections, and {@code --state-store}. */
class ControlPlaneConfigTest {

    private static final Map<String, String> ENV = Map.of("STORE_PW", "store-s3cret");

    private static final String BLUE = """
      clusters:
        blue: { host: db-blue.internal }
      """;

    @TempDir Path dir;

    private final ConfigLoader loader = new ConfigLoader(ENV::get);

    private BluegreenConfig load(String section) throws Exception {
        return loader.read(yaml(BLUE + section), Overrides.none(), false);
    }

    private List<String> problems(String section, Overrides overrides) throws IOException {
        Path file = yaml(BLUE + section);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> loader.read(file, overrides, false));
        assertThat(e).as("expected the configuration to be refused").isNotNull();
        return e.problems().stream().map(Problem::toString).toList();
    }

    private Path yaml(String text) throws IOException {
        return Files.writeString(dir.resolve("bluegreen-" + System.nanoTime() + ".yaml"), text);
    }

    @Test
    void anInstanceTimeoutDerivedFromALongHeartbeatIsAtMost24h() throws Exception {
        StateStoreConfig store = load("state_store: { url: postgresql://h/db, heartbeat: 12h }\n").stateStore();

        assertThat(store.instanceTimeout()).isEqualTo(Duration.ofHours(24));
    }

    @Test
    void withoutEitherSectionTheDesignsRulesAndTheFileStoreHold() throws Exception {
        BluegreenConfig config = load("");

        assertThat(config.health()).isEqualTo(Health.defaults());
        assertThat(config.health().rules()).extracting(HealthRule::name).containsExactly(
                "error_rate > 0.05", "latency_p95_ratio > 2", "error_rate > 0.10", "divergences > 0");
        assertThat(config.health().rules()).extracting(HealthRule::action).containsExactly(
                Action.PAUSE, Action.WARN, Action.ROLLBACK, Action.ROLLBACK);
        assertThat(config.stateStore()).isEqualTo(StateStoreConfig.file());
    }

    @Test
    void readsRulesThatReplaceTheDefaultsWhole() throws Exception {
        Health health = load("""
        health:
          window: 30s
          rules:
            - { metric: error_rate, op: ">", threshold: 0.2, action: rollback, min_samples: 10 }
            - { name: slow reads, metric: latency_p99_ratio, op: ge, threshold: 3, action: pause }
        """).health();

        assertThat(health.window()).isEqualTo(Duration.ofSeconds(30));
        assertThat(health.rules()).containsExactly(
                new HealthRule("error_rate > 0.2", Metric.ERROR_RATE, Comparison.GREATER, 0.2, Action.ROLLBACK, 10),
                new HealthRule("slow reads", Metric.LATENCY_P99_RATIO, Comparison.GREATER_OR_EQUAL, 3, Action.PAUSE,
                        Health.DEFAULT_MIN_SAMPLES));
    }

    @Test
    void namesARuleByItsThresholdAsWritten() throws Exception {
        Health health = load("""
        health:
          rules:
            - { metric: latency_p95_ratio, op: ">", threshold: 1e1, action: warn }
            - { metric: error_rate, op: ">", threshold: 0.10, action: rollback }
        """).health();

        assertThat(health.rules()).extracting(HealthRule::name)
                .containsExactly("latency_p95_ratio > 1e1", "error_rate > 0.10");
        assertThat(health.rules()).extracting(HealthRule::threshold).containsExactly(10.0, 0.1);
    }

    @Test
    void readsAPostgresStoreFromAUrlOrAMappingAndTheFlagWins() throws Exception {
        StateStoreConfig fromUrl = load("state_store: postgresql://bg:pw@state.internal:5433/bluegreen\n").stateStore();
        StateStoreConfig fromMapping = load("""
        state_store:
          url: postgresql://bg@state.internal/bluegreen?sslmode=require
          heartbeat: 500ms
          instance_timeout: 3s
        """).stateStore();
        StateStoreConfig fromFlag = loader.read(yaml(BLUE + "state_store: postgresql://x/y\n"),
                new Overrides(null, null, null, null, null, "file"), false).stateStore();

        assertThat(fromUrl.kind()).isEqualTo(StateStoreConfig.Kind.POSTGRES);
        assertThat(fromUrl.database().host()).isEqualTo("state.internal");
        assertThat(fromUrl.database().port()).isEqualTo(5433);
        assertThat(fromUrl.database().database()).isEqualTo("bluegreen");
        assertThat(fromUrl.database().password().reveal()).isEqualTo("pw");
        assertThat(fromUrl.database().tlsMode()).isEqualTo(TlsMode.VERIFY_FULL);
        assertThat(fromUrl.describe()).isEqualTo("postgres at state.internal:5433").doesNotContain("pw");
        assertThat(fromMapping.heartbeat()).isEqualTo(Duration.ofMillis(500));
        assertThat(fromMapping.instanceTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(fromMapping.database().tlsMode()).isEqualTo(TlsMode.REQUIRE);
        assertThat(fromFlag).isEqualTo(StateStoreConfig.file());
    }

    @Test
    void theStoresUserAndPasswordKeysOverrideTheUrlsAndThePasswordMayBeAReference() throws Exception {
        Cluster database = load("""
        state_store:
          url: postgresql://from-url:url-pw@state.internal/bluegreen
          user: bluegreen
          password: "${env:STORE_PW}"
        """).stateStore().database();

        assertThat(database.user()).isEqualTo("bluegreen");
        assertThat(database.password()).isEqualTo(Secret.of("store-s3cret"));
        assertThat(database.host()).isEqualTo("state.internal");
    }

    static Stream<Arguments> oneProblemEach() {
        return Stream.of(
                Arguments.of("health: { window: 0s }\n", "health.window: must be whole seconds from 2s to 1h"),
                Arguments.of("health: { window: 1s }\n", "health.window: must be whole seconds from 2s to 1h"),
                Arguments.of("health: { window: 1500ms }\n", "health.window: must be whole seconds from 2s to 1h"),
                Arguments.of("health: { rules: [ { metric: p95, op: \">\", threshold: 1, action: warn } ] }\n",
                        "health.rules[0].metric: expected error_rate, latency_p95_ratio, latency_p99_ratio or divergences,"
                                + " got \"p95\""),
                Arguments.of("health: { rules: [ { metric: error_rate, op: \"=\", threshold: 1, action: warn } ] }\n",
                        "health.rules[0].op: expected \">\", \">=\", \"<\" or \"<=\" (or gt, ge, lt, le), got \"=\""),
                Arguments.of("health: { rules: [ { metric: error_rate, op: \">\", threshold: 5, action: warn } ] }\n",
                        "health.rules[0].threshold: an error rate is between 0 and 1 (0.05 is 5 %)"),
                Arguments.of("health: { rules: [ { metric: divergences, op: \">\", threshold: lots, action: warn } ] }\n",
                        "health.rules[0].threshold: not a number \"lots\""),
                Arguments.of("health: { rules: [ { metric: divergences, op: \">\", threshold: 1e400, action: warn } ] }\n",
                        "health.rules[0].threshold: not a finite number \"1e400\""),
                Arguments.of("health: { rules: [ { metric: divergences, op: \">\", threshold: NaN, action: warn } ] }\n",
                        "health.rules[0].threshold: not a number \"NaN\""),
                Arguments.of("health: { rules: [ { metric: divergences, op: \">\", threshold: -1, action: warn } ] }\n",
                        "health.rules[0].threshold: must be a number of at least 0"),
                Arguments.of("health: { rules: [ { metric: divergences, op: \">\", threshold: 0, action: page } ] }\n",
                        "health.rules[0].action: expected warn, pause or rollback, got \"page\""),
                Arguments.of("health: { rules: [ { metric: divergences, op: \">\", threshold: 0 } ] }\n",
                        "health.rules[0].action: required"),
                Arguments.of("health: { rules: [ { metric: divergences, op: \">\", threshold: 0, action: warn },"
                                + " { metric: divergences, op: \">\", threshold: 0, action: pause } ] }\n",
                        "health.rules[1].name: duplicate rule name \"divergences > 0\" (also health.rules[0]); give each"
                                + " a name"),
                Arguments.of("state_store: redis://x\n", "state_store: expected file or a postgresql:// URL"),
                Arguments.of("state_store: postgresql://state.internal\n",
                        "state_store: the URL must name the database that holds the state (postgresql://host/DATABASE)"),
                Arguments.of("state_store: { heartbeat: 1s }\n", "state_store.url: required: file or postgresql://…"),
                Arguments.of("state_store: { url: postgresql://h/db, heartbeat: 2s, instance_timeout: 3s }\n",
                        "state_store.instance_timeout: must be at least two heartbeats (4000 ms)"),
                Arguments.of("state_store: { url: file, beat: 2s }\n", "state_store.beat: unknown key"),
                Arguments.of("state_store: { url: postgresql://h/db, heartbeat: 25h, instance_timeout: 24h }\n",
                        "state_store.heartbeat: must be at most 24h"),
                Arguments.of("state_store: { url: postgresql://h/db, heartbeat: 13h }\n",
                        "state_store.heartbeat: must be at most 12h"),
                Arguments.of("state_store: { url: postgresql://h/db, instance_timeout: 100000h }\n",
                        "state_store.instance_timeout: must be at most 24h"),
                Arguments.of("health: { window: 100000h }\n", "health.window: must be whole seconds from 2s to 1h"),
                Arguments.of("state_store: { url: file, password: x }\n",
                        "state_store.password: only used with a postgresql:// URL"),
                Arguments.of("peering: { peers: { 2: \"h:6432\" } }\n",
                        "peering.id: required: this instance's id, 1-255"),
                Arguments.of("peering: { id: 1, peers: { 1: \"h:6432\" } }\n",
                        "peering.peers.1: is this instance's own id; list only the others"),
                Arguments.of("peering: { id: 1, peers: { two: \"h:6432\" } }\n",
                        "peering.peers.two: a peer is named by its id, 1-255"),
                Arguments.of("peering: { id: 1, peers: { 256: \"h:6432\" } }\n",
                        "peering.peers.256: a peer is named by its id, 1-255"),
                Arguments.of("peering: { id: 1, peers: { \"02\": \"h:6432\" } }\n",
                        "peering.peers.02: a peer is named by its id, 1-255"),
                Arguments.of("peering: { id: 1, peers: { 2: \"127.0.0.1:6432\" } }\n",
                        "peering.peers.2: is this instance's own listener (127.0.0.1:6432); give the peer's"),
                Arguments.of("peering: { id: 1, peers: { 2: \"db internal:6432\" } }\n",
                        "peering.peers.2: not a host name or IP address \"db internal:6432\""),
                Arguments.of("state_store: { url: file, heartbeat: 1s }\n",
                        "state_store.heartbeat: only used with a postgresql:// URL"),
                Arguments.of("state_store: { url: file, instance_timeout: 9s }\n",
                        "state_store.instance_timeout: only used with a postgresql:// URL"),
                Arguments.of("health: { rules: [ { metric: divergences, op: \">\", threshold: 0, action: warn, name: \" \" } ] }\n",
                        "health.rules[0].name: must not be blank"),
                Arguments.of("state_store: { url: postgresql://h/db, password: \"${env:NOPE}\" }\n",
                        "state_store.password: environment variable NOPE is not set"),
                Arguments.of("state_store: { url: postgresql://h/db, user: \"\" }\n",
                        "state_store.user: must not be empty"));
    }

    @ParameterizedTest
    @MethodSource("oneProblemEach")
    void reportsEachProblemAtItsPath(String section, String problem) throws Exception {
        assertThat(problems(section, Overrides.none())).containsExactly(problem);
    }

    @Test
    void aBadFlagIsReportedAtTheFlag() throws Exception {
        assertThat(problems("", new Overrides(null, null, null, null, null, "mysql://db/x")))
                .containsExactly("--state-store: expected file or a postgresql:// URL");
    }

    @Test
    void neverShowsTheStoresPasswordInAProblemOrADescription() throws Exception {
        List<String> problems = problems("state_store: \"postgresql://bg:store-s3cret@h:99999/db\"\n",
                Overrides.none());
        StateStoreConfig store = load("state_store: \"postgresql://bg:store-s3cret@h/db\"\n").stateStore();

        assertThat(String.join("\n", problems)).doesNotContain("s3cret");
        assertThat(store.describe() + store).doesNotContain("s3cret");
    }

    @Test
    void peersAreNamedByTheirIds() throws Exception {
        Peering peering = load("peering: { id: 1, peers: { 2: \"10.0.0.12:6432\", 3: \"bg-3.internal:6433\" } }\n").peering();

        assertThat(peering.id()).isEqualTo(1);
        assertThat(peering.peers()).containsOnly(Map.entry(2, new HostPort("10.0.0.12", 6432)),
                Map.entry(3, new HostPort("bg-3.internal", 6433)));
        assertThat(load("").peering()).isEqualTo(Peering.none());
    }
}
