package dev.bluegreen.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The {@code routing} section: stickiness, the tenant's source, pins, the barrier's timeout, write functions. */
class RoutingConfigTest {

    private static final Map<String, String> ENV = Map.of("STICKY", "tenant", "PIN", "purple-s3cret");

    private static final String BLUE = """
      clusters:
        blue: { host: db-blue.internal }
      """;

    @TempDir Path dir;

    private final ConfigLoader loader = new ConfigLoader(ENV::get);

    private Routing routing(String section) throws Exception {
        return loader.read(yaml(BLUE + section), Overrides.none(), false).routing();
    }

    private List<String> problems(String section) throws IOException {
        Path file = yaml(BLUE + section);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> loader.read(file, Overrides.none(), false));
        assertThat(e).as("expected the configuration to be refused").isNotNull();
        return e.problems().stream().map(Problem::toString).toList();
    }

    private Path yaml(String text) throws IOException {
        return Files.writeString(dir.resolve("bluegreen-" + System.nanoTime() + ".yaml"), text);
    }

    @Test
    void withoutARoutingSectionEveryDefaultHolds() throws Exception {
        Routing routing = routing("");

        assertThat(routing).isEqualTo(Routing.defaults());
        assertThat(routing.stickyKey()).isEqualTo(StickyKey.SESSION);
        assertThat(routing.tenantParameter()).isEqualTo("bluegreen.tenant");
        assertThat(routing.tenantPins()).isEmpty();
        assertThat(routing.writeBarrierTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(routing.writeFunctions()).isEmpty();
        assertThat(routing.readAfterWrite()).isEqualTo(ReadAfterWrite.EVERYWHERE);
    }

    @Test
    void anEmptyRoutingSectionMeansAllDefaults() throws Exception {
        assertThat(routing("routing: {}\n")).isEqualTo(Routing.defaults());
    }

    @Test
    void readsEveryKey() throws Exception {
        Routing routing = routing("""
        routing:
          sticky_key: tenant
          tenant_source: application_name
          tenant_pins:
            acme: green
            "globex corp": blue
          write_barrier_timeout: 30s
          write_functions: [ audit_event, billing.charge ]
          read_after_write: session
        """);

        assertThat(routing).isEqualTo(new Routing(StickyKey.TENANT, "application_name",
                Map.of("acme", ClusterName.GREEN, "globex corp", ClusterName.BLUE), Duration.ofSeconds(30),
                Set.of("audit_event", "billing.charge"), ReadAfterWrite.SESSION));
    }

    @ParameterizedTest
    @CsvSource({
        "session, SESSION",
        "tenant, TENANT",
        "none, NONE",
        "' Tenant ', TENANT"})
    void readsEveryStickyKey(String yaml, StickyKey expected) throws Exception {
        assertThat(routing("routing: { sticky_key: '" + yaml + "' }\n").stickyKey()).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({
        "application_name, application_name",
        "user, user",
        "database, database",
        "Application_Name, application_name",
        "parameter:bluegreen.tenant, bluegreen.tenant",
        "parameter:tenant_id, tenant_id",
        "parameter:App.Tenant, app.tenant",
        "'parameter: app.tenant ', app.tenant",
        "PARAMETER:application_name, application_name"})
    void readsEveryTenantSource(String yaml, String parameter) throws Exception {
        assertThat(routing("routing: { tenant_source: '" + yaml + "' }\n").tenantParameter()).isEqualTo(parameter);
    }

    @Test
    void pinsAreCaseInsensitiveAndTenantNamesExact() throws Exception {
        Routing routing = routing("""
        routing:
          tenant_pins: { Acme: GREEN, acme: Blue, "42": green }
        """);

        assertThat(routing.tenantPins()).containsExactlyInAnyOrderEntriesOf(
                Map.of("Acme", ClusterName.GREEN, "acme", ClusterName.BLUE, "42", ClusterName.GREEN));
    }

    @Test
    void valuesMayComeFromReferences() throws Exception {
        assertThat(routing("routing: { sticky_key: \"${env:STICKY}\" }\n").stickyKey()).isEqualTo(StickyKey.TENANT);
    }

    @Test
    void anEmptyListOfWriteFunctionsIsNone() throws Exception {
        assertThat(routing("routing: { write_functions: [] }\n").writeFunctions()).isEmpty();
    }

    @Test
    void theConfigurationHoldsUnmodifiablePinsAndFunctions() throws Exception {
        Routing routing = routing("routing: { tenant_pins: { a: blue }, write_functions: [ f ] }\n");

        assertThatThrownBy(() -> routing.tenantPins().put("b", ClusterName.GREEN))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> routing.writeFunctions().add("g"))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    static Stream<Arguments> oneProblemEach() {
        return Stream.of(
                Arguments.of("routing: { sticky_key: user }\n",
                        "routing.sticky_key: expected session, tenant or none, got \"user\""),
                Arguments.of("routing: { read_after_write: leader }\n",
                        "routing.read_after_write: expected everywhere or session, got \"leader\""),
                Arguments.of("routing: { sticky_key: \"\" }\n",
                        "routing.sticky_key: expected session, tenant or none, got \"\""),
                Arguments.of("routing: { sticky_key: [ session ] }\n",
                        "routing.sticky_key: expected a value, got a list"),
                Arguments.of("routing: { sticky_key: \"${env:PIN}\" }\n",
                        "routing.sticky_key: expected session, tenant or none, got (the value of ${env:PIN})"),
                Arguments.of("routing: { tenant_source: tenant_id }\n",
                        "routing.tenant_source: expected application_name, user, database or parameter:NAME,"
                                + " got \"tenant_id\""),
                Arguments.of("routing: { tenant_source: \"parameter:\" }\n",
                        "routing.tenant_source: expected application_name, user, database or parameter:NAME,"
                                + " got \"parameter:\""),
                Arguments.of("routing: { tenant_source: \"parameter:a b\" }\n",
                        "routing.tenant_source: expected application_name, user, database or parameter:NAME,"
                                + " got \"parameter:a b\""),
                Arguments.of("routing: { tenant_source: \"parameter:x=1\" }\n",
                        "routing.tenant_source: expected application_name, user, database or parameter:NAME,"
                                + " got \"parameter:x=1\""),
                Arguments.of("routing: { tenant_pins: { acme: red } }\n",
                        "routing.tenant_pins.acme: expected blue or green, got \"red\""),
                Arguments.of("routing: { tenant_pins: { acme: \"${env:PIN}\" } }\n",
                        "routing.tenant_pins.acme: expected blue or green, got (the value of ${env:PIN})"),
                Arguments.of("routing: { tenant_pins: { acme: } }\n",
                        "routing.tenant_pins.acme: must not be empty"),
                Arguments.of("routing: { tenant_pins: { \"\": green } }\n",
                        "routing.tenant_pins.: an empty name cannot be mapped"),
                Arguments.of("routing: { tenant_pins: { acme: [ green ] } }\n",
                        "routing.tenant_pins.acme: expected a value, got a list"),
                Arguments.of("routing: { tenant_pins: [ acme ] }\n",
                        "routing.tenant_pins: expected a mapping"),
                Arguments.of("routing: { write_barrier_timeout: ten }\n",
                        "routing.write_barrier_timeout: not a duration \"ten\""),
                Arguments.of("routing: { write_barrier_timeout: 0s }\n",
                        "routing.write_barrier_timeout: must be more than 0"),
                Arguments.of("routing: { write_barrier_timeout: 25h }\n",
                        "routing.write_barrier_timeout: must be at most 24h"),
                Arguments.of("routing: { write_barrier_timeout: -5s }\n",
                        "routing.write_barrier_timeout: not a duration \"-5s\""),
                Arguments.of("routing: { write_functions: audit_event }\n",
                        "routing.write_functions: expected a list"),
                Arguments.of("routing: { write_functions: [ ok, \"audit_event()\" ] }\n",
                        "routing.write_functions[1]: expected a function name or schema.name, got \"audit_event()\""),
                Arguments.of("routing: { write_functions: [ a.b.c ] }\n",
                        "routing.write_functions[0]: expected a function name or schema.name, got \"a.b.c\""),
                Arguments.of("routing: { write_functions: [ \"\" ] }\n",
                        "routing.write_functions[0]: must not be empty"),
                Arguments.of("routing: { write_functions: [ ~ ] }\n",
                        "routing.write_functions[0]: must not be empty"),
                Arguments.of("routing: { write_functions: [ { name: f } ] }\n",
                        "routing.write_functions[0]: expected a value, got a mapping"),
                Arguments.of("routing: { weight: 50 }\n",
                        "routing.weight: unknown key"),
                Arguments.of("routing: session\n",
                        "routing: expected a mapping"));
    }

    @ParameterizedTest
    @MethodSource("oneProblemEach")
    void reportsEachProblemAtItsPath(String section, String problem) throws Exception {
        assertThat(problems(section)).containsExactly(problem);
    }

    @Test
    void reportsEveryRoutingProblemAtOnce() throws Exception {
        List<String> problems = problems("""
        routing:
          sticky_key: sometimes
          tenant_source: tenant
          tenant_pins: { a: green, b: purple }
          write_barrier_timeout: 0ms
          write_functions: [ "drop table x" ]
          stickiness: none
        """);

        assertThat(problems).containsExactlyInAnyOrder(
                "routing.sticky_key: expected session, tenant or none, got \"sometimes\"",
                "routing.tenant_source: expected application_name, user, database or parameter:NAME, got \"tenant\"",
                "routing.tenant_pins.b: expected blue or green, got \"purple\"",
                "routing.write_barrier_timeout: must be more than 0",
                "routing.write_functions[0]: expected a function name or schema.name, got \"drop table x\"",
                "routing.stickiness: unknown key");
    }

    @Test
    void neverShowsAReferencedValueInAProblem() throws Exception {
        List<String> problems = problems("routing: { tenant_pins: { acme: \"${env:PIN}\" } }\n");

        assertThat(String.join("\n", problems)).doesNotContain("s3cret");
    }
}
