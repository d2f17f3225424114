package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.ClusterData.backendOf;
import static dev.bluegreen.proxy.it.ClusterData.signal;
import static dev.bluegreen.proxy.it.ClusterData.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import java.io.ByteArrayInputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.copy.CopyManager;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;
import org.slf4j.LoggerFactory;

/** Everything an application does over pgjdbc behaves as if it were connected to blue directly. */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class PgjdbcThroughProxyIT {

    private static PgCluster blue;
    private static PgCluster green;
    private static TestProxy proxy;

    @BeforeAll
    static void start(TestClusters clusters) throws Exception {
        blue = clusters.blue();
        green = clusters.green();
        proxy = TestProxy.in(blue).start();
    }

    @AfterAll
    static void stop() throws Exception {
        proxy.close();
    }

    private static String table(String stem) {
        return stem + "_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
    }

    private static Connection viaProxy(String... properties) throws SQLException {
        Properties extra = new Properties();
        for (int i = 0; i < properties.length; i += 2) {
            extra.setProperty(properties[i], properties[i + 1]);
        }
        return proxy.connect(blue.superuser(), null, extra);
    }

    private static long countOnBlue(String table) throws SQLException {
        try (Connection direct = blue.connect("postgres"); Statement s = direct.createStatement();
             ResultSet rs = s.executeQuery("select count(*) from " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"simple", "extended", "extendedForPrepared", "extendedCacheEverything"})
    void queriesWorkInEveryQueryMode(String mode) throws Exception {
        String table = table("modes");
        try (Connection c = viaProxy("preferQueryMode", mode); Statement s = c.createStatement()) {
            s.execute("create table " + table + " (id int primary key, name text)");
            try (PreparedStatement insert = c.prepareStatement("insert into " + table + " values (?, ?)")) {
                for (int i = 1; i <= 3; i++) {
                    insert.setInt(1, i);
                    insert.setString(2, "row " + i);
                    assertThat(insert.executeUpdate()).isEqualTo(1);
                }
            }
            try (ResultSet rs = s.executeQuery("select string_agg(name, ',' order by id) from " + table)) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("row 1,row 2,row 3");
            }
        }
        assertThat(countOnBlue(table)).isEqualTo(3);
    }

    @Test
    void serverSidePreparedStatementsAreUsedPastThePrepareThreshold() throws Exception {
        try (Connection c = viaProxy("prepareThreshold", "2");
             PreparedStatement select = c.prepareStatement("select ?::int * 2")) {
            for (int i = 0; i < 5; i++) {
                select.setInt(1, i);
                try (ResultSet rs = select.executeQuery()) {
                    rs.next();
                    assertThat(rs.getInt(1)).isEqualTo(i * 2);
                }
            }
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("select count(*) from pg_prepared_statements where statement like 'select $1::int * 2%'")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(1);
            }
        }
    }

    @Test
    void batchesReachBlue() throws Exception {
        String table = table("batch");
        try (Connection c = viaProxy(); Statement s = c.createStatement()) {
            s.execute("create table " + table + " (id int primary key)");
            try (PreparedStatement insert = c.prepareStatement("insert into " + table + " values (?)")) {
                for (int i = 0; i < 1000; i++) {
                    insert.setInt(1, i);
                    insert.addBatch();
                }
                int[] counts = insert.executeBatch();
                assertThat(counts).hasSize(1000);
            }
        }
        assertThat(countOnBlue(table)).isEqualTo(1000);
    }

    @Test
    void transactionsAndSavepointsCommitExactlyWhatTheyShould() throws Exception {
        String table = table("tx");
        try (Connection c = viaProxy(); Statement s = c.createStatement()) {
            s.execute("create table " + table + " (id int primary key)");
            c.setAutoCommit(false);
            s.execute("insert into " + table + " values (1)");
            Savepoint savepoint = c.setSavepoint();
            s.execute("insert into " + table + " values (2)");
            c.rollback(savepoint);
            s.execute("insert into " + table + " values (3)");
            assertThat(countOnBlue(table)).as("nothing visible before commit").isZero();
            c.commit();
            s.execute("insert into " + table + " values (4)");
            c.rollback();
        }
        try (Connection direct = blue.connect("postgres"); Statement s = direct.createStatement();
             ResultSet rs = s.executeQuery("select array_agg(id order by id)::text from " + table)) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("{1,3}");
        }
    }

    @Test
    void anErrorMidTransactionAbortsItAndTheSessionRecovers() throws Exception {
        String table = table("recover");
        try (Connection c = viaProxy(); Statement s = c.createStatement()) {
            s.execute("create table " + table + " (id int primary key)");
            c.setAutoCommit(false);
            s.execute("insert into " + table + " values (1)");
            assertThatThrownBy(() -> s.execute("insert into " + table + " values (1)"))
                    .isInstanceOf(SQLException.class)
                    .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("23505");
            assertThatThrownBy(() -> s.execute("select 1"))
                    .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("25P02");
            c.rollback();
            s.execute("insert into " + table + " values (2)");
            c.commit();
        }
        assertThat(countOnBlue(table)).isEqualTo(1);
    }

    @Test
    void copyInAndOutStreamThroughTheProxy() throws Exception {
        String table = table("copy");
        StringBuilder csv = new StringBuilder();
        for (int i = 0; i < 10_000; i++) {
            csv.append(i).append(",name ").append(i).append('\n');
        }
        try (Connection c = viaProxy(); Statement s = c.createStatement()) {
            s.execute("create table " + table + " (id int, name text)");
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            long copiedIn = copy.copyIn("copy " + table + " from stdin (format csv)",
                    new ByteArrayInputStream(csv.toString().getBytes(StandardCharsets.UTF_8)));
            assertThat(copiedIn).isEqualTo(10_000);

            StringWriter out = new StringWriter();
            long copiedOut = copy.copyOut("copy (select * from " + table + " order by id) to stdout (format csv)", out);
            assertThat(copiedOut).isEqualTo(10_000);
            assertThat(out.toString()).isEqualTo(csv.toString());
        }
        assertThat(countOnBlue(table)).isEqualTo(10_000);
    }

    @Test
    void listenNotifyReachesTheListener() throws Exception {
        try (Connection listener = viaProxy(); Connection notifier = viaProxy();
             Statement listen = listener.createStatement(); Statement notify = notifier.createStatement()) {
            listen.execute("listen bluegreen_events");
            notify.execute("notify bluegreen_events, 'hello'");

            PGNotification[] received = listener.unwrap(PGConnection.class).getNotifications(10_000);

            assertThat(received).extracting(PGNotification::getName, PGNotification::getParameter)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("bluegreen_events", "hello"));
        }
    }

    @Test
    void cancelStopsARunningQuery() throws Exception {
        String sleep = "select pg_sleep(60) /* " + table("cancel") + " */"; // not another test's sleep
        try (Connection c = viaProxy(); Statement s = c.createStatement()) {
            CompletableFuture<Throwable> running = CompletableFuture.supplyAsync(() -> {
                try {
                    s.execute(sleep);
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            await().atMost(Duration.ofSeconds(10)).until(() -> activeOnBlue(sleep) > 0);

            s.cancel();

            Throwable outcome = running.get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(outcome).isInstanceOf(SQLException.class);
            assertThat(((SQLException) outcome).getSQLState()).isEqualTo("57014");
            try (ResultSet rs = s.executeQuery("select 1")) {
                assertThat(rs.next()).isTrue();
            }
        }
    }

    /**
     * A statement still running when the shutdown grace ends is cancelled before its session closes, as a
     * server's fast shutdown rolls it back: the client is told its session ended, and the statement does not
     * commit behind its back. Before, closing the server connection alone let an autocommit UPDATE run on to its
     * commit while the client had 57P01, which it takes as rolled back and may run again. With dual-write too.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aStatementRunningWhenTheGraceEndsIsCancelledNotLeftToCommit(boolean dualWrite) throws Exception {
        String table = table("grace");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key, v int)",
                "insert into " + table + " values (1, 0)");
        TestProxy stopping = TestProxy.in(blue).green(green).start();
        try (Connection c = stopping.connect("postgres"); Statement s = c.createStatement()) {
            if (dualWrite) {
                stopping.server().routing().start("test", null);
            }
            String update = "update " + table + " set v = v + 1 where id = 1 and pg_sleep(3) is not null";
            CompletableFuture<SQLException> running = new CompletableFuture<>();
            Thread.ofPlatform().start(() -> {
                try {
                    s.executeUpdate(update);
                    running.complete(null);
                } catch (SQLException e) {
                    running.complete(e);
                }
            });
            await().atMost(Duration.ofSeconds(10)).until(() -> activeOnBlue(update) > 0);

            stopping.shutdown(Duration.ofMillis(200));

            SQLException outcome = running.get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertThat((Throwable) outcome).as("the client is told its session ended").isNotNull();
            assertThat(outcome.getSQLState()).as("a server's fast shutdown says 57P01, not the cancel's 57014").isEqualTo("57P01");
            await().atMost(Duration.ofSeconds(10)).until(() -> activeOnBlue(update) == 0);
            for (PgCluster cluster : new PgCluster[] {blue, green}) {
                assertThat(ClusterData.text(cluster, "select v::text from " + table)).as(cluster.name()).isEqualTo("0");
            }
        } finally {
            stopping.close();
        }
    }

    private static int activeOnBlue(String query) throws SQLException {
        try (Connection direct = blue.connect("postgres");
             PreparedStatement select = direct.prepareStatement(
                     "select count(*) from pg_stat_activity where query = ? and state = 'active'")) {
            select.setString(1, query);
            try (ResultSet rs = select.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    @Test
    void aCancelForAnIdleSessionIsNotForwarded() throws Exception {
        try (Connection c = viaProxy(); Statement s = c.createStatement()) {
            s.cancel(); // nothing running: must not hit the next query

            try (ResultSet rs = s.executeQuery("select pg_sleep(0.5), 42")) {
                rs.next();
                assertThat(rs.getInt(2)).isEqualTo(42);
            }
        }
    }

    /**
     * A cancel that reaches the server once the query has ended must not cancel the session's next query, as it
     * can on a direct connection: the proxy sends the backend nothing more until the server has confirmed the
     * cancel, and the backend, signalled while it waits for a request, ignores it. The cluster's postmaster is
     * stopped, so the cancel waits in its listen queue until after the query; a relay in front of green, whose
     * postmaster the dual-write tests stop too, so that blue serves the other tests throughout.
     */
    @Test
    void aCancelThatReachesTheServerAfterTheQueryEndedDoesNotCancelTheNextOne() throws Exception {
        String application = unique("late_cancel_relay");
        afterALateCancel(application, (relay, client, key, watcher) -> {
            client.send(RawClient.query("select 2 from pg_sleep(0.5)"));
            await("the next query waits while the server has not confirmed the cancel")
                    .during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                    .until(() -> backendOf(watcher, application).equals("idle " + LATE_CANCELLED));
        }, client -> assertThat(client.firstValue()).as("the next query, not cancelled").isEqualTo("2"));
    }

    /**
     * The client cancels its next query while that query is still held behind an unconfirmed cancel: the cancel is
     * meant for it, so it goes to the server once the query has been sent. Sent at once, it would find the backend
     * idle, and the query would run its 30 s. Sent right after the query, it can still reach the backend before the
     * backend has read the query (a likely cause of this test's rare failures on a busy machine), so it is sent again
     * while the backend answers nothing.
     */
    @Test
    void aCancelOfAQueryStillHeldBehindAnUnconfirmedCancelReachesItOnceSent() throws Exception {
        afterALateCancel(unique("held_cancel_relay"), (relay, client, key, watcher) -> {
            client.send(RawClient.query("select 2 from pg_sleep(30)"));
            // the query is in the session's socket before the cancel's connection is even opened, so the
            // proxy reads it first: the cancel finds it held, not an idle session
            RawClient.cancel(relay.port(), key);
        }, client -> assertThat(client.firstValue()).as("the held query, cancelled once sent").isEqualTo("error 57014"));
    }

    /**
     * The same, with the backend stopped until the cancel meant for the held query has reached it: the backend has not
     * read the query then, and ignores the signal, as it does when its server's child that signals wins the race to it
     * on a busy machine. The proxy sends the cancel again while the backend answers nothing, and that one reaches it.
     */
    @Test
    void aCancelOfAHeldQueryIsSentAgainWhileTheBackendHasNotReadTheQuery() throws Exception {
        String application = unique("slow_reader_relay");
        Logger logger = (Logger) LoggerFactory.getLogger("dev.bluegreen.proxy.session.BackendConnection");
        List<String> seen = new CopyOnWriteArrayList<>(); // appended on the event loops
        AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent event) {
                seen.add(event.getFormattedMessage());
            }
        };
        Level level = logger.getLevel();
        appender.start();
        logger.addAppender(appender);
        logger.setLevel(Level.DEBUG);
        try {
            afterALateCancel(application, (relay, client, key, watcher) -> {
                long backend = backendPid(watcher, application);
                client.send(RawClient.query("select 2 from pg_sleep(30)"));
                RawClient.cancel(relay.port(), key);
                signal("STOP", backend);
                try {
                    signal("CONT", green.pid()); // the first cancel, then the one for the held query, reach it stopped
                    await("the cancel is sent again")
                            .until(() -> seen.stream().anyMatch(message -> message.startsWith("cancel sent again")));
                } finally {
                    signal("CONT", backend);
                }
            }, client -> assertThat(client.firstValue()).as("the held query, cancelled by a cancel sent again")
                    .isEqualTo("error 57014"));
        } finally {
            logger.setLevel(level);
            logger.detachAppender(appender);
        }
    }

    private static long backendPid(Connection watcher, String application) throws SQLException {
        try (PreparedStatement ps = watcher.prepareStatement("select pid from pg_stat_activity where application_name = ?")) {
            ps.setString(1, application);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).as("a backend for " + application).isTrue();
                return rs.getLong(1);
            }
        }
    }

    /** Runs 2 s on the server: long enough for the test to see it running and cancel it before it ends. */
    private static final String LATE_CANCELLED = "select 1 from pg_sleep(2)";

    /** What a test does with the session, its relay, its cancel key and a connection watching green. */
    private interface WhileStopped {
        void run(TestProxy relay, RawClient client, byte[] key, Connection watcher) throws Exception;
    }

    /** What a test reads from the session once green's postmaster runs again. */
    private interface Afterwards {
        void check(RawClient client) throws Exception;
    }

    /**
     * A session, named {@code application}, on a relay in front of green with green's postmaster stopped: runs
     * {@link #LATE_CANCELLED}, cancels it while it runs and reads its answer, which the cancel, waiting in the
     * listen queue, did not reach; then {@code whileStopped}, and once the postmaster is resumed, {@code afterwards}.
     * The confirmation may take 30 s (connect timeout) before the proxy gives the cancel up.
     */
    private static void afterALateCancel(String application, WhileStopped whileStopped, Afterwards afterwards)
            throws Exception {
        try (TestProxy relay = TestProxy.in(green).connectTimeout(Duration.ofSeconds(30)).start();
             Connection watcher = green.connect("postgres");
             RawClient client = new RawClient(relay.port())) {
            client.startup(java.util.Map.of("user", green.superuser(), "database", "postgres", "application_name", application));
            byte[] key = client.readUntil('K').body();
            client.readUntil('Z');
            long postmaster = green.pid();
            signal("STOP", postmaster);
            try {
                client.send(RawClient.query(LATE_CANCELLED));
                await("the query runs").until(() -> backendOf(watcher, application).equals("active " + LATE_CANCELLED));
                RawClient.cancel(relay.port(), key);
                assertThat(client.firstValue()).as("the query, ended before the cancel reached the server").isEqualTo("1");
                whileStopped.run(relay, client, key, watcher);
            } finally {
                signal("CONT", postmaster);
            }
            afterwards.check(client);
        }
    }

    @Test
    void parameterStatusChangesAreForwarded() throws Exception {
        try (Connection c = viaProxy(); Statement s = c.createStatement()) {
            PGConnection pg = c.unwrap(PGConnection.class);
            assertThat(pg.getParameterStatus("server_version")).startsWith(String.valueOf(blue.majorVersion()));

            s.execute("set application_name = 'checkout-service'");

            assertThat(pg.getParameterStatus("application_name")).isEqualTo("checkout-service");
        }
    }

    @Test
    void theOptionsStartupParameterReachesBlue() throws Exception {
        try (Connection c = viaProxy("options", "-c search_path=bluegreen_test,public -c statement_timeout=12345");
             Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("show search_path")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("bluegreen_test,public");
            }
            try (ResultSet rs = s.executeQuery("show statement_timeout")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("12345ms");
            }
        }
    }

    /** Forwarded, a replication connection would be opened as whatever role the proxy logs in with. */
    @ParameterizedTest
    @ValueSource(strings = {"database", "true"})
    void aReplicationConnectionIsRefused(String replication) {
        assertThatThrownBy(() -> viaProxy("replication", replication, "assumeMinServerVersion", "9.4",
                "preferQueryMode", "simple").close())
                .isInstanceOfSatisfying(SQLException.class, e -> {
                    assertThat(e.getSQLState()).isEqualTo("0A000");
                    assertThat(e.getMessage()).contains("replication connections are not supported through bluegreen");
                });
    }

    @Test
    void replicationSetToFalseIsAnOrdinarySession() throws Exception {
        try (Connection c = viaProxy("replication", "off", "assumeMinServerVersion", "9.4", "preferQueryMode", "simple");
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select 1")) {
            assertThat(rs.next()).isTrue();
        }
    }

    @Test
    void largeObjectsUseTheFunctionCallMessage() throws Exception {
        byte[] data = "bytes through the fastpath function call".getBytes(StandardCharsets.UTF_8);
        try (Connection c = viaProxy()) {
            c.setAutoCommit(false);
            LargeObjectManager objects = c.unwrap(PGConnection.class).getLargeObjectAPI();
            long oid = objects.createLO();
            try (LargeObject object = objects.open(oid, LargeObjectManager.WRITE)) {
                object.write(data);
            }
            try (LargeObject object = objects.open(oid, LargeObjectManager.READ)) {
                assertThat(object.read(data.length)).isEqualTo(data);
            }
            objects.delete(oid);
            c.commit();
        }
    }

    @Test
    void twoHundredConcurrentConnectionsAllWork() throws Exception {
        int clients = 200;
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            java.util.concurrent.CyclicBarrier allOpen = new java.util.concurrent.CyclicBarrier(clients);
            for (int i = 0; i < clients; i++) {
                int n = i;
                results.add(pool.submit(() -> {
                    try (Connection c = viaProxy(); Statement s = c.createStatement()) {
                        allOpen.await(60, java.util.concurrent.TimeUnit.SECONDS);
                        try (ResultSet rs = s.executeQuery("select " + n + " + count(*) from pg_stat_activity where pid = pg_backend_pid()")) {
                            rs.next();
                            return rs.getInt(1);
                        }
                    }
                }));
            }
            for (int i = 0; i < clients; i++) {
                assertThat(results.get(i).get(120, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(i + 1);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
