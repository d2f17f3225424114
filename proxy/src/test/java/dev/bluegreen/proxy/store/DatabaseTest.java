package dev.bluegreen.proxy.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.Secret;
import dev.bluegreen.config.TlsMode;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** How the postgres store reaches its database: TLS as configured, credentials never in a URL or a log line. */
class DatabaseTest {

    private static Cluster cluster(String host, String database, TlsMode tls, Path caFile) {
        return new Cluster("state", host, 5433, database, Map.of(), tls, caFile, "bluegreen", Secret.of("s3cret"));
    }

    @Test
    void verifyFullWithACaFileChecksTheServerAgainstIt() {
        Database database = new Database(cluster("db.internal", "control", TlsMode.VERIFY_FULL, Path.of("/etc/ca.pem")), "a");

        Properties properties = database.properties("commands");

        assertThat(database.url()).isEqualTo("jdbc:postgresql://db.internal:5433/control");
        assertThat(properties).containsEntry("sslmode", "verify-full").containsEntry("sslrootcert", "/etc/ca.pem")
                .containsEntry("user", "bluegreen").containsEntry("password", "s3cret")
                .containsEntry("socketTimeout", "30").doesNotContainKey("sslfactory");
    }

    @Test
    void verifyCaWithoutACaFileTrustsWhatTheJvmTrusts() {
        Properties properties = new Database(cluster("db", "control", TlsMode.VERIFY_CA, null), "a").properties("listener");

        assertThat(properties).containsEntry("sslmode", "verify-ca")
                .containsEntry("sslfactory", "org.postgresql.ssl.DefaultJavaSSLFactory")
                .doesNotContainKey("sslrootcert").containsEntry("socketTimeout", "30");
    }

    @Test
    void plainTextOnlyWhenConfiguredSo() {
        assertThat(new Database(cluster("127.0.0.1", "control", TlsMode.DISABLE, null), "a").properties("commands"))
                .containsEntry("sslmode", "disable");
        assertThat(new Database(cluster("db", "control", TlsMode.REQUIRE, null), "a").properties("commands"))
                .containsEntry("sslmode", "require").doesNotContainKey("sslfactory");
    }

    @Test
    void anIpv6HostAndAnOddDatabaseNameStayParseable() {
        Database database = new Database(cluster("::1", "state store/ä", TlsMode.DISABLE, null), "a");

        assertThat(database.url()).isEqualTo("jdbc:postgresql://[::1]:5433/state%20store%2F%C3%A4");
        assertThat(database.describe()).isEqualTo("[::1]:5433/state store/ä");
    }

    @Test
    void theDescriptionNamesTheDatabaseButNeverThePassword() {
        Database database = new Database(cluster("db.internal", "control", TlsMode.VERIFY_FULL, null), "a");

        assertThat(database.describe()).isEqualTo("db.internal:5433/control");
        assertThat(database.describe() + database.url()).doesNotContain("s3cret");
    }

    @Test
    void aClusterWithoutADatabaseIsRefused() {
        assertThatThrownBy(() -> new Database(cluster("db", null, TlsMode.DISABLE, null), "a"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("the postgres state store needs a database name");
    }
}
