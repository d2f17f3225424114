package dev.bluegreen.embedded;

import static dev.bluegreen.embedded.ItClusters.queryOne;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** One cluster with a superuser password, shared by the tests of how it lets people in. */
class AuthenticationIT {

    private static final String INVALID_PASSWORD = "28P01";
    private static PgCluster cluster;

    @BeforeAll
    static void startClusterWithSuperuserPassword() throws IOException {
        // 18: md5 passwords are deprecated there, so this is where md5 support would break first
        cluster = ItClusters.throwaway("auth").version("18.1.0").superuser("admin").superuserPassword("s3cret").start();
    }

    @AfterAll
    static void stopCluster() {
        cluster.close();
    }

    @Test
    void superuserWithTheRightPasswordGetsIn() throws SQLException {
        try (Connection connection = DriverManager.getConnection(cluster.jdbcUrl("postgres"), "admin", "s3cret")) {
            assertThat(queryOne(connection, "SELECT current_user")).isEqualTo("admin");
        }
    }

    @Test
    void superuserWithAWrongPasswordIsRefused() {
        assertThatThrownBy(() -> DriverManager.getConnection(cluster.jdbcUrl("postgres"), "admin", "wrong").close())
                .isInstanceOf(SQLException.class)
                .extracting(e -> ((SQLException) e).getSQLState())
                .isEqualTo(INVALID_PASSWORD);
    }

    @Test
    void superuserPasswordIsStoredAsScram() throws SQLException {
        assertThat(queryOne(cluster, "SELECT left(rolpassword, 13) FROM pg_authid WHERE rolname = 'admin'"))
                .isEqualTo("SCRAM-SHA-256");
    }

    @Test
    void md5RuleFromWriteHbaLetsAnMd5UserInWithItsPasswordOnly() throws SQLException {
        // Given a role whose password is stored as md5
        cluster.execute("postgres",
                "DROP ROLE IF EXISTS legacy",
                "SET password_encryption = 'md5'",
                "CREATE ROLE legacy LOGIN PASSWORD 'old-school'");

        // When pg_hba.conf sends it through md5
        cluster.writeHba(List.of("host all legacy 127.0.0.1/32 md5"));

        // Then the right password works, a wrong one does not, and the harness still gets in
        try (Connection connection = DriverManager.getConnection(cluster.jdbcUrl("postgres"), "legacy", "old-school")) {
            assertThat(queryOne(connection, "SELECT current_user")).isEqualTo("legacy");
        }
        assertThatThrownBy(() -> DriverManager.getConnection(cluster.jdbcUrl("postgres"), "legacy", "nope").close())
                .isInstanceOf(SQLException.class)
                .extracting(e -> ((SQLException) e).getSQLState())
                .isEqualTo(INVALID_PASSWORD);
        assertThat(queryOne(cluster, "SELECT 1")).isEqualTo("1");
    }

    @Test
    void writeHbaTakesEffectForTheVeryNextConnection() throws SQLException {
        // Given a role that may log in with trust
        cluster.execute("postgres", "DROP ROLE IF EXISTS gatecrasher", "CREATE ROLE gatecrasher LOGIN");
        cluster.writeHba(List.of("host all gatecrasher 127.0.0.1/32 trust"));
        DriverManager.getConnection(cluster.jdbcUrl("postgres"), "gatecrasher", "").close();

        // When the rules change to reject it
        cluster.writeHba(List.of("host all gatecrasher 127.0.0.1/32 reject"));

        // Then the next connection is already judged by the new rules
        assertThatThrownBy(() -> DriverManager.getConnection(cluster.jdbcUrl("postgres"), "gatecrasher", "").close())
                .isInstanceOf(SQLException.class)
                .extracting(e -> ((SQLException) e).getSQLState())
                .isEqualTo("28000");
    }

    @Test
    void reloadDoesNotTripOverTheSettingsGivenOnTheCommandLine() throws IOException {
        // Given a cluster started with max_connections=300 on its command line (forTests)
        long logBefore = Files.size(cluster.logFile());

        // When it reloads
        cluster.reload();

        // Then postgresql.conf and the command line agree
        assertThat(Files.readString(cluster.logFile()).substring((int) logBefore))
                .contains("reloading configuration files")
                .doesNotContain("contains errors");
    }
}
