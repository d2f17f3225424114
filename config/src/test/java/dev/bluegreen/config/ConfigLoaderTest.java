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
import java.util.stream.Stream;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigLoaderTest {

    /** The environment the loader sees in these tests. */
    private static final Map<String, String> ENV = Map.ofEntries(
            Map.entry("BLUE_PASSWORD", "blue-secret"),
            Map.entry("ECHOED_PASSWORD", "echoed\n"),
            Map.entry("APP_PORT", "not-a-port-s3cret"),
            Map.entry("EMPTY", ""),
            Map.entry("MODE", "verify-fool"),
            Map.entry("AUTH", "sha1"),
            Map.entry("URL_SSLMODE", "postgresql://g/db?sslmode=verify-fool"),
            Map.entry("URL_PARAM", "postgresql://g/db?application_name=x"),
            Map.entry("URL_ROOTCERT", "postgresql://g/db?sslmode=verify-full&sslrootcert=/no/such/ca.pem"),
            Map.entry("NO_FILE", "/no/such/file.pem"),
            Map.entry("NON_LOOPBACK", "0.0.0.0:6432"),
            Map.entry("USER", "app"),
            Map.entry("HOST", "h"));

    private static final String BLUE = """
      clusters:
        blue: { host: db-blue.internal }
      """;

    @TempDir Path dir;

    private final ConfigLoader loader = new ConfigLoader(ENV::get);

    private Path yaml(String text) throws IOException {
        return Files.writeString(dir.resolve("bluegreen-" + System.nanoTime() + ".yaml"), text);
    }

    private BluegreenConfig load(String text) throws Exception {
        return loader.read(yaml(text), Overrides.none(), false);
    }

    private List<String> problems(String text) throws IOException {
        return problems(yaml(text), Overrides.none(), false);
    }

    private List<String> problems(Path file, Overrides overrides, boolean embedded) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> loader.read(file, overrides, embedded));
        assertThat(e).as("expected the configuration to be refused").isNotNull();
        return e.problems().stream().map(Problem::toString).toList();
    }

    // --- defaults ---

    @Test
    void fillsEveryDefaultWhenOnlyBlueIsGiven() throws Exception {
        BluegreenConfig config = load(BLUE);

        assertThat(config.listen()).isEqualTo(new HostPort("127.0.0.1", 6432));
        assertThat(config.admin()).isEqualTo(new HostPort("127.0.0.1", 9432));
        assertThat(config.stateDir()).isEqualTo(Path.of("./.bluegreen"));
        assertThat(config.users()).isEmpty();
        assertThat(config.clientTls()).isNull();
        assertThat(config.green()).isNull();
        assertThat(config.limits()).isEqualTo(new Limits(1000, 256 * 1024 * 1024, 10 * 1024));
        assertThat(config.timeouts()).isEqualTo(
                new Timeouts(Duration.ofSeconds(10), Duration.ofSeconds(5), Duration.ofSeconds(30),
                        Duration.ofSeconds(60), Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofMillis(1)));
        assertThat(config.routing()).isEqualTo(Routing.defaults());
        assertThat(config.blue()).isEqualTo(new Cluster("blue", "db-blue.internal", 5432, null, Map.of(),
                TlsMode.VERIFY_FULL, null, null, null));
    }

    @Test
    void embeddedModeNeedsNoFileAndNoClusters() throws Exception {
        BluegreenConfig config = loader.read(null, Overrides.none(), true);

        assertThat(config.blue()).isNull();
        assertThat(config.green()).isNull();
        assertThat(config.listen()).isEqualTo(BluegreenConfig.DEFAULT_LISTEN);
    }

    /** --embedded proxies to the clusters it starts: a cluster given as well is refused, not silently ignored. */
    @Test
    void embeddedModeRefusesClustersItWouldIgnore() throws Exception {
        assertThat(problems(null, new Overrides(null, null, "postgresql://app@db-green.internal/shop", null, null), true))
                .containsExactly("--green: not used with --embedded, which proxies to the clusters it starts");
        assertThat(problems(yaml(BLUE), Overrides.none(), true))
                .containsExactly("clusters.blue: not used with --embedded, which proxies to the clusters it starts");
    }

    private static final String PASSWORD_WITHOUT_USER = "a password is used only with the cluster's own user (user,"
            + " or user@ in the URL); without one the proxy logs in to this cluster as each client, with that client's"
            + " password in users";

    /**
     * A cluster password without a cluster user is never used (the proxy then logs in as each client, with its
     * users[] password): refused, where it used to be dropped without a word and the logins failed.
     */
    @Test
    void aClusterPasswordWithoutAClusterUserIsRefused() throws Exception {
        assertThat(problems("""
                clusters:
                  blue: { host: db-blue.internal, password: secret }
                """)).containsExactly("clusters.blue.password: " + PASSWORD_WITHOUT_USER);
        // the same in a URL given as a flag, which used to pass unchecked
        assertThat(problems(null, new Overrides(null, "postgresql://:secret@db-blue.internal/app", null, null, null), false))
                .containsExactly("--blue: " + PASSWORD_WITHOUT_USER);
        assertThat(problems(yaml(BLUE), new Overrides(null, null, "postgresql://:secret@db-green.internal/app", null, null),
                false)).containsExactly("--green: " + PASSWORD_WITHOUT_USER);
        assertThat(load("""
                clusters:
                  blue: { url: "postgresql://bluegreen@db-blue.internal/app", password: secret }
                """).blue().user()).isEqualTo("bluegreen");
    }

    /**
     * A user's password may be the secret PostgreSQL stores for it (pg_dumpall's, PgBouncer's auth_file's): SCRAM for
     * either method, md5 for md5 only. A cluster user's may not: the proxy logs in as it with no client to prove it.
     */
    @Test
    void aUsersPasswordMayBeTheSecretPostgresStoresForIt() throws Exception {
        String md5 = "md54a0a68b43b6cd5cf266fa02f196e2371";
        BluegreenConfig config = load(BLUE + "users:\n"
                + "  - { name: a, password: '" + StoredSecretTest.SCRAM + "' }\n"
                + "  - { name: b, auth: md5, password: '" + StoredSecretTest.SCRAM + "' }\n"
                + "  - { name: c, auth: md5, password: " + md5 + " }\n"
                + "  - { name: d, auth: md5, password: plain }\n");

        assertThat(config.users()).extracting(User::challenge).containsExactly(AuthMethod.SCRAM_SHA_256,
                AuthMethod.SCRAM_SHA_256, AuthMethod.MD5, AuthMethod.MD5);
        assertThat(config.users()).extracting(u -> u.storedSecret().map(s -> s.getClass().getSimpleName()).orElse("plain"))
                .containsExactly("Scram", "Scram", "Md5", "plain");
        assertThat(problems(BLUE + "users:\n  - { name: a, password: " + md5 + " }\n"
                + "  - { name: b, password: 'SCRAM-SHA-256$4096:AAAA$BBBB' }\n")).containsExactly(
                "users[0].password: an md5 secret cannot check a SCRAM-SHA-256 login; give the password, its SCRAM-SHA-256"
                        + " secret, or auth: md5",
                "users[1].password: not a SCRAM-SHA-256 secret (expected SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey)");
        String clusterSecret = "users[0].password: give the cluster user's password itself: a secret PostgreSQL stores for"
                + " it (md5…, SCRAM-SHA-256$…) proves no login the proxy makes on its own";
        assertThat(problems("clusters:\n  blue: { host: h, user: app, password: " + md5 + " }\n"))
                .containsExactly(clusterSecret.replace("users[0]", "clusters.blue"));
        assertThat(problems("clusters:\n  blue: { host: h, user: app, password: 'SCRAM-SHA-256$1:x$y' }\n"))
                .containsExactly(clusterSecret.replace("users[0]", "clusters.blue"));
    }

    /** A cluster's SCRAM logins are bound to its TLS connection where it offers that, or always, or never. */
    @Test
    void channelBindingIsPreferByDefaultAndReadFromTlsOrTheUrl() throws Exception {
        BluegreenConfig config = load("""
                clusters:
                  blue: { host: db-blue.internal, tls: { mode: require, channel_binding: require } }
                  green: { url: "postgresql://db-green.internal/app?channel_binding=disable" }
                """);
        assertThat(config.blue().channelBinding()).isEqualTo(ChannelBinding.REQUIRE);
        assertThat(config.green().channelBinding()).isEqualTo(ChannelBinding.DISABLE);
        assertThat(load(BLUE).blue().channelBinding()).isEqualTo(ChannelBinding.PREFER);
    }

    /** The SQL listener and the admin API on one address would fail at bind time with exit code 1, unnamed. */
    @Test
    void theListenerAndTheAdminApiCannotShareAnAddress() throws Exception {
        assertThat(problems(yaml(BLUE), new Overrides("127.0.0.1:9432", null, null, null, null), false))
                .containsExactly("--listen: the SQL listener and the admin API cannot share 127.0.0.1:9432;"
                        + " give each a port of its own");
        assertThat(problems(BLUE + """
                listen: 0.0.0.0:7000
                users: [{ name: app, password: secret }]
                admin: { listen: 127.0.0.1:7000 }
                """)).containsExactly("admin.listen: the SQL listener and the admin API cannot share 127.0.0.1:7000;"
                        + " give each a port of its own");
        assertThat(load(BLUE + """
                admin: { listen: 127.0.0.2:6432 }
                """).admin()).isEqualTo(new HostPort("127.0.0.2", 6432));
        assertThat(problems(BLUE + """
                listen: 0.0.0.0:7000
                users: [{ name: app, password: secret }]
                admin: { listen: localhost:7000 }
                """)).containsExactly("admin.listen: the SQL listener and the admin API cannot share localhost:7000;"
                        + " give each a port of its own");
        // an IPv4 wildcard does not take the IPv6 loopback's port
        assertThat(load(BLUE + """
                listen: 0.0.0.0:7000
                users: [{ name: app, password: secret }]
                admin: { listen: "[::1]:7000" }
                """).admin()).isEqualTo(new HostPort("::1", 7000));
    }

    @Test
    void anEmptyFileMeansAllDefaults() throws Exception {
        assertThat(loader.read(yaml(""), Overrides.none(), true).admin()).isEqualTo(BluegreenConfig.DEFAULT_ADMIN);
    }

    @Test
    void defaultsUpstreamTlsToOffOnLoopbackOnly() throws Exception {
        BluegreenConfig config = load("""
        clusters:
          blue: { host: localhost }
          green: { host: 10.1.2.3 }
        """);

        assertThat(config.blue().tlsMode()).isEqualTo(TlsMode.DISABLE);
        assertThat(config.green().tlsMode()).isEqualTo(TlsMode.VERIFY_FULL);
    }

    @Test
    void readsEveryKey() throws Exception {
        Path ca = Pem.certificate(dir.resolve("ca.pem"));
        Path cert = Pem.certificate(dir.resolve("tls.crt"));
        Path key = Pem.privateKey(dir.resolve("tls.key"));
        Path state = Files.createDirectory(dir.resolve("state"));

        BluegreenConfig config = load("""
        listen: "0.0.0.0:7432"
        admin: { listen: "127.0.0.1:9999" }
        state_dir: %s
        clusters:
          blue:
            host: db-blue.internal
            port: 5433
            database: app
            databases: { app: app_v1, reports: reporting }
            tls: { mode: verify-ca, ca_file: %s }
            user: bluegreen
            password: "${env:BLUE_PASSWORD}"
          green: { url: "postgresql://bg@db-green.internal:6543/app?sslmode=require" }
        users:
          - { name: app, auth: scram-sha-256, password: pw1 }
          - { name: legacy, auth: md5, password: pw2 }
          - { name: local, auth: trust }
          - { name: default-auth, password: pw3 }
        client_tls: { cert_file: %s, key_file: %s, required: true }
        limits: { max_client_connections: 50, max_message_size: 64MiB, max_startup_packet_size: 4KiB }
        timeouts: { startup: 250ms, connect: 2s, shutdown_grace: 1m, keepalive: 0s, follower: 3s, green_read: 0s,
                    commit_wait: 0s }
        """.formatted(state, ca, cert, key));

        assertThat(config.listen()).isEqualTo(new HostPort("0.0.0.0", 7432));
        assertThat(config.admin()).isEqualTo(new HostPort("127.0.0.1", 9999));
        assertThat(config.stateDir()).isEqualTo(state);
        assertThat(config.blue()).isEqualTo(new Cluster("blue", "db-blue.internal", 5433, "app",
                Map.of("app", "app_v1", "reports", "reporting"), TlsMode.VERIFY_CA, ca, "bluegreen",
                Secret.of("blue-secret")));
        assertThat(config.green()).isEqualTo(new Cluster("green", "db-green.internal", 6543, "app", Map.of(),
                TlsMode.REQUIRE, null, "bg", null));
        assertThat(config.users()).containsExactly(
                new User("app", AuthMethod.SCRAM_SHA_256, Secret.of("pw1")),
                new User("legacy", AuthMethod.MD5, Secret.of("pw2")),
                new User("local", AuthMethod.TRUST, null),
                new User("default-auth", AuthMethod.SCRAM_SHA_256, Secret.of("pw3")));
        assertThat(config.user("legacy")).map(User::auth).contains(AuthMethod.MD5);
        assertThat(config.user("nobody")).isEmpty();
        assertThat(config.clientTls()).isEqualTo(new ClientTls(cert, key, true));
        assertThat(config.limits()).isEqualTo(new Limits(50, 64 * 1024 * 1024, 4096));
        assertThat(config.timeouts()).isEqualTo(
                new Timeouts(Duration.ofMillis(250), Duration.ofSeconds(2), Duration.ofMinutes(1), Duration.ZERO,
                        Duration.ofSeconds(3), Duration.ZERO, Duration.ZERO));
    }

    @Test
    void takesAStringValueExactlyAsWrittenEvenWhenYamlWouldReadANumberOrABoolean() throws Exception {
        BluegreenConfig config = load("""
        clusters:
          blue: { host: db-blue.internal, user: 0123, password: 0123, database: 1.50, databases: { a: 1e3 } }
        users:
          - { name: 007, password: yes }
          - { name: on, password: 1_000 }
          - { name: 0x1F, password: .inf }
        """);

        assertThat(config.blue().user()).isEqualTo("0123");
        assertThat(config.blue().password()).isEqualTo(Secret.of("0123"));
        assertThat(config.blue().database()).isEqualTo("1.50");
        assertThat(config.blue().backendDatabase("a")).isEqualTo("1e3");
        assertThat(config.users()).containsExactly(
                new User("007", AuthMethod.SCRAM_SHA_256, Secret.of("yes")),
                new User("on", AuthMethod.SCRAM_SHA_256, Secret.of("1_000")),
                new User("0x1F", AuthMethod.SCRAM_SHA_256, Secret.of(".inf")));
    }

    @Test
    void readsTrueAndFalseInTheirYamlSpellings() throws Exception {
        Path cert = Pem.certificate(dir.resolve("tls.crt"));
        Path key = Pem.privateKey(dir.resolve("tls.key"));

        BluegreenConfig config = load(BLUE + "client_tls: { cert_file: %s, key_file: %s, required: True }\n"
                .formatted(cert, key));

        assertThat(config.clientTls().required()).isTrue();
    }

    @Test
    void takesEveryTimeoutUpToADayAndKeepaliveInWholeSeconds() throws Exception {
        Timeouts timeouts = load(BLUE + "timeouts: { startup: 24h, connect: 1440m, shutdown_grace: 86400000ms,"
                + " keepalive: 32767000ms, follower: 86400s, green_read: 24h,"
                + " commit_wait: 24h }\n").timeouts();

        assertThat(timeouts).isEqualTo(new Timeouts(Duration.ofDays(1), Duration.ofDays(1), Duration.ofDays(1),
                Duration.ofSeconds(32767), Duration.ofDays(1), Duration.ofDays(1), Duration.ofDays(1)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"db-blue.internal", "db_1.internal.", "localhost", "10.0.0.5", "2001:db8::5",
            "fe80::1%eth0", "::ffff:10.0.0.5", "255.255.255.255", "db-1.10"})
    void takesAHostNameOrAnIpAddress(String host) throws Exception {
        assertThat(load("clusters:\n  blue: { host: \"" + host + "\" }\n").blue().host()).isEqualTo(host);
    }

    @Test
    void takesACaBundleWithTextAroundItsCertificates() throws Exception {
        Path bundle = Files.writeString(dir.resolve("bundle.pem"),
                "# CA bundle\nFirst CA\n" + Pem.certificateText() + "\nSecond CA\n" + Pem.certificateText());

        Cluster green = load(BLUE + "  green: { host: g, tls: { mode: verify-full, ca_file: %s } }\n".formatted(bundle))
                .green();

        assertThat(green.caFile()).isEqualTo(bundle);
    }

    /** The proxy reads keys as unencrypted PKCS#8; the other forms openssl writes are refused at load, with the fix. */
    @Test
    void takesAPkcs8KeyAndRefusesTheOtherFormsWithTheCommandThatConvertsThem() throws Exception {
        Path cert = Pem.certificate(dir.resolve("server.crt"));
        String body = "\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n";
        for (String label : List.of("RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY")) {
            Path key = Files.writeString(dir.resolve(label.replace(' ', '-') + ".key"),
                    "-----BEGIN " + label + "-----" + body + "-----END " + label + "-----\n");
            List<String> problems = problems(BLUE + "client_tls: { cert_file: %s, key_file: %s }\n".formatted(cert, key));
            assertThat(problems).as(label).singleElement().asString()
                    .startsWith("client_tls.key_file: " + key + ": ")
                    .contains("-----BEGIN PRIVATE KEY-----")
                    .endsWith("openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8");
        }
        Path pkcs8 = Pem.privateKey(dir.resolve("pkcs8.key"));
        assertThat(load(BLUE + "client_tls: { cert_file: %s, key_file: %s }\n".formatted(cert, pkcs8)).clientTls().keyFile())
                .isEqualTo(pkcs8);
    }

    @Test
    void mapsClientDatabasesToBackendDatabases() throws Exception {
        Cluster mapped = load("""
        clusters:
          blue: { host: h, database: fallback, databases: { app: app_v2 } }
        """).blue();
        Cluster plain = load(BLUE).blue();

        assertThat(mapped.backendDatabase("app")).isEqualTo("app_v2");
        assertThat(mapped.backendDatabase("other")).isEqualTo("fallback");
        assertThat(plain.backendDatabase("other")).isEqualTo("other");
    }

    @Test
    void letsYamlFieldsRefineAUrl() throws Exception {
        Cluster green = load("""
        clusters:
          blue: { host: db-blue.internal }
          green:
            url: "postgresql://bg:from-url@localhost:5433/app"
            host: db-green.internal
            password: "${env:BLUE_PASSWORD}"
        """).green();

        assertThat(green.host()).isEqualTo("db-green.internal");
        assertThat(green.port()).isEqualTo(5433);
        assertThat(green.user()).isEqualTo("bg");
        assertThat(green.password()).isEqualTo(Secret.of("blue-secret"));
        assertThat(green.tlsMode()).as("default follows the final host, not the URL's").isEqualTo(TlsMode.VERIFY_FULL);
    }

    @Test
    void returnsUnmodifiableCollections() throws Exception {
        BluegreenConfig config = load(BLUE + """
          green: { host: g, databases: { a: b } }
        users: [ { name: u, auth: trust } ]
        """);

        assertThatThrownBy(() -> config.users().add(new User("x", AuthMethod.TRUST, null)))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> config.green().databases().put("c", "d"))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    // --- every problem, with its path (@FILE@ stands for an existing regular file, @CERT@ and @KEY@ for PEM ones) ---

    static Stream<Arguments> oneProblemEach() {
        return Stream.of(
                Arguments.of("clusters:\n  blue: { host: h, port: 70000 }\n",
                        "clusters.blue.port: must be between 1 and 65535"),
                Arguments.of("clusters:\n  blue: { host: h, port: five }\n",
                        "clusters.blue.port: not a number \"five\""),
                Arguments.of("clusters:\n  blue: { host: h, port: 1e3 }\n",
                        "clusters.blue.port: not a number \"1e3\""),
                Arguments.of("clusters:\n  blue: { host: h, port: 0x1F }\n",
                        "clusters.blue.port: not a number \"0x1F\""),
                Arguments.of("clusters:\n  blue: { host: h, port: 5_432 }\n",
                        "clusters.blue.port: not a number \"5_432\""),
                Arguments.of("clusters:\n  blue: { host: h, hots: h }\n",
                        "clusters.blue.hots: unknown key"),
                Arguments.of("clusters:\n  blue: { port: 5432 }\n",
                        "clusters.blue.host: required (or give url)"),
                Arguments.of("clusters:\n  blue: { host: \"db.internal:5433\" }\n",
                        "clusters.blue.host: not a host name or IP address \"db.internal:5433\" (the port goes in port)"),
                Arguments.of("clusters:\n  blue: { host: \"postgresql://db.internal/app\" }\n",
                        "clusters.blue.host: not a host name or IP address \"postgresql://db.internal/app\""
                                + " (a URL goes in url)"),
                Arguments.of("clusters:\n  blue: { host: \"[::1]\" }\n",
                        "clusters.blue.host: not a host name or IP address \"[::1]\""
                                + " (write an IPv6 address without brackets)"),
                Arguments.of("clusters:\n  blue: { host: \"db internal\" }\n",
                        "clusters.blue.host: not a host name or IP address \"db internal\""),
                Arguments.of("clusters:\n  blue: { host: \"1::2::3\" }\n",
                        "clusters.blue.host: not a host name or IP address \"1::2::3\""),
                Arguments.of("clusters:\n  blue: { host: \"256.300.1.1\" }\n",
                        "clusters.blue.host: not a host name or IP address \"256.300.1.1\""),
                Arguments.of("clusters:\n  blue: { host: \"10.1\" }\n",
                        "clusters.blue.host: not a host name or IP address \"10.1\""),
                Arguments.of("clusters:\n  blue: { host: h, tls: { channel_binding: always } }\n",
                        "clusters.blue.tls.channel_binding: unknown channel binding \"always\" (expected disable, prefer or require)"),
                Arguments.of("clusters:\n  blue: { host: localhost, tls: { channel_binding: require } }\n",
                        "clusters.blue.tls.channel_binding: require needs TLS (the TLS mode is disable, the default for a"
                                + " loopback host): it binds the login to the connection"),
                Arguments.of("clusters:\n  blue: { host: h, tls: { mode: prefer } }\n",
                        "clusters.blue.tls.mode: unknown TLS mode \"prefer\" (expected disable, require, verify-ca or verify-full)"),
                Arguments.of("clusters:\n  blue: { host: h }\n  green: { host: g, tls: { mode: verify-full, ca_file: /x } }\n",
                        "clusters.green.tls.ca_file: /x: no such file"),
                Arguments.of("clusters:\n  blue: { host: h, tls: { mode: require, ca_file: /x } }\n",
                        "clusters.blue.tls.ca_file: only used with TLS mode verify-ca or verify-full (mode is require)"),
                Arguments.of("clusters:\n  blue: { host: h, tls: { mode: verify-ca } }\n",
                        "clusters.blue.tls.mode: verify-ca needs a CA file of the cluster's own (tls.ca_file, or sslrootcert"
                                + " in the URL): with the JVM's trusted CAs any publicly issued certificate would pass; use"
                                + " verify-full to check the host name against them"),
                Arguments.of("clusters:\n  blue: { host: h, databases: { app: \"\" } }\n",
                        "clusters.blue.databases.app: must not be empty"),
                Arguments.of("clusters:\n  blue: { host: h }\n  green: { url: \"mysql://g/app\" }\n",
                        "clusters.green.url: not a postgresql:// URL"),
                Arguments.of("clusters:\n  blue: { host: h }\n  red: { host: r }\n",
                        "clusters.red: unknown key"),
                Arguments.of("clusters:\n  blue: postgresql://h/app\n",
                        "clusters.blue: expected a mapping"),
                Arguments.of("clusters:\n  blue: { host: h }\n  green: { host: H, port: 5432 }\n",
                        "clusters.green: is the same endpoint and database as blue (h:5432); dual-write would apply every write twice to one database"),
                Arguments.of("clusters:\n  blue: { host: localhost, database: app }\n  green: { host: 127.0.0.1, database: app }\n",
                        "clusters.green: is the same endpoint and database as blue (localhost:5432); dual-write would apply every write twice to one database"),
                Arguments.of("",
                        "clusters.blue: required (or pass --blue, or use --embedded)"),
                Arguments.of(BLUE + "users:\n  - { name: a, password: x }\n  - { name: b, auth: sha1, password: y }\n",
                        "users[1].auth: unknown method \"sha1\" (expected trust, md5 or scram-sha-256)"),
                Arguments.of(BLUE + "users:\n  - { name: a, auth: md5 }\n",
                        "users[0].password: required for md5"),
                Arguments.of(BLUE + "users:\n  - { name: a }\n",
                        "users[0].password: required for scram-sha-256"),
                Arguments.of(BLUE + "users:\n  - { name: a, auth: trust, password: x }\n",
                        "users[0].password: not used with trust; remove it or choose md5 or scram-sha-256"),
                Arguments.of(BLUE + "users:\n  - { auth: trust }\n",
                        "users[0].name: required"),
                Arguments.of(BLUE + "users:\n  - { name: app, auth: trust }\n  - { name: app, auth: trust }\n",
                        "users[1].name: duplicate user \"app\" (also users[0])"),
                Arguments.of(BLUE + "users:\n  - app\n",
                        "users[0]: expected a mapping"),
                Arguments.of(BLUE + "users: { name: app }\n",
                        "users: expected a list"),
                Arguments.of(BLUE + "users:\n  - { name: a, password: \"${env:NOPE}\" }\n",
                        "users[0].password: environment variable NOPE is not set"),
                Arguments.of(BLUE + "users:\n  - { name: a, password: \"${file:/no/such/secret}\" }\n",
                        "users[0].password: cannot read /no/such/secret: no such file"),
                Arguments.of(BLUE + "users:\n  - { name: a, password: \"${vault:kv/app}\" }\n",
                        "users[0].password: unknown reference \"${vault:...}\" (expected ${env:NAME} or ${file:PATH})"),
                Arguments.of(BLUE + "users:\n  - { name: a, password: \"${env:EMPTY}\" }\n",
                        "users[0].password: must not be empty (the value of ${env:EMPTY} is empty)"),
                Arguments.of(BLUE + "users:\n  - { name: a, password: \"\" }\n",
                        "users[0].password: must not be empty"),
                Arguments.of(BLUE + "listen: \"0.0.0.0:6432\"\n",
                        "listen: a non-loopback listener (0.0.0.0:6432) needs client authentication; configure users"),
                Arguments.of(BLUE + "listen: abc\n",
                        "listen: expected HOST:PORT, got \"abc\""),
                Arguments.of(BLUE + "listen: \"db internal:6432\"\n",
                        "listen: not a host name or IP address to listen on \"db internal\""),
                Arguments.of(BLUE + "admin: { listen: \"256.1.1.1:9432\" }\n",
                        "admin.listen: not a host name or IP address to listen on \"256.1.1.1\""),
                Arguments.of(BLUE + "listen: { host: x }\n",
                        "listen: expected a value, got a mapping"),
                Arguments.of(BLUE + "admin: { listen: \"127.0.0.1\" }\n",
                        "admin.listen: expected HOST:PORT, got \"127.0.0.1\""),
                Arguments.of(BLUE + "admin: { token: x }\n",
                        "admin.token: unknown key"),
                Arguments.of(BLUE + "client_tls: { cert_file: @CERT@ }\n",
                        "client_tls.key_file: required with cert_file"),
                Arguments.of(BLUE + "client_tls: { key_file: @KEY@ }\n",
                        "client_tls.cert_file: required with key_file"),
                Arguments.of(BLUE + "client_tls: { required: true }\n",
                        "client_tls.cert_file: required"),
                Arguments.of(BLUE + "client_tls: { cert_file: /no/cert, key_file: @KEY@ }\n",
                        "client_tls.cert_file: /no/cert: no such file"),
                Arguments.of(BLUE + "client_tls: { cert_file: @FILE@, key_file: @KEY@ }\n",
                        "client_tls.cert_file: @FILE@: not a PEM certificate file (no -----BEGIN CERTIFICATE----- block)"),
                Arguments.of(BLUE + "client_tls: { cert_file: @KEY@, key_file: @KEY@ }\n",
                        "client_tls.cert_file: @KEY@: not a PEM certificate file (no -----BEGIN CERTIFICATE----- block)"),
                Arguments.of(BLUE + "client_tls: { cert_file: @CERT@, key_file: @CERT@ }\n",
                        "client_tls.key_file: @CERT@: not a PEM private key file (no -----BEGIN PRIVATE KEY----- block)"),
                Arguments.of(BLUE + "  green: { host: g, tls: { mode: verify-ca, ca_file: @FILE@ } }\n",
                        "clusters.green.tls.ca_file: @FILE@: not a PEM certificate file (no -----BEGIN CERTIFICATE----- block)"),
                Arguments.of(BLUE + "  green: { host: g, tls: { mode: verify-ca, ca_file: @BAD@ } }\n",
                        "clusters.green.tls.ca_file: @BAD@: certificate 1 in it is not a valid X.509 certificate"),
                Arguments.of(BLUE + "  green: { url: \"postgresql://g/db?sslmode=verify-full&sslrootcert=@FILE@\" }\n",
                        "clusters.green.url: sslrootcert @FILE@: not a PEM certificate file"
                                + " (no -----BEGIN CERTIFICATE----- block)"),
                Arguments.of(BLUE + "client_tls: { cert_file: @CERT@, key_file: @KEY@, required: maybe }\n",
                        "client_tls.required: expected true or false, got \"maybe\""),
                Arguments.of(BLUE + "client_tls: { cert_file: @CERT@, key_file: @KEY@, required: yes }\n",
                        "client_tls.required: expected true or false, got \"yes\""),
                Arguments.of(BLUE + "timeouts: { startup: ten }\n",
                        "timeouts.startup: not a duration \"ten\""),
                Arguments.of(BLUE + "timeouts: { connect: 0s }\n",
                        "timeouts.connect: must be more than 0"),
                Arguments.of(BLUE + "timeouts: { connect: 600h }\n",
                        "timeouts.connect: must be at most 24h"),
                Arguments.of(BLUE + "timeouts: { startup: 1441m }\n",
                        "timeouts.startup: must be at most 24h"),
                Arguments.of(BLUE + "timeouts: { shutdown_grace: 3000000h }\n",
                        "timeouts.shutdown_grace: must be at most 24h"),
                Arguments.of(BLUE + "timeouts: { shutdown_grace: 999999999999h }\n",
                        "timeouts.shutdown_grace: must be at most 24h"),
                Arguments.of(BLUE + "timeouts: { follower: 0s }\n",
                        "timeouts.follower: must be more than 0"),
                Arguments.of(BLUE + "timeouts: { green_read: 25h }\n",
                        "timeouts.green_read: must be at most 24h"),
                Arguments.of(BLUE + "timeouts: { green_read: soon }\n",
                        "timeouts.green_read: not a duration \"soon\""),
                Arguments.of(BLUE + "timeouts: { commit_wait: -1ms }\n",
                        "timeouts.commit_wait: not a duration \"-1ms\""),
                Arguments.of(BLUE + "timeouts: { keepalive: 500ms }\n",
                        "timeouts.keepalive: must be 0s (off) or whole seconds from 1s to 32767s"),
                Arguments.of(BLUE + "timeouts: { keepalive: 1500ms }\n",
                        "timeouts.keepalive: must be 0s (off) or whole seconds from 1s to 32767s"),
                Arguments.of(BLUE + "timeouts: { keepalive: 10h }\n",
                        "timeouts.keepalive: must be 0s (off) or whole seconds from 1s to 32767s"),
                Arguments.of(BLUE + "timeouts: { idle: 5m }\n",
                        "timeouts.idle: unknown key"),
                Arguments.of(BLUE + "limits: { max_message_size: big }\n",
                        "limits.max_message_size: not a size \"big\""),
                Arguments.of(BLUE + "limits: { max_message_size: 2GiB }\n",
                        "limits.max_message_size: must be between 4KiB and 1GiB"),
                Arguments.of(BLUE + "limits: { max_message_size: 9999999999GiB }\n",
                        "limits.max_message_size: must be between 4KiB and 1GiB"),
                Arguments.of(BLUE + "limits: { max_client_connections: 3000000000 }\n",
                        "limits.max_client_connections: must be between 1 and 2147483647"),
                Arguments.of(BLUE + "limits: { max_client_connections: 99999999999999999999 }\n",
                        "limits.max_client_connections: must be between 1 and 2147483647"),
                Arguments.of("clusters:\n  blue: { host: h, port: -99999999999999999999 }\n",
                        "clusters.blue.port: must be between 1 and 65535"),
                Arguments.of(BLUE + "limits: { max_startup_packet_size: 100 }\n",
                        "limits.max_startup_packet_size: must be between 1KiB and 1MiB"),
                Arguments.of(BLUE + "limits: { max_client_connections: 0 }\n",
                        "limits.max_client_connections: must be at least 1"),
                Arguments.of(BLUE + "state_dir: @FILE@\n",
                        "state_dir: @FILE@: not a directory"),
                Arguments.of(BLUE + "stat_dir: /tmp\n",
                        "stat_dir: unknown key"));
    }

    @ParameterizedTest
    @MethodSource("oneProblemEach")
    void reportsEachProblemAtItsPath(String yaml, String problem) throws Exception {
        assertThat(problems(withFiles(yaml))).containsExactly(withFiles(problem));
    }

    /** {@code text} with @FILE@, @CERT@, @KEY@ and @BAD@ (a broken certificate) replaced by the paths of such files, written now. */
    private String withFiles(String text) throws IOException {
        Path file = Files.writeString(dir.resolve("some.file"), "x");
        Path cert = Pem.certificate(dir.resolve("cert.pem"));
        Path key = Pem.privateKey(dir.resolve("key.pem"));
        Path bad = Files.writeString(dir.resolve("bad.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        return text.replace("@FILE@", file.toString()).replace("@CERT@", cert.toString()).replace("@KEY@", key.toString())
                .replace("@BAD@", bad.toString());
    }

    @Test
    void reportsEveryProblemAtOnce() throws Exception {
        List<String> problems = problems("""
        listen: "0.0.0.0:6432"
        clusters:
          blue: { hots: db, port: 0 }
          green: { host: g, tls: { mode: verify-full, ca_file: /x } }
        users:
          - { name: a, auth: md5 }
          - { name: b, auth: sha1, password: y }
        timeouts: { startup: ten }
        """);

        assertThat(problems).containsExactlyInAnyOrder(
                "clusters.blue.port: must be between 1 and 65535",
                "clusters.blue.hots: unknown key",
                "clusters.blue.host: required (or give url)",
                "clusters.green.tls.ca_file: /x: no such file",
                "users[0].password: required for md5",
                "users[1].auth: unknown method \"sha1\" (expected trust, md5 or scram-sha-256)",
                "timeouts.startup: not a duration \"ten\"");
    }

    @Test
    void anExceptionMessageListsOneProblemPerLine() throws Exception {
        Path file = yaml("timeouts: { startup: ten, connect: x }\n");

        assertThatThrownBy(() -> loader.read(file, Overrides.none(), true))
                .hasMessage("timeouts.startup: not a duration \"ten\"\ntimeouts.connect: not a duration \"x\"");
    }

    @Test
    void aYamlSyntaxErrorIsOneProblemWithLineAndColumn() throws Exception {
        Path file = yaml("""
        listen: "127.0.0.1:6432"
        users:
          - { name: app, password: "hunter2 }
        """);

        assertThat(problems(file, Overrides.none(), false))
                .containsExactly(file + ": line 4, column 1: found unexpected end of stream"
                        + " (while scanning a quoted scalar started at line 3, column 28)");
    }

    @Test
    void aDuplicateKeyIsASyntaxError() throws Exception {
        Path file = yaml("listen: \"127.0.0.1:1\"\nlisten: \"127.0.0.1:2\"\n");

        assertThat(problems(file, Overrides.none(), true)).singleElement(InstanceOfAssertFactories.STRING)
                .startsWith(file + ": line 2").contains("duplicate key 'listen'");
    }

    @Test
    void aTopLevelListIsRefused() throws Exception {
        Path file = yaml("- a\n- b\n");

        assertThat(problems(file, Overrides.none(), true)).containsExactly(file + ": expected a mapping of keys at the top level");
    }

    @Test
    void aSecondYamlDocumentIsRefusedRatherThanIgnored() throws Exception {
        Path file = yaml("""
        listen: "127.0.0.1:6432"
        ---
        clusters:
          blue: { host: db-blue.internal }
        """);

        assertThat(problems(file, Overrides.none(), true))
                .containsExactly(file + ": line 3, column 1: a second YAML document (after ---) is not read;"
                        + " keep every key in one document");
    }

    @Test
    void documentMarkersAroundTheOneDocumentAreFine() throws Exception {
        BluegreenConfig config = load("---\n" + BLUE + "...\n---\n");

        assertThat(config.blue().host()).isEqualTo("db-blue.internal");
    }

    @Test
    void aYamlAliasIsRefusedRatherThanReadAsItsName() throws Exception {
        Path file = yaml("""
        clusters:
          blue: { host: db-blue.internal }
          green: *blue
        """);

        assertThat(problems(file, Overrides.none(), false)).singleElement().asString()
                .endsWith("YAML aliases (*name) are not supported; write the value out, and quote a value that starts with *");
    }

    @Test
    void anUnquotedPasswordThatReadsAsAnAliasIsNotShown() throws Exception {
        Path file = yaml(BLUE + "users:\n  - { name: app, password: *Sup3rS3cret }\n");

        assertThat(problems(file, Overrides.none(), false)).singleElement().asString()
                .contains("YAML aliases").contains("quote a value that starts with *").doesNotContain("Sup3rS3cret");
    }

    @Test
    void aThresholdIsAPlainDecimalNumberReportedOnce() throws Exception {
        for (String threshold : List.of("0x1p3", "0.5f", "2D")) {
            assertThat(problems(BLUE + "health:\n  rules:\n    - { metric: latency_p99_ratio, op: \">\", threshold: "
                    + threshold + ", action: rollback }\n"))
                    .as(threshold).containsExactly("health.rules[0].threshold: not a number \"" + threshold + "\"");
        }
        assertThat(problems(BLUE + "health:\n  rules:\n    - { metric: latency_p99_ratio, op: \">\", "
                + "threshold: \"${env:UNSET_THRESHOLD}\", action: rollback }\n"))
                .containsExactly("health.rules[0].threshold: environment variable UNSET_THRESHOLD is not set");
    }

    @Test
    void aBinaryValueIsRefusedAtItsLine() throws Exception {
        Path file = yaml(BLUE + "listen: !!binary aGVsbG8=\n");

        assertThat(problems(file, Overrides.none(), false))
                .containsExactly(file + ": line 3, column 9: !!binary values are not supported; write the value as text");
    }

    @Test
    void aMissingFileIsReportedAgainstConfig() {
        Path file = dir.resolve("absent.yaml");

        assertThat(problems(file, Overrides.none(), true)).containsExactly("--config: " + file + ": no such file");
    }

    // --- secrets ---

    @Test
    void readsSecretsFromFilesWithoutTheTrailingNewline() throws Exception {
        Path unix = Files.writeString(dir.resolve("unix"), "from-file\n");
        Path windows = Files.writeString(dir.resolve("windows"), "crlf\r\n");

        BluegreenConfig config = load(BLUE + """
        users:
          - { name: a, password: "${file:%s}" }
          - { name: b, password: "${file:%s}" }
        """.formatted(unix, windows));

        assertThat(config.user("a").orElseThrow().password().reveal()).isEqualTo("from-file");
        assertThat(config.user("b").orElseThrow().password().reveal()).isEqualTo("crlf");
    }

    @Test
    void readsSecretsFromVariablesWithoutTheTrailingNewlineAsFromFiles() throws Exception {
        BluegreenConfig config = load(BLUE + "users:\n  - { name: a, password: \"${env:ECHOED_PASSWORD}\" }\n");

        assertThat(config.user("a").orElseThrow().password().reveal()).isEqualTo("echoed");
    }

    @Test
    void refusesASecretFileThatIsNotUtf8RatherThanReadAnotherSecret() throws Exception {
        Path latin1 = Files.write(dir.resolve("latin1"), new byte[] {'p', (byte) 0xE4, 's', 's'});

        assertThat(problems(BLUE + "users:\n  - { name: a, password: \"${file:%s}\" }\n".formatted(latin1)))
                .containsExactly("users[0].password: cannot read " + latin1 + ": not valid UTF-8");
    }

    @Test
    void resolvesReferencesInAnyStringValue() throws Exception {
        Path host = Files.writeString(dir.resolve("host"), "db-from-file\n");

        Cluster blue = load("""
        clusters:
          blue: { host: "${file:%s}", user: bluegreen, password: "${env:BLUE_PASSWORD}" }
        """.formatted(host)).blue();

        assertThat(blue.host()).isEqualTo("db-from-file");
        assertThat(blue.password().reveal()).isEqualTo("blue-secret");
    }

    /** One server with two databases is a legitimate blue and green, and so are two servers on two loopback addresses. */
    @Test
    void blueAndGreenOnOneServerInDatabasesOfTheirOwnAreAccepted() throws Exception {
        BluegreenConfig config = load("clusters:\n  blue: { host: localhost, database: app }\n"
                + "  green: { host: 127.0.0.1, database: app_next }\n");
        assertThat(config.green().backendDatabase("app")).isEqualTo("app_next");

        BluegreenConfig tunnels = load("clusters:\n  blue: { host: 127.0.0.1, database: app }\n"
                + "  green: { host: 127.0.0.2, database: app }\n");
        assertThat(tunnels.green().host()).isEqualTo("127.0.0.2");
        BluegreenConfig mapped = load("clusters:\n  blue: { host: h }\n  green: { host: h, databases: { shop: shop_v2 } }\n");
        assertThat(mapped.green().backendDatabase("shop")).isEqualTo("shop_v2");
    }

    @Test
    void takesTextThatOnlyLooksLikeAReferenceLiterally() throws Exception {
        BluegreenConfig config = load(BLUE + """
        users:
          - { name: b, password: "$env:BLUE_PASSWORD" }
          - { name: c, password: "{env:BLUE_PASSWORD}" }
        """);

        assertThat(config.user("b").orElseThrow().password().reveal()).isEqualTo("$env:BLUE_PASSWORD");
        assertThat(config.user("c").orElseThrow().password().reveal()).isEqualTo("{env:BLUE_PASSWORD}");
    }

    /** A mistyped reference is not taken as the literal secret, which anyone reading the file would know. */
    @Test
    void refusesAReferenceWrittenWrong() throws Exception {
        String refusal = "looks like a reference but is not one: write exactly ${env:NAME} or ${file:PATH}, with nothing"
                + " around it";
        assertThat(problems(BLUE + """
        users:
          - { name: a, password: "x${env:BLUE_PASSWORD}" }
          - { name: b, password: "${env:BLUE_PASSWORD" }
          - { name: c, password: "${env:BLUE_PASSWORD} " }
          - { name: d, password: "${ env:BLUE_PASSWORD}" }
          - { name: e, password: "${file:/etc/secret}\\n" }
        """)).containsExactly("users[0].password: " + refusal, "users[1].password: " + refusal,
                "users[2].password: " + refusal, "users[3].password: " + refusal, "users[4].password: " + refusal);
    }

    @Test
    void aTagIsRefusedRatherThanEatingTheValue() throws Exception {
        Path tagged = yaml(BLUE + "users:\n  - { name: app, password: !ab cd }\n");
        assertThat(problems(tagged, Overrides.none(), false)).singleElement().asString()
                .contains("YAML tags (!tag) are not supported").contains("quote a value that starts with !");
        assertThat(load(BLUE + "users:\n  - { name: app, password: !!str 1234 }\n").user("app").orElseThrow()
                .password().reveal()).as("a standard tag").isEqualTo("1234");
    }

    @Test
    void thePublicLoaderReadsTheProcessEnvironment() throws Exception {
        Path file = yaml(BLUE + "users:\n  - { name: a, password: \"${env:PATH}\" }\n");

        BluegreenConfig config = ConfigLoader.load(file, Overrides.none(), false);

        assertThat(config.user("a").orElseThrow().password().reveal()).isEqualTo(System.getenv("PATH"));
    }

    @Test
    void neverShowsASecretInAProblem() throws Exception {
        Path secretFile = Files.writeString(dir.resolve("secret"), "file-s3cret\n");
        List<String> problems = problems("""
        clusters:
          blue: { host: h, port: "${env:APP_PORT}" }
          green: { url: "postgresql://u:url-s3cret@g:5432/app?sslmode=wrong" }
        timeouts: { startup: "${file:%s}" }
        """.formatted(secretFile));

        assertThat(problems).containsExactly(
                "clusters.blue.port: not a number (the value of ${env:APP_PORT})",
                "clusters.green.url: unknown sslmode \"wrong\" (expected disable, require, verify-ca or verify-full)",
                "timeouts.startup: not a duration (the value of ${file:" + secretFile + "})");
        assertThat(String.join("\n", problems)).doesNotContain("s3cret");
    }

    static Stream<Arguments> referencedValuesInProblems() {
        return Stream.of(
                Arguments.of("clusters:\n  blue: { host: h, tls: { mode: \"${env:MODE}\" } }\n",
                        "clusters.blue.tls.mode: unknown TLS mode (the value of ${env:MODE})"
                                + " (expected disable, require, verify-ca or verify-full)"),
                Arguments.of(BLUE + "users:\n  - { name: a, auth: \"${env:AUTH}\", password: x }\n",
                        "users[0].auth: unknown method (the value of ${env:AUTH}) (expected trust, md5 or scram-sha-256)"),
                Arguments.of(BLUE + "  green: { url: \"${env:URL_SSLMODE}\" }\n",
                        "clusters.green.url: unknown sslmode in ${env:URL_SSLMODE}"
                                + " (expected disable, require, verify-ca or verify-full)"),
                Arguments.of(BLUE + "state_store: \"${env:URL_SSLMODE}\"\n",
                        "state_store: unknown sslmode in ${env:URL_SSLMODE}"
                                + " (expected disable, require, verify-ca or verify-full)"),
                Arguments.of(BLUE + "  green: { url: \"${env:URL_PARAM}\" }\n",
                        "clusters.green.url: unknown parameter in ${env:URL_PARAM} (supported: sslmode, sslrootcert, channel_binding)"),
                Arguments.of(BLUE + "  green: { url: \"${env:URL_ROOTCERT}\" }\n",
                        "clusters.green.url: sslrootcert in ${env:URL_ROOTCERT}: no such file"),
                Arguments.of(BLUE + "  green: { host: g, tls: { mode: verify-full, ca_file: \"${env:NO_FILE}\" } }\n",
                        "clusters.green.tls.ca_file: ${env:NO_FILE}: no such file"),
                Arguments.of(BLUE + "client_tls: { cert_file: \"${env:NO_FILE}\", key_file: @KEY@ }\n",
                        "client_tls.cert_file: ${env:NO_FILE}: no such file"),
                Arguments.of(BLUE + "client_tls: { cert_file: @CERT@, key_file: \"${env:NO_FILE}\" }\n",
                        "client_tls.key_file: ${env:NO_FILE}: no such file"),
                Arguments.of(BLUE + "listen: \"${env:NON_LOOPBACK}\"\n",
                        "listen: a non-loopback listener (${env:NON_LOOPBACK}) needs client authentication; configure users"),
                Arguments.of(BLUE + "users:\n  - { name: \"${env:USER}\", auth: trust }\n  - { name: app, auth: trust }\n",
                        "users[1].name: duplicate user \"app\" (also users[0])"),
                Arguments.of(BLUE + "users:\n  - { name: app, auth: trust }\n  - { name: \"${env:USER}\", auth: trust }\n",
                        "users[1].name: duplicate user (the value of ${env:USER}) (also users[0])"),
                Arguments.of("clusters:\n  blue: { host: h }\n  green: { host: \"${env:HOST}\" }\n",
                        "clusters.green: is the same endpoint and database as blue; dual-write would apply every write"
                                + " twice to one database"));
    }

    @ParameterizedTest
    @MethodSource("referencedValuesInProblems")
    void namesAValueFromAReferenceByItsReference(String yaml, String problem) throws Exception {
        assertThat(problems(withFiles(yaml))).containsExactly(problem);
    }

    @Test
    void namesAStateDirectoryFromAReferenceByItsReference() throws Exception {
        Path file = Files.writeString(dir.resolve("not-a-directory"), "x");
        ConfigLoader loader = new ConfigLoader(Map.of("DIR", file.toString())::get);

        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> loader.read(yaml(BLUE + "state_dir: \"${env:DIR}\"\n"), Overrides.none(), false));

        assertThat(e.problems()).map(Problem::toString).containsExactly("state_dir: ${env:DIR}: not a directory");
    }

    // --- flags ---

    @Test
    void flagsOverrideTheFile() throws Exception {
        Path file = yaml("""
        listen: "127.0.0.1:7000"
        admin: { listen: "127.0.0.1:7001" }
        state_dir: /from/file
        clusters:
          blue: { host: file-blue, databases: { app: app_v1 }, user: u, password: p }
          green: { host: file-green }
        """);
        Overrides flags = new Overrides("127.0.0.1:8000", "postgresql://flag-blue/app", null, "127.0.0.1:8001",
                dir.resolve("flag-state"));

        BluegreenConfig config = loader.read(file, flags, false);

        assertThat(config.listen()).isEqualTo(new HostPort("127.0.0.1", 8000));
        assertThat(config.admin()).isEqualTo(new HostPort("127.0.0.1", 8001));
        assertThat(config.stateDir()).isEqualTo(dir.resolve("flag-state"));
        assertThat(config.blue()).as("--blue replaces the whole entry").isEqualTo(new Cluster("blue", "flag-blue",
                5432, "app", Map.of(), TlsMode.VERIFY_FULL, null, null, null));
        assertThat(config.green().host()).isEqualTo("file-green");
    }

    @Test
    void aFlagMakesTheFileKeyItReplacesIrrelevant() throws Exception {
        Path file = yaml("""
        listen: nonsense
        clusters:
          blue: { hots: typo, password: "${env:NOPE}" }
        """);

        BluegreenConfig config = loader.read(file,
                new Overrides("127.0.0.1:1", "postgresql://localhost/app", null, null, null), false);

        assertThat(config.blue().host()).isEqualTo("localhost");
    }

    @Test
    void flagsWorkWithoutAFile() throws Exception {
        BluegreenConfig config = loader.read(null,
                new Overrides(null, "postgresql://localhost:5432/app", "postgresql://localhost:5433/app", "[::1]:9000", null),
                false);

        assertThat(config.blue().port()).isEqualTo(5432);
        assertThat(config.green().port()).isEqualTo(5433);
        assertThat(config.admin()).isEqualTo(new HostPort("::1", 9000));
    }

    @Test
    void reportsFlagProblemsUnderTheFlag() throws Exception {
        List<String> problems = problems(null,
                new Overrides("abc", "db.internal:5432", "postgresql://g/app?sslmode=prefer", "x", null), false);

        assertThat(problems).containsExactly(
                "--listen: expected HOST:PORT, got \"abc\"",
                "--admin: expected HOST:PORT, got \"x\"",
                "--blue: not a postgresql:// URL",
                "--green: unknown sslmode \"prefer\" (expected disable, require, verify-ca or verify-full)");
    }

    @Test
    void anEmptyStateDirFlagIsRefusedLikeAnEmptyStateDirKey() throws Exception {
        List<String> fromFlag = problems(null, new Overrides(null, null, null, null, Path.of("")), true);
        List<String> fromFile = problems(yaml("state_dir: \"\"\n"), Overrides.none(), true);

        assertThat(fromFlag).containsExactly("--state-dir: must not be empty");
        assertThat(fromFile).containsExactly("state_dir: must not be empty");
    }

    @Test
    void aNonLoopbackListenFlagStillNeedsUsersAndTheProblemIsTheFlags() throws Exception {
        List<String> problems = problems(null, new Overrides("[::]:16544", null, null, null, null), true);

        assertThat(problems).containsExactly(
                "--listen: a non-loopback listener ([::]:16544) needs client authentication; configure users");
    }

    @Test
    void theAdminFlagWinsWhateverShapeTheFilesAdminKeyHas() throws Exception {
        Overrides flag = new Overrides(null, null, null, "127.0.0.1:8001", null);

        HostPort overScalar = loader.read(yaml(BLUE + "admin: \"127.0.0.1:1\"\n"), flag, false).admin();
        HostPort overBadListen = loader.read(yaml(BLUE + "admin: { listen: nonsense }\n"), flag, false).admin();

        assertThat(overScalar).isEqualTo(new HostPort("127.0.0.1", 8001));
        assertThat(overBadListen).isEqualTo(new HostPort("127.0.0.1", 8001));
        assertThat(problems(BLUE + "admin: \"127.0.0.1:1\"\n")).as("without the flag the key must be a mapping")
                .containsExactly("admin: expected a mapping");
        assertThat(problems(yaml(BLUE + "admin: { listen: nonsense, tokn: x }\n"), flag, false))
                .as("the flag replaces admin.listen only").containsExactly("admin.tokn: unknown key");
    }

    @Test
    void aNonLoopbackListenerWithUsersIsAccepted() throws Exception {
        BluegreenConfig config = load(BLUE + """
        listen: "0.0.0.0:6432"
        users: [ { name: app, password: "${env:BLUE_PASSWORD}" } ]
        """);

        assertThat(config.listen().isLoopback()).isFalse();
    }
}
