package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.config.AuthMethod;
import dev.bluegreen.config.ChannelBinding;
import dev.bluegreen.config.ClientTls;
import dev.bluegreen.config.Secret;
import dev.bluegreen.config.TlsMode;
import dev.bluegreen.config.User;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.auth.Md5;
import dev.bluegreen.proxy.auth.ScramVerifier;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.nio.file.Path;
import dev.bluegreen.embedded.junit.TestClusters;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Client authentication is terminated by the proxy (SCRAM-SHA-256, md5, trust); the proxy logs in to
 * blue with its own credentials (SCRAM, md5, cleartext, trust) over TLS in every mode. Runs on a blue
 * of its own: it rewrites pg_hba.conf and turns TLS on, which the shared clusters must not see.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class AuthAndTlsIT {

    private static PgCluster blue;
    private static Certificates authority;
    private static Certificates.Issued serverCertificate;

    @BeforeAll
    static void prepare() throws Exception {
        blue = BlueGreenClusters.fresh("auth-blue", "16.9.0", Path.of("target", "auth-blue").toAbsolutePath());
        Path dir = Path.of("target", "it-certs").toAbsolutePath();
        authority = Certificates.newAuthority(dir, "bluegreen-test");
        // an IP SAN only: "127.0.0.1" verifies fully, "localhost" does not
        serverCertificate = authority.issue("blue-server", "blue", Certificates.ip("127.0.0.1"));
        blue.enableSsl(serverCertificate.certificate(), serverCertificate.privateKey());
        blue.execute("postgres",
                "do $$ begin "
                        + "set local password_encryption = 'scram-sha-256'; create role app_scram login password 'scram-pw'; "
                        + "set local password_encryption = 'md5'; create role app_md5 login password 'md5-pw'; "
                        + "create role app_clear login password 'clear-pw'; "
                        + "set local password_encryption = 'scram-sha-256'; create role alice login password 'alice-pw'; "
                        + "create role bob login; create role carol login; end $$");
        blue.writeHba(List.of(
                "host all app_scram 127.0.0.1/32 scram-sha-256",
                "host all app_md5 127.0.0.1/32 md5",
                "host all app_clear 127.0.0.1/32 password",
                "host all alice 127.0.0.1/32 scram-sha-256",
                "host all all 127.0.0.1/32 trust"));
    }

    @AfterAll
    static void stopBlue() {
        blue.close();
    }

    private static String sslInUse(Connection c) throws SQLException {
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select ssl::text || ' ' || current_user from pg_stat_ssl where pid = pg_backend_pid()")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static SQLException refused(TestProxy proxy, String user, String password) {
        return catchThrowableOfType(SQLException.class, () -> proxy.connect(user, password, new Properties()).close());
    }

    // --- clients authenticating to the proxy ----------------------------------------------------

    @Test
    void scramMd5AndTrustClientsLogInWithTheRightPasswordOnly() throws Exception {
        try (TestProxy proxy = TestProxy.in(blue)
                .user(new User("alice", AuthMethod.SCRAM_SHA_256, Secret.of("alice-pw")))
                .user(new User("bob", AuthMethod.MD5, Secret.of("bob-pw")))
                .user(new User("carol", AuthMethod.TRUST, null))
                .start()) {
            try (Connection alice = proxy.connect("alice", "alice-pw", new Properties());
                 Connection bob = proxy.connect("bob", "bob-pw", new Properties());
                 Connection carol = proxy.connect("carol", null, new Properties())) {
                assertThat(sslInUse(alice)).isEqualTo("false alice");
                assertThat(sslInUse(bob)).isEqualTo("false bob");
                assertThat(sslInUse(carol)).isEqualTo("false carol");
            }

            assertThat(refused(proxy, "alice", "wrong").getSQLState()).isEqualTo("28P01");
            assertThat(refused(proxy, "bob", "wrong").getSQLState()).isEqualTo("28P01");
            assertThat(refused(proxy, "mallory", "anything").getSQLState()).isEqualTo("28P01");
            assertThat(refused(proxy, "alice", "wrong").getMessage()).contains("password authentication failed for user \"alice\"");
        }
    }

    /**
     * A SCRAM exchange the client breaks (a malformed first message) is a protocol violation, 08P01, as
     * Postgres answers it, not a wrong password; the same for a user that does not exist, so nothing tells
     * the two apart.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "SCRAM-SHA-256      | garbage                          | malformed SCRAM client-first message",
        // channel binding, which the proxy does not offer: Postgres answers a mechanism it did not offer so too
        "SCRAM-SHA-256-PLUS | p=tls-server-end-point,,n=,r=abc | client selected an invalid SASL authentication mechanism",
    })
    void aMalformedScramMessageIsAProtocolViolationForAnyUser(String mechanismName, String firstMessage, String problem)
            throws Exception {
        try (TestProxy proxy = TestProxy.in(blue)
                .user(new User("alice", AuthMethod.SCRAM_SHA_256, Secret.of("alice-pw"))).start()) {
            for (String user : List.of("alice", "mallory")) {
                try (RawClient client = new RawClient(proxy.port())) {
                    client.startup(Map.of("user", user, "database", "postgres"));
                    assertThat(client.read().type()).as("AuthenticationSASL").isEqualTo('R');
                    byte[] mechanism = (mechanismName + "\0").getBytes(StandardCharsets.UTF_8);
                    byte[] data = firstMessage.getBytes(StandardCharsets.UTF_8);
                    client.send(RawClient.message('p', ByteBuffer.allocate(mechanism.length + 4 + data.length)
                            .put(mechanism).putInt(data.length).put(data).array()));

                    RawClient.Message error = client.read();
                    assertThat(error.type()).as(user).isEqualTo('E');
                    assertThat(error.sqlState()).as(user).isEqualTo("08P01");
                    assertThat(error.fields().get('M')).as(user).isEqualTo(problem);
                    assertThat(client.isClosedByPeer()).isTrue();
                }
            }
        }
    }

    @Test
    void theClientsOwnCredentialsLogItInToBlueWhenTheClusterNamesNoUser() throws Exception {
        // alice must pass SCRAM twice: to the proxy, then (as the proxy, with her configured password) to blue
        try (TestProxy proxy = TestProxy.in(blue).user(new User("alice", AuthMethod.MD5, Secret.of("alice-pw"))).start();
             Connection alice = proxy.connect("alice", "alice-pw", new Properties())) {
            assertThat(sslInUse(alice)).isEqualTo("false alice");
        }
    }

    // --- the proxy authenticating to blue -------------------------------------------------------

    @Test
    void theProxyLogsInToBlueWithScramMd5AndCleartext() throws Exception {
        for (String[] login : new String[][] {{"app_scram", "scram-pw"}, {"app_md5", "md5-pw"}, {"app_clear", "clear-pw"}}) {
            try (TestProxy proxy = TestProxy.in(blue).backendLogin(login[0], login[1]).start();
                 Connection c = proxy.connect("whoever")) {
                assertThat(sslInUse(c)).isEqualTo("false " + login[0]);
            }
        }
    }

    @Test
    void aWrongBackendPasswordReachesTheClientAsBluesError() throws Exception {
        try (TestProxy proxy = TestProxy.in(blue).backendLogin("app_scram", "not-it").start()) {
            SQLException error = refused(proxy, "whoever", null);

            assertThat(error.getSQLState()).isEqualTo("28P01");
            assertThat(error.getMessage()).contains("app_scram");
        }
    }

    @Test
    void aBackendAskingForAPasswordNobodyConfiguredIsAClearError() throws Exception {
        try (TestProxy proxy = TestProxy.in(blue).backendLogin("app_md5", null).start()) {
            SQLException error = refused(proxy, "whoever", null);

            assertThat(error.getSQLState()).isEqualTo("08004"); // not the client's password: bluegreen's configuration
            assertThat(error.getMessage()).contains("cluster blue asks for a md5 password for user \"app_md5\", but none is configured");
        }
    }

    // --- users given as the secrets Postgres stores ----------------------------------------------

    /** What blue stores for {@code role}'s password: what pg_dumpall writes, and an operator can give the proxy. */
    private static Secret storedOnBlue(String role) throws SQLException {
        return Secret.of(ClusterData.text(blue, "select rolpassword from pg_authid where rolname = '" + role + "'"));
    }

    /** {@code password}'s SCRAM secret under a salt of its own, in PostgreSQL's form: what setting it again stores. */
    private static Secret anotherScramSecret(String password) {
        ScramVerifier verifier = ScramVerifier.derive(password, new java.security.SecureRandom());
        Base64.Encoder base64 = Base64.getEncoder();
        return Secret.of("SCRAM-SHA-256$" + verifier.iterations() + ":" + base64.encodeToString(verifier.salt()) + "$"
                + base64.encodeToString(verifier.storedKey()) + ":" + base64.encodeToString(verifier.serverKey()));
    }

    /**
     * Users given as the secrets blue stores instead of their passwords: clients log in to the proxy with the
     * passwords, and the proxy logs in on to blue as them, by SCRAM with the ClientKey the client's login proved and
     * by md5 with the md5 secret. With the SCRAM secret and {@code auth: md5} the client is asked for SCRAM, as
     * Postgres asks on an md5 line for a role whose password it stores so.
     */
    @ParameterizedTest
    @ValueSource(strings = {"scram-sha-256", "md5"})
    void usersGivenAsTheSecretsPostgresStoresLogInToTheProxyAndOnToBlue(String scramUsersAuth) throws Exception {
        Secret scram = storedOnBlue("app_scram");
        Secret md5 = storedOnBlue("app_md5");
        assertThat(scram.reveal()).startsWith("SCRAM-SHA-256$");
        assertThat(md5.reveal()).startsWith("md5");
        try (TestProxy proxy = TestProxy.in(blue)
                .user(new User("app_scram", AuthMethod.parse(scramUsersAuth), scram))
                .user(new User("app_md5", AuthMethod.MD5, md5))
                .start()) {
            try (Connection viaScram = proxy.connect("app_scram", "scram-pw", new Properties());
                 Connection viaMd5 = proxy.connect("app_md5", "md5-pw", new Properties())) {
                assertThat(sslInUse(viaScram)).isEqualTo("false app_scram");
                assertThat(sslInUse(viaMd5)).isEqualTo("false app_md5");
            }

            assertThat(refused(proxy, "app_scram", "md5-pw").getSQLState()).isEqualTo("28P01");
            assertThat(refused(proxy, "app_md5", "scram-pw").getSQLState()).isEqualTo("28P01");
        }
    }

    /**
     * A secret that cannot prove blue's login is the configuration's problem, said as such (08004, naming what to
     * change), after the client's own login succeeded: a SCRAM secret blue does not store (the password set again
     * there under another salt), an md5 secret where blue asks for SCRAM, a SCRAM secret where it asks for md5.
     */
    @Test
    void aSecretThatCannotProveBluesLoginIsAClearErrorOfTheConfiguration() throws Exception {
        record Case(User user, String password, String problem) {}
        List<Case> cases = List.of(
                new Case(new User("alice", AuthMethod.SCRAM_SHA_256, anotherScramSecret("alice-pw")), "alice-pw",
                        "cluster blue cannot be logged in to as \"alice\" with the configured SCRAM-SHA-256 secret: the"
                                + " cluster stores another SCRAM secret for the role than the configured one"),
                new Case(new User("alice", AuthMethod.MD5, Secret.of(Md5.secret("alice", "alice-pw"))), "alice-pw",
                        "cluster blue asks for a SCRAM-SHA-256 password for user \"alice\", but only its md5 secret is"
                                + " configured"),
                new Case(new User("app_md5", AuthMethod.SCRAM_SHA_256, anotherScramSecret("md5-pw")), "md5-pw",
                        "cluster blue asks for a md5 password for user \"app_md5\", but only its SCRAM-SHA-256 secret is"
                                + " configured"));
        for (Case each : cases) {
            try (TestProxy proxy = TestProxy.in(blue).user(each.user()).start()) {
                SQLException error = refused(proxy, each.user().name(), each.password());

                assertThat(error.getSQLState()).as(each.problem()).isEqualTo("08004");
                assertThat(error.getMessage()).contains(each.problem());
                assertThat(refused(proxy, each.user().name(), "wrong").getSQLState()).isEqualTo("28P01");
            }
        }
    }

    /**
     * Under dual-write the twin logs in to green with the same ClientKey, where green stores the same SCRAM secret (as
     * {@code pg_dumpall} carries roles over): a session opened before {@code start} gets its twin afterwards, and one
     * opened after has both at once; their writes land on green. Once green stores another secret, a new session's
     * twin cannot log in: green falls out of sync, and the client's write is blue's, untouched.
     */
    @Test
    void aScramSecretLogsTheTwinInToAGreenThatStoresTheSameSecret() throws Exception {
        Secret secret = storedOnBlue("alice");
        blue.execute("postgres", "create table if not exists secret_notes (k int primary key, by text)",
                "grant all on secret_notes to alice");
        try (PgCluster green = BlueGreenClusters.fresh("auth-green", "18.1.0", Path.of("target", "auth-green").toAbsolutePath())) {
            green.execute("postgres", "create role alice login password '" + secret.reveal() + "'",
                    "create table secret_notes (k int primary key, by text)", "grant all on secret_notes to alice");
            green.writeHba(List.of("host all alice 127.0.0.1/32 scram-sha-256", "host all all 127.0.0.1/32 trust"));
            assertThat(ClusterData.text(green, "select rolpassword from pg_authid where rolname = 'alice'"))
                    .isEqualTo(secret.reveal());
            try (TestProxy proxy = TestProxy.in(blue).green(green)
                    .user(new User("alice", AuthMethod.SCRAM_SHA_256, secret)).start();
                 Connection before = proxy.connect("alice", "alice-pw", new Properties())) {
                proxy.server().routing().start("test", null);
                try (Connection after = proxy.connect("alice", "alice-pw", new Properties());
                     Statement early = before.createStatement(); Statement late = after.createStatement()) {
                    early.executeUpdate("insert into secret_notes values (1, current_user)");
                    late.executeUpdate("insert into secret_notes values (2, current_user)");
                }
                assertThat(proxy.server().migration().divergences()).isEmpty();
                assertThat(proxy.server().routing().current().followerInSync()).isTrue();

                // green's password set again (another salt): the configured secret no longer proves its login there,
                // and the client's write is blue's alone while green falls out of sync (the proxy logs why)
                green.execute("postgres", "alter role alice password '" + anotherScramSecret("alice-pw").reveal() + "'");
                try (Connection third = proxy.connect("alice", "alice-pw", new Properties());
                     Statement s = third.createStatement()) {
                    s.executeUpdate("insert into secret_notes values (3, current_user)");
                }
                // as for a green unreachable: recorded on the control thread, after the client has blue's answer
                await("green out of sync").until(() -> !proxy.server().routing().current().followerInSync());
            }
            assertThat(ClusterData.contents(blue, "secret_notes", "k")).isEqualTo("(1,alice)\n(2,alice)\n(3,alice)");
            assertThat(ClusterData.contents(green, "secret_notes", "k")).isEqualTo("(1,alice)\n(2,alice)");
        } finally {
            blue.execute("postgres", "drop table secret_notes");
        }
    }

    // --- SCRAM bound to the TLS connection (SCRAM-SHA-256-PLUS) -----------------------------------

    private static Properties channelBindingRequired() {
        Properties properties = new Properties();
        properties.setProperty("sslmode", "require");
        properties.setProperty("channelBinding", "require");
        return properties;
    }

    /**
     * Over TLS the proxy offers SCRAM-SHA-256-PLUS, so a client may bind its login to the proxy's certificate: pgjdbc
     * with {@code channelBinding=require} logs in (it refused before, the proxy offering no -PLUS), with the right
     * password only. A SCRAM secret given for the user works bound as well, its ClientKey logging the proxy in to blue.
     */
    @Test
    void aClientOnTlsBindsItsScramLoginToTheProxysCertificate() throws Exception {
        Certificates.Issued proxyCertificate = authority.issue("proxy-bound", "proxy", Certificates.ip("127.0.0.1"));
        try (TestProxy proxy = TestProxy.in(blue)
                .clientTls(new ClientTls(proxyCertificate.certificate(), proxyCertificate.privateKey(), false))
                .user(new User("alice", AuthMethod.SCRAM_SHA_256, Secret.of("alice-pw")))
                .user(new User("app_scram", AuthMethod.SCRAM_SHA_256, storedOnBlue("app_scram")))
                .start()) {
            try (Connection alice = proxy.connect("alice", "alice-pw", channelBindingRequired());
                 Connection viaSecret = proxy.connect("app_scram", "scram-pw", channelBindingRequired())) {
                assertThat(sslInUse(alice)).isEqualTo("false alice");
                assertThat(sslInUse(viaSecret)).isEqualTo("false app_scram");
            }
            SQLException wrong = catchThrowableOfType(SQLException.class,
                    () -> proxy.connect("alice", "wrong", channelBindingRequired()).close());
            assertThat(wrong.getSQLState()).isEqualTo("28P01");
        }
    }

    /**
     * With {@code channel_binding: require} the proxy logs in to blue only by SCRAM-SHA-256-PLUS over TLS, and refuses
     * a cluster that asks for anything else (an md5 password, or none at all), which could be someone between asking
     * for less.
     */
    @Test
    void withChannelBindingRequiredTheProxyLogsInToBlueBoundOrNotAtAll() throws Exception {
        try (TestProxy proxy = TestProxy.in(blue).tls(TlsMode.REQUIRE, null).channelBinding(ChannelBinding.REQUIRE)
                .backendLogin("app_scram", "scram-pw").start();
             Connection c = proxy.connect("whoever")) {
            assertThat(sslInUse(c)).isEqualTo("true app_scram");
        }
        for (String[] login : new String[][] {{"app_md5", "md5-pw", "an md5 password"}, {"bob", null, "no password (trust)"}}) {
            try (TestProxy proxy = TestProxy.in(blue).tls(TlsMode.REQUIRE, null).channelBinding(ChannelBinding.REQUIRE)
                    .backendLogin(login[0], login[1]).start()) {
                SQLException error = refused(proxy, "whoever", null);

                assertThat(error.getSQLState()).as(login[0]).isEqualTo("08006");
                assertThat(error.getMessage()).contains("cluster blue asks for " + login[2]
                        + ", but its channel_binding is require");
            }
        }
    }

    /**
     * A man in the middle with a certificate of his own, which TLS mode {@code require} does not check: the proxy's
     * login passes through him unless it is bound to the connection. Bound (the default, where blue offers it), the
     * proof covers his certificate, blue checks it against its own, and the login fails.
     */
    @Test
    void aManInTheMiddleUnderTlsRequireIsCaughtByChannelBinding() throws Exception {
        Certificates.Issued his = Certificates.newAuthority(Path.of("target", "it-certs-mitm").toAbsolutePath(), "mallory")
                .issue("mitm", "mitm", Certificates.ip("127.0.0.1"));
        try (TlsInterceptor mallory = new TlsInterceptor(blue.port(), his)) {
            try (TestProxy unbound = TestProxy.in(blue).clusterAt("127.0.0.1", mallory.port()).tls(TlsMode.REQUIRE, null)
                    .channelBinding(ChannelBinding.DISABLE).backendLogin("app_scram", "scram-pw").start();
                 Connection c = unbound.connect("whoever")) {
                assertThat(sslInUse(c)).as("through the man in the middle").isEqualTo("true app_scram");
            }
            try (TestProxy bound = TestProxy.in(blue).clusterAt("127.0.0.1", mallory.port()).tls(TlsMode.REQUIRE, null)
                    .backendLogin("app_scram", "scram-pw").start()) {
                SQLException error = refused(bound, "whoever", null);

                assertThat(error.getMessage()).contains("SCRAM channel binding check failed");
            }
        }
    }

    /**
     * A plain TCP relay to blue that notes the first code each connection sends (an SSLRequest's, a CancelRequest's,
     * a StartupMessage's protocol) and passes every byte on, both ways.
     */
    private static final class CodeRecordingRelay implements AutoCloseable {
        final List<Integer> firstCodes = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final java.net.ServerSocket server = new java.net.ServerSocket(0, 10, java.net.InetAddress.getLoopbackAddress());
        private final List<Socket> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();

        CodeRecordingRelay(int clusterPort) throws IOException {
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket in = server.accept();
                        Socket out = new Socket(java.net.InetAddress.getLoopbackAddress(), clusterPort);
                        sockets.add(in);
                        sockets.add(out);
                        Thread.ofVirtual().start(() -> relay(in, out));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        private void relay(Socket in, Socket out) {
            try {
                byte[] first = new DataInputStream(in.getInputStream()).readNBytes(8);
                firstCodes.add(ByteBuffer.wrap(first).getInt(4));
                out.getOutputStream().write(first);
                InputStream answers = out.getInputStream();
                OutputStream back = in.getOutputStream();
                Thread.ofVirtual().start(() -> TlsInterceptor.pump(answers, back, in));
                TlsInterceptor.pump(in.getInputStream(), out.getOutputStream(), out);
            } catch (IOException e) {
                // a side went
            }
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket socket : sockets) {
                socket.close();
            }
        }
    }

    /**
     * A cancel for a session whose cluster is on TLS goes over TLS too (as libpq 17 sends it): an SSLRequest opens its
     * connection, not the CancelRequest, whose key no one on the way may read; the statement is cancelled all the same.
     * Before, the request went in clear.
     */
    @Test
    void aCancelToAClusterOnTlsGoesEncrypted() throws Exception {
        String sleep = "select pg_sleep(60) /* cancelled over tls */";
        try (CodeRecordingRelay relay = new CodeRecordingRelay(blue.port());
             TestProxy proxy = TestProxy.in(blue).clusterAt("127.0.0.1", relay.port()).tls(TlsMode.REQUIRE, null)
                     .backendLogin(blue.superuser(), null).start();
             Connection c = proxy.connect("whoever");
             Statement s = c.createStatement()) {
            java.util.concurrent.CompletableFuture<Throwable> running = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    s.execute(sleep);
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() ->
                    ClusterData.number(blue, "select count(*) from pg_stat_activity where query = '" + sleep + "'") > 0);

            s.cancel();

            Throwable outcome = running.get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(outcome).isInstanceOf(SQLException.class);
            assertThat(((SQLException) outcome).getSQLState()).isEqualTo("57014");
            int sslRequest = 80877103;
            assertThat(relay.firstCodes).as("the session's connection, then the cancel's").containsExactly(sslRequest, sslRequest);
        }
    }

    /**
     * A server that knows nothing of the password can still send AuthenticationOk: without the server's
     * signature (SASLFinal) the proxy would run the session on an impostor. Postgres itself always proves
     * itself, so a scripted server plays the impostor, saying Ok after the client's first or final message.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aClusterThatSaysOkBeforeProvingItKnowsTheScramPasswordIsRefused(boolean answersClientFirst) throws Exception {
        try (FakeBackend impostor = new FakeBackend(scramImpostor(answersClientFirst), out -> { });
             TestProxy proxy = TestProxy.in(blue).clusterAt("127.0.0.1", impostor.port())
                     .backendLogin("app_scram", "scram-pw").start()) {

            SQLException error = refused(proxy, "whoever", null);

            assertThat(error.getSQLState()).isEqualTo("08006");
            assertThat(error.getMessage()).contains("cluster blue accepted the login before completing the SCRAM exchange");
        }
    }

    /**
     * A cluster whose SASLFinal carries a signature that does not prove it knows the password (an impostor,
     * or a broken server) fails the session with 08006, a failure of the cluster: not 28P01, which would tell
     * the client its own, correct, password was wrong.
     */
    @Test
    void aClusterWhoseScramSignatureIsWrongFailsTheSessionAsTheClusters() throws Exception {
        FakeBackend.Login wrongSignature = (in, out) -> {
            out.write(FakeBackend.authentication(10, "SCRAM-SHA-256\0\0".getBytes(StandardCharsets.UTF_8)));
            out.flush();
            String clientFirst = new String(FakeBackend.readMessage(in), StandardCharsets.UTF_8);
            String nonce = clientFirst.substring(clientFirst.indexOf("r=") + 2);
            String serverFirst = "r=" + nonce + "impostor,s=" + Base64.getEncoder().encodeToString(new byte[16]) + ",i=4096";
            out.write(FakeBackend.authentication(11, serverFirst.getBytes(StandardCharsets.UTF_8)));
            out.flush();
            FakeBackend.readMessage(in);
            String serverFinal = "v=" + Base64.getEncoder().encodeToString(new byte[32]);
            out.write(FakeBackend.authentication(12, serverFinal.getBytes(StandardCharsets.UTF_8)));
            out.write(FakeBackend.authentication(0, new byte[0]));
        };
        try (FakeBackend impostor = new FakeBackend(wrongSignature, out -> { });
             TestProxy proxy = TestProxy.in(blue).clusterAt("127.0.0.1", impostor.port())
                     .backendLogin("app_scram", "scram-pw").start()) {

            SQLException error = refused(proxy, "whoever", null);

            assertThat(error.getSQLState()).isEqualTo("08006");
            assertThat(error.getMessage()).contains("SCRAM authentication with cluster blue failed");
        }
    }

    private static FakeBackend.Login scramImpostor(boolean answersClientFirst) {
        return (in, out) -> {
            out.write(FakeBackend.authentication(10, "SCRAM-SHA-256\0\0".getBytes(StandardCharsets.UTF_8)));
            out.flush();
            String clientFirst = new String(FakeBackend.readMessage(in), StandardCharsets.UTF_8);
            if (answersClientFirst) {
                String nonce = clientFirst.substring(clientFirst.indexOf("r=") + 2);
                String serverFirst = "r=" + nonce + "impostor,s=" + Base64.getEncoder().encodeToString(new byte[16]) + ",i=4096";
                out.write(FakeBackend.authentication(11, serverFirst.getBytes(StandardCharsets.UTF_8)));
                out.flush();
                FakeBackend.readMessage(in); // client-final, with a proof the impostor cannot check
            }
            out.write(FakeBackend.authentication(0, new byte[0]));
        };
    }

    @Test
    void everyBackendTlsModeConnectsWhenTheCertificateAllowsIt() throws Exception {
        Object[][] cases = {
                {TlsMode.DISABLE, null, "127.0.0.1", "false"},
                {TlsMode.REQUIRE, null, "127.0.0.1", "true"},
                {TlsMode.VERIFY_CA, authority.caFile(), "localhost", "true"},
                {TlsMode.VERIFY_FULL, authority.caFile(), "127.0.0.1", "true"},
        };
        for (Object[] tls : cases) {
            try (TestProxy proxy = TestProxy.in(blue).clusterAt((String) tls[2], blue.port())
                    .tls((TlsMode) tls[0], (Path) tls[1]).start();
                 Connection c = proxy.connect(blue.superuser())) {
                assertThat(sslInUse(c)).as("tls mode %s", tls[0]).isEqualTo(tls[3] + " " + blue.superuser());
            }
        }
    }

    @Test
    void aStatementPreparedOnATlsLeaderReachesTheGreenTwinWhole(TestClusters clusters) throws Exception {
        // the twin that does not run a unit learns its named Parse from the same frame the leader was sent;
        // TLS consumes what it encrypts, so the leader must be sent a copy of the frame, not the frame
        PgCluster green = clusters.green();
        String table = ClusterData.unique("tls_twin");
        for (PgCluster cluster : List.of(blue, green)) {
            cluster.execute("postgres", "create table " + table + " (id int primary key, v text not null)",
                    "insert into " + table + " values (1, 'one'), (2, 'two')");
        }
        try (TestProxy proxy = TestProxy.in(blue).tls(TlsMode.REQUIRE, null).green(green).start()) {
            proxy.server().routing().start("test", null);
            Properties named = new Properties();
            named.setProperty("prepareThreshold", "1");
            try (Connection c = proxy.connect(blue.superuser(), null, named);
                 PreparedStatement read = c.prepareStatement(
                         "select v || '@' || current_setting('server_version_num') from " + table + " where id = ?")) {
                assertThat(sslInUse(c)).isEqualTo("true " + blue.superuser());
                assertThat(readOne(read, 1)).startsWith("one@16");

                proxy.server().routing().setWeight("test", 100, null);

                // without the statement green would fail it, and blue would answer the retried read
                assertThat(readOne(read, 2)).startsWith("two@18");
                assertThat(proxy.server().migration().greenErrors()).isZero();
            }
        }
    }

    private static String readOne(PreparedStatement read, int id) throws SQLException {
        read.setInt(1, id);
        try (ResultSet rs = read.executeQuery()) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    void verifyFullRefusesAHostNameTheCertificateDoesNotName() throws Exception {
        try (TestProxy proxy = TestProxy.in(blue).clusterAt("localhost", blue.port())
                .tls(TlsMode.VERIFY_FULL, authority.caFile()).start()) {
            SQLException error = refused(proxy, blue.superuser(), null);

            assertThat(error.getSQLState()).isEqualTo("08006");
            assertThat(error.getMessage()).contains("TLS handshake with cluster blue failed");
        }
    }

    @Test
    void verifyCaRefusesACertificateFromAnotherAuthority() throws Exception {
        Certificates stranger = Certificates.newAuthority(Path.of("target", "it-certs-other").toAbsolutePath(), "stranger");
        try (TestProxy proxy = TestProxy.in(blue).tls(TlsMode.VERIFY_CA, stranger.caFile()).start()) {
            SQLException error = refused(proxy, blue.superuser(), null);

            assertThat(error.getSQLState()).isEqualTo("08006");
            assertThat(error.getMessage()).contains("TLS handshake with cluster blue failed");
        }
    }

    // --- clients over TLS -----------------------------------------------------------------------

    @Test
    void clientsGetTlsWhenTheyAskDirectlyOrNotAndCanBeRequiredToAsk() throws Exception {
        Certificates.Issued proxyCertificate = authority.issue("proxy-server", "proxy", Certificates.ip("127.0.0.1"));
        Properties verifyFull = new Properties();
        verifyFull.setProperty("sslmode", "verify-full");
        verifyFull.setProperty("sslrootcert", authority.caFile().toString());
        Properties noTls = new Properties();
        noTls.setProperty("sslmode", "disable");

        Properties direct = new Properties();
        direct.putAll(verifyFull);
        direct.setProperty("sslNegotiation", "direct");

        try (TestProxy offered = TestProxy.in(blue)
                .clientTls(new ClientTls(proxyCertificate.certificate(), proxyCertificate.privateKey(), false)).start()) {
            try (Connection c = offered.connect(blue.superuser(), null, verifyFull)) {
                assertThat(sslInUse(c)).isEqualTo("false " + blue.superuser()); // client leg TLS, blue leg not
            }
            try (Connection c = offered.connect(blue.superuser(), null, direct)) {
                assertThat(sslInUse(c)).isEqualTo("false " + blue.superuser());
            }
            offered.connect(blue.superuser(), null, noTls).close();
        }
        try (TestProxy withoutTls = TestProxy.in(blue).start()) {
            assertThat((Throwable) catchThrowableOfType(SQLException.class,
                    () -> withoutTls.connect(blue.superuser(), null, direct).close()))
                    .as("direct TLS to a proxy without a certificate").isNotNull();
        }
        try (TestProxy required = TestProxy.in(blue)
                .clientTls(new ClientTls(proxyCertificate.certificate(), proxyCertificate.privateKey(), true)).start()) {
            required.connect(blue.superuser(), null, verifyFull).close();
            SQLException plain = catchThrowableOfType(SQLException.class,
                    () -> required.connect(blue.superuser(), null, noTls).close());

            assertThat(plain.getSQLState()).isEqualTo("28000");
            assertThat(plain.getMessage()).contains("requires TLS");
        }
    }

    @Test
    void aClientSpeakingTlsFromTheFirstByteGetsASession() throws Exception {
        try (TestProxy proxy = proxyWithTls("proxy-direct");
             SSLSocket socket = directTls(proxy, "postgresql")) {
            socket.startHandshake();
            socket.getOutputStream().write(RawClient.startupPacket(3 << 16, Map.of("user", blue.superuser(), "database", "postgres")));

            char first = (char) new DataInputStream(socket.getInputStream()).readUnsignedByte();

            assertThat(first).as("AuthenticationOk over TLS that began at the first byte").isEqualTo('R');
            assertThat(socket.getApplicationProtocol()).isEqualTo("postgresql");
        }
    }

    /** Postgres 17 closes a direct TLS connection whose client did not name the protocol with ALPN, without a word. */
    @Test
    void directTlsWithoutAlpnIsClosedAfterTheHandshake() throws Exception {
        try (TestProxy proxy = proxyWithTls("proxy-direct-no-alpn");
             SSLSocket socket = directTls(proxy)) {
            socket.startHandshake();
            socket.getOutputStream().write(RawClient.startupPacket(3 << 16, Map.of("user", blue.superuser(), "database", "postgres")));

            int first = readOrEnd(socket);

            assertThat(first).as("end of stream instead of AuthenticationOk").isEqualTo(-1);
        }
    }

    /** As in Postgres 17: a client offering ALPN protocols, none of them "postgresql", gets no_application_protocol. */
    @Test
    void aClientOfferingOnlyAnotherAlpnProtocolIsRefusedAtTheHandshake() throws Exception {
        try (TestProxy proxy = proxyWithTls("proxy-other-alpn")) {
            try (SSLSocket direct = directTls(proxy, "http/1.1")) {
                assertThatThrownBy(direct::startHandshake).as("direct TLS").isInstanceOf(SSLHandshakeException.class)
                        .hasMessageContaining("no_application_protocol");
            }
            try (SSLSocket afterRequest = tlsAfterSslRequest(proxy, "http/1.1")) {
                assertThatThrownBy(afterRequest::startHandshake).as("TLS after an SSLRequest").isInstanceOf(SSLHandshakeException.class)
                        .hasMessageContaining("no_application_protocol");
            }
        }
    }

    /** pgjdbc and libpq before 17 send no ALPN at all; after an SSLRequest that is fine, in Postgres as here. */
    @Test
    void tlsAfterAnSslRequestNeedsNoAlpn() throws Exception {
        try (TestProxy proxy = proxyWithTls("proxy-request-no-alpn");
             SSLSocket socket = tlsAfterSslRequest(proxy)) {
            socket.startHandshake();
            socket.getOutputStream().write(RawClient.startupPacket(3 << 16, Map.of("user", blue.superuser(), "database", "postgres")));

            char first = (char) new DataInputStream(socket.getInputStream()).readUnsignedByte();

            assertThat(first).isEqualTo('R');
        }
    }

    /**
     * Once an SSLRequest has brought TLS, Postgres reads another SSLRequest, or a GSSENCRequest, as a startup
     * packet for protocol 1234.5679 (1234.5680) and refuses it over TLS; the proxy answers as blue does.
     */
    @ParameterizedTest
    @ValueSource(ints = {80877103, 80877104})
    void anEncryptionRequestInsideTlsIsRefusedAsPostgresRefusesIt(int code) throws Exception {
        try (TestProxy proxy = proxyWithTls("proxy-request-inside-tls")) {
            String postgres = answerInsideTls(blue.port(), code);

            String bluegreen = answerInsideTls(proxy.port(), code);

            assertThat(bluegreen).isEqualTo(postgres).startsWith("0A000 unsupported frontend protocol 1234.56");
        }
    }

    /** Postgres 17 answers N to an SSLRequest inside direct TLS: no second TLS, and the session goes on. */
    @Test
    void anSslRequestInsideDirectTlsIsAnsweredNo() throws Exception {
        try (TestProxy proxy = proxyWithTls("proxy-direct-request");
             SSLSocket socket = directTls(proxy, "postgresql")) {
            socket.startHandshake();
            socket.getOutputStream().write(encryptionRequest(80877103));

            char answer = (char) socket.getInputStream().read();

            assertThat(answer).isEqualTo('N');
            socket.getOutputStream().write(RawClient.startupPacket(3 << 16, Map.of("user", blue.superuser(), "database", "postgres")));
            assertThat((char) socket.getInputStream().read()).isEqualTo('R');
        }
    }

    private static String answerInsideTls(int port, int code) throws Exception {
        try (SSLSocket socket = tlsAfterSslRequest(port)) {
            socket.startHandshake();
            socket.getOutputStream().write(encryptionRequest(code));
            DataInputStream in = new DataInputStream(socket.getInputStream());
            char type = (char) in.readUnsignedByte();
            byte[] body = new byte[in.readInt() - 4];
            in.readFully(body);
            RawClient.Message answer = new RawClient.Message(type, body);
            return answer.sqlState() + " " + answer.fields().get('M').replaceFirst(":.*", "") + (readOrEnd(socket) < 0 ? ", closed" : ", open");
        }
    }

    private static TestProxy proxyWithTls(String certificateName) throws Exception {
        Certificates.Issued certificate = authority.issue(certificateName, "proxy", Certificates.ip("127.0.0.1"));
        return TestProxy.in(blue).clientTls(new ClientTls(certificate.certificate(), certificate.privateKey(), false)).start();
    }

    /** A TLS client trusting the test authority, offering these ALPN protocols (none: no ALPN extension). */
    private static SSLSocketFactory trustingTheAuthority() throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (var in = Files.newInputStream(authority.caFile())) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory trustManagers = TrustManagerFactory.getInstance("PKIX");
        trustManagers.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trustManagers.getTrustManagers(), null);
        return context.getSocketFactory();
    }

    private static SSLSocket directTls(TestProxy proxy, String... alpn) throws Exception {
        SSLSocket socket = (SSLSocket) trustingTheAuthority().createSocket("127.0.0.1", proxy.port());
        return withAlpn(socket, alpn);
    }

    private static SSLSocket tlsAfterSslRequest(TestProxy proxy, String... alpn) throws Exception {
        return tlsAfterSslRequest(proxy.port(), alpn);
    }

    private static SSLSocket tlsAfterSslRequest(int port, String... alpn) throws Exception {
        Socket plain = new Socket("127.0.0.1", port);
        plain.setSoTimeout(15_000);
        plain.getOutputStream().write(encryptionRequest(80877103));
        assertThat((char) plain.getInputStream().read()).as("answer to SSLRequest").isEqualTo('S');
        return withAlpn((SSLSocket) trustingTheAuthority().createSocket(plain, "127.0.0.1", port, true), alpn);
    }

    private static byte[] encryptionRequest(int code) {
        return ByteBuffer.allocate(8).putInt(8).putInt(code).array();
    }

    private static SSLSocket withAlpn(SSLSocket socket, String... alpn) throws Exception {
        socket.setSoTimeout(15_000);
        if (alpn.length > 0) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setApplicationProtocols(alpn);
            socket.setSSLParameters(parameters);
        }
        return socket;
    }

    /** The first byte the server sends, or -1 when it closes the connection (an abortive close counts too). */
    private static int readOrEnd(SSLSocket socket) throws IOException {
        try {
            return socket.getInputStream().read();
        } catch (SocketException | SSLException closed) {
            return -1;
        }
    }
}
