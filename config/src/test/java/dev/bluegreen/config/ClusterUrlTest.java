package dev.bluegreen.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ClusterUrlTest {

    @TempDir Path dir;

    @Test
    void readsEveryPartOfAFullUrl() throws Exception {
        Path ca = Pem.certificate(dir.resolve("ca.pem"));

        Cluster c = ClusterUrl.parse("green",
                "postgresql://bluegreen:pw@db-green.internal:5433/app?sslmode=verify-ca&sslrootcert=" + ca);

        assertThat(c).isEqualTo(new Cluster("green", "db-green.internal", 5433, "app", Map.of(),
                TlsMode.VERIFY_CA, ca, "bluegreen", Secret.of("pw")));
    }

    @Test
    void leavesWhatTheUrlOmitsToDefaults() throws Exception {
        Cluster c = ClusterUrl.parse("blue", "postgres://db.internal");

        assertThat(c.port()).isEqualTo(5432);
        assertThat(c.database()).isNull();
        assertThat(c.user()).isNull();
        assertThat(c.password()).isNull();
        assertThat(c.databases()).isEmpty();
        assertThat(c.tlsMode()).isEqualTo(TlsMode.VERIFY_FULL);
        assertThat(c.caFile()).isNull();
    }

    @ParameterizedTest
    @CsvSource({
            "postgresql://localhost/app, DISABLE",
            "postgresql://127.0.0.1:5433/app, DISABLE",
            "postgresql://[::1]:5433/app, DISABLE",
            "postgresql://db.internal/app, VERIFY_FULL",
            "postgresql://10.0.0.5/app, VERIFY_FULL",
            "postgresql://localhost/app?sslmode=require, REQUIRE",
            "postgresql://db.internal/app?sslmode=disable, DISABLE",
            "postgresql://db.internal/app?sslmode=VERIFY-FULL, VERIFY_FULL",
    })
    void defaultsTlsByHostUnlessSslmodeIsGiven(String url, TlsMode expected) throws Exception {
        assertThat(ClusterUrl.parse("blue", url).tlsMode()).isEqualTo(expected);
    }

    /** libpq's parameter, with its default: bind where the cluster offers it over TLS. */
    @ParameterizedTest
    @CsvSource({
            "postgresql://db.internal/app, PREFER",
            "postgresql://localhost/app, PREFER",
            "postgresql://db.internal/app?channel_binding=require, REQUIRE",
            "postgresql://localhost/app?sslmode=require&channel_binding=Require, REQUIRE",
            "postgresql://localhost/app?channel_binding=disable, DISABLE",
    })
    void readsChannelBinding(String url, ChannelBinding expected) throws Exception {
        assertThat(ClusterUrl.parse("blue", url).channelBinding()).isEqualTo(expected);
    }

    @Test
    void percentDecodesUserPasswordAndDatabase() throws Exception {
        Cluster c = ClusterUrl.parse("blue", "postgresql://us%40er:p%3Aw%2Fd%25+%C3%A9@h/my%20db");

        assertThat(c.user()).isEqualTo("us@er");
        assertThat(c.password().reveal()).isEqualTo("p:w/d%+é");
        assertThat(c.database()).isEqualTo("my db");
    }

    @Test
    void takesTheLastAtSignAsTheEndOfTheUserInfo() throws Exception {
        Cluster c = ClusterUrl.parse("blue", "postgresql://u:p@ss@h:1/db");

        assertThat(c.password().reveal()).isEqualTo("p@ss");
        assertThat(c.host()).isEqualTo("h");
    }

    @Test
    void decodesTheZoneOfAnIpv6HostAsLibpqDoes() throws Exception {
        assertThat(ClusterUrl.parse("blue", "postgresql://u@[fe80::1%25eth0]:5432/app").host()).isEqualTo("fe80::1%eth0");
    }

    @Test
    void readsAnIpv6HostInBrackets() throws Exception {
        Cluster c = ClusterUrl.parse("blue", "postgresql://[2001:db8::5]:6543/db");

        assertThat(c.host()).isEqualTo("2001:db8::5");
        assertThat(c.port()).isEqualTo(6543);
        assertThat(c.endpoint()).isEqualTo("[2001:db8::5]:6543");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "mysql://h/db                                   | blue: not a postgresql:// URL",
            "db.internal:5432                               | blue: not a postgresql:// URL",
            "postgresql:///db                               | blue: a host is required (Unix sockets are not supported)",
            "postgresql://h1,h2/db                          | blue: several hosts are not supported; give one host",
            "postgresql://h:0/db                            | blue: port must be between 1 and 65535",
            "postgresql://h:abc/db                          | blue: the port is not a number",
            "postgresql://h/db?sslmode=prefer               | blue: unknown sslmode \"prefer\" (expected disable, require, verify-ca or verify-full)",
            "postgresql://h/db?application_name=x           | blue: unknown parameter \"application_name\" (supported: sslmode, sslrootcert, channel_binding)",
            "postgresql://h/db?channel_binding=always       | blue: unknown channel_binding \"always\" (expected disable, prefer or require)",
            "postgresql://localhost/db?channel_binding=require | blue: channel_binding require needs TLS (the TLS mode is disable, the default for a loopback host): it binds the login to the connection",
            "postgresql://h/db?sslmode=disable&channel_binding=require | blue: channel_binding require needs TLS (the TLS mode is disable): it binds the login to the connection",
            "postgresql://h/db?sslmode=require&sslrootcert=/x | blue: sslrootcert only used with TLS mode verify-ca or verify-full (mode is require)",
            "postgresql://h/db?sslrootcert=/no/such/ca.pem  | blue: sslrootcert /no/such/ca.pem: no such file",
            "postgresql://h/db?sslmode=verify-ca            | blue: sslmode verify-ca needs a CA file of the cluster's own (tls.ca_file, or sslrootcert in the URL): with the JVM's trusted CAs any publicly issued certificate would pass; use verify-full to check the host name against them",
            "postgresql://[::1/db                           | blue: unclosed [ in the host",
            "postgresql://db%20internal/db                  | blue: the host is not a host name or IP address",
            "postgresql://db%2Finternal/db                  | blue: the host is not a host name or IP address",
            "postgresql://[1::2::3]/db                      | blue: the host is not a host name or IP address",
    })
    void reportsWhatIsWrongWithAUrl(String url, String problem) {
        assertThatThrownBy(() -> ClusterUrl.parse("blue", url))
                .isInstanceOfSatisfying(ConfigException.class,
                        e -> assertThat(e.problems()).map(Problem::toString).containsExactly(problem));
    }

    @Test
    void neverRepeatsThePasswordInAProblem() {
        String url = "postgresql://u:s3cr%ZZet@h:99999/db?sslmode=bogus&x=y";

        assertThatThrownBy(() -> ClusterUrl.parse("blue", url))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.problems()).hasSize(4);
                    assertThat(e.problems()).map(Problem::toString)
                            .contains("blue: bad percent-encoding in the password")
                            .noneMatch(p -> p.contains("s3cr"));
                });
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "postgresql://app:Sup3r/Secr3t@db.internal/app",
            "postgresql://app:Sup3r?Secr3t@db.internal/app",
            "postgresql://app:1234/Secr3t@db.internal/app",
            "postgresql://app:Secr3t@db.internal/app?sslmode=require&x=@",
    })
    void refusesAnAtSignAfterTheHostWithoutShowingWhatMayBeThePassword(String url) {
        assertThatThrownBy(() -> ClusterUrl.parse("blue", url))
                .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).map(Problem::toString)
                        .containsExactly("blue: an @ after the host: percent-encode / ? # and @ in the user name and"
                                + " password (%2F %3F %23 %40), as in any URL, and an @ in the database name or a"
                                + " parameter (%40)"));
    }

    @Test
    void neverShowsThePortSinceAMissingAtSignMakesItThePassword() {
        assertThatThrownBy(() -> ClusterUrl.parse("blue", "postgresql://app:Secr3t/app"))
                .hasMessage("blue: the port is not a number");
    }

    @Test
    void reportsACaFileThatIsADirectory() throws IOException {
        String url = "postgresql://h/db?sslmode=verify-full&sslrootcert=" + dir;

        assertThatThrownBy(() -> ClusterUrl.parse("green", url))
                .hasMessage("green: sslrootcert " + dir + ": not a regular file");
    }
}
