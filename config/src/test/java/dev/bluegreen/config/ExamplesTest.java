package dev.bluegreen.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The example files in {@code config/examples} load without a single problem. */
class ExamplesTest {

    private static final Path EXAMPLES = Path.of("examples");
    private static final Pattern ABSOLUTE = Pattern.compile("/(?:etc|run|var)/[A-Za-z0-9_./-]+");

    @TempDir Path root;

    @Test
    void theMinimalExampleLoads() throws Exception {
        BluegreenConfig config = ConfigLoader.load(EXAMPLES.resolve("minimal.yaml"), Overrides.none(), false);

        assertThat(config.blue().endpoint()).isEqualTo("localhost:5432");
        assertThat(config.green().endpoint()).isEqualTo("localhost:5433");
        assertThat(config.listen()).isEqualTo(BluegreenConfig.DEFAULT_LISTEN);
    }

    @Test
    void theFullExampleLoadsOnceTheFilesItNamesExist() throws Exception {
        Path full = withFilesUnder(root, EXAMPLES.resolve("full.yaml"));
        Map<String, String> env = Map.of("BLUE_PASSWORD", "b", "GREEN_PASSWORD", "g", "REPORTING_PASSWORD", "r",
                "STATE_PASSWORD", "s");

        BluegreenConfig config = new ConfigLoader(env::get).read(full, Overrides.none(), false);

        assertThat(config.users()).hasSize(2);
        assertThat(config.green().password()).isEqualTo(Secret.of("g"));
        assertThat(config.green().tlsMode()).isEqualTo(TlsMode.VERIFY_FULL);
        assertThat(config.blue().backendDatabase("reports")).isEqualTo("app_reporting");
        assertThat(config.clientTls().required()).isTrue();
        assertThat(config.routing().stickyKey()).isEqualTo(StickyKey.TENANT);
        assertThat(config.routing().tenantPins()).containsEntry("acme", ClusterName.GREEN);
        assertThat(config.health().rules()).extracting(r -> r.metric().configName() + " " + r.op().symbol() + " "
                + r.threshold() + " " + r.action().configName() + " " + r.minSamples())
                .as("the example spells out the default rules")
                .containsExactlyElementsOf(Health.defaults().rules().stream().map(r -> r.metric().configName() + " "
                        + r.op().symbol() + " " + r.threshold() + " " + r.action().configName() + " " + r.minSamples())
                        .toList());
        assertThat(config.stateStore().kind()).isEqualTo(StateStoreConfig.Kind.POSTGRES);
        assertThat(config.stateStore().database().database()).isEqualTo("bluegreen_state");
        assertThat(config.stateStore().database().user()).isEqualTo("bluegreen");
        assertThat(config.stateStore().database().password()).as("read from ${env:STATE_PASSWORD}")
                .isEqualTo(Secret.of("s"));
    }

    @Test
    void theContainerExampleTakesEverythingFromTheEnvironment() throws Exception {
        Map<String, String> env = Map.of("BLUE_URL", "postgresql://bluegreen@db-blue:5432/app", "BLUE_PASSWORD", "b",
                "GREEN_URL", "postgresql://bluegreen@db-green:5432/app", "GREEN_PASSWORD", "g",
                "APP_USER", "app", "APP_PASSWORD", "a");

        BluegreenConfig config = new ConfigLoader(env::get).read(EXAMPLES.resolve("container.yaml"), Overrides.none(), false);

        assertThat(config.listen().toString()).isEqualTo("0.0.0.0:6432");
        assertThat(config.blue().endpoint()).isEqualTo("db-blue:5432");
        assertThat(config.green().password()).isEqualTo(Secret.of("g"));
        assertThat(config.users()).singleElement().satisfies(user -> assertThat(user.name()).isEqualTo("app"));
    }

    @Test
    void theContainerExampleWithoutItsEnvironmentNamesEachVariable() {
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> new ConfigLoader(name -> null).read(EXAMPLES.resolve("container.yaml"), Overrides.none(), false));

        assertThat(e.problems()).extracting(Problem::toString).containsExactly(
                "clusters.blue.url: environment variable BLUE_URL is not set",
                "clusters.blue.password: environment variable BLUE_PASSWORD is not set",
                "clusters.green.url: environment variable GREEN_URL is not set",
                "clusters.green.password: environment variable GREEN_PASSWORD is not set",
                "users[0].name: environment variable APP_USER is not set",
                "users[0].password: environment variable APP_PASSWORD is not set");
    }

    /** A URL variable unset beside its password: one problem for the URL, none made up about the password. */
    @Test
    void theContainerExampleWithoutItsUrlsNamesOnlyTheirVariables() {
        Map<String, String> env = Map.of("BLUE_PASSWORD", "b", "GREEN_PASSWORD", "g", "APP_USER", "app",
                "APP_PASSWORD", "a");
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> new ConfigLoader(env::get).read(EXAMPLES.resolve("container.yaml"), Overrides.none(), false));

        assertThat(e.problems()).extracting(Problem::toString).containsExactly(
                "clusters.blue.url: environment variable BLUE_URL is not set",
                "clusters.green.url: environment variable GREEN_URL is not set");
    }

    /**
     * A copy of {@code example} whose absolute paths point under {@code root}, where each file it
     * names now exists (the state directory as a directory, certificates and keys as PEM).
     */
    private static Path withFilesUnder(Path root, Path example) throws IOException {
        StringBuilder copy = new StringBuilder();
        for (String line : Files.readAllLines(example)) {
            Matcher m = ABSOLUTE.matcher(line);
            StringBuilder rewritten = new StringBuilder();
            while (m.find()) {
                Path moved = Path.of(root + m.group());
                if (line.startsWith("state_dir:")) {
                    Files.createDirectories(moved);
                } else {
                    Files.createDirectories(moved.getParent());
                    String name = moved.getFileName().toString();
                    Files.writeString(moved, name.endsWith(".key") ? Pem.privateKeyText()
                            : name.endsWith(".pem") || name.endsWith(".crt") ? Pem.certificateText()
                            : "x\n");
                }
                m.appendReplacement(rewritten, Matcher.quoteReplacement(moved.toString()));
            }
            m.appendTail(rewritten);
            copy.append(rewritten).append('\n');
        }
        return Files.writeString(root.resolve("full.yaml"), copy);
    }
}
