package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.RawClient.concat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.config.AuthMethod;
import dev.bluegreen.config.Limits;
import dev.bluegreen.config.Secret;
import dev.bluegreen.config.User;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * DESIGN §9: bad input gets a clear error and a closed connection, and every other session keeps
 * working. A pgjdbc session opened before the first test is checked after each one.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class BadInputIT {

    private static PgCluster blue;
    private static TestProxy proxy;
    private static Connection bystander;

    @BeforeAll
    static void start(TestClusters clusters) throws Exception {
        blue = clusters.blue();
        // timeouts.startup also bounds the proxy's own login to blue: the default's, so that every session here logs in
        // however busy the machine (the silent client has a proxy of its own with a short one)
        proxy = TestProxy.in(blue)
                .limits(new Limits(1000, 1024 * 1024, Limits.DEFAULT_MAX_STARTUP_PACKET_BYTES)).start();
        bystander = proxy.connect(blue.superuser());
    }

    @AfterEach
    void otherSessionsKeepWorking() throws SQLException {
        try (Statement s = bystander.createStatement(); ResultSet rs = s.executeQuery("select 7")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(7);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        bystander.close();
        proxy.close();
    }

    /**
     * At the connection limit a new session is refused with 53300, but a CancelRequest, which comes on a
     * connection of its own, still gets through: a query timeout fires just when the proxy is full.
     */
    @Test
    void atTheConnectionLimitANewSessionIsRefusedButACancelStillGetsThrough(TestClusters clusters) throws Exception {
        try (TestProxy full = TestProxy.in(clusters.blue())
                .limits(new Limits(1, Limits.DEFAULT_MAX_MESSAGE_BYTES, Limits.DEFAULT_MAX_STARTUP_PACKET_BYTES)).start();
             Connection only = full.connect(blue.superuser());
             Statement s = only.createStatement()) {
            assertThatThrownBy(() -> full.connect(blue.superuser()).close())
                    .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("53300"));

            // without the cancel, pg_sleep(30) ends normally after 30 s: no exception at all
            s.setQueryTimeout(1);
            assertThatThrownBy(() -> s.executeQuery("select pg_sleep(30)"))
                    .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("57014"));
        }
    }

    private static void assertErrorThenClosed(RawClient client, String sqlState, String messagePart) throws IOException {
        RawClient.Message message = client.read();
        assertThat(message.type()).isEqualTo('E');
        assertThat(message.sqlState()).isEqualTo(sqlState);
        assertThat(message.fields().get('M')).contains(messagePart);
        assertThat(client.isClosedByPeer()).isTrue();
    }

    @Test
    void garbageInsteadOfAStartupPacketIsRefused() throws Exception {
        try (RawClient client = new RawClient(proxy.port())) {
            client.send("GET / HTTP/1.1\r\nHost: proxy\r\n\r\n".getBytes(StandardCharsets.US_ASCII));

            assertErrorThenClosed(client, "08P01", "invalid startup packet length");
        }
    }

    @Test
    void aStartupPacketOverTenKibibytesIsRefused() throws Exception {
        char[] big = new char[11 * 1024];
        Arrays.fill(big, 'a');
        try (RawClient client = new RawClient(proxy.port())) {
            client.startup(Map.of("user", blue.superuser(), "application_name", new String(big)));

            assertErrorThenClosed(client, "08P01", "invalid startup packet length");
        }
    }

    @Test
    void aMessageLengthOverTheLimitIsRefusedBeforeItsBodyArrives() throws Exception {
        try (RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            client.send(ByteBuffer.allocate(5).put((byte) 'Q').putInt(300 * 1024 * 1024).array());

            assertErrorThenClosed(client, "08P01", "exceeds the limit");
        }
    }

    @Test
    void aTruncatedMessageFollowedByAClosedSocketIsReportedAndTheBackendReleased() throws Exception {
        try (RawClient client = new RawClient(proxy.port())) {
            client.startup(Map.of("user", blue.superuser(), "database", "postgres", "application_name", "truncator"));
            client.readUntil('Z');
            client.send(ByteBuffer.allocate(15).put((byte) 'Q').putInt(100).put(new byte[10]).array());

            client.shutdownOutput();

            assertErrorThenClosed(client, "08P01", "incomplete message");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> sessionsOnBlue("truncator") == 0);
    }

    /** Postgres reads at most 65535 bytes of password or SASL message; anything can reach the port before a login. */
    @Test
    void aPasswordMessageOverPostgressLimitIsRefusedBeforeItsBodyArrives() throws Exception {
        try (TestProxy withPasswords = TestProxy.in(blue).backendLogin(blue.superuser(), null)
                     .user(new User("bob", AuthMethod.MD5, Secret.of("bob-pw"))).start();
             RawClient client = new RawClient(withPasswords.port())) {
            client.startup(Map.of("user", "bob", "database", "postgres"));
            assertThat(client.read().type()).as("the md5 challenge").isEqualTo('R');

            // well under the default 256 MiB limit, which holds for logged-in clients only
            client.send(ByteBuffer.allocate(5 + 1024).put((byte) 'p').putInt(200 * 1024 * 1024).array());

            assertErrorThenClosed(client, "08P01", "exceeds the limit of 65535 bytes before authentication");
        }
    }

    @Test
    void aLoggedInClientMaySendMessagesLongerThanAnyPassword() throws Exception {
        try (TestProxy withPasswords = TestProxy.in(blue).backendLogin(blue.superuser(), null)
                     .user(new User("bob", AuthMethod.MD5, Secret.of("bob-pw"))).start();
             Connection bob = withPasswords.connect("bob", "bob-pw", new Properties());
             Statement s = bob.createStatement()) {
            String large = "x".repeat(200_000);

            try (ResultSet rs = s.executeQuery("select length('" + large + "')")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(200_000);
            }
        }
    }

    @Test
    void anUnknownMessageTypeIsRefused() throws Exception {
        try (RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            client.send(RawClient.message('!', new byte[3]));

            assertErrorThenClosed(client, "08P01", "unknown message type 0x21");
        }
    }

    /**
     * A message whose strings are not all terminated, relayed (dual-write off): the session ends with 08P01
     * naming the message, as units mode ends it (UnitsModeIT), where blue would have answered with an error
     * and kept the session. A query sent right behind it in the same write gets no answer.
     */
    @ParameterizedTest
    @CsvSource({
        "Q, 'select 1', Query",
        "P, 'a_name', Parse",
        "P, 'a_name\0select 1', Parse",
        "B, 'a_portal', Bind",
        "B, '\0a_statement', Bind",
        "E, 'a_portal', Execute",
        "D, 'S', Describe",
        "C, 'Sa_statement', Close"
    })
    void aClientMessageWithAnUnterminatedStringIsRefused(char type, String body, String name) throws Exception {
        try (RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            client.send(concat(RawClient.message(type, body.getBytes(StandardCharsets.UTF_8)), RawClient.query("select 1")));

            assertErrorThenClosed(client, "08P01", "malformed " + name);
        }
    }

    @Test
    void bytesSentAfterAnSslRequestBeforeItsAnswerAreRefused() throws Exception {
        byte[] ssl = ByteBuffer.allocate(8).putInt(8).putInt(80877103).array();
        byte[] smuggled = RawClient.startupPacket(3 << 16, Map.of("user", blue.superuser()));
        byte[] both = ByteBuffer.allocate(ssl.length + smuggled.length).put(ssl).put(smuggled).array();
        try (RawClient client = new RawClient(proxy.port())) {
            client.send(both);

            assertErrorThenClosed(client, "08P01", "unencrypted data after SSL request");
        }
    }

    /**
     * Postgres answers each kind of encryption request once and reads a repeat as a startup packet for
     * protocol 1234.5679 (SSL) or 1234.5680 (GSSENC), which it refuses; the proxy answers as blue does.
     */
    @ParameterizedTest
    @ValueSource(ints = {80877103, 80877104})
    void aRepeatedEncryptionRequestIsRefusedAsPostgresRefusesIt(int code) throws Exception {
        String postgres = answersToTheSameRequestTwice(blue.port(), code);

        String bluegreen = answersToTheSameRequestTwice(proxy.port(), code);

        assertThat(bluegreen).isEqualTo(postgres).startsWith("N, then 0A000 unsupported frontend protocol 1234.56");
    }

    private static String answersToTheSameRequestTwice(int port, int code) throws IOException {
        byte[] request = ByteBuffer.allocate(8).putInt(8).putInt(code).array();
        try (RawClient client = new RawClient(port)) {
            char first = (char) client.send(request).readByte();
            RawClient.Message second = client.send(request).read();
            return first + ", then " + second.sqlState() + " " + second.fields().get('M').replaceFirst(":.*", "")
                    + (client.isClosedByPeer() ? ", closed" : ", open");
        }
    }

    @Test
    void aClientSilentDuringStartupIsTimedOut() throws Exception {
        try (TestProxy impatient = TestProxy.in(blue).startupTimeout(Duration.ofMillis(500)).start();
             RawClient client = new RawClient(impatient.port())) {
            // say nothing at all

            assertErrorThenClosed(client, "08P01", "startup did not complete within 500 ms");
        }
    }

    @Test
    void anUnsupportedProtocolVersionIsRefused() throws Exception {
        try (RawClient client = new RawClient(proxy.port())) {
            client.send(RawClient.startupPacket(4 << 16, Map.of("user", blue.superuser())));

            assertErrorThenClosed(client, "0A000", "unsupported frontend protocol 4.0");
        }
    }

    @Test
    void protocolThreeTwoIsNegotiatedDownToThreeZero() throws Exception {
        try (RawClient client = new RawClient(proxy.port())) {
            client.send(RawClient.startupPacket((3 << 16) | 2,
                    Map.of("user", blue.superuser(), "database", "postgres", "_pq_.future_feature", "on")));

            RawClient.Message negotiate = client.read();
            assertThat(negotiate.type()).isEqualTo('v');
            ByteBuffer body = ByteBuffer.wrap(negotiate.body());
            // the whole version code, as servers send it: libpq 18 refuses a bare 0 as a downgrade to before 3.0
            assertThat(body.getInt()).as("protocol version").isEqualTo(3 << 16);
            assertThat(body.getInt()).as("unrecognised options").isEqualTo(1);
            assertThat(new String(negotiate.body(), 8, negotiate.body().length - 9, StandardCharsets.UTF_8))
                    .isEqualTo("_pq_.future_feature");
            client.readUntil('Z');
            client.send(RawClient.query("select 1"));
            assertThat(client.readUntil('D')).isNotNull();
        }
    }

    /**
     * Postgres's rule for an empty database name is the user's name: the client's, not the proxy's role on
     * blue. pgjdbc and libpq never send an empty one (they fill in the user name), so a raw client does.
     */
    @Test
    void anEmptyDatabaseNameMeansTheClientsUserName() throws Exception {
        String client = ClusterData.unique("tenant");
        blue.execute("postgres", "create database " + client);
        try (TestProxy asOneRole = TestProxy.in(blue).backendLogin(blue.superuser(), null).start();
             RawClient raw = new RawClient(asOneRole.port())) {
            raw.startup(Map.of("user", client, "database", ""));
            raw.readUntil('Z');

            raw.send(RawClient.query("select current_database() || ' ' || current_user"));

            RawClient.Message row = raw.readUntil('D');
            assertThat(new String(row.body(), 6, row.body().length - 6, StandardCharsets.UTF_8))
                    .isEqualTo(client + " " + blue.superuser());
        }
    }

    @Test
    void aStartupWithoutAUserIsRefused() throws Exception {
        try (RawClient client = new RawClient(proxy.port())) {
            client.startup(Map.of("database", "postgres"));

            assertErrorThenClosed(client, "28000", "no PostgreSQL user name");
        }
    }

    @Test
    void aBackendErrorWithoutSqlStateClosesTheSessionWith08006() throws Exception {
        byte[] noSqlState = "SERROR\0Mboom\0\0".getBytes(StandardCharsets.UTF_8);
        try (FakeBackend fake = new FakeBackend(out -> out.write(FakeBackend.message('E', noSqlState)));
             TestProxy viaFake = TestProxy.in(blue).clusterAt("127.0.0.1", fake.port()).start();
             RawClient client = new RawClient(viaFake.port()).loggedIn("anyone")) {

            client.send(RawClient.query("select 1"));

            assertErrorThenClosed(client, "08006", "ErrorResponse without SQLSTATE");
        }
    }

    /**
     * A server that ends a session itself (an administrator's {@code pg_terminate_backend}, a shutdown) says why
     * in a FATAL error and closes: the client gets that error alone, as it would directly, with no second one
     * from the proxy. Before dual-write (relayed) and after it (the leader of a twin pair).
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aSessionTheServerEndsGetsTheServersFatalErrorAlone(boolean dualWrite, TestClusters clusters) throws Exception {
        try (TestProxy twins = TestProxy.in(blue).green(clusters.green()).start();
             RawClient client = new RawClient(twins.port()).loggedIn(blue.superuser())) {
            if (dualWrite) {
                twins.server().routing().start("test", null);
            }
            client.send(RawClient.query("select pg_backend_pid()"));
            String pid = client.firstValue();

            blue.execute("postgres", "select pg_terminate_backend(" + pid + ")");

            RawClient.Message message = client.read();
            assertThat(message.type()).isEqualTo('E');
            assertThat(message.sqlState()).isEqualTo("57P01");
            assertThat(message.fields().get('M')).contains("terminating connection due to administrator command");
            assertThat(client.readByte()).as("nothing after the server's own error: the end of the stream").isEqualTo(-1);
        }
    }

    /**
     * A row larger than limits.max_message_size (1 MiB here; Postgres allows a field up to 1 GiB) breaks no protocol
     * rule. Relayed, it goes to the client part by part and the limit, which bounds what the proxy holds of a message,
     * does not apply; where the session compares its twins' answers (dual-write) the proxy must hold it whole, and
     * the session ends with an error that names the limit, not one that blames the cluster.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aRowOverTheMessageLimitIsRelayedInPartsOrEndsADualWriteSessionNamingTheLimit(boolean dualWrite,
                                                                                    TestClusters clusters) throws Exception {
        try (TestProxy limited = TestProxy.in(blue).green(clusters.green())
                .limits(new Limits(1000, 1024 * 1024, Limits.DEFAULT_MAX_STARTUP_PACKET_BYTES)).start();
             RawClient client = new RawClient(limited.port()).loggedIn(blue.superuser())) {
            if (dualWrite) {
                limited.server().routing().start("test", null);
            }
            client.send(RawClient.query("select repeat('x', 2 * 1024 * 1024)"));

            if (!dualWrite) {
                RawClient.Message row = client.readUntil('D');
                assertThat(row.body()).hasSize(2 * 1024 * 1024 + 6);
                assertThat(new String(row.body(), 6, row.body().length - 6, StandardCharsets.US_ASCII)).matches("x+");
                assertThat(client.typesUntilReady()).isEqualTo("CZ");
                client.send(RawClient.query("select 7"));
                assertThat(client.firstValue()).as("the session goes on").isEqualTo("7");
                return;
            }
            RawClient.Message message = client.readUntil('E');
            assertThat(message.sqlState()).isEqualTo("08006");
            assertThat(message.fields().get('M')).startsWith("cluster blue: a message of 2097162 bytes")
                    .contains("is over limits.max_message_size, 1048576 bytes").doesNotContain("protocol violation");
            assertThat(client.isClosedByPeer()).isTrue();
        }
    }

    /**
     * A server that dies in the middle of a long row the proxy was relaying in parts: the client has part of the
     * message, so an error from the proxy would be read as the rest of it. It sees the stream end there, as it would
     * from the server itself, and other sessions go on.
     */
    @Test
    void aBackendDyingInTheMiddleOfARowRelayedInPartsEndsTheClientsStreamThere() throws Exception {
        int sent = 600 * 1024;
        byte[] partialRow = ByteBuffer.allocate(sent).put((byte) 'D').putInt(4 * 1024 * 1024).putShort((short) 1)
                .putInt(4 * 1024 * 1024 - 10).array();
        try (FakeBackend fake = new FakeBackend(out -> out.write(partialRow));
             TestProxy viaFake = TestProxy.in(blue).clusterAt("127.0.0.1", fake.port()).start();
             RawClient client = new RawClient(viaFake.port()).loggedIn("anyone");
             RawClient other = new RawClient(proxy.port()).loggedIn(blue.superuser())) {

            client.send(RawClient.query("select the long row"));

            assertThat(client.readByte()).isEqualTo('D');
            int received = 1;
            while (client.readByte() >= 0) {
                received++;
            }
            assertThat(received).as("the part relayed, and nothing after it").isEqualTo(sent);
            other.send(RawClient.query("select 42"));
            assertThat(other.firstValue()).isEqualTo("42");
        }
    }

    @Test
    void aBackendClosingMidMessageClosesTheSessionWith08006() throws Exception {
        byte[] partialRow = ByteBuffer.allocate(15).put((byte) 'D').putInt(1000).put(new byte[10]).array();
        try (FakeBackend fake = new FakeBackend(out -> out.write(partialRow));
             TestProxy viaFake = TestProxy.in(blue).clusterAt("127.0.0.1", fake.port()).start();
             RawClient client = new RawClient(viaFake.port()).loggedIn("anyone")) {

            client.send(RawClient.query("select 1"));

            assertErrorThenClosed(client, "08006", "in the middle of a message");
        }
    }

    /**
     * A ReadyForQuery one byte short ending a read: its status would lie past the end of the read (with
     * more behind it, it would be the next message's type byte).
     */
    @Test
    void aBackendReadyForQueryOfTheWrongLengthClosesTheSessionWith08006() throws Exception {
        try (FakeBackend fake = new FakeBackend(out -> out.write(FakeBackend.message('Z', new byte[0])));
             TestProxy viaFake = TestProxy.in(blue).clusterAt("127.0.0.1", fake.port()).start();
             RawClient client = new RawClient(viaFake.port()).loggedIn("anyone")) {

            client.send(RawClient.query("select 1"));

            assertErrorThenClosed(client, "08006", "protocol violation from cluster blue: ReadyForQuery with length 4, not 5");
        }
    }

    @Test
    void aMalformedReadyForQueryEndingTheClusterLoginIsAClearErrorNamingTheCluster() throws Exception {
        FakeBackend.Login shortReady = (in, out) -> out.write(concat(FakeBackend.authentication(0, new byte[0]),
                FakeBackend.message('Z', new byte[0])));
        try (FakeBackend fake = new FakeBackend(shortReady, out -> { });
             TestProxy viaFake = TestProxy.in(blue).clusterAt("127.0.0.1", fake.port()).start();
             RawClient client = new RawClient(viaFake.port())) {

            client.startup(Map.of("user", "anyone", "database", "postgres"));

            assertThat(client.read().type()).as("AuthenticationOk").isEqualTo('R');
            assertErrorThenClosed(client, "08006", "protocol violation from cluster blue: ReadyForQuery with length 4, not 5");
        }
    }

    /**
     * A ParameterStatus or NoticeResponse of the cluster's login that cannot be read (a value without its
     * terminator) is the cluster's protocol violation: the client gets 08006, not the broken message.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"S | client_encoding\0UTF8 | malformed ParameterStatus",
            "N | SNOTICE\0Mhello | malformed NoticeResponse: unterminated string"})
    void aMalformedMessageOfTheClusterLoginClosesTheSessionWith08006(char type, String body, String problem)
            throws Exception {
        byte[] broken = body.getBytes(StandardCharsets.UTF_8);
        FakeBackend.Login thenBroken = (in, out) -> out.write(concat(FakeBackend.authentication(0, new byte[0]),
                FakeBackend.message(type, broken)));
        try (FakeBackend fake = new FakeBackend(thenBroken, out -> { });
             TestProxy viaFake = TestProxy.in(blue).clusterAt("127.0.0.1", fake.port()).start();
             RawClient client = new RawClient(viaFake.port())) {

            client.startup(Map.of("user", "anyone", "database", "postgres"));

            assertThat(client.read().type()).as("AuthenticationOk").isEqualTo('R');
            assertErrorThenClosed(client, "08006", "protocol violation from cluster blue: " + problem);
        }
    }

    /**
     * A malformed ErrorResponse in the same read as the ReadyForQuery that ends the cluster login: the
     * rest of that read, relayed as a batch of its own, is released with the session (NoLeaks).
     */
    @Test
    void aMalformedBackendErrorRightAfterTheLoginClosesTheSessionWith08006() throws Exception {
        byte[] unterminated = "SERROR\0CXX000".getBytes(StandardCharsets.UTF_8);
        FakeBackend.Login thenMalformed = (in, out) -> out.write(concat(FakeBackend.authentication(0, new byte[0]),
                FakeBackend.message('Z', new byte[] {'I'}), FakeBackend.message('E', unterminated)));
        try (FakeBackend fake = new FakeBackend(thenMalformed, out -> { });
             TestProxy viaFake = TestProxy.in(blue).clusterAt("127.0.0.1", fake.port()).start();
             RawClient client = new RawClient(viaFake.port())) {

            client.startup(Map.of("user", "anyone", "database", "postgres"));

            client.readUntil('Z');
            assertErrorThenClosed(client, "08006", "protocol violation from cluster blue: malformed ErrorResponse");
        }
    }

    /**
     * A Bind cut short in its result formats, of an insert whose leader's answer the proxy reads for what the table
     * made up (a random uuid it returns), under dual-write: the server's error, 08P01, as directly, and the session
     * goes on, the follower in step. Before, reading the Bind's result formats threw inside the proxy and the session
     * ended (or, the write held behind other sessions' COMMITs, waited for ever).
     */
    @Test
    void aBindCutShortOfAnInsertTheProxyReadsGetsTheServersErrorUnderDualWrite(TestClusters clusters) throws Exception {
        PgCluster green = clusters.green();
        String table = ClusterData.unique("cut_bind");
        ClusterData.onBoth(blue, green, "create table " + table + " (id uuid primary key default gen_random_uuid(), v text)");
        try (TestProxy twins = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(twins.port()).loggedIn(blue.superuser())) {
            twins.server().routing().start("test", null);
            client.send(concat(RawClient.parse("s1", "insert into " + table + " (v) values ($1) returning id"), RawClient.sync()));
            client.readUntil('Z');
            ByteBuffer bind = ByteBuffer.allocate(32).put((byte) 0).put("s1".getBytes(StandardCharsets.US_ASCII)).put((byte) 0)
                    .putShort((short) 0).putShort((short) 1).putInt(1).put((byte) 'x')
                    .putShort((short) 1); // one result format code, then none
            client.send(concat(RawClient.message('B', Arrays.copyOf(bind.array(), bind.position())),
                    RawClient.execute(), RawClient.sync()));

            RawClient.Message error = client.readUntil('E');
            assertThat(error.sqlState()).isEqualTo("08P01");
            assertThat(error.fields().get('S')).isEqualTo("ERROR");
            client.readUntil('Z');
            client.send(RawClient.query("insert into " + table + " (v) values ('after') returning id"));
            assertThat(client.firstValue()).matches("[0-9a-f-]{36}");
            assertThat(twins.server().migration().divergences()).isEmpty();
            assertThat(twins.server().routing().current().followerInSync()).isTrue();
        }
        assertThat(ClusterData.contents(green, table, "id")).isEqualTo(ClusterData.contents(blue, table, "id"));
    }

    /**
     * A cluster whose tls mode asks for TLS but that answers the SSLRequest with {@code N}, or with more than its one
     * byte (CVE-2021-23222: bytes an attacker put ahead of the handshake), fails the session's login with 08006
     * naming the cluster, and the proxy sends it nothing more: no StartupMessage, no password in plain text.
     */
    @ParameterizedTest
    @CsvSource({"N, does not accept TLS, but its tls mode is require", "SX, sent unexpected data in answer to SSLRequest"})
    void aClusterRefusingTlsItsModeRequiresFailsTheLoginAndHearsNothingMore(String answer, String problem) throws Exception {
        try (java.net.ServerSocket cluster = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
             TestProxy viaPlain = TestProxy.in(blue).clusterAt("127.0.0.1", cluster.getLocalPort())
                     .tls(dev.bluegreen.config.TlsMode.REQUIRE, null).start()) {
            java.util.concurrent.CompletableFuture<Integer> heardAfter = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try (Socket socket = cluster.accept()) {
                    java.io.DataInputStream in = new java.io.DataInputStream(socket.getInputStream());
                    byte[] request = new byte[8];
                    in.readFully(request);
                    assertThat(ByteBuffer.wrap(request).getInt(4)).as("an SSLRequest").isEqualTo(80877103);
                    socket.getOutputStream().write(answer.getBytes(StandardCharsets.US_ASCII));
                    socket.getOutputStream().flush();
                    return in.readAllBytes().length; // until the proxy closes the connection
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            SQLException refused = org.assertj.core.api.Assertions.catchThrowableOfType(SQLException.class,
                    () -> viaPlain.connect(blue.superuser()).close());

            assertThat(refused.getSQLState()).isEqualTo("08006");
            assertThat(refused.getMessage()).contains("cluster blue").contains(problem);
            assertThat(heardAfter.get(30, java.util.concurrent.TimeUnit.SECONDS)).as("bytes sent after the answer").isZero();
        }
    }

    @Test
    void blueUnreachableAtConnectIsAClearErrorNamingTheCluster() throws Exception {
        try (Socket nobodyListens = FreePorts.refusing();
             TestProxy nowhere = TestProxy.in(blue).clusterAt("127.0.0.1", nobodyListens.getLocalPort()).start()) {
            int closedPort = nobodyListens.getLocalPort();
            SQLException refused = org.assertj.core.api.Assertions.catchThrowableOfType(SQLException.class,
                    () -> nowhere.connect(blue.superuser()).close());

            assertThat(refused.getSQLState()).isEqualTo("08006");
            assertThat(refused.getMessage()).contains("could not connect to cluster blue at 127.0.0.1:" + closedPort);
        }
    }

    /**
     * A blue that accepts the connection and never finishes the login: the client, which has done its
     * part, hears that the cluster did not, not that its own startup timed out.
     */
    @Test
    void blueNeverFinishingTheLoginIsAClearErrorNamingTheCluster() throws Exception {
        try (FakeBackend silent = new FakeBackend((in, out) -> in.readAllBytes(), out -> { });
             TestProxy viaSilent = TestProxy.in(blue).clusterAt("127.0.0.1", silent.port())
                     .startupTimeout(Duration.ofMillis(500)).start();
             RawClient client = new RawClient(viaSilent.port())) {

            client.startup(Map.of("user", "anyone", "database", "postgres"));

            assertThat(client.read().type()).as("AuthenticationOk").isEqualTo('R');
            assertErrorThenClosed(client, "08006", "cluster blue at 127.0.0.1:" + silent.port()
                    + " did not finish the login within 500 ms");
        }
    }

    private static int sessionsOnBlue(String applicationName) throws SQLException {
        try (Connection direct = blue.connect("postgres"); Statement s = direct.createStatement();
             ResultSet rs = s.executeQuery("select count(*) from pg_stat_activity where application_name = '" + applicationName + "'")) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
