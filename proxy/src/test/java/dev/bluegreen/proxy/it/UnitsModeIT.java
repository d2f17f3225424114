package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.config.ReadAfterWrite;
import dev.bluegreen.config.Routing;
import dev.bluegreen.proxy.control.Phase;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.copy.CopyManager;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Units mode, message by message: what each kind of unit does on each cluster once dual-write is on,
 * checked by reading blue and green directly.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class UnitsModeIT {

    private static String table(String stem) {
        return stem + "_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
    }

    private static long count(PgCluster cluster, String sql) throws SQLException {
        try (Connection c = cluster.connect("postgres"); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** A pg_stat_activity condition: the backend holds a lock on {@code table}, this test's, not one an earlier test left. */
    private static String holdingALockOn(String table) {
        return " and pid in (select pid from pg_locks where relation = '" + table + "'::regclass)";
    }

    private static int serverVersion(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select current_setting('server_version_num')::int")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void writesReachBothClustersAndReadsFollowTheWeight(TestClusters clusters) throws Exception {
        String t = table("units");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key, v text)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            try (Connection before = proxy.connect("postgres")) {
                before.createStatement().execute("set application_name = 'made before start'");
                proxy.server().routing().start("test", null);

                // simple protocol, autocommit
                before.createStatement().execute("insert into " + t + " values (1, 'one')");
                // extended protocol, explicit transaction
                before.setAutoCommit(false);
                try (PreparedStatement insert = before.prepareStatement("insert into " + t + " values (?, ?)")) {
                    for (int i = 2; i <= 8; i++) {
                        insert.setInt(1, i);
                        insert.setString(2, "n" + i);
                        insert.executeUpdate();
                    }
                }
                before.commit();
                before.setAutoCommit(true);
                // a statement that fails on both leaves both alike
                try {
                    before.createStatement().execute("insert into " + t + " values (1, 'dup')");
                } catch (SQLException expected) {
                    assertThat(expected.getSQLState()).isEqualTo("23505");
                }
                assertThat(serverVersion(before)).isLessThan(170000);
                try (ResultSet rs = before.createStatement().executeQuery("show application_name")) {
                    rs.next();
                    assertThat(rs.getString(1)).isEqualTo("made before start");
                }
            }
            assertThat(count(clusters.blue(), "select count(*) from " + t)).isEqualTo(8);
            assertThat(count(clusters.green(), "select count(*) from " + t)).isEqualTo(8);
            assertThat(proxy.server().migration().divergences()).isEmpty();

            proxy.server().routing().setWeight("test", 100, null);
            try (Connection after = proxy.connect("postgres")) {
                assertThat(serverVersion(after)).isGreaterThanOrEqualTo(180000);
                after.createStatement().execute("insert into " + t + " values (9, 'nine')");
                try (ResultSet rs = after.createStatement().executeQuery("select v from " + t + " where id = 9")) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).isEqualTo("nine");
                }
                try (PreparedStatement read = after.prepareStatement("select count(*) from " + t + " where id < ?")) {
                    for (int i = 0; i < 8; i++) {
                        read.setInt(1, 100);
                        try (ResultSet rs = read.executeQuery()) {
                            rs.next();
                            assertThat(rs.getLong(1)).isEqualTo(9);
                        }
                    }
                }
            }
            assertThat(count(clusters.green(), "select count(*) from " + t)).isEqualTo(9);
            assertThat(count(clusters.blue(), "select count(*) from " + t)).isEqualTo(9);
            assertThat(proxy.server().migration().unitsServedBy(ClusterRole.GREEN)).isGreaterThan(0);
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    @Test
    void copyFromStdinAndAFailedTransactionLeaveBothClustersAlike(TestClusters clusters) throws Exception {
        String t = table("copy");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key, v text)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (Connection c = proxy.connect("postgres")) {
                CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
                StringBuilder rows = new StringBuilder();
                for (int i = 1; i <= 1000; i++) {
                    rows.append(i).append('\t').append("row ").append(i).append('\n');
                }
                long copied = copy.copyIn("copy " + t + " from stdin", new StringReader(rows.toString()));
                assertThat(copied).isEqualTo(1000);

                c.setAutoCommit(false);
                c.createStatement().execute("delete from " + t + " where id <= 10");
                try {
                    c.createStatement().execute("insert into " + t + " values (500, 'duplicate')");
                } catch (SQLException expected) {
                    assertThat(expected.getSQLState()).isEqualTo("23505");
                }
                c.commit(); // the transaction failed, so this rolls back on both
                c.setAutoCommit(true);
                c.createStatement().execute("delete from " + t + " where id > 990");
            }
            for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
                assertThat(count(cluster, "select count(*) from " + t)).as(cluster.name()).isEqualTo(990);
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
    }

    /**
     * A transaction whose statements the lane holds back for the follower past Netty's write limit (here a
     * pgjdbc batch of 300 inserts, which Netty counts with its per-message overhead as more than 64 KiB not yet
     * flushed) goes on: what the follower is owed does not stop the client being read. A first version of the
     * back-pressure for COPY made every twin's writability gate the client, and this batch then waited forever
     * for a COMMIT it no longer read.
     */
    @Test
    void aBatchTheLaneHoldsBackPastNettysWriteLimitDoesNotStopTheSession(TestClusters clusters) throws Exception {
        String t = table("lane_batch");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key, v text)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres")) {
            proxy.server().routing().start("test", null);
            CompletableFuture<int[]> batch = new CompletableFuture<>();
            Thread.ofPlatform().start(() -> {
                try (PreparedStatement insert = c.prepareStatement("insert into " + t + " values (?, ?)")) {
                    c.setAutoCommit(false);
                    for (int id = 1; id <= 300; id++) {
                        insert.setInt(1, id);
                        insert.setString(2, "x".repeat(100));
                        insert.addBatch();
                    }
                    int[] counts = insert.executeBatch();
                    c.commit();
                    batch.complete(counts);
                } catch (SQLException e) {
                    batch.completeExceptionally(e);
                }
            });
            assertThat(batch.get(30, TimeUnit.SECONDS)).hasSize(300);
            await().atMost(Duration.ofSeconds(10)).until(() -> count(clusters.green(), "select count(*) from " + t) == 300);
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
    }

    /**
     * A long transaction against a green that does not keep up (here its first UPDATE waits for a row green
     * holds) is paced by green: the proxy keeps each statement until the follower has answered it, so once
     * what green is sent backs up the client is not read, instead of the proxy keeping an ever longer list of
     * statements for it. When green moves again the transaction ends alike on both.
     */
    @Test
    void aLongTransactionIsPacedByAFollowerThatDoesNotKeepUp(TestClusters clusters) throws Exception {
        String t = table("paced");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key, v text)",
                "insert into " + t + " values (0, '')");
        int statements = 1500; // 30 MB, far more than green's socket and the proxy hold back before the client is paced
        AtomicLong done = new AtomicLong();
        // green waits on the holder's lock until the test sees the client paced: no follower timeout within that
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green())
                     .followerTimeout(Duration.ofSeconds(60)).start();
             Connection c = proxy.connect("postgres");
             Connection holder = clusters.green().connect("postgres")) {
            proxy.server().routing().start("test", null);
            holder.setAutoCommit(false);
            holder.createStatement().execute("select * from " + t + " where id = 0 for update"); // on green only
            CompletableFuture<Void> transaction = new CompletableFuture<>();
            Thread.ofPlatform().start(() -> {
                try (Statement s = c.createStatement()) {
                    c.setAutoCommit(false);
                    s.execute("insert into " + t + " values (-1, 'opens the transaction on both')");
                    s.execute("update " + t + " set v = 'first' where id = 0"); // green runs it in the lane: it waits
                    for (int id = 1; id <= statements; id++) {
                        s.execute("insert into " + t + " values (" + id + ", '" + "x".repeat(20_000) + "')");
                        done.incrementAndGet();
                    }
                    c.commit();
                    transaction.complete(null);
                } catch (SQLException e) {
                    transaction.completeExceptionally(e);
                }
            });
            try {
                // the client stops: the count stays where it is, short of the end, for two seconds
                long[] last = {-1, System.nanoTime()};
                await().atMost(Duration.ofSeconds(30)).until(() -> {
                    long now = done.get();
                    if (now != last[0]) {
                        last[0] = now;
                        last[1] = System.nanoTime();
                    }
                    return now < statements && System.nanoTime() - last[1] > Duration.ofSeconds(2).toNanos();
                });
            } finally {
                holder.rollback();
            }
            transaction.get(60, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> count(clusters.green(), "select count(*) from " + t) == statements + 2);
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * COPY data the leader takes in slower than the client sends it waits in the client's socket, not in the
     * proxy: here blue's backend is stopped a megabyte into a 100 MB COPY, and the client cannot get more than
     * the sockets' buffers ahead of it. Before, the proxy turned reading the client back on at once (its twins
     * have no single backend to ask), read all of it and queued in memory what blue had not taken, without
     * bound: a COPY of gigabytes could use up the proxy's memory.
     */
    @Test
    void copyDataTheLeaderCannotTakeWaitsInTheClientsSocketNotInTheProxy(TestClusters clusters) throws Exception {
        String t = table("copy_held");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int, v text)");
        int rows = 25_000;
        String filler = "x".repeat(4000);
        AtomicLong sent = new AtomicLong();
        CountDownLatch frozen = new CountDownLatch(1);
        InputStream data = new InputStream() {
            private byte[] row = new byte[0];
            private int at;
            private int next = 1;

            @Override
            public int read() {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] into, int offset, int length) {
                if (at == row.length) {
                    if (next > rows) {
                        return -1;
                    }
                    if (sent.get() > 1_000_000) {
                        awaitQuietly(frozen); // blue's backend is stopped before the rest is offered
                    }
                    row = (next++ + "\t" + filler + "\n").getBytes(StandardCharsets.US_ASCII);
                    at = 0;
                }
                int n = Math.min(length, row.length - at);
                System.arraycopy(row, at, into, offset, n);
                at += n;
                sent.addAndGet(n);
                return n;
            }
        };
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres")) {
            proxy.server().routing().start("test", null);
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            CompletableFuture<Long> copying = new CompletableFuture<>();
            Thread.ofPlatform().start(() -> {
                try {
                    copying.complete(copy.copyIn("copy " + t + " from stdin", data));
                } catch (Throwable e) {
                    copying.completeExceptionally(e);
                }
            });
            await().atMost(Duration.ofSeconds(20)).until(() -> sent.get() > 1_000_000);
            long backend = count(clusters.blue(), "select pid from pg_stat_activity where query like 'copy " + t + "%'"
                    + " and pid <> pg_backend_pid()");
            try (Frozen blueBackend = Frozen.process(backend)) {
                frozen.countDown();
                await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10))
                        .until(() -> sent.get() < 60_000_000);
            }
            assertThat(copying.get(120, TimeUnit.SECONDS)).isEqualTo(rows);
            assertThat(count(clusters.blue(), "select count(*) from " + t)).isEqualTo(rows);
            // the client has its answer once blue has committed; green commits behind it
            await().atMost(Duration.ofSeconds(60)).until(() -> count(clusters.green(), "select count(*) from " + t) == rows);
            assertThat(proxy.server().migration().divergences()).isEmpty();
        } finally {
            frozen.countDown();
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * With {@code routing.read_after_write: session} the client has its COMMIT once the leader has committed,
     * and the follower commits behind it (here green's commit runs a deferred trigger that sleeps). What must
     * see the follower's commit still waits for it: the session's next unit, a read green serves, and a
     * cutover, whose write barrier holds until the last transaction is committed on both. (By default, with
     * green serving reads, the COMMIT itself waits: ReadAfterWriteIT.)
     */
    @Test
    void theSessionsNextUnitAndACutoverWaitForTheFollowersCommit(TestClusters clusters) throws Exception {
        String t = table("slow_commit");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key, v text)");
        clusters.green().execute("postgres",
                "create function " + t + "_slow() returns trigger language plpgsql as "
                        + "$$ begin perform pg_sleep(3); return null; end $$",
                "create constraint trigger " + t + "_slow after insert on " + t
                        + " deferrable initially deferred for each row execute function " + t + "_slow()");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green())
                .routing(Routing.defaults().withReadAfterWrite(ReadAfterWrite.SESSION)).start();
             Connection c = proxy.connect("postgres")) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);

            c.setAutoCommit(false);
            c.createStatement().execute("insert into " + t + " values (1, 'one')");
            c.commit();
            assertThat(count(clusters.blue(), "select count(*) from " + t)).as("blue, read directly").isEqualTo(1);
            assertThat(count(clusters.green(), "select count(*) from " + t))
                    .as("green, read directly while its commit still runs").isZero();
            c.setAutoCommit(true);
            try (ResultSet rs = c.createStatement().executeQuery(
                    "select v, current_setting('server_version_num')::int from " + t + " where id = 1")) {
                assertThat(rs.next()).as("the session's next read sees its commit").isTrue();
                assertThat(rs.getString(1)).isEqualTo("one");
                assertThat(rs.getInt(2)).as("served by green").isGreaterThanOrEqualTo(180000);
            }

            c.setAutoCommit(false);
            c.createStatement().execute("insert into " + t + " values (2, 'two')");
            c.commit();
            proxy.server().routing().cutover("test", null);
            assertThat(count(clusters.green(), "select count(*) from " + t))
                    .as("green, read directly once the cutover is done").isEqualTo(2);
        }
    }

    @Test
    void aListenThatOpensATransactionLeavesTheTransactionToBothTwins(TestClusters clusters) throws Exception {
        String t = table("listen_txn");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            Properties simple = new Properties();
            simple.setProperty("preferQueryMode", "simple");
            try (Connection c = proxy.connect("postgres", null, simple)) {
                // one Query that opens a transaction and listens (psql's "begin\; listen x" too): one unit
                Statement s = c.createStatement();
                s.execute("begin; listen bg_in_txn");
                s.execute("insert into " + t + " values (1)");
                s.execute("commit");
                s.execute("begin; listen bg_in_txn");
                s.execute("insert into " + t + " values (2)");
                s.execute("rollback");

                clusters.blue().execute("postgres", "notify bg_in_txn, 'heard'");
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    s.execute("select 1");
                    PGNotification[] notifications = c.unwrap(PGConnection.class).getNotifications();
                    assertThat(notifications).isNotNull();
                    assertThat(notifications).extracting(PGNotification::getParameter).containsExactly("heard");
                });
            }
            assertThat(count(clusters.blue(), "select count(*) from " + t)).isEqualTo(1);
            assertThat(count(clusters.green(), "select count(*) from " + t)).isEqualTo(1);
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * After cutover green leads and holds the session's LISTEN. A notification green delivers with its answer to
     * a read that fails there (and is run again on blue) is the client's all the same. Before, it was held and
     * dropped with green's failed answer, and the client never heard it.
     */
    @Test
    void aNotificationArrivingWithAReadGreenFailedReachesTheClientAfterCutover(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            proxy.server().routing().cutover("test", null);
            try (Connection c = proxy.connect("postgres"); Connection other = proxy.connect("postgres")) {
                c.createStatement().execute("listen bg_in_failed_read");
                CompletableFuture<Object> read = new CompletableFuture<>();
                Thread.ofPlatform().start(() -> {
                    try (Statement s = c.createStatement()) {
                        // seconds for the test to see it run
                        s.executeQuery("select 1 / (length(pg_sleep(3)::text) * 0) as fails_after_a_second");
                        read.complete("answered");
                    } catch (Throwable e) {
                        read.complete(e);
                    }
                });
                await("the read runs on green").atMost(Duration.ofSeconds(10)).until(() -> count(clusters.green(),
                        "select count(*) from pg_stat_activity where query like '%fails_after_a_second%'"
                                + " and wait_event = 'PgSleep'") == 1);
                other.createStatement().execute("notify bg_in_failed_read, 'during'");

                assertThat(read.get(20, TimeUnit.SECONDS)).isInstanceOfSatisfying(SQLException.class,
                        e -> assertThat(e.getSQLState()).isEqualTo("22012"));
                PGNotification[] notifications = c.unwrap(PGConnection.class).getNotifications(5000);
                assertThat(notifications).isNotNull();
                assertThat(notifications).extracting(PGNotification::getParameter).containsExactly("during");
            }
            assertThat(proxy.server().migration().readRetries()).isPositive();
        }
    }

    /** A LISTEN and a write in one unit: the write reaches the follower too, and a notification arrives once. */
    @Test
    void aWriteInTheSameUnitAsAListenReachesBothTwins(TestClusters clusters) throws Exception {
        String t = table("listen_write");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            for (String mode : new String[] {"simple", "extended"}) {
                Properties properties = new Properties();
                properties.setProperty("preferQueryMode", mode);
                try (Connection c = proxy.connect("postgres", null, properties); Statement s = c.createStatement()) {
                    int id = mode.equals("simple") ? 1 : 2;
                    s.execute("listen bg_with_write; insert into " + t + " values (" + id + ")");
                    s.execute("unlisten *; insert into " + t + " values (" + (id + 10) + ")");
                    s.execute("listen bg_with_write");

                    clusters.blue().execute("postgres", "notify bg_with_write, '" + mode + "'");
                    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                        s.execute("select 1");
                        PGNotification[] notifications = c.unwrap(PGConnection.class).getNotifications();
                        assertThat(notifications).isNotNull();
                        assertThat(notifications).extracting(PGNotification::getParameter).containsExactly(mode);
                    });
                }
            }
            assertThat(count(clusters.blue(), "select count(*) from " + t + " where id in (1, 2, 11, 12)")).isEqualTo(4);
            assertThat(count(clusters.green(), "select count(*) from " + t + " where id in (1, 2, 11, 12)")).isEqualTo(4);
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * A transaction that begins read-only is served where reads go, green at weight 100; once it turns
     * writable (before its first query, as Postgres requires) its writes run on blue first, as every
     * write does (DESIGN §5). Blue alone has row 1, so the insert fails there, and the client hears
     * blue's error, not green's success.
     */
    @Test
    void aReadOnlyTransactionThatTurnsWritableWritesOnTheLeaderFirst(TestClusters clusters) throws Exception {
        String t = table("ro_then_rw");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        clusters.blue().execute("postgres", "insert into " + t + " values (1)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            try (Connection c = proxy.connect("postgres"); Statement s = c.createStatement()) {
                s.execute("begin read only");
                s.execute("set transaction read write");
                SQLException duplicate = org.assertj.core.api.Assertions.catchThrowableOfType(SQLException.class,
                        () -> s.execute("insert into " + t + " values (1)"));
                assertThat((Throwable) duplicate).as("blue's answer: row 1 is there").isNotNull();
                assertThat(duplicate.getSQLState()).isEqualTo("23505");
                s.execute("rollback");

                s.execute("begin read only");
                s.execute("set transaction read write");
                s.execute("insert into " + t + " values (2)");
                s.execute("commit");

                s.execute("begin read only");
                assertThat(serverVersion(c)).as("green serves a read-only transaction's reads").isGreaterThanOrEqualTo(180000);
                s.execute("commit");
            }
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            assertThat(count(clusters.blue(), "select count(*) from " + t + " where id = 2")).isEqualTo(1);
            assertThat(count(clusters.green(), "select count(*) from " + t + " where id = 2")).isEqualTo(1);
            assertThat(count(clusters.green(), "select count(*) from " + t + " where id = 1")).isZero();
        }
    }

    /**
     * pgjdbc with a fetch size reads a portal in batches: the first unit binds it, each later one is an
     * Execute alone. A query that writes (nextval) must run every batch on both twins.
     */
    @Test
    void anExecuteThatContinuesAPortalRunsWhereTheBindRan(TestClusters clusters) throws Exception {
        String sequence = table("fetched_seq");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create sequence " + sequence);
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (Connection c = proxy.connect("postgres")) {
                c.setAutoCommit(false);
                try (PreparedStatement next = c.prepareStatement("select nextval('" + sequence + "') from generate_series(1, 10)")) {
                    next.setFetchSize(3);
                    int rows = 0;
                    try (ResultSet rs = next.executeQuery()) {
                        while (rs.next()) {
                            rows++;
                        }
                    }
                    assertThat(rows).isEqualTo(10);
                }
                c.commit();
            }
            assertThat(count(clusters.blue(), "select last_value from " + sequence)).isEqualTo(10);
            assertThat(count(clusters.green(), "select last_value from " + sequence)).isEqualTo(10);
        }
    }

    /**
     * A client that parses the unnamed statement in one round trip (with a Describe, as pgx's describe-exec
     * mode and libpq's PQprepare with no name do) and binds it in the next, with a start in between: the
     * twin never had the statement, and the proxy's own queries (the snapshot, the BEGIN it wraps a write in)
     * end it on blue. Before, blue answered the client's Bind with 26000 (no unnamed prepared statement).
     */
    @Test
    void anUnnamedStatementParsedBeforeStartIsBoundAfterIt(TestClusters clusters) throws Exception {
        String t = table("parsed_before_start");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            client.send(concat(parse("", "insert into " + t + " values (1)"), describeStatement(""), sync()));
            assertThat(answer(client)).isEqualTo("no answer");

            proxy.server().routing().start("test", null);
            client.send(concat(bind(""), execute(""), sync()));
            assertThat(answer(client)).isEqualTo("INSERT 0 1");
            client.send(concat(bind(""), execute(""), sync()));
            assertThat(answer(client)).as("a second time").contains("23505");

            // closed by the client before start: Postgres has no such statement, and nor does the proxy
            proxy.server().routing().abort("test", null);
            client.send(concat(parse("", "insert into " + t + " values (2)"), closeUnnamedStatement(), sync()));
            assertThat(answer(client)).isEqualTo("no answer");
            proxy.server().routing().start("test", null);
            client.send(concat(bind(""), execute(""), sync()));
            assertThat(answer(client)).contains("26000");

            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        ClusterData.bothHold(clusters.blue(), clusters.green(), t, "(1)");
    }

    /**
     * The same, where the session's twin cannot be made at start (its role exists on blue alone): green falls out of
     * sync, and the session relays to blue again, where the proxy's snapshot query for the twin ended the statement.
     * It is parsed there again before the relay takes over. Before, blue answered the client's Bind with 26000.
     */
    @Test
    void anUnnamedStatementParsedBeforeATwinThatCouldNotBeMadeIsBoundAfterIt(TestClusters clusters) throws Exception {
        String t = table("parsed_before_lost_twin");
        String role = table("blue_only");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        clusters.blue().execute("postgres", "create role " + role + " login superuser");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(role)) {
            client.send(concat(parse("", "insert into " + t + " values (1)"), describeStatement(""), sync()));
            assertThat(answer(client)).isEqualTo("no answer");

            proxy.server().routing().start("test", null);
            client.send(concat(bind(""), execute(""), sync()));
            assertThat(answer(client)).isEqualTo("INSERT 0 1");
            assertThat(proxy.server().routing().current().followerInSync()).as("green lost: the twin could not log in")
                    .isFalse();
        } finally {
            clusters.blue().execute("postgres", "drop role " + role);
        }
        assertThat(count(clusters.blue(), "select count(*) from " + t)).isEqualTo(1);
    }

    /**
     * A client that parses the unnamed statement once and binds it again and again (pgx's describe-exec mode), across
     * cutover and finalize: the session, which ran the statement in units mode, relays to green after finalize, and
     * green has the statement to bind (the unit that bound it under dual-write parsed it again on both clusters).
     */
    @Test
    void anUnnamedStatementParsedUnderDualWriteIsBoundOnGreenAfterFinalize(TestClusters clusters) throws Exception {
        String t = table("bound_after_finalize");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port())) {
            client.startup(java.util.Map.of("user", clusters.blue().superuser(), "database", "postgres",
                    "application_name", t));
            client.readUntil('Z');
            proxy.server().routing().start("test", null);
            client.send(concat(parse("", "insert into " + t + " values ($1::int)"), describeStatement(""), sync()));
            assertThat(client.typesUntilReady()).isEqualTo("1tnZ");
            client.send(concat(bindText("1"), execute(""), sync()));
            assertThat(answer(client)).isEqualTo("INSERT 0 1");

            proxy.server().routing().setWeight("test", 100, null);
            proxy.server().routing().cutover("test", null);
            proxy.server().routing().finalizeMigration("test", null);
            String onBlue = "select count(*) from pg_stat_activity where application_name = '" + t + "'";
            await("the session relaying to green").until(() -> count(clusters.blue(), onBlue) == 0);
            client.send(concat(bindText("2"), execute(""), sync()));
            assertThat(answer(client)).isEqualTo("INSERT 0 1");
        }
        assertThat(count(clusters.green(), "select count(*) from " + t)).isEqualTo(2);
    }

    /** A Bind of the unnamed statement with one parameter in text, {@code value}. */
    private static byte[] bindText(String value) {
        byte[] text = value.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return RawClient.message('B', ByteBuffer.allocate(12 + text.length).put(new byte[] {0, 0}).putShort((short) 0)
                .putShort((short) 1).putInt(text.length).put(text).putShort((short) 0).array());
    }

    /**
     * The same, with the statement described again as the first unit after start (a driver checking the parameter
     * types of a statement it parsed before, then binding it): the twin is given the Parse ahead of the Describe too.
     * Before, green answered the Describe with 26000 (no unnamed prepared statement), a divergence.
     */
    @Test
    void anUnnamedStatementParsedBeforeStartIsDescribedAfterIt(TestClusters clusters) throws Exception {
        String t = table("described_after_start");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            client.send(concat(parse("", "insert into " + t + " values ($1)"), sync()));
            assertThat(client.typesUntilReady()).isEqualTo("1Z");

            proxy.server().routing().start("test", null);
            client.send(concat(describeStatement(""), sync()));
            assertThat(client.typesUntilReady()).as("the statement's parameters, and no rows").isEqualTo("tnZ");
            client.send(concat(RawClient.message('B', ByteBuffer.allocate(13).put(new byte[] {0, 0}).putShort((short) 0)
                    .putShort((short) 1).putInt(1).put((byte) '7').putShort((short) 0).array()), execute(""), sync()));
            assertThat(answer(client)).isEqualTo("INSERT 0 1");

            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        ClusterData.bothHold(clusters.blue(), clusters.green(), t, "(7)");
    }

    /**
     * A write whose RETURNING rows a client reads in pieces (a row limit per Execute, as pgjdbc does with a
     * fetch size): each piece holds the rows that cluster found first, here in opposite orders. Before, the
     * last piece's rows were compared as if they were the statement's, a false divergence that took green
     * out of sync.
     */
    @Test
    void aWritesReturningRowsReadInPiecesAreNotComparedPieceByPiece(TestClusters clusters) throws Exception {
        String t = table("returned_in_pieces");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key, v int)");
        clusters.blue().execute("postgres", "insert into " + t + " select n, 0 from generate_series(1, 6) n");
        clusters.green().execute("postgres", "insert into " + t + " select n, 0 from generate_series(6, 1, -1) n");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            proxy.server().routing().start("test", null);
            assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
            client.send(concat(parse("", "update " + t + " set v = v + 1 returning id"), bind(""), execute("", 2), sync()));
            assertThat(answer(client)).as("suspended").isEqualTo("no answer");
            client.send(concat(execute("", 2), sync()));
            assertThat(answer(client)).as("suspended").isEqualTo("no answer");
            client.send(concat(execute("", 0), sync()));
            assertThat(answer(client)).as("the last piece's rows").isEqualTo("UPDATE 2");
            assertThat(answerTo(client, "commit")).isEqualTo("COMMIT");

            // every piece in one unit: the last piece's outcome holds all the rows, compared as a whole
            client.send(concat(parse("", "update " + t + " set v = v + 1 returning id"), bind(""), execute("", 2),
                    execute("", 2), execute("", 0), sync()));
            assertThat(answer(client)).isEqualTo("UPDATE 2");

            // a portal left suspended, then another statement: the first one's rows are not counted as the second's
            client.send(concat(parse("u", "update " + t + " set v = v + 1 returning id"), bindPortal("p1", "u"),
                    execute("p1", 2), parse("", "insert into " + t + " values (7, 3)"), bind(""), execute(""), sync()));
            assertThat(answer(client)).isEqualTo("INSERT 0 1");

            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        ClusterData.bothHold(clusters.blue(), clusters.green(), t, "(1,3)\n(2,3)\n(3,3)\n(4,3)\n(5,3)\n(6,3)\n(7,3)");
    }

    /**
     * The names a Bind refers to follow the statements behind them: one re-made in SQL (DEALLOCATE, then
     * PREPARE of a DELETE; the same inside a DO block), an unnamed one parsed in the second half of a unit a Flush opened, and an
     * unnamed one described in a unit of its own and executed in the next. At weight 100 a Bind taken for
     * a read goes to green alone, so each write must reach both; a cluster that did not run the Parse (or
     * lost the unnamed statement to the proxy's own BEGIN or COMMIT) must still run the Bind.
     */
    @Test
    void aBindRunsTheStatementTheNameMeansNow(TestClusters clusters) throws Exception {
        String t = table("renamed");
        ClusterData.onBoth(clusters.blue(), clusters.green(),
                "create table " + t + " (id int primary key)", "insert into " + t + " values (1), (2)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                // "s" parsed as a read, then re-made in SQL as a delete
                client.send(concat(parse("s", "select 1"), sync()));
                client.readUntil('Z');
                client.send(RawClient.query("deallocate s; prepare s as delete from " + t + " where id = 1"));
                client.readUntil('Z');
                client.send(concat(bind("s"), execute(""), sync()));
                assertThat(answer(client)).isEqualTo("DELETE 1");

                // "d" parsed as a read, then re-made by a DO block's EXECUTE, which the proxy cannot read
                client.send(RawClient.query("insert into " + t + " values (1)"));
                client.readUntil('Z');
                client.send(concat(parse("d", "select 1"), sync()));
                client.readUntil('Z');
                client.send(RawClient.query("do $$ begin execute 'deallocate d'; execute 'prepare d as delete from " + t
                        + " where id = 1'; end $$"));
                client.readUntil('Z');
                client.send(concat(bind("d"), execute(""), sync()));
                assertThat(answer(client)).isEqualTo("DELETE 1");

                // a unit opened by a Flush; its second half parses the unnamed statement anew
                client.send(concat(parse("", "select 1"), flush()));
                client.readUntil('1');
                client.send(concat(parse("", "delete from " + t + " where id = 2"), sync()));
                client.readUntil('Z');
                client.send(concat(bind(""), execute(""), sync()));
                assertThat(answer(client)).isEqualTo("DELETE 1");

                // describe, then execute (libpq's PQprepare with "", pgx): the first unit, no Bind, ran on green only
                client.send(concat(parse("", "insert into " + t + " values (3)"), describeStatement(""), sync()));
                client.readUntil('Z');
                client.send(concat(bind(""), execute(""), sync()));
                assertThat(answer(client)).isEqualTo("INSERT 0 1");
                client.send(concat(bind(""), execute(""), sync()));
                assertThat(answer(client)).as("the same row again").contains("C=23505");
            }
            assertThat(count(clusters.blue(), "select count(*) from " + t + " where id <> 3")).isZero();
            assertThat(count(clusters.green(), "select count(*) from " + t + " where id <> 3")).isZero();
            assertThat(count(clusters.blue(), "select count(*) from " + t + " where id = 3")).isEqualTo(1);
            assertThat(count(clusters.green(), "select count(*) from " + t + " where id = 3")).isEqualTo(1);
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * A DO block that does not speak of prepared statements leaves the session's named statements known: a
     * named read bound after it is still a read, which green serves at weight 100, not a write for good.
     */
    @Test
    void aDoBlockLeavesNamedReadsReadsWhenItCannotRemakeThem(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            client.send(concat(parse("v", "select current_setting('server_version_num')::int / 10000"), sync()));
            client.readUntil('Z');
            client.send(RawClient.query("do $$ begin perform 1; end $$"));
            client.readUntil('Z');

            client.send(concat(bind("v"), execute(""), sync()));

            assertThat(client.firstValue()).as("served by green").isEqualTo("18");
        }
    }

    /**
     * A string constant goes on after a newline, read as it began, also when a {@code --} comment comes before
     * the newline: in {@code E'a' -- c}, a newline, {@code '\' , '; DELETE …'} the server runs the DELETE. At
     * weight 100 a text taken for a read would run on green alone, and blue would keep the row.
     */
    @Test
    void aWriteHiddenAfterAStringContinuedPastACommentReachesBothClusters(TestClusters clusters) throws Exception {
        String t = table("continued");
        ClusterData.onBoth(clusters.blue(), clusters.green(),
                "create table " + t + " (id int primary key)", "insert into " + t + " values (1)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);

            client.send(RawClient.query("select E'a' -- c\n'\\' , '; delete from " + t + "; --'"));

            assertThat(answer(client)).isEqualTo("DELETE 1");
            assertThat(count(clusters.blue(), "select count(*) from " + t)).isZero();
            assertThat(count(clusters.green(), "select count(*) from " + t)).isZero();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * A pipeline that binds the unnamed statement parsed before it, then parses a new one, under one Sync
     * (libpq's PQsendQueryPrepared("") then PQsendQueryParams): the first Bind runs the statement it meant.
     */
    @Test
    void aBindOfTheEarlierUnnamedStatementBeforeANewParseRunsTheEarlierOne(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                client.send(concat(parse("", "select 'earlier'"), sync()));
                client.readUntil('Z');

                client.send(concat(bind(""), execute(""), parse("", "select 'later'"), bind(""), execute(""), sync()));

                List<String> values = new java.util.ArrayList<>();
                RawClient.Message message;
                while ((message = client.read()).type() != 'Z') {
                    assertThat(message.type()).as("%s", message.fields()).isNotEqualTo('E');
                    if (message.type() == 'D') {
                        values.add(new String(message.body(), 6, message.body().length - 6, java.nio.charset.StandardCharsets.UTF_8));
                    }
                }
                assertThat(values).containsExactly("earlier", "later");
            }
        }
    }

    /**
     * A read unit with no Execute that green serves (Parse, Describe, Sync: libpq's PQprepare, pgx's
     * statement cache) is held whole in case blue must answer instead; when green answers it, every
     * message of that answer reaches the client, not only the ReadyForQuery.
     */
    @Test
    void aDescribeGreenServesReachesTheClientWhole(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                client.send(concat(parse("", "select 1 as one"), describeStatement(""), sync()));
                assertThat(types(client)).isEqualTo("1tTZ");
                client.send(concat(parse("p", "select 2 as two"), sync()));
                assertThat(types(client)).isEqualTo("1Z");
                client.send(concat(bind("p"), execute(""), sync()));
                assertThat(answer(client)).isEqualTo("SELECT 1");
            }
            assertThat(proxy.server().migration().unitsServedBy(ClusterRole.GREEN)).as("units green served").isPositive();
        }
    }

    /**
     * A COMMIT inside a unit, then a statement that fails: what the COMMIT committed stands on the leader
     * (the server commits at the COMMIT, whatever follows in the string), so the follower runs the whole
     * unit too, from idle and from inside a transaction, and nothing diverges.
     */
    @Test
    void whatACommitInsideAFailingUnitCommittedReachesTheFollower(TestClusters clusters) throws Exception {
        String t = table("commit_then_fail");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                assertThat(answerTo(client, "begin; insert into " + t + " values (1); commit; select 1/0"))
                        .contains("C=22012");
                assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
                assertThat(answerTo(client, "insert into " + t + " values (2); commit; select 1/0"))
                        .contains("C=22012");
                assertThat(answerTo(client, "select count(*) from " + t)).isEqualTo("SELECT 1");
            }
            for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
                assertThat(count(cluster, "select count(*) from " + t)).as(cluster.name()).isEqualTo(2);
            }
            // the leader committed before the follower ran the unit: ordered no more
            assertThat(proxy.server().migration().unorderedStatements()).isEqualTo(2);
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * A unit that ends a failed transaction with COMMIT and goes on (COMMIT; INSERT ...): the insert stands
     * on the leader, and the follower, which skipped the failure and still has its transaction open, would
     * commit that transaction with the same COMMIT. It cannot be given the unit; that is recorded as a
     * divergence, never left unseen.
     */
    @Test
    void aUnitThatGoesOnAfterEndingAFailedTransactionIsADivergence(TestClusters clusters) throws Exception {
        String t = table("rollback_then_insert");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
                assertThat(answerTo(client, "select 1/0")).contains("C=22012");
                assertThat(answerTo(client, "commit; insert into " + t + " values (3)")).isEqualTo("INSERT 0 1");
            }
            assertThat(count(clusters.blue(), "select count(*) from " + t)).isEqualTo(1);
            await("the divergence on record").until(() -> !proxy.server().migration().divergences().isEmpty());
            assertThat(proxy.server().routing().current().followerInSync()).isFalse();
        }
    }

    /**
     * A unit that rolls back a failed transaction and goes on (a pool's reset: asyncpg sends
     * ROLLBACK; SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL): the follower's own
     * transaction rolls back the same, so it runs the whole unit, and nothing diverges.
     */
    @Test
    void aRollbackThatGoesOnAfterAFailedTransactionRunsOnBothClusters(TestClusters clusters) throws Exception {
        String t = table("rollback_then_more");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                for (String rest : new String[] {"select pg_advisory_unlock_all(); close all; unlisten *; reset all",
                        "insert into " + t + " values (4)"}) {
                    assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
                    assertThat(answerTo(client, "insert into " + t + " values (9); select 1/0")).contains("C=22012");
                    assertThat(answerTo(client, "rollback; " + rest)).doesNotContain("C=");
                }
            }
            ClusterData.bothHold(clusters.blue(), clusters.green(), t, "(4)");
            proxy.stillAlike();
        }
    }

    /**
     * {@code COMMIT AND CHAIN} in a failed transaction rolls it back on the leader and opens the next. The
     * follower, which skipped the failed statement, has a healthy transaction: it must roll back and chain as
     * well. Before, it was sent the COMMIT AND CHAIN and committed the row the leader had discarded.
     */
    @Test
    void aCommitAndChainEndingAFailedTransactionRollsItBackOnTheFollowerToo(TestClusters clusters) throws Exception {
        String t = table("commit_chain_failed");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
                assertThat(answerTo(client, "insert into " + t + " values (1)")).isEqualTo("INSERT 0 1");
                assertThat(answerTo(client, "select 1/0")).contains("C=22012");
                assertThat(answerTo(client, "commit and chain")).isEqualTo("ROLLBACK");
                assertThat(answerTo(client, "insert into " + t + " values (2)")).isEqualTo("INSERT 0 1");
                assertThat(answerTo(client, "commit")).isEqualTo("COMMIT");
            }
            ClusterData.bothHold(clusters.blue(), clusters.green(), t, "(2)");
            proxy.stillAlike();
        }
    }

    /**
     * A statement that fails in a transaction releases on the leader the locks taken since the savepoint the
     * transaction may go back to. The follower, which ran those statements (the lane went out after 16 units)
     * and is not sent the failure, fails alike on the proxy's own error and releases them too: another session's
     * write of the same row, free on the leader at once, is not held up on the follower until the client rolls
     * back (before, it waited there, its client with it). Going back to the savepoint then finds both twins alike.
     * The failure is a read's (the leader runs it alone) or a write's (the follower skips what failed at once).
     */
    @ParameterizedTest
    @ValueSource(strings = {"select 1/0", "insert into %s values (1, 0)"})
    void aStatementThatFailsInATransactionReleasesItsLocksOnTheFollowerToo(String failing, TestClusters clusters) throws Exception {
        String t = table("failed_releases");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key, v int)",
                "insert into " + t + " values (1, 0)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient holder = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser());
             RawClient other = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            proxy.server().routing().start("test", null);
            assertThat(answerTo(holder, "begin")).isEqualTo("BEGIN");
            assertThat(answerTo(holder, "savepoint s")).isEqualTo("SAVEPOINT");
            for (int i = 1; i <= 16; i++) {
                assertThat(answerTo(holder, "update " + t + " set v = " + i + " where id = 1")).isEqualTo("UPDATE 1");
            }
            await("the follower took the row's lock").atMost(Duration.ofSeconds(10))
                    .until(() -> count(clusters.green(), "select count(*) from pg_locks l join pg_class c on c.oid = l.relation"
                            + " where c.relname = '" + t + "' and l.mode = 'RowExclusiveLock' and l.granted") > 0);
            assertThat(answerTo(holder, failing.formatted(t))).contains(failing.startsWith("select") ? "C=22012" : "C=23505");

            CompletableFuture<String> write = CompletableFuture.supplyAsync(() -> {
                try {
                    return answerTo(other, "update " + t + " set v = 100 where id = 1");
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            await("the other session's write, while the failed transaction stays open").atMost(Duration.ofSeconds(10))
                    .until(write::isDone);
            assertThat(write.get()).isEqualTo("UPDATE 1");

            assertThat(answerTo(holder, "rollback to savepoint s")).isEqualTo("ROLLBACK");
            assertThat(answerTo(holder, "insert into " + t + " values (2, 2)")).isEqualTo("INSERT 0 1");
            assertThat(answerTo(holder, "commit")).isEqualTo("COMMIT");
            ClusterData.bothHold(clusters.blue(), clusters.green(), t, "(1,100)\n(2,2)");
            proxy.stillAlike();
        }
    }

    /**
     * A transaction deletes a key (none there on the leader: another session's insert of it is not committed yet),
     * then fails to insert it (the other session has committed it by then). The follower runs the DELETE only as
     * the transaction fails, behind the other session's commit, and deletes the row, where the leader deleted
     * none. Both roll that back, so it is no divergence (before, green was taken out of sync for it); with a
     * savepoint before the DELETE, what came before the savepoint still is compared, and commits on both.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void whatAFailedTransactionRollsBackOnTheLeaderIsNotCompared(boolean savepoint, TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("failed_not_compared");
        ClusterData.onBoth(blue, green, "create table " + t + " (id int primary key, v int)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient inserting = new RawClient(proxy.port()).loggedIn(blue.superuser());
             RawClient failing = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            proxy.server().routing().start("test", null);
            assertThat(answerTo(inserting, "begin")).isEqualTo("BEGIN");
            assertThat(answerTo(inserting, "insert into " + t + " values (1, 1)")).isEqualTo("INSERT 0 1");

            assertThat(answerTo(failing, "begin")).isEqualTo("BEGIN");
            if (savepoint) {
                assertThat(answerTo(failing, "insert into " + t + " values (3, 3)")).isEqualTo("INSERT 0 1");
                assertThat(answerTo(failing, "savepoint s")).isEqualTo("SAVEPOINT");
            }
            assertThat(answerTo(failing, "delete from " + t + " where id = 1")).isEqualTo("DELETE 0");
            assertThat(answerTo(inserting, "commit")).isEqualTo("COMMIT");
            await("green has the other session's row").until(() -> ClusterData.number(green,
                    "select count(*) from " + t + " where id = 1") == 1);
            assertThat(answerTo(failing, "insert into " + t + " values (1, 2)")).contains("C=23505");
            if (savepoint) {
                assertThat(answerTo(failing, "rollback to savepoint s")).isEqualTo("ROLLBACK");
                assertThat(answerTo(failing, "commit")).isEqualTo("COMMIT");
            } else {
                assertThat(answerTo(failing, "rollback")).isEqualTo("ROLLBACK");
            }

            ClusterData.bothHold(blue, green, t, savepoint ? "(1,1)\n(3,3)" : "(1,1)");
            followerStillInSync(proxy);
        }
    }

    /**
     * Two {@code COMMIT PREPARED}s in one pipeline (one Sync): the first commits on the leader, the second fails (it
     * names no prepared transaction). The follower is sent the same and fails alike, so it commits the first too.
     * Before, it was sent nothing, and kept that prepared transaction, with its locks, which blue had committed.
     */
    @Test
    void aPipelineOfCommitPreparedsThatFailsPartWayRunsOnTheFollowerToo(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("commit_prepared_pipeline");
        ClusterData.onBoth(blue, green, "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            proxy.server().routing().start("test", null);
            try {
                assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
                assertThat(answerTo(client, "insert into " + t + " values (1)")).isEqualTo("INSERT 0 1");
                assertThat(answerTo(client, "prepare transaction '" + t + "'")).isEqualTo("PREPARE TRANSACTION");
                client.send(concat(statement("commit prepared '" + t + "'"), statement("commit prepared '" + t + "_none'"),
                        sync()));
                assertThat(types(client)).isEqualTo("12C12EZ");

                ClusterData.bothHold(blue, green, t, "(1)");
                assertThat(ClusterData.preparedTransactions(green, t)).as("green, read directly").isZero();
                followerStillInSync(proxy);
            } finally {
                ClusterData.rollBackPrepared(t, blue, green);
            }
        }
    }

    /**
     * A batch in a failed transaction that begins with a prepared ROLLBACK TO SAVEPOINT (pgjdbc's autosave) and
     * goes on: its text, as the unit keeps it, is the next statement's, yet it ends nothing. It runs on both twins,
     * and nothing diverges. (A first version of the COMMIT AND CHAIN fix took it for a unit that went on after
     * ending the failed transaction, a divergence.)
     */
    @Test
    void aPreparedRollbackToSavepointThatGoesOnInOneBatchRunsOnBothClusters(TestClusters clusters) throws Exception {
        String t = table("prepared_rollback_to");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
                client.send(concat(parse("back_to_a", "rollback to savepoint a"), sync()));
                assertThat(answer(client)).isEqualTo("no answer");
                assertThat(answerTo(client, "savepoint a")).isEqualTo("SAVEPOINT");
                assertThat(answerTo(client, "insert into " + t + " values (1)")).isEqualTo("INSERT 0 1");
                assertThat(answerTo(client, "insert into " + t + " values (1)")).contains("C=23505");
                client.send(concat(bind("back_to_a"), execute(""), parse("", "insert into " + t + " values (2)"),
                        bind(""), execute(""), sync()));
                assertThat(answer(client)).isEqualTo("INSERT 0 1");
                assertThat(answerTo(client, "commit")).isEqualTo("COMMIT");
            }
            ClusterData.bothHold(clusters.blue(), clusters.green(), t, "(2)");
            proxy.stillAlike();
        }
    }

    /**
     * The same in shadow mode, for COMMIT and for COMMIT AND CHAIN: the mirror ends green's healthy transaction
     * with a rollback. Before, it mirrored the client's COMMIT, and green committed what blue had rolled back.
     */
    @Test
    void aCommitEndingAFailedTransactionRollsItBackOnTheShadowFollower(TestClusters clusters) throws Exception {
        String t = table("shadow_commit_failed");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().startShadow("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                int id = 0;
                for (String end : new String[] {"commit", "commit and chain"}) {
                    assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
                    assertThat(answerTo(client, "insert into " + t + " values (" + (++id) + ")"))
                            .isEqualTo("INSERT 0 1");
                    assertThat(answerTo(client, "insert into " + t + " values (" + id + ")")).contains("C=23505");
                    assertThat(answerTo(client, end)).isEqualTo("ROLLBACK");
                }
                assertThat(answerTo(client, "insert into " + t + " values (100)")).isEqualTo("INSERT 0 1");
                assertThat(answerTo(client, "commit")).isEqualTo("COMMIT");
            }
            await("the mirror wrote the last row on green")
                    .until(() -> count(clusters.green(), "select count(*) from " + t + " where id = 100") == 1);
            for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
                assertThat(ClusterData.contents(cluster, t, "id")).as(cluster.name()).isEqualTo("(100)");
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
    }

    /**
     * A procedure that commits part of its work and then fails, called in autocommit (so unwrapped): what
     * it committed stands on the leader, so the follower runs it too and fails alike; nothing diverges.
     */
    @Test
    void aProcedureThatFailsAfterItCommittedRunsOnTheFollowerToo(TestClusters clusters) throws Exception {
        String t = table("procedure_fails");
        for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
            cluster.execute("postgres", "create table " + t + " (id int primary key)",
                    "create procedure " + t + "_half() language plpgsql as $$ begin insert into " + t
                            + " values (1); commit; insert into " + t + " values (1); end $$");
        }
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                assertThat(answerTo(client, "call " + t + "_half()")).contains("C=23505");
            }
            ClusterData.bothHold(clusters.blue(), clusters.green(), t, "(1)");
            proxy.stillAlike();
        }
    }

    /**
     * A Query the engine cannot read (no terminating NUL) waiting behind another: it is read when the
     * first one's answer comes, and the session ends with 08P01, the client's fault, not a failure of
     * the cluster that answered; other sessions go on.
     */
    @Test
    void aMalformedQueryWaitingBehindAnotherEndsTheSessionWithAProtocolViolation(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            for (boolean behindAnother : new boolean[] {false, true}) {
                try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                    byte[] malformed = RawClient.message('Q', new byte[] {'s', 'e', 'l'});
                    client.send(behindAnother ? concat(RawClient.query("select 1"), malformed) : malformed);
                    RawClient.Message error = client.readUntil('E');
                    assertThat(error.sqlState()).as("behind another: %s, %s", behindAnother, error.fields())
                            .isEqualTo("08P01");
                    assertThat(client.isClosedByPeer()).isTrue();
                }
            }
            await("the sessions closed").until(() -> proxy.server().sessionCount() == 0);
            assertThat(proxy.server().routing().barrier().holders()).isEmpty();
            try (Connection c = proxy.connect("postgres"); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select 1")) {
                assertThat(rs.next()).isTrue();
            }
        }
    }

    /**
     * A relayed session's messages that waited while a write barrier closed (a {@code start} that then timed out)
     * are relayed once it reopens: a malformed one among them ends the session with 08P01 before any of them
     * reaches blue. Before, the insert ahead of it was sent, then the session ended: blue committed a row whose
     * client was told only of the protocol violation.
     */
    @Test
    void aMalformedMessageThatWaitedForTheWriteBarrierEndsTheSessionBeforeWhatWaitedWithIt(TestClusters clusters)
            throws Exception {
        String t = table("waited_malformed");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        Routing d = Routing.defaults();
        Routing shortBarrier = new Routing(d.stickyKey(), d.tenantParameter(), d.tenantPins(), Duration.ofSeconds(2),
                d.writeFunctions(), d.readAfterWrite());
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).routing(shortBarrier).start();
             Connection holder = proxy.connect("postgres");
             RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            holder.setAutoCommit(false);
            holder.createStatement().executeUpdate("insert into " + t + " values (1)"); // holds the barrier open
            CompletableFuture<Void> start = CompletableFuture.runAsync(() -> {
                try {
                    proxy.server().routing().start("test", null);
                } catch (RoutingControl.Refused expected) {
                    // the holder keeps the barrier from draining: start times out, nothing changes
                }
            });
            await("the barrier closes").until(() -> proxy.server().routing().barrier().closing());
            client.send(concat(RawClient.query("insert into " + t + " values (2)"), RawClient.message('B', new byte[] {'p'}),
                    sync()));

            RawClient.Message error = client.readUntil('E');
            assertThat(error.sqlState()).as("%s", error.fields()).isEqualTo("08P01");
            assertThat(error.fields().toString()).contains("malformed Bind");
            assertThat(client.isClosedByPeer()).isTrue();
            start.get(30, TimeUnit.SECONDS);
            assertThat(proxy.server().routing().current().phase()).as("start timed out").isEqualTo(Phase.BLUE);
            holder.rollback();
            assertThat(count(clusters.blue(), "select count(*) from " + t)).as("nothing of what waited ran").isZero();
        }
    }

    /**
     * A Bind the engine cannot read (no terminating NUL) that the session reads while it handles a
     * cluster's answer: an error in the batch before it makes the unit take the client's messages up to
     * the Sync. The session ends with 08P01, the client's fault, not with 08006 naming the cluster, and
     * the message's buffer is released (the leak check fails the test otherwise).
     */
    @Test
    void aMalformedBindReadWhileAnAnswerIsHandledEndsTheSessionWithAProtocolViolation(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                byte[] malformedBind = RawClient.message('B', new byte[] {'p'});
                client.send(concat(parse("", "select 1 / 0"), bind(""), execute(""), RawClient.query("select 1"),
                        malformedBind, sync()));
                RawClient.Message error = client.readUntil('E');
                if ("22012".equals(error.sqlState())) {
                    error = client.readUntil('E'); // the batch's own error, when it reached the client first
                }
                assertThat(error.sqlState()).as("%s", error.fields()).isEqualTo("08P01");
                assertThat(error.fields().toString()).contains("malformed Bind");
                assertThat(client.isClosedByPeer()).isTrue();
            }
            await("the session closed").until(() -> proxy.server().sessionCount() == 0);
            assertThat(proxy.server().routing().barrier().holders()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * An autocommit CALL or DO whose procedure or block commits on its own: the server allows that only
     * outside a transaction block, so dual-write runs it unwrapped, leader then follower, and counts it
     * as unordered; wrapped in the proxy's BEGIN it failed with 2D000 where Postgres succeeds.
     */
    @Test
    void aProcedureThatCommitsItselfRunsOnBothClusters(TestClusters clusters) throws Exception {
        String t = table("procedure_commits");
        for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
            cluster.execute("postgres", "create table " + t + " (id int primary key)",
                    "create procedure " + t + "_fill() language plpgsql as $$ begin insert into " + t
                            + " values (1); commit; insert into " + t + " values (2); end $$");
        }
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                assertThat(answerTo(client, "call " + t + "_fill()")).isEqualTo("CALL");
                client.send(RawClient.query("do $$ begin insert into " + t + " values (3); rollback;"
                        + " insert into " + t + " values (4); commit; end $$"));
                assertThat(answer(client)).isEqualTo("DO");
            }
            for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
                assertThat(ClusterData.contents(cluster, t, "id")).as(cluster.name()).isEqualTo("(1)\n(2)\n(4)");
            }
            assertThat(proxy.server().migration().unorderedStatements()).isEqualTo(2);
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * A SET LOCAL in an autocommit write, which dual-write wraps in a transaction of its own: the setting
     * reverts when the proxy's COMMIT (or, after a failure, its ROLLBACK) ends it, and the client hears of
     * that as it hears of the change, so the last value it was told is the session's value.
     */
    @Test
    void aSettingRevertedAtTheEndOfAWrappedWriteIsReportedToTheClient(TestClusters clusters) throws Exception {
        String t = table("set_local");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                client.send(RawClient.query("show timezone"));
                String session = client.firstValue();
                for (String outcome : new String[] {"commits", "fails"}) {
                    // the second time the row exists: the insert fails and the transaction rolls back
                    client.send(RawClient.query("set local timezone = 'Asia/Tokyo'; insert into " + t + " values (1)"));
                    String reported = session;
                    RawClient.Message message;
                    while ((message = client.read()).type() != 'Z') {
                        if (message.type() == 'S' && parameterName(message).equals("TimeZone")) {
                            reported = parameterValue(message);
                        }
                    }
                    assertThat(reported).as("the last TimeZone reported when the write %s", outcome).isEqualTo(session);
                }
                client.send(RawClient.query("show timezone"));
                assertThat(client.firstValue()).isEqualTo(session);
            }
        }
    }

    /**
     * A server alone sends an autocommit Query's last CommandComplete after its commit: a deferred constraint
     * that fails the commit leaves the client an error and no completion. Under dual-write the proxy commits the
     * write it wrapped only after the follower ran it; the client hears the same messages in the same order, and
     * the warning a SET LOCAL outside a transaction earns.
     */
    @Test
    void aWrappedWriteIsAnsweredWithTheMessagesBlueAloneSends(TestClusters clusters) throws Exception {
        String t = table("deferred_completion");
        ClusterData.onBoth(clusters.blue(), clusters.green(),
                "create table " + t + " (id int, constraint " + t + "_unique unique (id) deferrable initially deferred)",
                "insert into " + t + " values (1)");
        String[] queries = {
                "insert into " + t + " values (2)",
                "insert into " + t + " values (1)", // fails at the commit
                "insert into " + t + " values (3); insert into " + t + " values (1)", // the first completes, the commit fails
                "insert into " + t + " values (4) returning id",
                // the setting is reported after the INSERT's completion, and not at all when the commit fails
                "set application_name = 'x'; insert into " + t + " values (1)",
                "set application_name = 'y'; insert into " + t + " values (5)",
                "delete from " + t + " where id in (2, 3, 4, 5)",
                // run outside a transaction block, these only warn (25P01): the proxy does not wrap them in one
                "set local timezone = 'UTC'",
                "set transaction isolation level serializable",
                "set constraints all immediate"};
        Map<String, String> direct = new LinkedHashMap<>();
        try (RawClient client = new RawClient(clusters.blue().port()).loggedIn(clusters.blue().superuser())) {
            for (String sql : queries) {
                direct.put(sql, client.send(RawClient.query(sql)).typesUntilReady());
            }
        }
        assertThat(direct.values()).containsExactly("CZ", "EZ", "CEZ", "TDCZ", "CEZ", "CCSZ", "CZ", "NCZ", "NCZ", "NCZ");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                for (String sql : queries) {
                    assertThat(client.send(RawClient.query(sql)).typesUntilReady()).as(sql).isEqualTo(direct.get(sql));
                }
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
        ClusterData.bothHold(clusters.blue(), clusters.green(), t, "(1)");
    }

    /**
     * A client that leaves while the follower still runs its autocommit write, before the leader committed it,
     * has not been told of it (the completion waits for the commit): the write rolls back on both clusters.
     */
    @Test
    void aClientThatLeavesBeforeItsWrappedWriteCommittedWasNotToldOfIt(TestClusters clusters) throws Exception {
        String t = table("left_before_commit");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection lockOnGreen = clusters.green().connect("postgres");
             Statement locking = lockOnGreen.createStatement()) {
            proxy.server().routing().start("test", null);
            lockOnGreen.setAutoCommit(false);
            locking.execute("lock table " + t + " in exclusive mode");
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                client.send(RawClient.query("insert into " + t + " values (1)"));
                await("the follower's insert waits for the lock on green").until(() -> ClusterData.number(clusters.green(),
                        "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and query like 'insert into "
                                + t + "%'") == 1);
                // the leader answered before the follower was sent the insert: a completion forwarded would be here
                assertThat(client.unread()).as("bytes the client has before the leader committed").isZero();
            }
            await("the session has closed").until(() -> proxy.server().sessionCount() == 0);
            lockOnGreen.rollback();
        }
        ClusterData.bothHold(clusters.blue(), clusters.green(), t, "");
    }

    private static String parameterName(RawClient.Message status) {
        byte[] body = status.body();
        int end = 0;
        while (body[end] != 0) {
            end++;
        }
        return new String(body, 0, end, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String parameterValue(RawClient.Message status) {
        byte[] body = status.body();
        int start = parameterName(status).getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 1;
        return new String(body, start, body.length - start - 1, java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * A whole transaction in one Query string ends on the leader only once the follower has run its statements:
     * the proxy sends the string as its statements and then its end alone (DESIGN §5, rule 2), and nothing counts
     * as unordered. A string that goes on after its transaction's end cannot be so split: the leader commits it
     * before the follower can run it, and it counts as unordered.
     */
    @Test
    void aWholeTransactionInOneStringIsOrderedAndOneThatGoesOnAfterItsEndIsNot(TestClusters clusters) throws Exception {
        String t = table("one_unit_transaction");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                assertThat(answerTo(client, "begin; insert into " + t + " values (1); commit")).isEqualTo("COMMIT");
                assertThat(answerTo(client, "insert into " + t + " values (2)"))
                        .as("an autocommit write, ordered").isEqualTo("INSERT 0 1");
                assertThat(proxy.server().migration().unorderedStatements()).isZero();
                assertThat(answerTo(client, "begin; insert into " + t + " values (3); commit; insert into " + t
                        + " values (4)")).isEqualTo("INSERT 0 1");
            }
            for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
                assertThat(count(cluster, "select count(*) from " + t)).as(cluster.name()).isEqualTo(4);
            }
            assertThat(proxy.server().migration().unorderedStatements()).isEqualTo(1);
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * The leader's COMMIT at the end of a Query string that holds a transaction waits for the follower to run the
     * string's statements: green holds the row the UPDATE takes there, and blue keeps the old value until green
     * lets it go. Before, blue committed the whole string at once, and a conflicting write of another session
     * could reach green first. The same for the end of a transaction already open sent with writes of its own.
     */
    @Test
    void aStringThatEndsItsTransactionCommitsOnTheLeaderOnlyOnceTheFollowerHasRunIt(TestClusters clusters)
            throws Exception {
        try (RowHeldOnGreen held = RowHeldOnGreen.open(clusters, "string_commit_waits")) {
            String t = held.table();
            RawClient client = held.client();

            held.hold();
            client.send(RawClient.query("begin; update " + t + " set v = 1 where id = 1; commit"));
            held.blueKeepsUntilLetGo("select v::text from " + t, "0");
            assertThat(answer(client)).isEqualTo("COMMIT");
            ClusterData.bothHold(held.blue(), held.green(), t, "(1,1)");

            assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
            held.hold();
            client.send(RawClient.query("update " + t + " set v = 2 where id = 1; commit"));
            held.blueKeepsUntilLetGo("select v::text from " + t, "1");
            assertThat(answer(client)).isEqualTo("COMMIT");
            held.orderedAndAlike("(1,2)");
        }
    }

    /**
     * A string split before its transaction's end answers byte for byte as blue alone does: one ReadyForQuery,
     * with the status a server gives; an error in its statements (when they run, or when the string is parsed,
     * at the same position) skips its end, as the server skips the rest of a string after an error; AND CHAIN,
     * END, ROLLBACK, comments and a trailing semicolon alike. The clusters then hold the same rows.
     */
    @Test
    void aStringSplitBeforeItsTransactionsEndAnswersAsBlueAloneDoes(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("split_answers");
        ClusterData.onBoth(blue, green, "create table " + t + " (id int primary key, v int)");
        List<String> strings = List.of(
                "begin; insert into " + t + " values (1, 1); commit",
                "begin; insert into " + t + " values (1, 2); commit",
                "rollback",
                "begin; updat " + t + " set v = 2; commit",
                "begin; update " + t + " set v = 3 where id = 1; commit and chain",
                "update " + t + " set v = 4 where id = 1; commit",
                "begin; update " + t + " set v = 5 where id = 1; select 1/0; commit",
                "rollback",
                "/* c */ begin transaction isolation level repeatable read; update " + t + " set v = 6 where id = 1;\n end;",
                "begin; update " + t + " set v = 7 where id = 1; rollback work",
                "begin; savepoint a; insert into " + t + " values (4, 1); rollback to savepoint a",
                "commit",
                "begin; savepoint a; insert into " + t + " values (1, 9); rollback to a",
                "rollback",
                "begin; update " + t + " set v = 9 where id = 1; rollback to nosuch",
                "rollback",
                "begin; update " + t + " set v = 9 where id = 1; rollback to user",
                "begin; insert into " + t + " values (2, 1); commit; -- the end",
                "begin; insert into " + t + " values (3, 'x'); commit");
        answeredAsByBlueAlone(blue, green, strings.stream().map(RawClient::query).toList(), "truncate " + t, t,
                "(1,6)\n(2,1)", 0);
    }

    /**
     * The same for an extended-protocol batch under one Sync that begins a transaction, writes and commits (a
     * pipeline: pgbench's, a pgx batch that queues its own BEGIN and COMMIT): blue commits only once green has run
     * the batch's statements.
     */
    @Test
    void aBatchThatEndsItsTransactionCommitsOnTheLeaderOnlyOnceTheFollowerHasRunIt(TestClusters clusters)
            throws Exception {
        try (RowHeldOnGreen held = RowHeldOnGreen.open(clusters, "batch_commit_waits")) {
            String t = held.table();
            held.hold();
            held.client().send(concat(statement("begin"), statement("update " + t + " set v = 1 where id = 1"),
                    statement("commit"), sync()));
            held.blueKeepsUntilLetGo("select v::text from " + t, "0");
            assertThat(types(held.client())).isEqualTo("12C12C12CZ");
            held.orderedAndAlike("(1,1)");
        }
    }

    /**
     * A batch split before its transaction's end answers byte for byte as blue alone does: statements parsed by
     * name before they are bound, or in an earlier batch; a Describe; an error that skips the rest of the batch, the
     * end too, up to its Sync; AND CHAIN and the end of a transaction already open. The clusters then hold the same
     * rows.
     */
    @Test
    void aBatchSplitBeforeItsTransactionsEndAnswersAsBlueAloneDoes(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("split_batches");
        ClusterData.onBoth(blue, green, "create table " + t + " (id int primary key, v int)");
        List<byte[]> batches = List.of(
                concat(statement("begin"), statement("insert into " + t + " values (1, 1)"), statement("commit"), sync()),
                concat(statement("begin"), statement("insert into " + t + " values (1, 2)"), statement("commit"), sync()),
                RawClient.query("rollback"),
                concat(parse("s_begin", "begin"), parse("s_up", "update " + t + " set v = v + 1 where id = 1"),
                        parse("s_commit", "commit"), bind("s_begin"), execute(""), bind("s_up"), execute(""),
                        bind("s_commit"), execute(""), sync()),
                concat(bind("s_begin"), execute(""), bind("s_up"), execute(""), bind("s_commit"), execute(""), sync()),
                concat(statement("begin"), statement("update " + t + " set v = 10 where id = 1"),
                        statement("commit and chain"), sync()),
                concat(statement("update " + t + " set v = 11 where id = 1"), statement("commit"), sync()),
                concat(statement("begin"), statement("select 1/0"), statement("commit"), sync()),
                RawClient.query("rollback"),
                concat(statement("begin"), statement("savepoint a"), statement("update " + t + " set v = 20 where id = 1"),
                        statement("rollback to savepoint a"), sync()),
                RawClient.query("commit"),
                concat(statement("begin"), statement("savepoint a"), statement("select 1/0"), statement("rollback to a"),
                        sync()),
                RawClient.query("rollback"),
                concat(statement("begin"), parse("", "update " + t + " set v = v + 1 where id = 1 returning v"),
                        bind(""), describePortal(""), execute(""), statement("commit"), sync()));
        answeredAsByBlueAlone(blue, green, batches, "truncate " + t, t, "(1,12)", 0);
    }

    /**
     * The same for a COMMIT that comes after a Flush opened the unit (psycopg 3 fetching a row inside a
     * pipeline, then committing): blue commits only once green has run the unit's statements.
     */
    @Test
    void aCommitAfterAFlushCommitsOnTheLeaderOnlyOnceTheFollowerHasRunTheUnit(TestClusters clusters) throws Exception {
        try (RowHeldOnGreen held = RowHeldOnGreen.open(clusters, "flush_commit_waits")) {
            String t = held.table();
            RawClient client = held.client();
            assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");

            held.hold();
            client.send(concat(statement("update " + t + " set v = 1 where id = 1"), flush()));
            assertThat(read(client, 3)).isEqualTo("12C");
            client.send(concat(statement("commit"), sync()));
            held.blueKeepsUntilLetGo("select v::text from " + t, "0");
            assertThat(types(client)).isEqualTo("12CZ");
            held.orderedAndAlike("(1,1)");
        }
    }

    /**
     * A ROLLBACK TO a savepoint that comes after a Flush opened the unit (psycopg 3 leaving a nested transaction
     * block on an error inside a pipeline) releases the row lock the unit took on blue only once green has run the
     * unit too: until then another session cannot take the row on blue, and so cannot reach green with it first.
     * Before, blue ran the ROLLBACK TO at once.
     */
    @Test
    void aRollbackToASavepointAfterAFlushKeepsTheLeadersLockUntilTheFollowerHasRunTheUnit(TestClusters clusters)
            throws Exception {
        try (RowHeldOnGreen held = RowHeldOnGreen.open(clusters, "flush_rollback_to_waits")) {
            String t = held.table();
            RawClient client = held.client();
            assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
            assertThat(answerTo(client, "savepoint s")).isEqualTo("SAVEPOINT");

            held.hold();
            client.send(concat(statement("update " + t + " set v = 1 where id = 1"), flush()));
            assertThat(read(client, 3)).isEqualTo("12C");
            client.send(concat(statement("rollback to s"), sync()));
            held.blueKeepsUntilLetGo(held.rowFreeOnBlue(), "0");
            assertThat(types(client)).isEqualTo("12CZ");
            assertThat(answerTo(client, "commit")).isEqualTo("COMMIT");
            held.orderedAndAlike("(1,0)");
            assertThat(ClusterData.text(held.blue(), held.rowFreeOnBlue())).isEqualTo("1");
        }
    }

    /**
     * The same for a ROLLBACK TO a savepoint that ends a Query string or an extended-protocol batch under one Sync
     * after writes of their own: blue releases the row lock the string's or the batch's UPDATE took only once
     * green has run the UPDATE too. Before, blue ran the whole string or batch at once.
     */
    @Test
    void aRollbackToASavepointEndingAStringOrABatchKeepsTheLeadersLockUntilTheFollowerHasRunIt(TestClusters clusters)
            throws Exception {
        try (RowHeldOnGreen held = RowHeldOnGreen.open(clusters, "string_rollback_to_waits")) {
            String t = held.table();
            RawClient client = held.client();

            held.hold();
            client.send(RawClient.query("begin; savepoint s; update " + t + " set v = 1 where id = 1; rollback to s"));
            held.blueKeepsUntilLetGo(held.rowFreeOnBlue(), "0");
            assertThat(answer(client)).isEqualTo("ROLLBACK");
            assertThat(ClusterData.text(held.blue(), held.rowFreeOnBlue())).isEqualTo("1");

            held.hold();
            client.send(concat(statement("savepoint b"), statement("update " + t + " set v = 2 where id = 1"),
                    statement("rollback to savepoint b"), sync()));
            held.blueKeepsUntilLetGo(held.rowFreeOnBlue(), "0");
            assertThat(types(client)).isEqualTo("12C12C12CZ");
            assertThat(answerTo(client, "commit")).isEqualTo("COMMIT");
            held.orderedAndAlike("(1,0)");
        }
    }

    /**
     * A split-off ROLLBACK TO reads nothing of other sessions' commits, so its copy for green does not wait for one
     * green has not made yet: here another session's commit that blue has made and green holds (a deferred trigger on
     * an advisory lock) arrives between the unit's first part and its ROLLBACK TO, and the session's COMMIT, which
     * waits for green to have run the ROLLBACK TO, is answered while green still holds that other commit. Before,
     * the ROLLBACK TO waited on green for that commit, up to a quarter of the follower timeout (30 s here, past the
     * test client's 15 s read timeout), and held green's row locks meanwhile.
     */
    @Test
    void aSplitOffRollbackToDoesNotWaitForOtherSessionsCommitsOnGreen(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("rollback_to_no_wait");
        String other = table("rollback_to_other");
        ClusterData.onBoth(blue, green, "create table " + t + " (id int primary key, v int)",
                "insert into " + t + " values (1, 0)", "create table " + other + " (id int primary key, v text not null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).followerTimeout(Duration.ofMinutes(2)).start();
             HeldGreenCommit otherCommit = HeldGreenCommit.on(green, other);
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser());
             Connection writer = proxy.connect(blue.superuser()); Statement write = writer.createStatement()) {
            proxy.server().routing().start("test", null);
            assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
            assertThat(answerTo(client, "savepoint s")).isEqualTo("SAVEPOINT");
            client.send(concat(statement("update " + t + " set v = 1 where id = 1"), flush()));
            assertThat(read(client, 3)).isEqualTo("12C");

            assertThat(write.executeUpdate("insert into " + other + " values (1, 'one')")).isEqualTo(1); // blue's answer
            otherCommit.awaitCommitWaiting();
            client.send(concat(statement("rollback to s"), sync()));
            assertThat(types(client)).isEqualTo("12CZ");
            assertThat(answerTo(client, "commit")).isEqualTo("COMMIT");
            assertThat(ClusterData.number(green, "select count(*) from " + other)).as("green, its commit still held")
                    .isZero();

            otherCommit.release();
            ClusterData.bothHold(blue, green, t, "(1,0)");
            await("green's commit of the other session lands")
                    .until(() -> ClusterData.number(green, "select count(*) from " + other) == 1);
            proxy.stillAlike();
        }
    }

    /**
     * A unit a Flush opened, split before the COMMIT that came after the Flush, answers byte for byte as blue alone
     * does: a write after the Flush that fails skips the COMMIT up to the client's Sync, also when that Sync comes
     * later (the proxy's Sync has made the leader answer by then), and one ReadyForQuery answers it; a unit that
     * begins the transaction itself alike, and a ROLLBACK TO a savepoint after a Flush. The clusters then hold the
     * same rows.
     */
    @Test
    void aUnitSplitBeforeACommitAfterAFlushAnswersAsBlueAloneDoes(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("split_after_flush");
        ClusterData.onBoth(blue, green, "create table " + t + " (id int primary key, v int)");
        String direct;
        try (RawClient client = new RawClient(blue.port()).loggedIn(blue.superuser())) {
            direct = flushedTransactions(client, t, false);
        }
        blue.execute("postgres", "truncate " + t);
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            String through;
            try (RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
                through = flushedTransactions(client, t, true);
            }
            assertThat(through).isEqualTo(direct);
            ClusterData.bothHold(blue, green, t, "(1,1)\n(4,1)");
            assertThat(proxy.server().migration().unorderedStatements()).isZero();
            proxy.stillAlike();
        }
    }

    /**
     * A unit split before a COMMIT that came after a Flush, whose first part then fails idle (its BEGIN's Bind is
     * refused), with the client's Sync still to come: the session is not idle until that Sync, so dual-write
     * ending meanwhile does not send the session back to relaying, and what the client sends up to its Sync is
     * skipped as blue alone skips it. Before, the session relayed it to blue, which ran it.
     */
    @Test
    void aFailedFirstPartWaitingForTheClientsSyncKeepsTheSessionInItsBatch(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("first_part_fails");
        ClusterData.onBoth(blue, green, "create table " + t + " (id int primary key)");
        // a Bind that supplies a parameter the BEGIN does not take: refused (08P01), the rest skipped up to Sync
        byte[] badBind = RawClient.message('B', concat(cstrings("", ""), new byte[] {0, 0, 0, 1, 0, 0, 0, 1, '1', 0, 0}));
        byte[] batch = concat(parse("", "begin"), badBind, execute(""), statement("insert into " + t + " values (1)"),
                flush(), statement("commit"));
        byte[] rest = concat(statement("insert into " + t + " values (2)"), sync());
        String direct;
        try (RawClient client = new RawClient(blue.port()).loggedIn(blue.superuser())) {
            client.send(batch);
            direct = messagesTo(client, rest);
        }
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            proxy.server().routing().start("test", null);
            client.send(batch);
            await().atMost(Duration.ofSeconds(5)).until(() -> client.unread() > 0); // the proxy's Sync had blue answer
            proxy.server().routing().abort("test", null);
            assertThat(messagesTo(client, rest)).isEqualTo(direct);
            assertThat(messagesTo(client, "select count(*) from " + t)).contains("D[");
        }
        assertThat(ClusterData.contents(blue, t, "id")).isEmpty();
    }

    /** Transactions whose COMMIT comes after a Flush, as {@link #aUnitSplitBeforeACommitAfterAFlushAnswersAsBlueAloneDoes} sends them. */
    private static String flushedTransactions(RawClient client, String t, boolean proxied) throws Exception {
        StringBuilder answers = new StringBuilder();
        answers.append(messagesTo(client, "begin")).append('\n');
        client.send(concat(statement("insert into " + t + " values (1, 1)"), flush()));
        answers.append(read(client, 3)).append('\n');
        answers.append(messagesTo(client, concat(statement("commit"), sync()))).append('\n');

        answers.append(messagesTo(client, "begin")).append('\n');
        client.send(concat(statement("insert into " + t + " values (2, 1)"), flush()));
        answers.append(read(client, 3)).append('\n');
        answers.append(messagesTo(client, concat(statement("insert into " + t + " values (1, 9)"), statement("commit"),
                sync()))).append('\n');
        answers.append(messagesTo(client, "rollback")).append('\n');

        answers.append(messagesTo(client, "begin")).append('\n');
        client.send(concat(statement("insert into " + t + " values (3, 1)"), flush()));
        answers.append(read(client, 3)).append('\n');
        client.send(concat(statement("insert into " + t + " values (1, 9)"), statement("commit")));
        if (proxied) {
            // the proxy's Sync after the failed insert has the leader answer before the client's Sync comes
            await().atMost(Duration.ofSeconds(5)).until(() -> client.unread() > 0);
        }
        answers.append(messagesTo(client, sync())).append('\n');
        answers.append(messagesTo(client, "rollback")).append('\n');

        client.send(concat(statement("begin"), statement("insert into " + t + " values (4, 1)"), flush()));
        answers.append(read(client, 6)).append('\n');
        answers.append(messagesTo(client, concat(statement("commit"), sync()))).append('\n');

        // a ROLLBACK TO a savepoint after a Flush: after the unit's statements ran, and after one of them failed
        answers.append(messagesTo(client, "begin")).append('\n');
        answers.append(messagesTo(client, "savepoint s")).append('\n');
        client.send(concat(statement("insert into " + t + " values (5, 1)"), flush()));
        answers.append(read(client, 3)).append('\n');
        answers.append(messagesTo(client, concat(statement("rollback to s"), sync()))).append('\n');
        client.send(concat(statement("insert into " + t + " values (6, 1)"), flush()));
        answers.append(read(client, 3)).append('\n');
        client.send(concat(statement("insert into " + t + " values (6, 2)"), statement("rollback to s")));
        if (proxied) {
            await().atMost(Duration.ofSeconds(5)).until(() -> client.unread() > 0);
        }
        answers.append(messagesTo(client, sync())).append('\n');
        answers.append(messagesTo(client, "rollback to s")).append('\n');
        answers.append(messagesTo(client, "commit"));
        return answers.toString();
    }

    /** The next {@code count} messages, each as its type and its body's text. */
    private static String read(RawClient client, int count) throws java.io.IOException {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < count; i++) {
            RawClient.Message message = client.read();
            text.append(message.type());
        }
        return text.toString();
    }

    /**
     * Units the proxy must leave whole, answered as blue alone answers them: a batch whose BEGIN is bound but never
     * run (a second Bind replaces its portal), whose statements run in an implicit transaction that a Sync of the
     * proxy's would commit early; and a string that sets a reported setting locally (SET LOCAL DateStyle), whose
     * first part's ReadyForQuery would have reported a value the whole never does. Before, both were split: the
     * batch's COMMIT went unanswered, and the string reported DateStyle twice.
     */
    @Test
    void unitsThatCannotBeSplitBeforeTheirEndAreLeftWholeAndAnswerAsBlueAloneDoes(TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("left_whole");
        ClusterData.onBoth(blue, green, "create table " + t + " (id int primary key, v int)",
                "insert into " + t + " values (1, 0)");
        List<byte[]> units = List.of(
                concat(parse("", "begin"), bind(""), parse("", "update " + t + " set v = 20 where id = 1"), bind(""),
                        execute(""), statement("commit"), sync()),
                RawClient.query("begin; set local datestyle = german; update " + t + " set v = v + 1 where id = 1; commit"));
        answeredAsByBlueAlone(blue, green, units, "update " + t + " set v = 0", t, "(1,21)", 2);
    }

    /**
     * A dual-writing proxy in front of both clusters, which hold a table {@code (id int primary key, v int)} with the
     * row {@code (1, 0)}; a raw client of the proxy; and a transaction on green alone that takes that row's lock, so
     * that a test can watch what blue does while green cannot yet run what blue has.
     */
    private record RowHeldOnGreen(PgCluster blue, PgCluster green, String table, TestProxy proxy, RawClient client,
            Connection holder) implements AutoCloseable {

        static RowHeldOnGreen open(TestClusters clusters, String stem) throws Exception {
            PgCluster blue = clusters.blue();
            PgCluster green = clusters.green();
            String t = UnitsModeIT.table(stem);
            ClusterData.onBoth(blue, green, "create table " + t + " (id int primary key, v int)",
                    "insert into " + t + " values (1, 0)");
            TestProxy proxy = TestProxy.in(blue).green(green).start();
            RawClient client = null;
            try {
                proxy.server().routing().start("test", null);
                client = new RawClient(proxy.port()).loggedIn(blue.superuser());
                Connection holder = green.connect("postgres");
                holder.setAutoCommit(false);
                return new RowHeldOnGreen(blue, green, t, proxy, client, holder);
            } catch (Exception | Error e) {
                try (TestProxy p = proxy; RawClient c = client) {
                    throw e;
                }
            }
        }

        /** Takes row 1's lock on green alone, until {@link #blueKeepsUntilLetGo}. */
        void hold() throws SQLException {
            try (Statement s = holder.createStatement()) {
                s.execute("select * from " + table + " where id = 1 for update");
            }
        }

        /** A query of blue that reads 1 while no transaction holds row 1's lock there, 0 while one does. */
        String rowFreeOnBlue() {
            return "select count(*)::text from (select 1 from " + table + " where id = 1 for update skip locked) r";
        }

        /** Awaits blue answering {@code sql} with {@code value} for a whole second, then lets green's row go. */
        void blueKeepsUntilLetGo(String sql, String value) throws SQLException {
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                    .until(() -> ClusterData.text(blue, sql).equals(value));
            holder.rollback();
        }

        /** Both clusters hold {@code rows}, nothing ran unordered, and the proxy found no difference. */
        void orderedAndAlike(String rows) throws Exception {
            ClusterData.bothHold(blue, green, table, rows);
            assertThat(proxy.server().migration().unorderedStatements()).isZero();
            proxy.stillAlike();
        }

        @Override
        public void close() throws Exception {
            try (TestProxy p = proxy; RawClient c = client; Connection h = holder) {
                // closed in the reverse order: green's lock, the client, the proxy
            }
        }
    }

    /**
     * Sends {@code units} to blue directly, then, once {@code reset} has put blue back, through a proxy with
     * dual-write on: the client gets the same messages both times, the clusters end holding {@code rows} in
     * {@code table}, and {@code unordered} units were run unordered, with nothing diverging.
     */
    private static void answeredAsByBlueAlone(PgCluster blue, PgCluster green, List<byte[]> units, String reset,
            String table, String rows, long unordered) throws Exception {
        List<String> direct = new ArrayList<>();
        try (RawClient client = new RawClient(blue.port()).loggedIn(blue.superuser())) {
            for (byte[] unit : units) {
                direct.add(messagesTo(client, unit));
            }
        }
        blue.execute("postgres", reset);
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            List<String> through = new ArrayList<>();
            try (RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
                for (byte[] unit : units) {
                    through.add(messagesTo(client, unit));
                }
            }
            assertThat(through).containsExactlyElementsOf(direct);
            ClusterData.bothHold(blue, green, table, rows);
            assertThat(proxy.server().migration().unorderedStatements()).isEqualTo(unordered);
            proxy.stillAlike();
        }
    }

    /** Parse, Bind and Execute of {@code sql} as the unnamed statement and portal. */
    private static byte[] statement(String sql) {
        return concat(parse("", sql), bind(""), execute(""));
    }

    private static byte[] describePortal(String portal) {
        return RawClient.message('D', concat(new byte[] {'P'}, cstrings(portal)));
    }

    private static String messagesTo(RawClient client, String sql) throws java.io.IOException {
        return sql + " -> " + messagesTo(client, RawClient.query(sql));
    }

    /** The messages that answer {@code sql}, up to its ReadyForQuery, each as its type and its body's text. */
    private static String messagesTo(RawClient client, byte[] messages) throws java.io.IOException {
        client.send(messages);
        StringBuilder text = new StringBuilder();
        RawClient.Message message;
        do {
            message = client.read();
            text.append(message.type()).append('[')
                    .append(new String(message.body(), StandardCharsets.UTF_8).replace('\0', '|')).append("] ");
        } while (message.type() != 'Z');
        return text.toString().trim();
    }

    /**
     * The end of an open transaction that comes in one unit with writes of its own, in one string (UPDATE;
     * COMMIT) or after a Flush that opened the unit (libpq's pipeline mode with PQsendFlushRequest, psycopg 3
     * fetching inside a pipeline), is split off and waits for the follower: nothing counts as unordered, and both
     * clusters get every row.
     */
    @Test
    void aTransactionsEndInOneUnitWithItsWritesIsOrdered(TestClusters clusters) throws Exception {
        String t = table("end_with_writes");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
                assertThat(answerTo(client, "insert into " + t + " values (1)")).isEqualTo("INSERT 0 1");
                assertThat(answerTo(client, "commit")).isEqualTo("COMMIT");
                assertThat(proxy.server().migration().unorderedStatements()).as("a lone COMMIT").isZero();

                assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
                assertThat(answerTo(client, "insert into " + t + " values (2); commit")).isEqualTo("COMMIT");
                assertThat(proxy.server().migration().unorderedStatements()).as("INSERT; COMMIT, split").isZero();

                assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
                client.send(concat(parse("", "insert into " + t + " values (3)"), bind(""), execute(""), flush()));
                assertThat(client.read().type()).isEqualTo('1');
                assertThat(client.read().type()).isEqualTo('2');
                assertThat(client.read().type()).isEqualTo('C');
                client.send(concat(parse("", "commit"), bind(""), execute(""), sync()));
                assertThat(types(client)).isEqualTo("12CZ");
                assertThat(proxy.server().migration().unorderedStatements()).as("COMMIT after a Flush, split").isZero();
            }
            for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
                await(cluster.name() + "'s rows").until(() -> count(cluster, "select count(*) from " + t) == 3);
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * An autocommit write that a Flush opens (the proxy wraps it in a transaction), and the client's own
     * COMMIT after the Flush: that COMMIT commits the proxy's transaction on the leader, so the follower
     * runs the unit as the client sent it. Before, the proxy took the leader's idle status for a failure,
     * rolled back nothing, and never sent the write to the follower: blue alone had the row.
     */
    @Test
    void aCommitAfterAFlushInAnAutocommitWriteReachesBothClusters(TestClusters clusters) throws Exception {
        String t = table("flush_then_commit");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                client.send(concat(parse("", "insert into " + t + " values (1)"), bind(""), execute(""), flush()));
                assertThat(client.read().type()).isEqualTo('1');
                assertThat(client.read().type()).isEqualTo('2');
                assertThat(client.read().type()).isEqualTo('C');
                client.send(concat(parse("", "commit"), bind(""), execute(""), sync()));
                String answer = types(client);
                assertThat(answer).as("the COMMIT's answer, no error").doesNotContain("E").endsWith("CZ");
                assertThat(answerTo(client, "select 1")).isEqualTo("SELECT 1");
            }
            for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
                assertThat(count(cluster, "select count(*) from " + t)).as(cluster.name()).isEqualTo(1);
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            assertThat(proxy.server().migration().unorderedStatements()).isEqualTo(1);
        }
    }

    /**
     * A client that leaves while the leader runs a COMMIT that reached its unit after a Flush (blue takes
     * two seconds over it): the unit ends the transaction, so the session lets the leader answer and the
     * follower then ends its transaction alike. Before, the COMMIT after the Flush was not seen as the
     * unit's: the session closed at once, green rolled back what blue committed.
     */
    @Test
    void aClientThatLeavesWhileTheLeaderRunsACommitSentAfterAFlushLeavesTheWriteOnBoth(TestClusters clusters)
            throws Exception {
        String t = table("left_after_flush");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        clusters.blue().execute("postgres",
                "create function " + t + "_slow() returns trigger language plpgsql as"
                        + " $$ begin perform pg_sleep(2); return null; end $$",
                "create constraint trigger " + t + "_slow after insert on " + t
                        + " deferrable initially deferred for each row execute function " + t + "_slow()");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser());
            assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
            client.send(concat(parse("", "insert into " + t + " values (1)"), bind(""), execute(""), flush()));
            assertThat(client.read().type()).isEqualTo('1');
            assertThat(client.read().type()).isEqualTo('2');
            assertThat(client.read().type()).isEqualTo('C');
            client.send(concat(parse("", "commit"), bind(""), execute(""), sync()));
            await("blue runs the trigger at commit").until(() -> count(clusters.blue(), "select count(*)"
                    + " from pg_stat_activity where state = 'active' and wait_event = 'PgSleep'" + holdingALockOn(t)) == 1);
            client.close();

            await("green has the row").atMost(Duration.ofSeconds(15))
                    .until(() -> count(clusters.green(), "select count(*) from " + t) == 1);
            assertThat(count(clusters.blue(), "select count(*) from " + t)).isEqualTo(1);
            await("the session's write unit over").until(() -> proxy.server().routing().barrier().holders().isEmpty());
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * The same, with blue's COMMIT taking longer than the shutdown grace (a synchronous standby that is
     * down would do it): the closed session gives up on the leader at the grace, as for any COMMIT it
     * left running, so the write barrier and green's locks are not held for good. The outcome is then not
     * known: a divergence.
     */
    @Test
    void aClientThatLeavesWhileTheLeaderHangsInACommitSentAfterAFlushIsGivenUpAfterTheGrace(TestClusters clusters)
            throws Exception {
        String t = table("left_hung_after_flush");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        clusters.blue().execute("postgres",
                "create function " + t + "_slow() returns trigger language plpgsql as"
                        + " $$ begin perform pg_sleep(60); return null; end $$",
                "create constraint trigger " + t + "_slow after insert on " + t
                        + " deferrable initially deferred for each row execute function " + t + "_slow()");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).shutdownGrace(Duration.ofSeconds(2))
                .start()) {
            proxy.server().routing().start("test", null);
            RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser());
            assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
            client.send(concat(parse("", "insert into " + t + " values (1)"), bind(""), execute(""), flush()));
            for (char expected : "12C".toCharArray()) {
                assertThat(client.read().type()).isEqualTo(expected);
            }
            client.send(concat(parse("", "commit"), bind(""), execute(""), sync()));
            await("blue runs the trigger at commit").until(() -> count(clusters.blue(), "select count(*)"
                    + " from pg_stat_activity where state = 'active' and wait_event = 'PgSleep'" + holdingALockOn(t)) == 1);
            client.close();

            await("the session's write unit given up").atMost(Duration.ofSeconds(15))
                    .until(() -> proxy.server().routing().barrier().holders().isEmpty());
            assertThat(proxy.server().migration().divergences()).isNotEmpty();
            clusters.blue().execute("postgres", "select pg_cancel_backend(pid) from pg_stat_activity"
                    + " where wait_event = 'PgSleep'" + holdingALockOn(t));
        }
    }

    /**
     * A client that leaves in the middle of a CALL inside its transaction (sent with a Flush, no Sync): a
     * procedure cannot commit inside a transaction block, so both twins roll back and nothing is unknown.
     */
    @Test
    void aClientThatLeavesInTheMiddleOfACallInsideATransactionIsNoDivergence(TestClusters clusters) throws Exception {
        String t = table("left_mid_call");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)",
                "create procedure " + t + "_fill() language plpgsql as $$ begin insert into " + t + " values (1); end $$");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser());
            assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
            client.send(concat(parse("", "call " + t + "_fill()"), bind(""), execute(""), flush()));
            for (char expected : "12C".toCharArray()) {
                assertThat(client.read().type()).isEqualTo(expected);
            }
            client.close();

            await("the session over").until(() -> proxy.server().sessionCount() == 0
                    && proxy.server().routing().barrier().holders().isEmpty());
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
                await(cluster.name() + " rolled back").until(() -> count(cluster, "select count(*) from " + t) == 0);
            }
        }
    }

    /**
     * A LISTEN that a Flush opens a unit with, and a write after the Flush in the same unit: the unit
     * runs on both twins like any write, LISTEN included. Before, a lone LISTEN's unit lived on the leader
     * alone, and the write that came after the Flush went to blue only.
     */
    @Test
    void aWriteAfterAFlushBehindALoneListenReachesBothClusters(TestClusters clusters) throws Exception {
        String t = table("listen_then_write");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                client.send(concat(parse("", "listen " + t), bind(""), execute(""), flush()));
                for (char expected : "12C".toCharArray()) {
                    assertThat(client.read().type()).isEqualTo(expected);
                }
                client.send(concat(parse("", "insert into " + t + " values (1)"), bind(""), execute(""), sync()));
                assertThat(types(client)).isEqualTo("12CZ");
            }
            for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
                assertThat(count(cluster, "select count(*) from " + t)).as(cluster.name()).isEqualTo(1);
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
    }

    /**
     * A client that leaves in the middle of a unit whose COMMIT the leader has run (BEGIN; INSERT; COMMIT
     * sent with a Flush, no Sync): without the Sync the leader never says it is done, so what it
     * committed is not known to the proxy; that is recorded as a divergence at once. Before, the session
     * waited for a ReadyForQuery that could not come and held the write barrier for the shutdown grace.
     */
    @Test
    void aClientThatLeavesInTheMiddleOfAUnitThatCommitsIsADivergenceAtOnce(TestClusters clusters) throws Exception {
        String t = table("left_mid_unit");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).shutdownGrace(Duration.ofSeconds(60))
                .start()) {
            proxy.server().routing().start("test", null);
            RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser());
            assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
            client.send(concat(parse("", "insert into " + t + " values (1)"), bind(""), execute(""),
                    parse("", "commit"), bind(""), execute(""), flush()));
            for (char expected : "12C12C".toCharArray()) {
                assertThat(client.read().type()).isEqualTo(expected);
            }
            client.close();

            await("the divergence recorded").atMost(Duration.ofSeconds(10))
                    .until(() -> !proxy.server().migration().divergences().isEmpty());
            assertThat(proxy.server().migration().divergences().get(0).difference())
                    .contains("the client left in the middle of a unit that ends a transaction");
            await("the session's write unit over").atMost(Duration.ofSeconds(10))
                    .until(() -> proxy.server().routing().barrier().holders().isEmpty());
            assertThat(count(clusters.blue(), "select count(*) from " + t)).isEqualTo(1);
        }
    }

    /**
     * A client that pipelines far ahead of its answers in units mode: once thousands of its messages wait
     * in the session, the proxy stops reading it, so the rest waits in the client's socket instead of the
     * proxy's memory; every query is still answered, in order, once the client reads.
     */
    @Test
    void aClientFarAheadOfItsAnswersWaitsInItsSocket(TestClusters clusters) throws Exception {
        int queries = 8_000;
        // 10 kB answers: a client that reads none (and takes 64 kB in its socket) soon has it full, and the session's
        // units stall
        byte[] one = RawClient.query("select repeat('x', 10000) /* " + "x".repeat(2500) + " */");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port(), 64 * 1024).loggedIn(clusters.blue().superuser())) {
                assertThat(answerTo(client, "select 1"))
                        .as("the session in units mode, with its twin").isEqualTo("SELECT 1");
                // 20 MB of queries, more than the two sockets' buffers and the session's queue hold together
                CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                    try {
                        for (int i = 0; i < queries; i++) {
                            client.send(one);
                        }
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                await("the client's writes held back while it reads nothing").during(Duration.ofSeconds(2))
                        .atMost(Duration.ofSeconds(5)).until(() -> !writer.isDone());
                for (int i = 0; i < queries; i++) {
                    assertThat(answer(client)).as("query %d", i).isEqualTo("SELECT 1");
                }
                writer.get(30, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * A Query after a Flush (extended messages, Flush, then simple queries): the server answers the
     * extended messages and the first Query with that Query's ReadyForQuery, as a Sync would have ended
     * them; a second Query in the same write is a unit of its own.
     */
    @Test
    void aQueryAfterAFlushEndsTheUnitTheFlushOpened(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                client.send(concat(parse("", "select 1"), bind(""), execute(""), flush()));
                client.readUntil('C');
                client.send(concat(RawClient.query("select 2"), RawClient.query("select 3")));
                assertThat(answer(client)).isEqualTo("SELECT 1");
                assertThat(answer(client)).isEqualTo("SELECT 1");
                assertThat(answerTo(client, "select 4")).isEqualTo("SELECT 1");
            }
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * Extended-protocol requests, then a simple Query, then the Sync (Parse, Bind, Execute, Query, Sync):
     * after an error in the extended part the server skips the Query and answers only the Sync, so the
     * unit takes the Sync and ends with its ReadyForQuery (it waited for good for the skipped Query's);
     * without an error each gets its own, as from the server.
     */
    @Test
    void aQueryTheServerSkipsAfterAnErrorInItsBatchDoesNotHoldTheSession(TestClusters clusters) throws Exception {
        String t = table("skipped_query");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                // a write: the Execute fails, and the insert in the Query is skipped on both clusters
                client.send(concat(parse("", "insert into " + t + " values (1 / 0)"), bind(""), execute(""),
                        RawClient.query("insert into " + t + " values (5)"), sync()));
                assertThat(types(client)).as("1 / 0 fails as the Bind plans it").isEqualTo("1EZ");
                client.send(concat(parse("", "select no_such_column"), bind(""), execute(""),
                        RawClient.query("select 1"), sync()));
                assertThat(types(client)).isEqualTo("EZ");
                // two Queries skipped: only the Sync ends what the server skips
                client.send(concat(parse("", "select no_such_column"), bind(""), execute(""),
                        RawClient.query("select 1"), RawClient.query("select 2"), sync()));
                assertThat(types(client)).isEqualTo("EZ");
                client.send(concat(parse("", "select 1"), bind(""), execute(""), RawClient.query("select 2"), sync()));
                assertThat(types(client)).as("the batch and the Query").isEqualTo("12DCTDCZ");
                assertThat(types(client)).as("the Sync").isEqualTo("Z");
                assertThat(answerTo(client, "select 3")).isEqualTo("SELECT 1");
            }
            for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
                assertThat(count(cluster, "select count(*) from " + t)).as(cluster.name()).isZero();
            }
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * A session's prepared statements reach its new twin one by one: a statement that no longer parses
     * there (its table exists on blue alone here) does not take the statements after it along, as one
     * Sync after them all did (after an error the server skips to the next Sync).
     */
    @Test
    void aPreparedStatementTheTwinCannotParseDoesNotCostItTheOthers(TestClusters clusters) throws Exception {
        String t = table("prepared_replay");
        String blueOnly = table("blue_only");
        ClusterData.onBoth(clusters.blue(), clusters.green(),
                "create table " + t + " (id int primary key)", "insert into " + t + " values (1)");
        clusters.blue().execute("postgres", "create table " + blueOnly + " (id int)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            List<byte[]> parses = new java.util.ArrayList<>();
            parses.add(parse("stale", "select id from " + blueOnly));
            for (int i = 0; i < 8; i++) {
                parses.add(parse("good" + i, "select id + " + i + " from " + t));
            }
            parses.add(sync());
            client.send(concat(parses.toArray(new byte[0][])));
            client.readUntil('Z');

            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            for (int i = 0; i < 8; i++) {
                client.send(concat(bind("good" + i), execute(""), sync()));
                assertThat(answer(client)).as("good%d", i).isEqualTo("SELECT 1");
            }
            assertThat(proxy.server().migration().unitsServedBy(ClusterRole.GREEN)).isGreaterThanOrEqualTo(8);
            assertThat(proxy.server().migration().readRetries()).as("reads green failed and blue answered").isZero();
        }
    }

    /**
     * One extended batch of more messages than the session queues before it stops reading a client (4,096)
     * before its Sync, as asyncpg's executemany sends: the proxy reads it all, since the unit cannot start
     * without its Sync, and answers it.
     */
    @Test
    void anExtendedBatchLongerThanTheQueueBoundIsReadToItsSync(TestClusters clusters) throws Exception {
        String t = table("long_batch");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                assertThat(answerTo(client, "select 1")).isEqualTo("SELECT 1");
                client.send(concat(parse("ins", "insert into " + t + " select coalesce(max(id), 0) + 1 from " + t), sync()));
                client.readUntil('Z');
                java.io.ByteArrayOutputStream batch = new java.io.ByteArrayOutputStream();
                for (int i = 0; i < 3_000; i++) { // 6,000 messages (the queue takes 4,096), several reads before the Sync
                    batch.writeBytes(bind("ins"));
                    batch.writeBytes(execute(""));
                }
                batch.writeBytes(sync());
                client.send(batch.toByteArray());
                int inserted = 0;
                RawClient.Message message;
                while ((message = client.read()).type() != 'Z') {
                    assertThat(message.type()).as("%s", message.fields()).isNotEqualTo('E');
                    if (message.type() == 'C') {
                        inserted++;
                    }
                }
                assertThat(inserted).isEqualTo(3_000);
            }
            for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
                assertThat(count(cluster, "select count(*) from " + t)).as(cluster.name()).isEqualTo(3_000);
            }
        }
    }

    /** The types of the messages up to and including ReadyForQuery. */
    private static String types(RawClient client) throws java.io.IOException {
        StringBuilder types = new StringBuilder();
        RawClient.Message message;
        do {
            message = client.read();
            types.append(message.type());
        } while (message.type() != 'Z');
        return types.toString();
    }

    /** Sends {@code sql} as a simple query and returns the answer's command tag or error fields. */
    private static String answerTo(RawClient client, String sql) throws java.io.IOException {
        client.send(RawClient.query(sql));
        return answer(client);
    }

    /** The command tag of the unit's last statement, or its error's fields, read up to ReadyForQuery. */
    private static String answer(RawClient client) throws java.io.IOException {
        String answer = "no answer";
        RawClient.Message message;
        while ((message = client.read()).type() != 'Z') {
            if (message.type() == 'C') {
                answer = new String(message.body(), 0, message.body().length - 1, java.nio.charset.StandardCharsets.UTF_8);
            } else if (message.type() == 'E') {
                answer = message.fields().toString();
            }
        }
        return answer;
    }

    private static byte[] cstrings(String... values) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (String value : values) {
            out.writeBytes(value.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            out.write(0);
        }
        return out.toByteArray();
    }

    private static byte[] parse(String name, String sql) {
        return RawClient.message('P', concat(cstrings(name, sql), new byte[] {0, 0}));
    }

    /** Bind of {@code statement} to the unnamed portal: no parameters, text results. */
    private static byte[] bind(String statement) {
        return RawClient.message('B', concat(cstrings("", statement), new byte[] {0, 0, 0, 0, 0, 0}));
    }

    private static byte[] execute(String portal) {
        return execute(portal, 0);
    }

    private static byte[] execute(String portal, int maxRows) {
        return RawClient.message('E', concat(cstrings(portal), java.nio.ByteBuffer.allocate(4).putInt(maxRows).array()));
    }

    private static byte[] describeStatement(String name) {
        return RawClient.message('D', concat(new byte[] {'S'}, cstrings(name)));
    }

    /** Bind of {@code statement} to the portal {@code portal}: no parameters, text results. */
    private static byte[] bindPortal(String portal, String statement) {
        return RawClient.message('B', concat(cstrings(portal, statement), new byte[] {0, 0, 0, 0, 0, 0}));
    }

    private static byte[] closeUnnamedStatement() {
        return RawClient.message('C', new byte[] {'S', 0});
    }

    private static byte[] sync() {
        return RawClient.message('S', new byte[0]);
    }

    private static byte[] flush() {
        return RawClient.message('H', new byte[0]);
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    /**
     * A cancel that comes while the cluster running the client's unit still has to answer a request the
     * proxy sent it before that unit waits for the unit's turn there. Here blue learns the name of a
     * statement green served a read of, and that Parse waits for a lock a session on blue alone holds; the
     * client's next statement, a write, queues behind it on blue. Sent at once, the cancel would hit the
     * proxy's Parse, and the client's statement would then run to its end (30 s) uncancelled.
     */
    @Test
    void aCancelWaitsForTheClientsUnitWhileTheClusterStillAnswersTheProxysOwnRequest(TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        String t = table("cancel_pending");
        ClusterData.onBoth(blue, clusters.green(), "create table " + t + " (id int)");
        String read = "select count(*) from " + t;
        try (TestProxy proxy = TestProxy.in(blue).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port());
             Connection locker = blue.connect("postgres")) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            client.startup(java.util.Map.of("user", blue.superuser(), "database", "postgres"));
            byte[] key = client.readUntil('K').body();
            client.readUntil('Z');
            locker.setAutoCommit(false);
            locker.createStatement().execute("lock table " + t + " in access exclusive mode");

            client.send(concat(parse("s1", read), bind("s1"), execute(""), sync()));
            assertThat(answer(client)).as("green serves the read").isEqualTo("SELECT 1");
            await("blue's Parse of s1 waits for the lock").atMost(Duration.ofSeconds(10))
                    .until(() -> count(blue, "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
                            + " and query = '" + read + "'") == 1);
            assertThat(proxy.server().routing().barrier().holders()).as("a read leaves the write barrier").isEmpty();
            client.send(RawClient.query("insert into " + t + " select 1 from pg_sleep(30)"));
            // a write unit holds the barrier from its start: the cancel must find it running, not still to come
            await("the insert's unit has started").until(() -> !proxy.server().routing().barrier().holders().isEmpty());
            RawClient.cancel(proxy.port(), key);
            // a cancel sent on to blue now would reach it within milliseconds and end the Parse's wait
            await("blue's Parse of s1 still waiting, not cancelled").during(Duration.ofSeconds(1))
                    .atMost(Duration.ofSeconds(3)).until(() -> count(blue, "select count(*) from pg_stat_activity"
                            + " where wait_event_type = 'Lock' and query = '" + read + "'") == 1);
            locker.commit();

            assertThat(answer(client)).as("the client's insert, cancelled on blue").contains("C=57014");
            proxy.server().routing().setWeight("test", 0, null);
            client.send(concat(bind("s1"), execute(""), sync()));
            assertThat(answer(client)).as("s1 on blue, its Parse not cancelled").isEqualTo("SELECT 1");
            assertThat(count(blue, "select count(*) from " + t)).isZero();
            assertThat(count(clusters.green(), "select count(*) from " + t)).isZero();
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /** LOCK and DECLARE outside a transaction block fail as on Postgres: the proxy must not wrap them in one. */
    @Test
    void statementsOnlyAllowedInATransactionBlockAreRefusedInAutocommitAsOnPostgres(TestClusters clusters) throws Exception {
        String t = table("block_only");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (Connection c = proxy.connect("postgres"); Statement s = c.createStatement()) {
                for (String sql : new String[] {"lock table " + t, "declare c cursor for select 1"}) {
                    SQLException refused = org.assertj.core.api.Assertions.catchThrowableOfType(SQLException.class, () -> s.execute(sql));
                    assertThat((Throwable) refused).as(sql).isNotNull();
                    assertThat(refused.getSQLState()).as(sql).isEqualTo("25P01");
                }
                s.execute("begin; lock table " + t + "; declare c cursor for select 1; commit");
            }
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * LOCK is refused alone in autocommit, but a Query holding LOCK and more runs as one implicit
     * transaction block on Postgres: it is a write like any other, and the leader holds it uncommitted
     * until the follower has run it (DESIGN §5). Green is held on a row lock taken straight on green, and
     * blue, read directly meanwhile, must not show the update yet.
     */
    @Test
    void aQueryWithLockAndAWriteKeepsTheLeaderUncommittedUntilTheFollowerRanIt(TestClusters clusters) throws Exception {
        String t = table("lock_and_write");
        ClusterData.onBoth(clusters.blue(), clusters.green(),
                "create table " + t + " (id int primary key, v text)", "insert into " + t + " values (1, 'old')");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection holder = clusters.green().connect("postgres")) {
            proxy.server().routing().start("test", null);
            holder.setAutoCommit(false);
            holder.createStatement().execute("select * from " + t + " where id = 1 for update");
            CompletableFuture<Integer> update = CompletableFuture.supplyAsync(() -> {
                try (Connection c = proxy.connect("postgres"); Statement s = c.createStatement()) {
                    s.execute("lock table " + t + " in row exclusive mode; update " + t + " set v = 'new' where id = 1");
                    s.getMoreResults(); // the LOCK's result first, then the UPDATE's
                    return s.getUpdateCount();
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            await("green's update waits for the row lock held straight on green")
                    .until(() -> ClusterData.number(clusters.green(), "select count(*) from pg_stat_activity "
                            + "where wait_event_type = 'Lock' and query like '%update " + t + "%'") == 1);
            assertThat(ClusterData.text(clusters.blue(), "select v from " + t + " where id = 1"))
                    .as("blue, read directly while green has not run the update").isEqualTo("old");
            holder.commit();
            assertThat(update.get(20, TimeUnit.SECONDS)).isEqualTo(1);
            assertThat(ClusterData.text(clusters.blue(), "select v from " + t + " where id = 1")).isEqualTo("new");
            await("green's commit").until(() -> "new".equals(ClusterData.text(clusters.green(), "select v from " + t + " where id = 1")));
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * A read-only transaction served by green turns writable; green runs the write behind blue and the
     * session's next read is queued on green behind it. When green's write then differs, green is dropped
     * while it holds the read, which cannot move to blue half-way: the session ends with 08006 (it hung
     * before) and the proxy goes on serving.
     */
    @Test
    void aFollowerDroppedWhileItHoldsTheSessionsReadEndsTheSession(TestClusters clusters) throws Exception {
        String t = table("dropped_mid_read");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection holder = clusters.green().connect("postgres")) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            holder.setAutoCommit(false);
            holder.createStatement().execute("insert into " + t + " values (1)"); // green's insert of 1 waits for it
            Properties properties = ClusterData.properties("socketTimeout", "30");
            try (Connection c = proxy.connect("postgres", null, properties); Statement s = c.createStatement()) {
                s.execute("begin read only");
                s.execute("set transaction read write");
                s.execute("insert into " + t + " values (1)"); // blue's answer; green waits behind the holder
                CompletableFuture<SQLException> read = CompletableFuture.supplyAsync(() -> {
                    try (ResultSet rs = s.executeQuery("select count(*) from " + t)) {
                        return null;
                    } catch (SQLException e) {
                        return e;
                    }
                });
                await("green's insert waits for the holder's")
                        .until(() -> ClusterData.number(clusters.green(), "select count(*) from pg_stat_activity "
                                + "where wait_event_type = 'Lock' and query like 'insert into " + t + "%'") == 1);
                holder.commit(); // green's insert now fails (23505) where blue's succeeded: a divergence
                SQLException ended = read.get(20, TimeUnit.SECONDS);
                assertThat((Throwable) ended).as("the read green held").isNotNull();
                assertThat(ended.getSQLState()).isEqualTo("08006");
            }
            await("green marked out of sync").atMost(Duration.ofSeconds(10))
                    .untilAsserted(() -> assertThat(proxy.server().routing().current().followerInSync()).isFalse());
            try (Connection c = proxy.connect("postgres"); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(
                    "select count(*), current_setting('server_version_num')::int from " + t)) {
                rs.next();
                assertThat(rs.getInt(1)).as("blue rolled the session's transaction back").isZero();
                assertThat(rs.getInt(2)).as("reads are back on blue").isLessThan(170000);
            }
        }
    }

    /**
     * CREATE TABLE AS answers with a SELECT tag, but its rows are what it stores: green storing fewer
     * (a source row written to blue behind the proxy's back) is a divergence, where a plain SELECT's
     * count is not compared.
     */
    @Test
    void createTableAsThatStoresOtherRowsOnGreenIsADivergence(TestClusters clusters) throws Exception {
        String source = table("ctas_src");
        String copy = table("ctas_dst");
        ClusterData.onBoth(clusters.blue(), clusters.green(),
                "create table " + source + " (id int)", "insert into " + source + " values (1), (2)");
        clusters.blue().execute("postgres", "insert into " + source + " values (3)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (Connection c = proxy.connect("postgres"); Statement s = c.createStatement()) {
                s.execute("select * from " + source); // a read's count differs too, and is no divergence
                assertThat(proxy.server().routing().current().followerInSync()).isTrue();
                s.execute("create table " + copy + " as select * from " + source);
            }
            await().atMost(Duration.ofSeconds(10))
                    .untilAsserted(() -> assertThat(proxy.server().routing().current().followerInSync()).isFalse());
        }
    }

    /**
     * A read-only transaction served by green runs its first unit on blue second. When green fails there
     * and blue does not, green is what is dropped: the session keeps its leader and the transaction goes
     * on there.
     */
    @Test
    void aReadOnlyTransactionGreenServesKeepsTheLeaderWhenGreenFails(TestClusters clusters) throws Exception {
        String t = table("blue_only_ro");
        clusters.blue().execute("postgres", "create table " + t + " (id int)", "insert into " + t + " values (1), (2)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            Properties properties = new Properties();
            properties.setProperty("socketTimeout", "20"); // a session that hangs fails the test, not the build
            try (Connection c = proxy.connect("postgres", null, properties); Statement s = c.createStatement()) {
                SQLException onGreen = org.assertj.core.api.Assertions.catchThrowableOfType(SQLException.class,
                        () -> s.execute("begin read only; select count(*) from " + t));
                assertThat((Throwable) onGreen).as("green, which serves the transaction, has no such table").isNotNull();
                s.execute("rollback");
                try (ResultSet rs = s.executeQuery("select count(*) from " + t)) {
                    rs.next();
                    assertThat(rs.getInt(1)).isEqualTo(2);
                }
            }
            await().atMost(Duration.ofSeconds(10))
                    .untilAsserted(() -> assertThat(proxy.server().routing().current().followerInSync()).isFalse());
            // recorded the right way round, blue the leader: green is the one at fault (before, the record named
            // green the leader with the two outcomes swapped, and the health windows did not blame green)
            assertThat(proxy.server().migration().divergences()).singleElement().satisfies(d -> {
                assertThat(d.leaderCluster()).isEqualTo("blue");
                assertThat(d.leader()).doesNotContain("error");
                assertThat(d.follower()).contains("error 42P01");
                assertThat(d.difference()).startsWith("statement 2: leader SELECT 1 (1 row returned), follower error 42P01");
            });
        }
    }

    /**
     * A read of a read-only transaction green serves fails there: blue, which was not sent it, fails alike, so that
     * what runs on both next is answered as the client's transaction stands, as by a server alone: a
     * {@code SAVEPOINT} is refused with 25P02 and the {@code COMMIT} answers {@code ROLLBACK}. Before, blue answered
     * {@code SAVEPOINT} (green's 25P02 a divergence, green out of sync) and {@code COMMIT}.
     */
    @Test
    void aReadGreenFailsInAReadOnlyTransactionFailsItOnBlueToo(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String onBlueOnly = table("ro_blue_only");
        blue.execute("postgres", "create table " + onBlueOnly + " (id int)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);

            assertThat(answerTo(client, "begin read only")).isEqualTo("BEGIN");
            assertThat(firstValue(client, "show server_version_num")).as("green serves the transaction").startsWith("18");
            assertThat(answerTo(client, "savepoint a")).isEqualTo("SAVEPOINT");
            assertThat(answerTo(client, "select count(*) from " + onBlueOnly)).contains("C=42P01");
            assertThat(answerTo(client, "savepoint b")).contains("C=25P02");
            assertThat(answerTo(client, "rollback to savepoint a")).isEqualTo("ROLLBACK");
            assertThat(answerTo(client, "select 1")).isEqualTo("SELECT 1");
            assertThat(answerTo(client, "select 1/0")).contains("C=22012");
            assertThat(answerTo(client, "commit")).isEqualTo("ROLLBACK");
            assertThat(answerTo(client, "select 2")).isEqualTo("SELECT 1");

            followerStillInSync(proxy);
        }
    }

    /**
     * The same where the read comes with the transaction's BEGIN in one string and green fails it at once (a
     * statement timeout): blue, the unit's second, was sent none of it, and begins the transaction to fail it alike.
     * Before, blue had no transaction: the SAVEPOINT was refused with 25P01 (no transaction block) and the COMMIT
     * answered COMMIT, with a warning.
     */
    @Test
    void aFirstReadGreenFailsAtOnceWithItsBeginFailsTheTransactionOnBlueToo(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            assertThat(answerTo(client, "set statement_timeout = 300")).isEqualTo("SET");

            assertThat(answerTo(client, "begin read only; select pg_sleep(2)")).contains("C=57014");
            assertThat(answerTo(client, "savepoint a")).contains("C=25P02");
            assertThat(answerTo(client, "commit")).isEqualTo("ROLLBACK");
            assertThat(firstValue(client, "show server_version_num")).as("green serves reads").startsWith("18");

            followerStillInSync(proxy);
        }
    }

    /** The first column of the first row a query answers, as text. */
    private static String firstValue(RawClient client, String sql) throws java.io.IOException {
        client.send(RawClient.query(sql));
        String value = null;
        RawClient.Message message;
        while ((message = client.read()).type() != 'Z') {
            if (message.type() == 'D' && value == null) {
                java.nio.ByteBuffer row = java.nio.ByteBuffer.wrap(message.body());
                row.getShort();
                byte[] bytes = new byte[row.getInt()];
                row.get(bytes);
                value = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
            }
        }
        return value;
    }

    /**
     * A session that made a temporary table before dual-write began has it on blue only: at cutover it
     * ends with a clear error instead of going on, on green, without it.
     */
    @Test
    void aSessionWhoseTempTableLivesOnBlueOnlyEndsAtCutover(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("create temp table scratch (a int)");
            proxy.server().routing().start("test", null);
            s.execute("select 1"); // units mode, with a twin made from a snapshot that pins the session
            proxy.server().routing().setWeight("test", 100, null);
            proxy.server().routing().cutover("test", null);

            SQLException ended = org.assertj.core.api.Assertions.catchThrowableOfType(SQLException.class,
                    () -> s.execute("select count(*) from scratch"));
            assertThat((Throwable) ended).isNotNull();
            assertThat(ended.getSQLState()).isEqualTo("57P01");
            assertThat(ended.getMessage()).contains("temporary objects").contains("reconnect");
        }
    }

    /**
     * A channel listened to in a unit with other statements (so on both twins) and then unlistened alone
     * (on the leader) is not heard after cutover: green takes blue's channels, not its own.
     */
    @Test
    void aChannelUnlistenedOnTheLeaderIsNotHeardFromGreenAfterCutover(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres"); Statement s = c.createStatement()) {
            proxy.server().routing().start("test", null);
            s.execute("listen bg_dropped; listen bg_kept; select 1");
            s.execute("unlisten bg_dropped");
            proxy.server().routing().setWeight("test", 100, null);
            proxy.server().routing().cutover("test", null);
            assertThat(serverVersion(c)).isGreaterThanOrEqualTo(180000);

            clusters.green().execute("postgres", "notify bg_dropped, 'not for me'", "notify bg_kept, 'for me'");
            List<String> heard = new java.util.ArrayList<>();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                s.execute("select 1");
                PGNotification[] notifications = c.unwrap(PGConnection.class).getNotifications();
                if (notifications != null) {
                    for (PGNotification n : notifications) {
                        heard.add(n.getParameter());
                    }
                }
                assertThat(heard).contains("for me");
            });
            assertThat(heard).doesNotContain("not for me");
        }
    }

    /** A channel listened to before dual-write began moves to green at cutover like any other. */
    @Test
    void aListenFromBeforeStartMovesToGreenAtCutover(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres"); Statement s = c.createStatement()) {
            s.execute("listen bg_before_start");
            proxy.server().routing().start("test", null);
            s.execute("select 1");
            proxy.server().routing().setWeight("test", 100, null);
            proxy.server().routing().cutover("test", null);
            assertThat(serverVersion(c)).isGreaterThanOrEqualTo(180000);

            clusters.green().execute("postgres", "notify bg_before_start, 'on green'");
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                s.execute("select 1");
                PGNotification[] notifications = c.unwrap(PGConnection.class).getNotifications();
                assertThat(notifications).isNotNull();
                assertThat(notifications).extracting(PGNotification::getParameter).contains("on green");
            });
        }
    }

    /**
     * A statement prepared before dual-write began, whose parameter is of a type the database defined
     * (an enum, with another OID on green), is prepared on the twin too and runs there.
     */
    @Test
    void aStatementPreparedBeforeStartWithAnEnumParameterRunsOnTheTwin(TestClusters clusters) throws Exception {
        String t = table("moods");
        String type = table("mood");
        clusters.blue().execute("postgres", "create type " + type + "_shift as enum ('x')"); // other OIDs on blue
        ClusterData.onBoth(clusters.blue(), clusters.green(),
                "create type " + type + " as enum ('happy', 'sad')", "create table " + t + " (m " + type + ")");
        Properties properties = new Properties();
        properties.setProperty("prepareThreshold", "1");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres", null, properties);
             PreparedStatement insert = c.prepareStatement("insert into " + t + " values (?)")) {
            insert.setObject(1, "happy", java.sql.Types.OTHER);
            insert.executeUpdate();
            insert.executeUpdate(); // now a named statement on blue
            proxy.server().routing().start("test", null);
            insert.executeUpdate();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        assertThat(count(clusters.blue(), "select count(*) from " + t)).isEqualTo(3);
        assertThat(count(clusters.green(), "select count(*) from " + t)).isEqualTo(1);
    }

    /**
     * A type the database defined has its own OID on each cluster, and a driver sends the OID it looked up
     * (pgjdbc for a {@code PGobject}, Npgsql and asyncpg for their type caches) in its Parse. The cluster
     * that answered the lookup, a read of the system catalog, gets that OID; the other is left to infer the
     * type. Before, at weight 0 green was sent blue's OID and diverged, and a session whose reads green
     * served had blue refuse its insert (cache lookup failed for type).
     */
    @Test
    void aTypeTheDatabaseDefinedIsSentByOidOnlyToTheClusterTheClientLookedItUpOn(TestClusters clusters) throws Exception {
        String t = table("typed");
        String type = table("feeling");
        enumWithAnOidOfItsOwnOnEachCluster(clusters, type);
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int, m " + type + ")");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            int id = 0;
            for (List<Integer> weights : List.of(List.of(0, 100), List.of(100, 0))) {
                // the first insert looks the type up at the first weight: on blue, then on green
                try (Connection c = proxy.connect("postgres");
                     PreparedStatement insert = c.prepareStatement("insert into " + t + " values (?, ?)")) {
                    for (int weight : weights) {
                        proxy.server().routing().setWeight("test", weight, null);
                        for (int i = 0; i < 6; i++) { // past pgjdbc's prepareThreshold: the named statement too
                            org.postgresql.util.PGobject mood = new org.postgresql.util.PGobject();
                            mood.setType(type);
                            mood.setValue(i % 2 == 0 ? "happy" : "sad");
                            insert.setInt(1, ++id);
                            insert.setObject(2, mood);
                            assertThat(insert.executeUpdate()).as("weight " + weights).isOne();
                        }
                    }
                }
            }
            followerStillInSync(proxy);
        }
        assertThat(count(clusters.green(), "select count(*) from " + t + " where m = 'sad'")).isEqualTo(12);
        assertThat(ClusterData.contents(clusters.green(), t, "id")).isEqualTo(ClusterData.contents(clusters.blue(), t, "id"));
    }

    /**
     * A session that began on blue and relays to green after finalize still holds blue's OID for a type the database
     * defined: green is sent its Parse with green's OID of that type. Before, the relay sent blue's OID unchanged, which
     * names another type on green, or none.
     */
    @Test
    void aSessionThatBeganOnBlueRelaysToGreenAfterFinalizeWithGreensTypes(TestClusters clusters) throws Exception {
        String type = table("feeling");
        String log = table("typeof_log");
        enumWithAnOidOfItsOwnOnEachCluster(clusters, type);
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + log + " (t text)");
        long onBlue = count(clusters.blue(), "select oid from pg_type where typname = '" + type + "'");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port())) {
            client.startup(Map.of("user", clusters.blue().superuser(), "database", "postgres", "application_name", log));
            client.readUntil('Z');
            proxy.server().routing().start("test", null);
            client.send(concat(typedParse("a", "insert into " + log + " select pg_typeof($1)::text", onBlue),
                    bindText("a", "sad"), execute(""), sync()));
            assertThat(answer(client)).isEqualTo("INSERT 0 1");

            proxy.server().routing().setWeight("test", 100, null);
            proxy.server().routing().cutover("test", null);
            proxy.server().routing().finalizeMigration("test", null);
            String stillOnBlue = "select count(*) from pg_stat_activity where application_name = '" + log + "'";
            await("the session relaying to green").until(() -> count(clusters.blue(), stillOnBlue) == 0);

            client.send(concat(typedParse("b", "insert into " + log + " select pg_typeof($1)::text", onBlue),
                    bindText("b", "happy"), execute(""), sync()));
            assertThat(answer(client)).isEqualTo("INSERT 0 1");
        }
        assertThat(ClusterData.contents(clusters.green(), log, "t")).isEqualTo(type + "\n" + type);
    }

    /** A Bind of statement {@code name} to the unnamed portal, its one parameter {@code value} in text. */
    private static byte[] bindText(String name, String value) {
        byte[] names = RawClient.cstrings("", name);
        byte[] text = value.getBytes(StandardCharsets.UTF_8);
        return RawClient.message('B', ByteBuffer.allocate(names.length + 10 + text.length).put(names).putShort((short) 0)
                .putShort((short) 1).putInt(text.length).put(text).putShort((short) 0).array());
    }

    /** A Parse of statement {@code name} naming its one parameter's type by OID. */
    private static byte[] typedParse(String name, String sql, long type) {
        byte[] strings = RawClient.cstrings(name, sql);
        return RawClient.message('P', ByteBuffer.allocate(strings.length + 6).put(strings).putShort((short) 1)
                .putInt((int) type).array());
    }

    /**
     * A session that read green's catalog (weight 100) and goes back to relaying to blue (green fell out
     * of sync) still holds green's OID for the type: blue is sent its Parse with the type left to infer.
     */
    @Test
    void aSessionThatLearnedGreensTypesRelaysToBlueWithoutThem(TestClusters clusters) throws Exception {
        String t = table("relay_typed");
        String type = table("feeling");
        enumWithAnOidOfItsOwnOnEachCluster(clusters, type);
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int, m " + type + ")");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres");
             PreparedStatement insert = c.prepareStatement("insert into " + t + " values (?, ?)")) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            org.postgresql.util.PGobject mood = new org.postgresql.util.PGobject();
            mood.setType(type);
            mood.setValue("sad");
            // looked up in green's catalog, in a read-only transaction green serves (an autocommit read of the catalogs
            // goes to the cluster whose OIDs the session holds, blue)
            c.setAutoCommit(false);
            c.setReadOnly(true);
            try (Statement s = c.createStatement()) {
                s.execute("select 1");
            }
            insert.setInt(1, 1);
            insert.setObject(2, mood);
            c.commit();
            c.setReadOnly(false);
            c.setAutoCommit(true);
            assertThat(insert.executeUpdate()).isOne();
            proxy.server().routing().followerOutOfSync(ClusterRole.GREEN, "test", "taken out of sync");
            await("the session relays to blue alone").until(() -> proxy.server().backendConnections("green") == 0);

            for (int id = 2; id <= 7; id++) { // past pgjdbc's prepareThreshold: the named statement too
                insert.setInt(1, id);
                insert.setObject(2, mood);
                assertThat(insert.executeUpdate()).isOne();
            }
        }
        assertThat(count(clusters.blue(), "select count(*) from " + t + " where m = 'sad'")).isEqualTo(7);
    }

    /**
     * The same for messages that come in one read with the client's Terminate (a client that writes its last
     * statement and its goodbye together): they too reach blue with green's OID left out.
     */
    @Test
    void messagesSentWithTheTerminateReachBlueWithoutGreensTypesToo(TestClusters clusters) throws Exception {
        String t = table("terminate_typed");
        String type = table("feeling");
        enumWithAnOidOfItsOwnOnEachCluster(clusters, type);
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int, m " + type + ")");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            // green's catalog, in a read-only transaction green serves (an autocommit read of the catalogs goes to the
            // cluster whose OIDs the session holds, blue)
            client.send(RawClient.query("begin read only"));
            assertThat(client.commandTags()).isEqualTo("BEGIN");
            client.send(RawClient.query("select oid from pg_type where typname = '" + type + "'"));
            String greenOid = client.firstValue();
            client.send(RawClient.query("commit"));
            assertThat(client.commandTags()).isEqualTo("COMMIT");
            assertThat(greenOid).isEqualTo(Long.toString(count(clusters.green(),
                    "select oid from pg_type where typname = '" + type + "'")));
            proxy.server().routing().followerOutOfSync(ClusterRole.GREEN, "test", "taken out of sync");
            await("the session relays to blue alone").until(() -> proxy.server().backendConnections("green") == 0);

            byte[] typedParse = RawClient.message('P', concat(cstrings("", "insert into " + t + " values (1, $1)"),
                    java.nio.ByteBuffer.allocate(6).putShort((short) 1).putInt(Integer.parseInt(greenOid)).array()));
            byte[] sadBind = RawClient.message('B', concat(cstrings("", ""), java.nio.ByteBuffer.allocate(13)
                    .putShort((short) 0).putShort((short) 1).putInt(3).put("sad".getBytes(java.nio.charset.StandardCharsets.UTF_8))
                    .putShort((short) 0).array()));
            client.send(concat(typedParse, sadBind, execute(""), sync(), RawClient.message('X', new byte[0])));

            await("blue ran the insert before the session ended").until(() ->
                    count(clusters.blue(), "select count(*) from " + t + " where m = 'sad'") == 1);
        }
    }

    /**
     * A statement pgjdbc prepares by name on its first run, whose first run fails on the leader (a unique
     * violation), is still the twin's: the leader keeps a statement whose execution failed, so the next
     * run binds the name on both twins. Before, the follower skipped the failed unit whole, Parse included,
     * and the next run's Bind failed there with 26000: a divergence, green out of sync.
     */
    @Test
    void aStatementWhoseFirstRunFailedOnTheLeaderRunsOnTheTwinNextTime(TestClusters clusters) throws Exception {
        String t = table("first_run_failed");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)",
                "insert into " + t + " values (1)");
        Properties properties = new Properties();
        properties.setProperty("prepareThreshold", "1");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres", null, properties)) {
            proxy.server().routing().start("test", null);
            try (PreparedStatement insert = c.prepareStatement("insert into " + t + " values (?)")) {
                insert.setInt(1, 1);
                assertThatThrownBy(insert::executeUpdate).isInstanceOf(SQLException.class)
                        .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("23505");
                insert.setInt(1, 2);
                assertThat(insert.executeUpdate()).isOne();
            }
            followerStillInSync(proxy);
        }
        for (PgCluster cluster : List.of(clusters.blue(), clusters.green())) {
            assertThat(ClusterData.contents(cluster, t, "id")).as("cluster " + cluster).isEqualTo("(1)\n(2)");
        }
    }

    /**
     * A write prepared with a Describe and nothing run (how pgx and asyncpg prepare every statement, and
     * pgjdbc's parameter metadata) is described by the leader, even at weight 100: the client encodes its
     * parameters and decodes the rows by those types, and the leader runs the write.
     */
    @Test
    void aWriteDescribedWithoutRunningItIsDescribedByTheLeader(TestClusters clusters) throws Exception {
        String t = table("described_write");
        clusters.blue().execute("postgres", "create table " + t + " (id int primary key, n int)");
        clusters.green().execute("postgres", "create table " + t + " (id int primary key, n bigint)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            client.send(concat(parse("s", "insert into " + t + " values (1, $1) returning n"), describeStatement("s"), sync()));
            List<Integer> parameterTypes = new ArrayList<>();
            List<Integer> columnTypes = new ArrayList<>();
            RawClient.Message message;
            while ((message = client.read()).type() != 'Z') {
                java.nio.ByteBuffer body = java.nio.ByteBuffer.wrap(message.body());
                if (message.type() == 't') {
                    for (int i = body.getShort(); i > 0; i--) {
                        parameterTypes.add(body.getInt());
                    }
                } else if (message.type() == 'T') {
                    body.getShort();
                    while (body.get() != 0) { } // the column's name
                    body.position(body.position() + 6);
                    columnTypes.add(body.getInt());
                }
            }
            assertThat(parameterTypes).as("blue's int4, not green's int8").containsExactly(23);
            assertThat(columnTypes).containsExactly(23);
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * A named Parse the leader refused (its transaction had failed) does not reach the follower, whose
     * transaction is still healthy: there it would prepare the name, and the client's next Parse of the
     * same name (legitimate on the leader, which never had it) would fail on the follower, aborting its
     * transaction unseen, and the transaction's commit would diverge.
     */
    @Test
    void aNamedParseTheLeaderRefusedDoesNotReachTheFollower(TestClusters clusters) throws Exception {
        String t = table("refused_parse");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            proxy.server().routing().start("test", null);
            for (String sql : List.of("begin", "insert into " + t + " values (1)", "select 1/0")) {
                client.send(RawClient.query(sql));
                answer(client);
            }
            client.send(concat(parse("q", "select 1"), bind("q"), execute(""), sync()));
            assertThat(answer(client)).as("refused in the failed transaction").contains("25P02");
            assertThat(answerTo(client, "rollback")).isEqualTo("ROLLBACK");

            client.send(RawClient.query("begin"));
            answer(client);
            client.send(concat(parse("q", "insert into " + t + " values (2)"), bind("q"), execute(""), sync()));
            assertThat(answer(client)).isEqualTo("INSERT 0 1");
            assertThat(answerTo(client, "commit")).isEqualTo("COMMIT");
            followerStillInSync(proxy);
        }
        for (PgCluster cluster : List.of(clusters.blue(), clusters.green())) {
            assertThat(ClusterData.contents(cluster, t, "id")).as("cluster " + cluster).isEqualTo("(2)");
        }
    }

    /** The same in shadow mode: the mirror skips the failed insert, not the statement it prepared. */
    @Test
    void aStatementWhoseFirstRunFailedOnTheLeaderIsMirroredNextTimeInShadowMode(TestClusters clusters) throws Exception {
        String t = table("shadow_first_run_failed");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)",
                "insert into " + t + " values (1)");
        Properties properties = new Properties();
        properties.setProperty("prepareThreshold", "1");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres", null, properties)) {
            proxy.server().routing().startShadow("test", null);
            try (PreparedStatement insert = c.prepareStatement("insert into " + t + " values (?)")) {
                insert.setInt(1, 1);
                assertThatThrownBy(insert::executeUpdate).isInstanceOf(SQLException.class);
                insert.setInt(1, 2);
                assertThat(insert.executeUpdate()).isOne();
            }
            await("the mirror wrote the row on green").until(() -> count(clusters.green(), "select count(*) from " + t) == 2);
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
    }

    /**
     * pgjdbc prepares its {@code ROLLBACK} by name once used often enough; when that first happens to end
     * a transaction that failed on the leader, the follower (which the failed statement never reached) is
     * sent a plain {@code ROLLBACK}, and must still get the named statement for the next transaction's.
     */
    @Test
    void aRollbackPreparedWhileTheTransactionFailedIsTheTwinsToo(TestClusters clusters) throws Exception {
        String t = table("rollback_named");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        Properties properties = new Properties();
        properties.setProperty("prepareThreshold", "1");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres", null, properties);
             Statement s = c.createStatement()) {
            proxy.server().routing().start("test", null);
            c.setAutoCommit(false);
            s.executeUpdate("insert into " + t + " values (1)");
            assertThatThrownBy(() -> s.executeQuery("select 1/0")).isInstanceOf(SQLException.class);
            c.rollback();
            for (int id = 2; id <= 4; id++) {
                s.executeUpdate("insert into " + t + " values (" + id + ")");
                if (id % 2 == 0) {
                    c.rollback();
                } else {
                    c.commit();
                }
            }
            c.setAutoCommit(true);
            followerStillInSync(proxy);
        }
        for (PgCluster cluster : List.of(clusters.blue(), clusters.green())) {
            assertThat(ClusterData.contents(cluster, t, "id")).as("cluster " + cluster).isEqualTo("(3)");
        }
    }

    /**
     * Green's own defaults (its configuration, {@code ALTER DATABASE ... SET}) for how a date and a time
     * without an offset read are not the session's: its twin is given the leader's, so the literals a libpq
     * client sends (which names neither setting when it logs in) are stored as the same values on both,
     * also after the session's {@code DISCARD ALL} and {@code RESET ALL} (a pool's reset), and for a
     * session that logged in before {@code start}, whose twin is made from a snapshot.
     */
    @Test
    void aTwinReadsDatesAndTimesAsTheLeaderDoesWhateverGreensDefaults(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String database = table("readings");
        blue.execute("postgres", "create database " + database);
        green.execute("postgres", "create database " + database,
                "alter database " + database + " set timezone = 'Pacific/Chatham'",
                "alter database " + database + " set datestyle = 'SQL, DMY'");
        try {
            for (PgCluster cluster : List.of(blue, green)) {
                cluster.execute(database, "create table t (id int primary key, at timestamptz not null, on_day date not null)");
            }
            try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
                try (RawClient before = new RawClient(proxy.port())) {
                    before.startup(Map.of("user", blue.superuser(), "database", database)).readUntil('Z');
                    before.send(RawClient.query("select 1"));
                    before.firstValue();
                    proxy.server().routing().start("test", null);
                    try (RawClient client = new RawClient(proxy.port())) {
                        client.startup(Map.of("user", blue.superuser(), "database", database)).readUntil('Z');
                        int id = 0;
                        for (String reset : List.of("select 1", "discard all", "reset all")) {
                            for (RawClient session : List.of(client, before)) {
                                session.send(RawClient.query(reset));
                                assertThat(session.firstValue()).as(reset).doesNotStartWith("error");
                                session.send(RawClient.query("insert into t values (" + ++id
                                        + ", '2026-03-04 10:00', '03/04/2026')"));
                                assertThat(session.firstValue()).as("the insert's answer").isEqualTo("no row");
                            }
                        }
                    }
                }
                await("the write units over").until(() -> proxy.server().routing().barrier().holders().isEmpty());
                assertThat(proxy.server().migration().divergences()).isEmpty();
                assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            }
            String stored = "select string_agg(id || ' ' || extract(epoch from at)::bigint || ' '"
                    + " || to_char(on_day, 'YYYY-MM-DD'), ', ' order by id) from t";
            assertThat(valueIn(green, database, stored)).as("green, read directly").isEqualTo(valueIn(blue, database, stored));
            assertThat(valueIn(blue, database, stored)).startsWith("1 ").contains("6 ").doesNotContain("2026-04-03");
        } finally {
            for (PgCluster cluster : List.of(blue, green)) {
                cluster.execute("postgres", "drop database " + database + " with (force)");
            }
        }
    }

    /** Enum {@code type} ('happy', 'sad') on both clusters, under another OID on each. */
    private static void enumWithAnOidOfItsOwnOnEachCluster(TestClusters clusters, String type) throws SQLException {
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create type " + type + " as enum ('happy', 'sad')");
        String oid = "select oid from pg_type where typname = '" + type + "'";
        while (count(clusters.blue(), oid) == count(clusters.green(), oid)) {
            clusters.green().execute("postgres", "create type " + type + "_filler as enum ('x')",
                    "drop type " + type, "create type " + type + " as enum ('happy', 'sad')", "drop type " + type + "_filler");
        }
    }

    /** Once the write units under way are over: no divergence, and the follower still in sync. */
    private static void followerStillInSync(TestProxy proxy) {
        await("the write units over").until(() -> proxy.server().routing().barrier().holders().isEmpty());
        assertThat(proxy.server().migration().divergences()).isEmpty();
        assertThat(proxy.server().routing().current().followerInSync()).isTrue();
    }

    private static String valueIn(PgCluster cluster, String database, String sql) throws SQLException {
        try (Connection c = cluster.connect(database); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * Custom settings a session made before dual-write began (what a row-level security policy or a column
     * default reads: {@code SET app.user_id}, {@code set_config} sent by a prepared statement) are its twin's
     * too: pg_settings does not list them, so the proxy learns their names from the SQL it relays. Without
     * them green's {@code current_setting} fails and green falls out of sync.
     */
    @Test
    void customSettingsMadeBeforeStartAreTheTwinsToo(TestClusters clusters) throws Exception {
        String t = table("owned");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key,"
                + " owner text not null default current_setting('app.user_id'), role text)");
        Properties properties = new Properties();
        properties.setProperty("prepareThreshold", "1");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres", null, properties);
             Statement s = c.createStatement();
             PreparedStatement setRole = c.prepareStatement("select set_config('App.Role', ?, false)")) {
            s.execute("SET app.user_id = 'alice'");
            setRole.setString(1, "auditor");
            setRole.executeQuery().close();
            s.execute("set app.unused = 'x'; reset app.unused");
            proxy.server().routing().start("test", null);

            s.executeUpdate("insert into " + t + " (id, role) values (1, current_setting('app.role'))");
            s.execute("SET app.user_id = 'bob'"); // runs on both twins now
            s.executeUpdate("insert into " + t + " (id, role) values (2, current_setting('app.unused'))");

            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
        for (PgCluster cluster : List.of(clusters.blue(), clusters.green())) {
            assertThat(ClusterData.contents(cluster, t, "id")).as("cluster " + cluster)
                    .isEqualTo("(1,alice,auditor)\n(2,bob,\"\")"); // a setting reset is defined, and empty
        }
    }

    /**
     * Custom settings whose first part is a keyword of SET ({@code session.user_id}, {@code local.note}: both
     * session settings), and one a SQL {@code PREPARE}d {@code set_config} sets when executed, are the twin's
     * too.
     */
    @Test
    void customSettingsNamedLikeKeywordsOrSetByAPreparedStatementAreTheTwinsToo(TestClusters clusters) throws Exception {
        String t = table("owned");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key,"
                + " owner text not null default current_setting('session.user_id'),"
                + " note text not null default current_setting('local.note'),"
                + " tag text not null default current_setting('app.tag'))");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres");
             Statement s = c.createStatement()) {
            s.execute("SET session.user_id = 'alice'");
            s.execute("SET local.note = 'kept'");
            s.execute("PREPARE tag(text) AS SELECT set_config('app.tag', $1, false)");
            s.execute("EXECUTE tag('blue-and-green')");
            proxy.server().routing().start("test", null);

            s.executeUpdate("insert into " + t + " (id) values (1)");

            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
        for (PgCluster cluster : List.of(clusters.blue(), clusters.green())) {
            assertThat(ClusterData.contents(cluster, t, "id")).as("cluster " + cluster)
                    .isEqualTo("(1,alice,kept,blue-and-green)");
        }
    }

    /**
     * A transaction made read-only after its BEGIN ({@code SET TRANSACTION READ ONLY}) is read-only on both
     * twins: a write the leader refuses (25006) is refused by the follower as well, not a divergence.
     */
    @Test
    void aTransactionMadeReadOnlyAfterItsBeginIsReadOnlyOnBothTwins(TestClusters clusters) throws Exception {
        String t = table("ro");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres");
             Statement s = c.createStatement()) {
            proxy.server().routing().start("test", null);
            c.setAutoCommit(false);
            s.execute("SET TRANSACTION READ ONLY");

            assertThatThrownBy(() -> s.executeUpdate("insert into " + t + " values (1)"))
                    .isInstanceOf(SQLException.class).extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("25006");
            c.rollback();

            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * {@code pg_dump --jobs}: one session exports a snapshot, others import it. The id is the leader's (the
     * export runs there first, and its answer is the client's), so an import runs on the leader alone, and
     * the importing transaction's reads are the leader's, whatever the weight: green would refuse the id,
     * a false divergence that would take the migration back.
     */
    @Test
    void aSnapshotAnotherSessionExportedIsImportedOnTheLeaderAlone(TestClusters clusters) throws Exception {
        String t = table("snap");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection exporter = proxy.connect("postgres");
             Statement e = exporter.createStatement();
             Connection importer = proxy.connect("postgres");
             Statement i = importer.createStatement();
             RawClient pipelined = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            String id = exportSnapshot(exporter, e);
            ClusterData.onBoth(clusters.blue(), clusters.green(), "insert into " + t + " values (1)"); // after the snapshot

            importer.setAutoCommit(false);
            i.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
            i.execute("SET TRANSACTION SNAPSHOT '" + id + "'");
            try (ResultSet rs = i.executeQuery("select count(*) from " + t)) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).as("the row inserted after the snapshot is not seen").isZero();
            }
            importer.commit();

            // a BEGIN and the import in one batch (a driver that sends its BEGIN with the first statement):
            // the follower opens the transaction, and is not sent the import
            pipelined.send(concat(parse("", "begin isolation level repeatable read read only"), bind(""), execute(""),
                    parse("", "set transaction snapshot '" + id + "'"), bind(""), execute(""), sync()));
            assertThat(answer(pipelined)).isEqualTo("SET");
            assertThat(answerTo(pipelined, "select count(*) from " + t)).isEqualTo("SELECT 1");
            assertThat(answerTo(pipelined, "commit")).isEqualTo("COMMIT");
            exporter.commit();

            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * The same batch in shadow mode: the follower is sent its BEGIN alone, as under sync dual-write. Before, it was sent
     * the import too, refused the leader's snapshot id, and a divergence was recorded.
     */
    @Test
    void inShadowModeTooASnapshotImportedWithItsBeginIsNotSentToTheFollower(TestClusters clusters) throws Exception {
        String t = table("snap_shadow");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection exporter = proxy.connect("postgres");
             Statement e = exporter.createStatement();
             RawClient pipelined = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            proxy.server().routing().startShadow("test", null);
            String id = exportSnapshot(exporter, e);
            ClusterData.onBoth(clusters.blue(), clusters.green(), "insert into " + t + " values (1)"); // after the snapshot

            pipelined.send(concat(parse("", "begin isolation level repeatable read"), bind(""), execute(""),
                    parse("", "set transaction snapshot '" + id + "'"), bind(""), execute(""), sync()));
            assertThat(answer(pipelined)).isEqualTo("SET");
            pipelined.send(RawClient.query("select count(*) from " + t));
            assertThat(pipelined.firstValue()).as("the row inserted after the snapshot is not seen").isEqualTo("0");
            assertThat(answerTo(pipelined, "insert into " + t + " values (2)")).isEqualTo("INSERT 0 1");
            assertThat(answerTo(pipelined, "commit")).isEqualTo("COMMIT");
            exporter.commit();

            // the follower runs the session's writes in order, after the client has its answers
            await().atMost(Duration.ofSeconds(10)).until(() -> count(clusters.green(), "select count(*) from " + t) == 2);
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(count(clusters.blue(), "select count(*) from " + t)).isEqualTo(2);
        }
    }

    private static String exportSnapshot(Connection exporter, Statement e) throws SQLException {
        exporter.setAutoCommit(false);
        e.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        try (ResultSet rs = e.executeQuery("select pg_export_snapshot()")) {
            assertThat(rs.next()).isTrue();
            return rs.getString(1);
        }
    }

    /**
     * Two {@code COPY … FROM STDIN} in one query string ({@code psql -c 'COPY a FROM STDIN; COPY b FROM
     * STDIN'}): the second copy waits for its own data, not taken as sent already because the unit holds
     * the first copy's CopyDone.
     */
    @Test
    void twoCopiesInOneQueryEachTakeTheirOwnData(TestClusters clusters) throws Exception {
        String a = table("copy_a");
        String b = table("copy_b");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + a + " (id int primary key)");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + b + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            proxy.server().routing().start("test", null);

            client.send(RawClient.query("copy " + a + " from stdin; copy " + b + " from stdin"));
            client.readUntil('G');
            client.send(RawClient.message('d', "1\n2\n".getBytes(StandardCharsets.UTF_8)));
            client.send(RawClient.message('c', new byte[0]));
            client.readUntil('G');
            client.send(RawClient.message('d', "3\n".getBytes(StandardCharsets.UTF_8)));
            client.send(RawClient.message('c', new byte[0]));
            client.readUntil('Z');

            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
        ClusterData.bothHold(clusters.blue(), clusters.green(), a, "(1)\n(2)");
        ClusterData.bothHold(clusters.blue(), clusters.green(), b, "(3)");
    }

    /**
     * A COPY the client fails (CopyFail) ends with the server's 57014, which is the client's doing, not a
     * cancel of the leader's own: in a string with a SAVEPOINT before it, the follower runs the same and
     * fails alike, where it was a divergence ("the leader ran part of the unit before a transient error").
     */
    @Test
    void aCopyTheClientFailsAfterASavepointIsNoDivergence(TestClusters clusters) throws Exception {
        String t = table("copy_fail");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            proxy.server().routing().start("test", null);

            client.send(RawClient.query("begin"));
            client.readUntil('Z');
            client.send(RawClient.query("savepoint s; copy " + t + " from stdin"));
            client.readUntil('G');
            client.send(RawClient.message('d', "1\n".getBytes(StandardCharsets.UTF_8)));
            client.send(RawClient.message('f', "changed my mind\0".getBytes(StandardCharsets.UTF_8)));
            assertThat(client.readUntil('E').sqlState()).isEqualTo("57014");
            client.readUntil('Z');
            client.send(RawClient.query("rollback to savepoint s; insert into " + t + " values (2); commit"));
            client.readUntil('Z');

            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        ClusterData.bothHold(clusters.blue(), clusters.green(), t, "(2)");
    }

    /**
     * A COPY whose client sends a CopyData message per row (libpq's PQputCopyData, psql's \\copy): the rows
     * the follower is given, merged into larger messages, are the same rows in the same order.
     */
    @Test
    void aCopySentARowPerMessageReachesTheFollowerWhole(TestClusters clusters) throws Exception {
        String t = table("copy_rows");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key, v text)");
        int rows = 20_000;
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
            proxy.server().routing().start("test", null);

            client.send(RawClient.query("copy " + t + " from stdin"));
            client.readUntil('G');
            java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
            for (int i = 1; i <= rows; i++) {
                all.writeBytes(RawClient.message('d', (i + "\t" + "v".repeat(i % 7) + "\n").getBytes(StandardCharsets.UTF_8)));
            }
            all.writeBytes(RawClient.message('c', new byte[0]));
            client.send(all.toByteArray());
            assertThat(new String(client.readUntil('C').body(), StandardCharsets.UTF_8)).isEqualTo("COPY " + rows + "\0");
            client.readUntil('Z');

            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        String sum = "select count(*) || '|' || sum(id) || '|' || sum(length(v)) || '|' || bool_and(length(v) = id % 7)"
                + " from " + t;
        await().atMost(Duration.ofSeconds(10)).until(() -> ClusterData.text(clusters.green(), sum).equals(
                ClusterData.text(clusters.blue(), sum)));
        assertThat(ClusterData.text(clusters.blue(), sum)).startsWith(rows + "|");
    }

    /** A session that set a setting by a name its SQL does not spell out is pinned: its twin could not be given it. */
    @Test
    void aSessionThatSetASettingByAParameterNameIsPinned(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres");
             PreparedStatement set = c.prepareStatement("select set_config(?, ?, false)");
             Statement s = c.createStatement()) {
            set.setString(1, "app.user_id");
            set.setString(2, "alice");
            set.executeQuery().close();
            proxy.server().routing().start("test", null);

            s.execute("select 1");

            assertThat(proxy.server().migration().pinnedSessions()).isOne();
        }
    }

    /** A session that set more custom settings than the proxy follows is pinned: its twin could not have them all. */
    @Test
    void aSessionWithMoreCustomSettingsThanFollowedIsPinned(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres");
             Statement s = c.createStatement()) {
            for (int i = 0; i <= 64; i++) {
                s.execute("set app.s" + i + " = 'x'");
            }
            proxy.server().routing().start("test", null);

            s.execute("select 1");

            assertThat(proxy.server().migration().pinnedSessions()).isOne();
        }
    }

    /**
     * pg_prepared_statements gives a SQL PREPARE's whole query string; sent with an EXECUTE in one query,
     * replaying that string would run the insert on the twin again. Only the PREPARE is replayed.
     */
    @Test
    void aSqlPrepareSentWithMoreStatementsIsReplayedAlone(TestClusters clusters) throws Exception {
        String t = table("prepared_with");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int)");
        Properties simple = new Properties();
        simple.setProperty("preferQueryMode", "simple");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres", null, simple); Statement s = c.createStatement()) {
            s.execute("prepare p_ins as insert into " + t + " values (1); execute p_ins");
            proxy.server().routing().start("test", null);
            s.execute("execute p_ins"); // the twin is made from a snapshot first, then both run it
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        assertThat(count(clusters.blue(), "select count(*) from " + t)).isEqualTo(2);
        assertThat(count(clusters.green(), "select count(*) from " + t)).as("only the insert run under dual-write").isEqualTo(1);
    }

    /**
     * Sessions idle through the migration (a pooled connection, a listener that never sends a query) do not
     * wait for their next statement to leave blue: once finalized, none holds a connection to blue, so blue
     * can be stopped without a client losing its connection. The one idle since before {@code start} moves
     * its settings and its channels to green; the one that wrote under dual-write keeps its settings too.
     */
    @Test
    void sessionsIdleThroughTheMigrationLeaveBlueAtFinalizeWithoutAStatement(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("idle_through");
        String channel = table("idle_channel");
        String pooled = table("pooled");
        String writer = table("writer");
        ClusterData.onBoth(blue, green, "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection before = proxy.connect("postgres", null, ClusterData.properties("ApplicationName", pooled));
             Connection during = proxy.connect("postgres", null, ClusterData.properties("ApplicationName", writer))) {
            before.createStatement().execute("set work_mem = '7MB'");
            before.createStatement().execute("listen " + channel);
            proxy.server().routing().start("test", null);
            during.createStatement().execute("set work_mem = '9MB'");
            during.createStatement().execute("insert into " + t + " values (1)");

            proxy.server().routing().setWeight("test", 100, null);
            proxy.server().routing().cutover("test", null);
            proxy.server().routing().finalizeMigration("test", null);

            String onBlue = "select count(*) from pg_stat_activity where application_name in ('" + pooled + "', '"
                    + writer + "')";
            await("no session left on blue").until(() -> count(blue, onBlue) == 0);

            green.execute("postgres", "notify " + channel + ", 'on green'");
            PGNotification[] heard = before.unwrap(PGConnection.class).getNotifications(10_000);
            assertThat(heard).isNotNull();
            assertThat(heard).extracting(PGNotification::getParameter).containsExactly("on green");
            for (Connection c : List.of(before, during)) {
                assertThat(serverVersion(c)).isGreaterThanOrEqualTo(180000);
            }
            try (ResultSet rs = before.createStatement().executeQuery("show work_mem")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("7MB");
            }
            try (ResultSet rs = during.createStatement().executeQuery("show work_mem")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("9MB");
            }
        }
    }

    /**
     * A session whose login to blue is under way when the migration is cut over and finalized (blue's
     * postmaster is stopped, so the login waits in its listen queue) does not stay on blue once it has
     * logged in: it moves to green without a statement, and blue can be stopped.
     */
    @Test
    void aSessionLoggingInToBlueWhileTheMigrationIsFinalizedMovesToGreen(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        String application = table("late_login");
        try (TestProxy proxy = TestProxy.in(blue).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            long postmaster = blue.pid();
            try (RawClient client = new RawClient(proxy.port())) {
                ClusterData.signal("STOP", postmaster);
                try {
                    client.startup(Map.of("user", "postgres", "database", "postgres", "application_name", application));
                    await("the login reached blue").until(() -> proxy.server().backendConnections("blue") == 1);
                    proxy.server().routing().cutover("test", null);
                    proxy.server().routing().finalizeMigration("test", null);
                } finally {
                    ClusterData.signal("CONT", postmaster);
                }
                client.readUntil('Z'); // logged in, and sends nothing more

                await("the session left blue").until(() -> proxy.server().backendConnections("blue") == 0);
                assertThat(count(blue, "select count(*) from pg_stat_activity where application_name = '"
                        + application + "'")).isZero();
                client.send(RawClient.query("select current_setting('server_version_num')"));
                assertThat(Integer.parseInt(client.firstValue())).isGreaterThanOrEqualTo(180000);
            }
        }
    }

    /**
     * A session's own NOTIFY under dual-write runs in a transaction the proxy wraps around it; the server
     * delivers the notification after that COMMIT, before its ReadyForQuery, and it is the client's.
     */
    @Test
    void aSessionHearsItsOwnNotifyUnderDualWrite(TestClusters clusters) throws Exception {
        String channel = table("self_heard");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres")) {
            proxy.server().routing().start("test", null);
            c.createStatement().execute("listen " + channel);
            c.createStatement().execute("notify " + channel + ", 'to myself'");

            PGNotification[] heard = c.unwrap(PGConnection.class).getNotifications(10_000);
            assertThat(heard).isNotNull();
            assertThat(heard).extracting(PGNotification::getParameter).containsExactly("to myself");
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
    }

    /**
     * An idle session's channels start moving to green at cutover. A statement it sends right after finalize
     * waits for them to arrive there rather than go to green, alone, before green listens. Blue's backend for
     * the session is stopped here, so the move waits for blue's list of the channels.
     */
    @Test
    void aStatementRightAfterFinalizeWaitsForTheChannelsMovingSinceCutover(TestClusters clusters) throws Exception {
        String application = table("moving_channels");
        String channel = table("moving");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres", null, ClusterData.properties("ApplicationName", application))) {
            proxy.server().routing().start("test", null);
            c.createStatement().execute("listen " + channel);
            proxy.server().routing().setWeight("test", 100, null);
            long onBlue = count(clusters.blue(), "select pid from pg_stat_activity where application_name = '"
                    + application + "'");
            CompletableFuture<Integer> version;
            ClusterData.signal("STOP", onBlue);
            try {
                proxy.server().routing().cutover("test", null);
                proxy.server().routing().finalizeMigration("test", null);
                version = CompletableFuture.supplyAsync(() -> {
                    try {
                        return serverVersion(c);
                    } catch (SQLException e) {
                        throw new java.util.concurrent.CompletionException(e);
                    }
                });
                await("the statement waits for the channels").during(Duration.ofSeconds(1))
                        .atMost(Duration.ofSeconds(3)).until(() -> !version.isDone());
            } finally {
                ClusterData.signal("CONT", onBlue);
            }

            assertThat(version.get(10, TimeUnit.SECONDS)).isGreaterThanOrEqualTo(180000);
            clusters.green().execute("postgres", "notify " + channel + ", 'on green'");
            PGNotification[] heard = c.unwrap(PGConnection.class).getNotifications(10_000);
            assertThat(heard).isNotNull();
            assertThat(heard).extracting(PGNotification::getParameter).containsExactly("on green");
        }
    }

    @Test
    void aSessionThatOnlyListensKeepsItsChannelsThroughCutoverAndFinalize(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (Connection c = proxy.connect("postgres")) {
                c.createStatement().execute("listen bg_finalized");
                proxy.server().routing().setWeight("test", 100, null);
                proxy.server().routing().cutover("test", null);
                proxy.server().routing().finalizeMigration("test", null);

                // the session's first unit since blue led: it goes back to relaying, on green, listening
                assertThat(serverVersion(c)).isGreaterThanOrEqualTo(180000);
                clusters.green().execute("postgres", "notify bg_finalized, 'after finalize'");
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    c.createStatement().execute("select 1");
                    PGNotification[] notifications = c.unwrap(PGConnection.class).getNotifications();
                    assertThat(notifications).isNotNull();
                    assertThat(notifications).extracting(PGNotification::getParameter).contains("after finalize");
                });
            }
        }
    }

    @Test
    void listenMovesToGreenAtCutover(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (Connection c = proxy.connect("postgres")) {
                c.createStatement().execute("listen bg_moves");
                proxy.server().routing().setWeight("test", 100, null);
                proxy.server().routing().cutover("test", null);
                assertThat(serverVersion(c)).isGreaterThanOrEqualTo(180000); // a unit after cutover moves the session
                clusters.green().execute("postgres", "notify bg_moves, 'from green'");
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    c.createStatement().execute("select 1");
                    PGNotification[] notifications = c.unwrap(PGConnection.class).getNotifications();
                    assertThat(notifications).isNotNull();
                    assertThat(notifications).extracting(PGNotification::getParameter).contains("from green");
                });
            }
        }
    }

    /**
     * A cutover reopens the write barrier only once the channels of the sessions that listen are on green: the
     * moment the command returns, the listening session's green backend has run its LISTEN. Before, the barrier
     * reopened as the channels began to move, and a write held at the barrier (its NOTIFY) could commit on green
     * before the LISTEN there: the notification was lost, green never sending it and blue's copy, no longer the
     * leader's, dropped.
     */
    @Test
    void aCutoverReopensTheBarrierOnceTheListenersChannelsAreOnGreen(TestClusters clusters) throws Exception {
        String application = table("listener_app");
        Properties properties = new Properties();
        properties.setProperty("ApplicationName", application);
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres", null, properties);
             Connection onGreen = clusters.green().connect("postgres");
             PreparedStatement listening = onGreen.prepareStatement("select count(*) from pg_stat_activity"
                     + " where application_name = ? and state = 'idle' and query like 'UNLISTEN *;LISTEN %'")) {
            proxy.server().routing().start("test", null);
            c.createStatement().execute("listen bg_settled");
            proxy.server().routing().setWeight("test", 100, null);
            listening.setString(1, application);

            proxy.server().routing().cutover("test", null);

            try (ResultSet rs = listening.executeQuery()) { // at once: a connection made now would give the move time
                rs.next();
                assertThat(rs.getLong(1)).as("the listener's LISTEN has run on green").isOne();
            }
            clusters.green().execute("postgres", "notify bg_settled, 'after cutover'");
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                c.createStatement().execute("select 1");
                PGNotification[] notifications = c.unwrap(PGConnection.class).getNotifications();
                assertThat(notifications).isNotNull();
                assertThat(notifications).extracting(PGNotification::getParameter).contains("after cutover");
            });
        }
    }

    @Test
    void aSessionWithATempTableBeforeStartIsPinnedToTheLeaderForReads(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            try (Connection c = proxy.connect("postgres")) {
                c.createStatement().execute("create temp table scratch (x int)");
                proxy.server().routing().start("test", null);
                proxy.server().routing().setWeight("test", 100, null);
                assertThat(serverVersion(c)).isLessThan(170000);
                try (ResultSet rs = c.createStatement().executeQuery("select count(*) from scratch")) {
                    rs.next();
                    assertThat(rs.getLong(1)).isZero();
                }
            }
            assertThat(proxy.server().migration().pinnedSessions()).isEqualTo(1);
        }
    }

    /**
     * A temporary table made before {@code start} that hides a permanent table of the same name: on green, where
     * the session's twin has no temporary table, the name finds the permanent one, and a statement that runs on
     * both twins ({@code TRUNCATE} of it beside another table) emptied green's permanent table unseen, the command
     * tags agreeing. Now the session ends when its twin is made, with 57P01 naming the table, before anything of the
     * waiting unit runs; a new session's temporary table is made on both, and green stays in sync. The table is
     * found as the session finds it: in {@code public} on the default {@code search_path}, and in a schema of the
     * application's that the session's own {@code search_path} names (asked before the twin had that path, the
     * check found nothing there and the session went on).
     */
    @ParameterizedTest(name = "in the session''s schema: {0}")
    @ValueSource(booleans = {false, true})
    void aTemporaryTableHidingAPermanentOneOnGreenEndsTheSessionBeforeItsTwinRunsAnything(boolean ownSchema,
            TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("hidden_by_temp");
        String other = t + "_other";
        String schema = ownSchema ? t + "_app" : "public";
        if (ownSchema) {
            ClusterData.onBoth(blue, green, "create schema " + schema);
        }
        ClusterData.onBoth(blue, green, "create table " + schema + "." + t + " (id int primary key)",
                "insert into " + schema + "." + t + " values (1), (2)",
                "create table public." + other + " (id int)", "insert into public." + other + " values (1)");
        String path = ownSchema ? "set search_path = " + schema + ", public" : "set search_path = public";
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection session = proxy.connect(blue.superuser());
             Statement s = session.createStatement()) {
            s.execute(path);
            s.execute("create temp table " + t + " (like " + schema + "." + t + ")");
            s.execute("insert into " + t + " values (7)");
            proxy.server().routing().start("test", null);

            assertThatThrownBy(() -> s.execute("truncate " + t + ", " + other))
                    .isInstanceOfSatisfying(SQLException.class, e -> {
                        assertThat(e.getSQLState()).isEqualTo("57P01");
                        assertThat(e.getMessage()).contains("temporary relation " + t).contains("cluster green");
                    });
            for (PgCluster cluster : new PgCluster[] {blue, green}) {
                assertThat(count(cluster, "select count(*) from " + schema + "." + t)).as("%s", cluster).isEqualTo(2);
                assertThat(count(cluster, "select count(*) from public." + other)).as("%s", cluster).isEqualTo(1);
            }

            try (Connection next = proxy.connect(blue.superuser()); Statement n = next.createStatement()) {
                n.execute(path);
                n.execute("create temp table " + t + " (like " + schema + "." + t + ")");
                n.execute("insert into " + t + " values (7)");
                n.execute("truncate " + t + ", " + other);
            }
            for (PgCluster cluster : new PgCluster[] {blue, green}) {
                assertThat(count(cluster, "select count(*) from " + schema + "." + t)).as("%s", cluster).isEqualTo(2);
                assertThat(count(cluster, "select count(*) from public." + other)).as("%s", cluster).isZero();
            }
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * A session pinned by a temporary table and a WITH HOLD cursor it made before {@code start} goes on using
     * them: what works on them alone runs on blue alone (green's twin lacks them and would fail it, a
     * divergence), also inside a transaction pgjdbc begins in the same batch; its other writes reach both
     * clusters; and once it has dropped the table and made one of the same name on both twins, that one is
     * both twins' again. Green stays in sync throughout.
     */
    @ParameterizedTest(name = "preferQueryMode={0}")
    @ValueSource(strings = {"extended", "simple"})
    void whatWorksOnStateOnlyTheLeaderHoldsRunsThereAlone(String queryMode, TestClusters clusters) throws Exception {
        String t = table("leader_only");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres", null, ClusterData.properties("preferQueryMode", queryMode));
             Statement s = c.createStatement()) {
            s.execute("create temp table scratch (id int primary key, v text)");
            s.execute("insert into scratch values (1, 'a'), (2, 'b')");
            s.execute("declare held cursor with hold for select id from scratch order by id");
            proxy.server().routing().start("test", null);
            s.executeUpdate("insert into " + t + " values (1)"); // its twin, made now, lacks both: pinned
            assertThat(proxy.server().migration().pinnedSessions()).isOne();

            assertThat(s.executeUpdate("insert into scratch values (3, 'c')")).isOne();
            assertThat(s.executeUpdate("update scratch set v = 'z' where id = 1")).isOne();
            try (ResultSet rs = s.executeQuery("fetch 2 from held")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(1);
            }
            c.setAutoCommit(false); // pgjdbc sends its BEGIN with the DELETE
            assertThat(s.executeUpdate("delete from scratch where id = 2")).isOne();
            s.executeUpdate("insert into " + t + " values (2)");
            c.commit();
            c.setAutoCommit(true);
            s.execute("close held");
            s.execute("drop table scratch");
            s.execute("create temp table scratch (id int)");
            s.execute("insert into scratch values (9)");
            s.executeUpdate("insert into " + t + " select id from scratch");

            ClusterData.bothHold(clusters.blue(), clusters.green(), t, "(1)\n(2)\n(9)");
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * A session whose advisory lock, taken before {@code start}, lived on blue alone is ended at cutover only
     * if it still holds it: one that released it goes on under green. Before, the cutover ended it with
     * 57P01 for a lock it no longer held.
     */
    @ParameterizedTest(name = "lock still held: {0}")
    @ValueSource(booleans = {false, true})
    void aSessionPinnedBeforeStartIsEndedAtCutoverOnlyIfItStillHoldsWhatPinnedIt(boolean stillHeld, TestClusters clusters)
            throws Exception {
        String t = table("unpin_cutover");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres");
             Statement s = c.createStatement()) {
            s.execute("select pg_advisory_lock(4343)");
            proxy.server().routing().start("test", null);
            s.executeUpdate("insert into " + t + " values (1)"); // its twin, made now, cannot have the lock: pinned
            assertThat(proxy.server().migration().pinnedSessions()).isOne();
            if (!stillHeld) {
                s.execute("select pg_advisory_unlock(4343)");
            }
            proxy.server().routing().setWeight("test", 100, null);
            proxy.server().routing().cutover("test", null);

            if (stillHeld) {
                assertThatThrownBy(() -> s.executeUpdate("insert into " + t + " values (2)"))
                        .isInstanceOf(SQLException.class).extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("57P01");
            } else {
                s.executeUpdate("insert into " + t + " values (2)");
                assertThat(serverVersion(c)).as("served by green, the leader now").isGreaterThanOrEqualTo(180000);
                ClusterData.bothHold(clusters.blue(), clusters.green(), t, "(1)\n(2)");
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
    }

    /**
     * Blue's transaction waits idle while green runs what blue has answered: an autocommit write the proxy wrapped,
     * before the proxy's COMMIT; a transaction's statements, before the client's COMMIT reaches blue. With
     * {@code idle_in_transaction_session_timeout} on blue shorter than green's time, blue ended the session (25P03)
     * though its client waited on the proxy; the proxy now sends blue a lone Sync every half second of such a wait.
     * A client idle in its own transaction is still ended by blue, as by a server alone.
     */
    @Test
    void blueDoesNotEndASessionWhoseTransactionWaitsOnGreen(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("idle_tx");
        String role = idleTransactionsEndedAfter2s(blue, green, blue, t);
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection c = proxy.connect(role); Statement s = c.createStatement()) {
            proxy.server().routing().start("test", null);

            // each statement sleeps 3.5 s on blue, then as long on green, blue's transaction idle meanwhile
            assertThat(s.executeUpdate("insert into " + t + " select 1 from pg_sleep(3.5)")).isOne();
            c.setAutoCommit(false);
            assertThat(s.executeUpdate("insert into " + t + " select 2 from pg_sleep(3.5)")).isOne();
            c.commit();

            ClusterData.bothHold(blue, green, t, "(1)\n(2)");
            followerStillInSync(proxy);
            // a client idle in its own transaction gets no help
            s.executeUpdate("insert into " + t + " values (3)");
            await().atMost(Duration.ofSeconds(20)).until(() -> c.isClosed()
                    || ClusterData.number(blue, "select count(*) from pg_stat_activity where usename = '" + role + "'") == 0);
            assertThatThrownBy(c::commit).isInstanceOf(SQLException.class);
            assertThat(ClusterData.number(blue, "select count(*) from " + t)).isEqualTo(2);
        }
    }

    /**
     * The other way round: a transaction of more than 16 statements sends green its first ones before it ends, and
     * green, having run them, waits idle while blue runs the next. With {@code idle_in_transaction_session_timeout} on
     * green shorter than that statement, green ended its connection (green out of sync); it is now sent a lone Sync
     * every half second of such a wait too.
     */
    @Test
    void greenDoesNotEndATransactionThatWaitsOnBlue(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("idle_green");
        String role = idleTransactionsEndedAfter2s(blue, green, green, t);
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection c = proxy.connect(role); Statement s = c.createStatement()) {
            proxy.server().routing().start("test", null);
            c.setAutoCommit(false);
            for (int i = 1; i <= 20; i++) {
                s.executeUpdate("insert into " + t + " values (" + i + ")"); // 16 of them reach green at once
            }
            assertThat(s.executeUpdate("insert into " + t + " select 21 from pg_sleep(3.5)")).isOne();
            c.commit();

            await().atMost(Duration.ofSeconds(10)).until(() -> ClusterData.number(green, "select count(*) from " + t) == 21);
            assertThat(ClusterData.number(blue, "select count(*) from " + t)).isEqualTo(21);
            followerStillInSync(proxy);
        }
    }

    /**
     * A green that ends the twin's connection says why first, in a FATAL error (here {@code pg_terminate_backend}'s
     * 57P01, while the twin's transaction idles after the first 16 of its statements): green out of sync is recorded
     * with what it said, beside how the connection ended, which alone told nothing of why.
     */
    @Test
    void aFollowerThatEndsItsConnectionIsRecordedWithWhatItSaid(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("terminated");
        ClusterData.onBoth(blue, green, "create table " + t + " (id int)");
        Properties named = new Properties();
        named.setProperty("ApplicationName", t);
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection c = proxy.connect(blue.superuser(), null, named); Statement s = c.createStatement()) {
            proxy.server().routing().start("test", null);
            c.setAutoCommit(false);
            for (int i = 1; i <= 20; i++) {
                s.executeUpdate("insert into " + t + " values (" + i + ")"); // 16 of them reach green at once
            }
            String twin = "select pid from pg_stat_activity where application_name = '" + t + "' and state = 'idle in transaction'";
            await().atMost(Duration.ofSeconds(10)).until(() -> !ClusterData.numbers(green, twin).isEmpty());
            green.execute("postgres", "select pg_terminate_backend(pid) from (" + twin + ") twin");

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(proxy.server().routing().history())
                    .anySatisfy(entry -> {
                        assertThat(entry.command()).isEqualTo("follower out of sync");
                        assertThat(entry.reason()).contains("cluster green closed the connection").contains("FATAL 57P01")
                                .contains("terminating connection due to administrator command");
                    }));
            c.commit(); // blue's transaction is the client's, and goes on
            assertThat(ClusterData.number(blue, "select count(*) from " + t)).isEqualTo(20);
        }
    }

    /**
     * And while the lane holds a transaction's statements back: green, having run the first 16, would idle while the
     * next 16 gather, for as long as the client takes over them (here 150 ms of thinking between statements, 2.4 s in
     * all, against a 2 s timeout on green). What the lane holds goes out once green's open transaction has idled
     * half a second.
     */
    @Test
    void greenDoesNotEndATransactionWhoseStatementsTheLaneHoldsBack(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("idle_lane");
        String role = idleTransactionsEndedAfter2s(blue, green, green, t);
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection c = proxy.connect(role); Statement s = c.createStatement();
             Connection elsewhere = blue.connect("postgres"); Statement thinking = elsewhere.createStatement()) {
            proxy.server().routing().start("test", null);
            c.setAutoCommit(false);
            for (int i = 1; i <= 40; i++) {
                s.executeUpdate("insert into " + t + " values (" + i + ")");
                thinking.execute("select pg_sleep(0.15)"); // the client's own time between statements, not the proxy's
            }
            c.commit();

            await().atMost(Duration.ofSeconds(10)).until(() -> ClusterData.number(green, "select count(*) from " + t) == 40);
            assertThat(ClusterData.number(blue, "select count(*) from " + t)).isEqualTo(40);
            followerStillInSync(proxy);
        }
    }

    /**
     * A superuser login role on both clusters, whose transactions {@code strict} ends after 2 s idle
     * ({@code idle_in_transaction_session_timeout}), and the table {@code t (id int primary key)} on both.
     */
    private static String idleTransactionsEndedAfter2s(PgCluster blue, PgCluster green, PgCluster strict, String t)
            throws SQLException {
        String role = table("idle_role");
        ClusterData.onBoth(blue, green, "create role " + role + " login superuser", "create table " + t + " (id int primary key)");
        strict.execute("postgres", "alter role " + role + " set idle_in_transaction_session_timeout = '2s'");
        return role;
    }

    /**
     * A LATIN1 session's settings and prepared statements from before dual-write began, with characters outside
     * ASCII, reach its twin byte for byte: the snapshot is read and replayed in the session's own bytes. Before,
     * they were read and replayed as UTF-8: the session was pinned for its settings, its twin lacked them (green
     * failed the write reading one: a divergence), and the prepared statements' text reached green garbled. The
     * session then goes on through a cutover, its reads on green.
     */
    @Test
    void aLatin1SessionsStateReachesItsTwinByteForByte(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("latin1_state");
        ClusterData.onBoth(blue, green, "create table " + t + " (id int primary key, v text)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port())) {
            client.startup(Map.of("user", blue.superuser(), "database", "postgres", "client_encoding", "LATIN1"));
            client.readUntil('Z');
            for (String sql : List.of("set app.who = 'Jos\u00e9'", "set app.city = 'Z\u00fcrich'",
                    "prepare ins_" + t + "(int) as insert into " + t + " values ($1, 'M\u00fcller')")) {
                assertThat(latin1(client, sql)).doesNotContain("C=");
            }
            client.send(RawClient.concat(RawClient.message('P', RawClient.concat(
                            latin1Cstrings("s_" + t, "insert into " + t + " values (2, 'Gr\u00f6\u00dfe')"), new byte[2])),
                    RawClient.sync()));
            assertThat(client.typesUntilReady()).isEqualTo("1Z");
            proxy.server().routing().start("test", null);

            assertThat(latin1(client, "execute ins_" + t + "(1)")).isEqualTo("INSERT 0 1");
            client.send(RawClient.concat(RawClient.bind("", "s_" + t), RawClient.execute(), RawClient.sync()));
            assertThat(client.typesUntilReady()).isEqualTo("2CZ");
            assertThat(latin1(client, "insert into " + t + " values (3, current_setting('app.who'))")).isEqualTo("INSERT 0 1");
            assertThat(latin1(client, "insert into " + t + " values (4, current_setting('app.city'))"))
                    .isEqualTo("INSERT 0 1");

            ClusterData.bothHold(blue, green, t, "(1,M\u00fcller)\n(2,Gr\u00f6\u00dfe)\n(3,Jos\u00e9)\n(4,Z\u00fcrich)");
            assertThat(proxy.server().migration().pinnedSessions()).isZero();
            followerStillInSync(proxy);
            proxy.server().routing().setWeight("test", 100, null);
            proxy.server().routing().cutover("test", null);
            assertThat(latin1(client, "insert into " + t + " values (5, current_setting('app.who'))")).isEqualTo("INSERT 0 1");
            ClusterData.bothHold(blue, green, t,
                    "(1,M\u00fcller)\n(2,Gr\u00f6\u00dfe)\n(3,Jos\u00e9)\n(4,Z\u00fcrich)\n(5,Jos\u00e9)");
        }
    }

    /**
     * An SJIS session's custom setting named outside ASCII: the proxy reads such a name from the session's SQL
     * without its bytes, so the snapshot cannot ask for it, and the session is pinned for it. The snapshot, written in
     * the session's bytes, leaves the name out rather than write a byte SJIS refuses there (22021: the snapshot
     * failed, and green went out of sync).
     */
    @Test
    void aMultibyteSessionsSettingNamedOutsideAsciiPinsItAndItsSnapshotStillRuns(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String t = table("sjis_setting");
        ClusterData.onBoth(blue, green, "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port())) {
            client.startup(Map.of("user", blue.superuser(), "database", "postgres", "client_encoding", "SJIS"));
            client.readUntil('Z');
            client.send(RawClient.message('Q', "set \"app.\u540d\" = 'x'\0".getBytes(java.nio.charset.Charset.forName("Shift_JIS"))));
            assertThat(answer(client)).isEqualTo("SET");
            proxy.server().routing().start("test", null);

            assertThat(answerTo(client, "insert into " + t + " values (1)")).isEqualTo("INSERT 0 1");

            assertThat(proxy.server().migration().pinnedSessions()).isOne();
            ClusterData.bothHold(blue, green, t, "(1)");
            followerStillInSync(proxy);
        }
    }

    /** {@link #answerTo} with the text written in LATIN1. */
    private static String latin1(RawClient client, String sql) throws java.io.IOException {
        client.send(RawClient.message('Q', (sql + "\0").getBytes(StandardCharsets.ISO_8859_1)));
        return answer(client);
    }

    private static byte[] latin1Cstrings(String... values) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (String value : values) {
            out.writeBytes(value.getBytes(StandardCharsets.ISO_8859_1));
            out.write(0);
        }
        return out.toByteArray();
    }

    @Test
    void abortLeavesGreenBehindAndFinalizeLeavesBlueBehind(TestClusters clusters) throws Exception {
        String t = table("phases");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            try (Connection c = proxy.connect("postgres")) {
                proxy.server().routing().start("test", null);
                c.createStatement().execute("insert into " + t + " values (1)");
                proxy.server().routing().abort("test", null);
                c.createStatement().execute("insert into " + t + " values (2)"); // blue alone again
                clusters.green().execute("postgres", "insert into " + t + " values (2)"); // the operator re-syncs green
                proxy.server().routing().start("test", null);
                proxy.server().routing().setWeight("test", 100, null);
                proxy.server().routing().cutover("test", null);
                c.createStatement().execute("insert into " + t + " values (3)");
                proxy.server().routing().finalizeMigration("test", null);
                c.createStatement().execute("insert into " + t + " values (4)"); // green alone
                assertThat(serverVersion(c)).isGreaterThanOrEqualTo(180000);
            }
            try (Connection late = proxy.connect("postgres")) {
                assertThat(serverVersion(late)).isGreaterThanOrEqualTo(180000);
            }
            assertThat(count(clusters.blue(), "select count(*) from " + t + " where id = 4")).as("after finalize").isZero();
            assertThat(count(clusters.green(), "select count(*) from " + t)).isEqualTo(4);
            assertThat(count(clusters.blue(), "select count(*) from " + t)).isEqualTo(3);
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
    }

    @Test
    void nonDeterministicWritesAreCountedByFingerprintNotReportedAsDivergences(TestClusters clusters) throws Exception {
        String t = table("clock");
        ClusterData.onBoth(clusters.blue(), clusters.green(),
                "create table " + t + " (id int primary key, at timestamptz, r float8)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (Connection c = proxy.connect("postgres")) {
                for (int i = 1; i <= 3; i++) {
                    c.createStatement().execute("insert into " + t + " values (" + i + ", clock_timestamp(), random())"
                            + " returning at, r");
                }
            }
            assertThat(proxy.server().migration().nonDeterministicStatements())
                    .containsEntry("insert into " + t + " values (?, clock_timestamp(), random()) returning at, r", 3L);
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * A unit that only binds a named statement (pgjdbc's from its prepareThreshold-th execution on) is recorded under
     * the text its Parse gave: a non-deterministic count, and a divergence. Before, both read "(execution of a
     * prepared statement)", so every such statement of an application was counted under that one name.
     */
    @Test
    void aStatementBoundByNameIsRecordedUnderItsText(TestClusters clusters) throws Exception {
        String t = table("named");
        ClusterData.onBoth(clusters.blue(), clusters.green(),
                "create table " + t + " (id int primary key, email text not null, at timestamptz)");
        clusters.green().execute("postgres", "create unique index on " + t + " (email)");
        String insert = "insert into " + t + " values ($1, $2, clock_timestamp())";
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (Connection c = proxy.connect(clusters.blue().superuser(), null, ClusterData.properties("prepareThreshold", "1"));
                 PreparedStatement s = c.prepareStatement(insert.replace("$1", "?").replace("$2", "?"))) {
                for (int i = 1; i <= 3; i++) {
                    s.setInt(1, i);
                    s.setString(2, i < 3 ? "a" + i + "@example.org" : "a1@example.org");
                    assertThat(s.executeUpdate()).isOne();
                }
            }
            assertThat(proxy.server().migration().nonDeterministicStatements()).containsEntry(insert, 3L);
            await().until(() -> !proxy.server().migration().divergences().isEmpty());
            assertThat(proxy.server().migration().divergences()).singleElement()
                    .satisfies(d -> assertThat(d.statement()).isEqualTo(insert))
                    .satisfies(d -> assertThat(d.follower()).contains("23505"));
        }
    }

    /**
     * A job claimed with {@code SKIP LOCKED} takes whichever row no other session holds at that moment on each
     * cluster, which the ordering rule does not reproduce on green: counted as non-deterministic, by fingerprint.
     */
    @Test
    void aClaimWithSkipLockedIsCountedAsNonDeterministic(TestClusters clusters) throws Exception {
        String t = table("jobs");
        ClusterData.onBoth(clusters.blue(), clusters.green(),
                "create table " + t + " (id int primary key, taken boolean not null default false)",
                "insert into " + t + " (id) select generate_series(1, 5)");
        String claim = "update " + t + " set taken = true where id = (select id from " + t
                + " where not taken order by id for update skip locked limit 1)";
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (Connection c = proxy.connect("postgres")) {
                for (int i = 0; i < 3; i++) {
                    c.createStatement().execute(claim);
                }
            }
            assertThat(proxy.server().migration().nonDeterministicStatements())
                    .containsEntry(claim.replace("limit 1", "limit ?"), 3L);
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
        assertThat(count(clusters.blue(), "select count(*) from " + t + " where taken")).isEqualTo(3);
    }

    /**
     * In shadow mode a session whose twin was lost (here green's backend ended in the middle of a transaction)
     * gets a new one some connect timeouts later, and its writes reach green again. Before, it relayed to blue
     * alone until the routing state next changed. The writes it relays meanwhile, which green misses, count as
     * dropped mirror writes (they went uncounted).
     */
    @Test
    void aShadowSessionThatLostItsTwinIsMirroredAgainOnceItHasANewOne(TestClusters clusters) throws Exception {
        String t = table("shadow_retwin");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        String application = "retwin_" + t;
        Properties properties = new Properties();
        properties.setProperty("ApplicationName", application);
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green())
                .connectTimeout(Duration.ofMillis(300)).start();
             Connection c = proxy.connect("postgres", null, properties); Statement s = c.createStatement()) {
            proxy.server().routing().startShadow("test", null);
            s.executeUpdate("insert into " + t + " values (1)");
            await().atMost(Duration.ofSeconds(10)).until(() -> count(clusters.green(), "select count(*) from " + t) == 1);

            c.setAutoCommit(false);
            s.executeUpdate("insert into " + t + " values (2)");
            await("green's twin in the transaction").atMost(Duration.ofSeconds(10)).until(() -> count(clusters.green(),
                    "select count(*) from pg_stat_activity where application_name = '" + application
                            + "' and state = 'idle in transaction'") == 1);
            clusters.green().execute("postgres", "select pg_terminate_backend(pid) from pg_stat_activity"
                    + " where application_name = '" + application + "'");
            c.commit();
            c.setAutoCommit(true);

            int[] id = {100};
            PreparedStatement read = c.prepareStatement("select count(*) from " + t); // named after 5 runs
            await("a write mirrored by a new twin").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300))
                    .until(() -> {
                        s.executeUpdate("insert into " + t + " values (" + (++id[0]) + ")");
                        // reads, and a transaction that only reads, change nothing green misses
                        read.executeQuery().close();
                        c.setAutoCommit(false);
                        s.executeQuery("select 1").close();
                        c.commit();
                        c.setAutoCommit(true);
                        return count(clusters.green(), "select count(*) from " + t + " where id > 100") > 0;
                    });
            // the inserts relayed while it had no twin never reached green: each is counted as a dropped one
            long missed = count(clusters.blue(), "select count(*) from " + t + " where id > 100")
                    - count(clusters.green(), "select count(*) from " + t + " where id > 100");
            assertThat(missed).isPositive();
            assertThat(proxy.server().migration().mirrorDrops()).isEqualTo(missed);
        }
    }

    /**
     * In shadow mode a session's queue of writes for green fills (green waits for a lock) in the middle of a
     * transaction. Dropping some of its writes and mirroring the rest would have green commit part of the
     * transaction, or keep it open with its row locks when the COMMIT is the one dropped. So the twin goes, with its
     * transaction rolled back, and the session gets a new one later: green has none of the transaction, and the
     * writes after the new twin again. Before, the later writes ran inside green's still open transaction, and
     * never committed there.
     */
    @Test
    void aShadowWriteDroppedInsideATransactionTakesTheTwinAndGreenGetsNoneOfTheTransaction(TestClusters clusters)
            throws Exception {
        String t = table("shadow_full");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        int inTransaction = 1_100; // beyond the 1,024 writes a session queues for green
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green())
                .connectTimeout(Duration.ofMillis(300)).start();
             Connection c = proxy.connect("postgres"); Statement s = c.createStatement();
             Connection holder = clusters.green().connect("postgres"); Statement hold = holder.createStatement()) {
            proxy.server().routing().startShadow("test", null);
            holder.setAutoCommit(false);
            hold.execute("lock table " + t + " in access exclusive mode");

            c.setAutoCommit(false);
            for (int id = 1; id <= inTransaction; id++) {
                s.executeUpdate("insert into " + t + " values (" + id + ")");
            }
            assertThat(proxy.server().migration().mirrorDrops()).as("the queue filled").isPositive();
            holder.commit();
            c.commit();
            c.setAutoCommit(true);

            int[] id = {10_000};
            await("a write mirrored by a new twin").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300))
                    .until(() -> {
                        s.executeUpdate("insert into " + t + " values (" + (++id[0]) + ")");
                        return count(clusters.green(), "select count(*) from " + t + " where id > 10000") > 0;
                    });
            assertThat(count(clusters.green(), "select count(*) from " + t + " where id <= " + inTransaction))
                    .as("none of the transaction on green").isZero();
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
        assertThat(count(clusters.blue(), "select count(*) from " + t + " where id <= " + inTransaction))
                .isEqualTo(inTransaction);
    }

    @Test
    void shadowWritesQueuedWhenTheClientLeavesStillReachGreen(TestClusters clusters) throws Exception {
        String t = table("shadow");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().startShadow("test", null);
            try (Connection c = proxy.connect("postgres")) {
                for (int i = 1; i <= 300; i++) {
                    c.createStatement().execute("insert into " + t + " values (" + i + ")");
                }
            }
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                    assertThat(count(clusters.green(), "select count(*) from " + t)).isEqualTo(300));
            assertThat(proxy.server().migration().mirrorDrops()).isZero();
            assertThat(count(clusters.blue(), "select count(*) from " + t)).isEqualTo(300);
        }
    }
}
