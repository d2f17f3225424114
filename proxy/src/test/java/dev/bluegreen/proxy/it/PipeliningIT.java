package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.RawClient.bind;
import static dev.bluegreen.proxy.it.RawClient.concat;
import static dev.bluegreen.proxy.it.RawClient.cstrings;
import static dev.bluegreen.proxy.it.RawClient.execute;
import static dev.bluegreen.proxy.it.RawClient.flush;
import static dev.bluegreen.proxy.it.RawClient.parse;
import static dev.bluegreen.proxy.it.RawClient.sync;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.config.AuthMethod;
import dev.bluegreen.config.Routing;
import dev.bluegreen.config.Secret;
import dev.bluegreen.config.User;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.auth.Md5;
import dev.bluegreen.proxy.control.Phase;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.control.WriteBarrier;
import dev.bluegreen.proxy.routing.ClusterRole;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Extended protocol as pipelining clients use it, byte for byte: several Syncs in flight, Flush, errors. */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class PipeliningIT {

    /** The default routing with a write barrier that gives up after 2 s: a session wrongly seen busy fails a start fast. */
    private static Routing shortBarrier() {
        return Routing.defaults().withWriteBarrierTimeout(Duration.ofSeconds(2));
    }

    private static String typesUntilReady(RawClient client, int readyCount) throws Exception {
        List<Character> types = new ArrayList<>();
        int ready = 0;
        while (ready < readyCount) {
            RawClient.Message message = client.read();
            types.add(message.type());
            if (message.type() == 'Z') {
                ready++;
            }
        }
        StringBuilder text = new StringBuilder();
        types.forEach(text::append);
        return text.toString();
    }

    @Test
    void severalSyncsInFlightEachGetTheirAnswerAndAnErrorSkipsOnlyToItsSync(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        try (TestProxy proxy = TestProxy.in(blue).start(); RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {

            client.send(concat(
                    parse("select 1/0"), bind(), execute(), parse("select 'skipped'"), bind(), execute(), sync(),
                    parse("select 42"), bind(), execute(), sync(),
                    parse("select 43"), bind(), execute(), sync()));

            // 1/0 is folded when planned, at Bind: the error comes there, everything up to its Sync is
            // skipped, and the next two batches run normally
            assertThat(typesUntilReady(client, 3)).isEqualTo("1EZ" + "12DCZ" + "12DCZ");
        }
    }

    /**
     * After an error in an extended-protocol batch the server skips everything up to the Sync, a simple
     * Query sent inside the batch too, and one ReadyForQuery answers them all. The session is idle after
     * it: the write barrier of a start does not wait for it.
     */
    @Test
    void aQuerySkippedAfterAnErrorInItsBatchLeavesTheSessionIdle(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        try (TestProxy proxy = TestProxy.in(blue).green(clusters.green()).routing(shortBarrier()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            client.send(concat(parse("selec 1"), bind(), execute(), RawClient.query("select 1"), sync()));
            assertThat(typesUntilReady(client, 1)).isEqualTo("EZ");

            proxy.server().routing().start("test", null);

            client.send(concat(parse("select 2"), bind(), execute(), sync()));
            assertThat(typesUntilReady(client, 1)).isEqualTo("12DCZ");
            assertThat(proxy.server().routing().current().dualWrite()).isTrue();
        }
    }

    /** {@code start} on a thread of its own: it waits for the write barrier, which the test holds or watches. */
    private static CompletableFuture<Void> startInBackground(TestProxy proxy) {
        return CompletableFuture.runAsync(() -> {
            try {
                proxy.server().routing().start("test", null);
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        });
    }

    private static byte[] parseWithParameter(String sql) {
        byte[] strings = cstrings("", sql);
        return RawClient.message('P', ByteBuffer.allocate(strings.length + 6).put(strings).putShort((short) 1)
                .putInt(23).array());
    }

    private static byte[] bindText(String value) {
        byte[] names = cstrings("", "");
        byte[] text = value.getBytes(StandardCharsets.UTF_8);
        return RawClient.message('B', ByteBuffer.allocate(names.length + 10 + text.length).put(names)
                .putShort((short) 0).putShort((short) 1).putInt(text.length).put(text).putShort((short) 0).array());
    }

    /**
     * pgjdbc's executeBatch and libpq's pipelines send one Sync for many statements, and a TCP read can
     * end anywhere in between. A start requested then waits for the whole batch, whose second half
     * still runs on blue alone, before the session takes its twin.
     */
    @Test
    void aBatchSplitAcrossReadsFinishesBeforeStartTakesEffect(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("split_batch");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            client.send(concat(parseWithParameter("insert into " + table + " values ($1)"), bindText("1"), execute()));
            await().until(() -> proxy.server().routing().barrier().holders().size() == 1);

            CompletableFuture<Void> start = startInBackground(proxy);
            await().until(() -> proxy.server().routing().barrier().closing());
            client.send(concat(bindText("2"), execute(), sync()));

            assertThat(typesUntilReady(client, 1)).isEqualTo("12C" + "2C" + "Z");
            start.get(10, TimeUnit.SECONDS);
            assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)\n(2)");

            // the next batch runs in units mode, on both
            client.send(concat(parseWithParameter("insert into " + table + " values ($1)"), bindText("3"), execute(),
                    sync()));
            assertThat(typesUntilReady(client, 1)).isEqualTo("12CZ");
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)\n(2)\n(3)");
        assertThat(ClusterData.contents(green, table, "id")).isEqualTo("(3)");
    }

    /**
     * A write that waits for the write barrier to reopen (a start while it relays, or a cutover while it runs in
     * units mode, waits for another session's open transaction) is running as far as its client knows, and a cancel is meant for it: pgjdbc's
     * query timeout fires, and the client gets 57014 at once; the write never runs, and the session goes on. Before,
     * the cancel found nothing running and was dropped: the client waited for the barrier, and the write it had
     * given up on committed once the barrier reopened.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aWriteCancelledWhileItWaitsForTheBarrierNeverRuns(boolean dualWrite, TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("barrier_cancel");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient holder = new RawClient(proxy.port()).loggedIn(blue.superuser());
             Connection c = proxy.connect(blue.superuser()); Statement s = c.createStatement()) {
            if (dualWrite) {
                proxy.server().routing().start("test", null);
                proxy.server().routing().setWeight("test", 100, null);
                assertThat(s.executeUpdate("insert into " + table + " values (0)")).isOne(); // its units mode begins
            }
            holder.send(RawClient.query("begin; insert into " + table + " values (1)"));
            assertThat(typesUntilReady(holder, 1)).isEqualTo("CCZ");
            CompletableFuture<Void> change = CompletableFuture.runAsync(() -> {
                try {
                    if (dualWrite) {
                        proxy.server().routing().cutover("test", null);
                    } else {
                        proxy.server().routing().start("test", null);
                    }
                } catch (Exception e) {
                    throw new CompletionException(e);
                }
            });
            await().until(() -> proxy.server().routing().barrier().closing());

            s.setQueryTimeout(1);
            assertThatThrownBy(() -> s.executeUpdate("insert into " + table + " values (2)"))
                    .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("57014"));
            assertThat(proxy.server().routing().barrier().closing()).as("answered while the barrier closes").isTrue();

            holder.send(RawClient.query("commit"));
            assertThat(typesUntilReady(holder, 1)).isEqualTo("CZ");
            change.get(10, TimeUnit.SECONDS);
            // the reopened barrier let the session in for the unit it had waited with; idle, it left again, so a
            // next change that closes the barrier goes through at once
            if (!dualWrite) {
                proxy.server().routing().setWeight("test", 100, null);
            }
            RoutingState after = dualWrite ? proxy.server().routing().rollback("test", null, false)
                    : proxy.server().routing().cutover("test", null);
            assertThat(after.leader()).isEqualTo(dualWrite ? ClusterRole.BLUE : ClusterRole.GREEN);

            s.setQueryTimeout(0);
            assertThat(s.executeUpdate("insert into " + table + " values (3)")).isOne();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(ClusterData.contents(green, table, "id"))
                    .isEqualTo(dualWrite ? "(0)\n(1)\n(3)" : "(3)"));
        }
        assertThat(ClusterData.contents(blue, table, "id")).isEqualTo(dualWrite ? "(0)\n(1)\n(3)" : "(1)\n(3)");
    }

    /**
     * DESIGN §5: reads are never held. While a start waits for a relayed session's open transaction, other
     * relayed sessions' reads, simple and extended, are answered at once; a write sent while such a read runs
     * waits for the barrier, and runs on both clusters once dual-write is on. Before, the relay held every unit
     * at a closing barrier, reads too, for up to routing.write_barrier_timeout.
     */
    @Test
    void readsOfRelayedSessionsPassAClosingBarrierAndWritesBehindThemWait(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("barrier_reads");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient holder = new RawClient(proxy.port()).loggedIn(blue.superuser());
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            holder.send(RawClient.query("begin; insert into " + table + " values (1)"));
            assertThat(typesUntilReady(holder, 1)).isEqualTo("CCZ");
            CompletableFuture<Void> start = startInBackground(proxy);
            await().until(() -> proxy.server().routing().barrier().closing());

            client.send(RawClient.query("select 1"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("TDCZ");
            client.send(concat(parse("select 2"), bind(), execute(), sync()));
            assertThat(typesUntilReady(client, 1)).isEqualTo("12DCZ");
            assertThat(proxy.server().routing().barrier().closing()).as("answered while the barrier closes").isTrue();

            client.send(RawClient.query("select pg_sleep(1)"));
            await().until(() -> ClusterData.activity(blue).contains("select pg_sleep(1)"));
            client.send(RawClient.query("insert into " + table + " values (2)"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("TDCZ");
            assertThat(proxy.server().routing().barrier().closing()).isTrue();

            holder.send(RawClient.query("commit"));
            assertThat(typesUntilReady(holder, 1)).isEqualTo("CZ");
            start.get(10, TimeUnit.SECONDS);
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
        }
        assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)\n(2)");
        assertThat(ClusterData.contents(green, table, "id")).as("the insert waited for dual-write").isEqualTo("(2)");
    }

    /**
     * A relayed read already running when a barrier starts to close does not hold it (DESIGN §5: reads are never
     * held): a report blocked on a lock here, sent whole (a simple Query, or one extended unit). Before, the relay
     * waited for every unit it had sent, having read none of them, and a long report made {@code start} time out.
     * What its client sends while it runs waits for its end and then runs under dual-write; a running unit that
     * also writes still holds the barrier.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aRelayedReadAlreadyRunningWhenTheBarrierClosesDoesNotHoldIt(boolean extended, TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String reported = ClusterData.unique("reported");
        String written = ClusterData.unique("written");
        ClusterData.onBoth(blue, green, "create table " + reported + " (id int)", "create table " + written + " (id int)");
        String report = "select count(*) from " + reported;
        try (TestProxy proxy = TestProxy.in(blue).green(green).routing(shortBarrier()).start();
             RawClient reader = new RawClient(proxy.port()).loggedIn(blue.superuser());
             RawClient writer = new RawClient(proxy.port()).loggedIn(blue.superuser());
             Connection locker = blue.connect("postgres")) {
            locker.setAutoCommit(false);
            locker.createStatement().execute("lock table " + reported + " in access exclusive mode");
            writer.send(RawClient.query(report + "; insert into " + written + " values (1)"));
            await().until(() -> ClusterData.lockWaits(blue).contains(written));
            assertThatThrownBy(() -> proxy.server().routing().start("test", null))
                    .as("a running unit that also writes holds the barrier")
                    .hasMessageContaining("timed out");
            locker.commit();
            assertThat(typesUntilReady(writer, 1)).isEqualTo("TDCCZ");

            locker.createStatement().execute("lock table " + reported + " in access exclusive mode");
            reader.send(extended ? concat(parse(report), bind(), execute(), sync()) : RawClient.query(report));
            await().until(() -> ClusterData.lockWaits(blue).contains(report));
            proxy.server().routing().start("test", null);
            assertThat(proxy.server().routing().current().dualWrite()).isTrue();
            assertThat(ClusterData.lockWaits(blue)).as("the report still runs").contains(report);

            reader.send(RawClient.query("insert into " + written + " values (2)"));
            locker.commit();
            assertThat(typesUntilReady(reader, 1)).isEqualTo(extended ? "12DCZ" : "TDCZ");
            assertThat(typesUntilReady(reader, 1)).isEqualTo("CZ");
        }
        assertThat(ClusterData.contents(blue, written, "id")).isEqualTo("(1)\n(2)");
        assertThat(ClusterData.contents(green, written, "id"))
                .as("the insert sent while the report ran waited for its end, and dual-write").isEqualTo("(2)");
    }

    private static byte[] copyData(String text) {
        return RawClient.message('d', text.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] copyDone() {
        return RawClient.message('c', new byte[0]);
    }

    /**
     * libpq's PQexecParams and tokio-postgres send COPY FROM STDIN as Parse, Bind, Describe, Execute,
     * Sync, then the data, CopyDone and a second Sync. The server ignores the first Sync while it copies
     * in and answers the second: one ReadyForQuery for two Syncs.
     */
    @Test
    void copyFromStdinByExecuteEndsWithTheSyncAfterCopyDoneRelayedAndWithDualWrite(TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("copy_execute");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            for (boolean dualWrite : new boolean[] {false, true}) {
                if (dualWrite) {
                    proxy.server().routing().start("test", null);
                }
                int first = dualWrite ? 3 : 1;
                client.send(concat(parse("copy " + table + " from stdin"), bind(), describePortal(), execute(), sync()));
                assertThat(typesUntil(client, 'G')).isEqualTo("12nG");
                client.send(concat(copyData(first + "\n"), copyData((first + 1) + "\n"), copyDone(), sync()));
                assertThat(typesUntilReady(client, 1)).as("dual-write " + dualWrite).isEqualTo("CZ");

                // the session is idle again: its write unit is over, and the next statement runs
                await().until(() -> proxy.server().routing().barrier().holders().isEmpty());
                client.send(concat(parse("select 1"), bind(), execute(), sync()));
                assertThat(typesUntilReady(client, 1)).isEqualTo("12DCZ");
            }
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)\n(2)\n(3)\n(4)");
        assertThat(ClusterData.contents(green, table, "id")).isEqualTo("(3)\n(4)");
    }

    /**
     * In shadow mode a read that closes a named statement and parses the name again (pgjdbc evicting a cached
     * statement, Npgsql reusing a name) while a write bound to the old one still waits for green in the queue
     * (behind another that green is running): the Close and Parse reach green behind that write. Before, they went to green at once, ahead of it, and the write then
     * bound the new statement there: a divergence that was none.
     */
    @Test
    void aNameClosedAndParsedAgainReachesGreenBehindTheShadowWritesBeforeIt(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("shadow_names");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser());
             Connection onGreen = green.connect("postgres"); Statement lock = onGreen.createStatement()) {
            proxy.server().routing().startShadow("test", null);
            onGreen.setAutoCommit(false);
            lock.execute("lock table " + table + " in access exclusive mode"); // green's copy of the write waits

            client.send(RawClient.query("insert into " + table + " values (1)")); // green runs it: it waits there
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            client.send(concat(parse("s1", "insert into " + table + " values (2)"), bind("s1"), execute(), sync()));
            assertThat(typesUntilReady(client, 1)).isEqualTo("12CZ"); // queued for green behind the first
            client.send(concat(closeStatement("s1"), parse("s1", "select 2"), bind("s1"), execute(), sync()));
            assertThat(typesUntilReady(client, 1)).isEqualTo("312DCZ");
            onGreen.rollback();

            await().atMost(Duration.ofSeconds(5)).until(() -> ClusterData.contents(green, table, "id").equals("(1)\n(2)"));
            client.send(concat(bind("s1"), execute(), sync()));
            assertThat(typesUntilReady(client, 1)).isEqualTo("2DCZ");
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
    }

    private static byte[] closeStatement(String name) {
        byte[] body = ByteBuffer.allocate(name.length() + 2).put((byte) 'S').put(cstrings(name)).array();
        return RawClient.message('C', body);
    }

    /**
     * A COMMIT run by binding a named statement the proxy no longer knows (a SQL {@code PREPARE} made it forget
     * every name, as pgjdbc's server-prepared COMMIT meets after a {@code PREPARE} or {@code DEALLOCATE} in
     * SQL) still waits for the follower to finish the transaction's earlier statements before the leader
     * commits: here green holds the row, and blue does not commit until green has run the UPDATE. Before, a Bind
     * of an unknown name was an unreadable write that did not wait, and the leader committed first.
     */
    @Test
    void aCommitBoundByANameTheProxyForgotWaitsForTheFollowerFirst(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("forgotten_commit");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key, v int)",
                "insert into " + table + " values (1, 0)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser());
             Connection onGreen = green.connect("postgres"); Statement lock = onGreen.createStatement()) {
            proxy.server().routing().start("test", null);
            client.send(concat(parse("s_commit", "COMMIT"), sync()));
            assertThat(typesUntilReady(client, 1)).isEqualTo("1Z");
            client.send(RawClient.query("prepare unrelated as select 1"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            onGreen.setAutoCommit(false);
            lock.execute("select * from " + table + " where id = 1 for update"); // green takes the UPDATE later

            client.send(RawClient.query("begin"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            client.send(RawClient.query("update " + table + " set v = 1 where id = 1"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            client.send(concat(bind("s_commit"), execute(), sync()));

            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                    .until(() -> ClusterData.text(blue, "select v::text from " + table).equals("0"));
            onGreen.rollback();
            assertThat(typesUntilReady(client, 1)).isEqualTo("2CZ");
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> ClusterData.text(green, "select v::text from " + table).equals("1"));
            assertThat(ClusterData.text(blue, "select v::text from " + table)).isEqualTo("1");
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * Inside a transaction a SAVEPOINT and a RELEASE run on the leader without waiting for the follower to catch
     * up with the transaction's earlier statements: neither releases a lock (only a ROLLBACK TO does, and it
     * waits). Here green holds the row the transaction's UPDATE takes there, and the SAVEPOINT and RELEASE are
     * answered all the same. Before, each waited for green: a round trip to the follower for every nested
     * atomic block (Django, Rails) and every statement under pgjdbc's autosave.
     */
    @Test
    void aSavepointAndItsReleaseDoNotWaitForTheFollower(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("savepoint_lane");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key, v int)",
                "insert into " + table + " values (1, 0)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser());
             Connection holder = green.connect("postgres"); Statement hold = holder.createStatement()) {
            proxy.server().routing().start("test", null);
            holder.setAutoCommit(false);
            hold.execute("select * from " + table + " where id = 1 for update"); // on green only

            client.send(RawClient.query("begin"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            client.send(RawClient.query("update " + table + " set v = 1 where id = 1"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            client.send(RawClient.query("savepoint a"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            client.send(RawClient.query("release savepoint a"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");

            holder.rollback();
            client.send(RawClient.query("commit"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            ClusterData.bothHold(blue, green, table, "(1,1)");
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
    }

    /**
     * A ROLLBACK TO releases row locks on the leader, so the leader runs it only once the follower has caught
     * up with the transaction's earlier statements (DESIGN §5): another session may take those rows on the
     * leader next, and its follower must not wait behind what this session holds back. Here green holds the
     * row the transaction's UPDATE takes there, and blue is not sent the ROLLBACK TO until green lets it go.
     */
    @Test
    void aRollbackToWaitsForTheFollowerBeforeTheLeaderReleasesItsLocks(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("rollback_to_lane");
        String name = ClusterData.unique("rollback_to");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key, v int)",
                "insert into " + table + " values (1, 0)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port());
             Connection holder = green.connect("postgres"); Statement hold = holder.createStatement()) {
            client.startup(Map.of("user", blue.superuser(), "database", "postgres", "application_name", name));
            client.readUntil('Z');
            proxy.server().routing().start("test", null);
            holder.setAutoCommit(false);
            hold.execute("select * from " + table + " where id = 1 for update"); // on green only

            for (String sql : List.of("begin", "savepoint a", "update " + table + " set v = 1 where id = 1")) {
                client.send(RawClient.query(sql));
                assertThat(typesUntilReady(client, 1)).as(sql).isEqualTo("CZ");
            }
            client.send(RawClient.query("rollback to savepoint a"));
            String onBlue = "select query from pg_stat_activity where application_name = '" + name + "'";
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                    .until(() -> !ClusterData.text(blue, onBlue).equals("rollback to savepoint a"));
            holder.rollback();
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            client.send(RawClient.query("commit"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");

            ClusterData.bothHold(blue, green, table, "(1,0)");
            proxy.stillAlike();
        }
    }

    /**
     * A batch that begins a transaction, sets a savepoint and runs a statement the leader fails for a reason of
     * its own (here a lock timeout, another session holding the row on blue): the follower runs the BEGIN and
     * the SAVEPOINT, not the failed statement, so the client's ROLLBACK TO SAVEPOINT and what follows run
     * there alike. Before, the follower skipped the whole batch, BEGIN included, and the ROLLBACK TO failed
     * there (25P01): a divergence where there was none, green out of sync.
     */
    @Test
    void aTransientFailureAfterABeginAndASavepointInOneBatchKeepsTheTwinsAlike(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("savepoint_first");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key, v int)",
                "insert into " + table + " values (1, 0), (2, 0)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser());
             Connection holder = blue.connect("postgres"); Statement hold = holder.createStatement()) {
            proxy.server().routing().start("test", null);
            client.send(RawClient.query("set lock_timeout = '300ms'"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            holder.setAutoCommit(false);
            hold.execute("select * from " + table + " where id = 1 for update"); // on blue only

            client.send(concat(parse("begin"), bind(), execute(), parse("savepoint a"), bind(), execute(),
                    parse("update " + table + " set v = 1 where id = 1"), bind(), execute(), sync()));
            assertThat(typesUntilReady(client, 1)).isEqualTo("12C" + "12C" + "12EZ");
            client.send(RawClient.query("rollback to savepoint a"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            client.send(RawClient.query("update " + table + " set v = 2 where id = 2"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            client.send(RawClient.query("commit"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            holder.rollback();

            ClusterData.bothHold(blue, green, table, "(1,0)\n(2,2)");
            proxy.stillAlike();
        }
    }

    /**
     * A named Parse that comes after a Flush, in a unit whose write the leader fails: the follower, which skips
     * the failed write, still gets the name, so the client's later Bind of it runs there too. Before, only the
     * messages before the Flush said whether the unit named statements, the name never reached the follower, and
     * the later Bind diverged there (26000): green out of sync for nothing.
     */
    @Test
    void aNamedParseAfterAFlushReachesTheFollowerWhenTheLeaderFailsTheUnit(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("parse_after_flush");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)",
                "insert into " + table + " values (1)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            proxy.server().routing().start("test", null);
            client.send(concat(parse("select 1"), bind(), execute(), flush()));
            assertThat(typesUntil(client, 'C')).isEqualTo("12DC");
            client.send(concat(parse("s_insert", "insert into " + table + " values (2)"),
                    parse("insert into " + table + " values (1)"), bind(), execute(), sync()));
            assertThat(typesUntilReady(client, 1)).isEqualTo("112EZ");

            client.send(concat(bind("s_insert"), execute(), sync()));
            assertThat(typesUntilReady(client, 1)).isEqualTo("2CZ");
            ClusterData.bothHold(blue, green, table, "(1)\n(2)");
            proxy.stillAlike();
        }
    }

    /**
     * A COPY by Execute whose data the client sends behind a Flush, before it hears CopyInResponse, then the
     * Sync and the next statement: the unit the Flush opened already holds the CopyDone, so CopyInResponse
     * does not reopen it for data, and the Sync ends it; the next statement runs as a unit of its own. Before,
     * the unit was reopened for data that had all come, stayed open past its Sync, and took the next
     * statement in.
     */
    @Test
    void copyDataSentBehindAFlushBeforeCopyInResponseEndsItsUnit(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("copy_flushed");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            proxy.server().routing().start("test", null);
            client.send(concat(parse("copy " + table + " from stdin"), bind(), execute(), flush(),
                    copyData("1\n"), copyData("2\n"), copyDone()));
            assertThat(typesUntil(client, 'G')).isEqualTo("12G");
            client.send(concat(sync(), RawClient.query("select 1")));

            assertThat(typesUntilReady(client, 2)).isEqualTo("CZ" + "TDCZ");
            client.send(RawClient.query("insert into " + table + " values (3)"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            proxy.stillAlike();
        }
        assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)\n(2)\n(3)");
        assertThat(ClusterData.contents(green, table, "id")).isEqualTo("(1)\n(2)\n(3)");
    }

    /**
     * In shadow mode, a COPY by Execute that green refuses before it copies in (here green lacks the table)
     * has green answer both Syncs, the one that closed the batch and the one after CopyDone, where blue,
     * which copied, answers one. Green's extra answer, which no request of the proxy's awaits, ends green's
     * part of the session (as a lost follower's: in shadow mode its writes are then dropped and counted), not
     * the client's session: before, the client was disconnected with 08006 ("unexpected message from cluster
     * green") for what green did.
     */
    @Test
    void greenAnsweringMoreThanAskedInShadowModeCostsTheClientNothing(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("copy_blue_only");
        blue.execute("postgres", "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            proxy.server().routing().startShadow("test", null);
            client.send(concat(parse("copy " + table + " from stdin"), bind(), describePortal(), execute(), sync()));
            assertThat(typesUntil(client, 'G')).isEqualTo("12nG");
            client.send(concat(copyData("1\n"), copyData("2\n"), copyDone(), sync()));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");

            await().atMost(Duration.ofSeconds(10)).until(() -> !proxy.server().migration().divergences().isEmpty());
            assertThat(proxy.server().migration().divergences().getFirst().difference()).contains("follower error 42P01");
            client.send(RawClient.query("insert into " + table + " values (3)"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            client.send(RawClient.query("select count(*) from " + table));
            assertThat(typesUntilReady(client, 1)).isEqualTo("TDCZ");
        }
        assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)\n(2)\n(3)");
    }

    /**
     * While the write barrier holds a session's next unit back, what its client pipelines behind it waits in the
     * client's socket once a megabyte of it waits in the proxy: here 80 MB of half-megabyte queries. Before, only
     * a count of 4096 messages bounded the queue, each message up to limits.max_message_size, so a pipelining
     * client could make the proxy hold gigabytes for the barrier's length.
     */
    @Test
    void whatAClientPipelinesWhileTheBarrierHoldsItBackWaitsInItsSocket(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        String table = ClusterData.unique("pipelined");
        blue.execute("postgres", "create table " + table + " (n int)");
        int queries = 160;
        // writes: a closing barrier holds them (a read would pass it)
        byte[] query = RawClient.query("insert into " + table + " values (length('" + "x".repeat(512 * 1024) + "'))");
        AtomicLong sent = new AtomicLong();
        try (TestProxy proxy = TestProxy.in(blue).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            WriteBarrier.Closed closed = proxy.server().routing().barrier().close();
            CompletableFuture<Void> sending = new CompletableFuture<>();
            Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < queries; i++) {
                        client.send(query);
                        sent.addAndGet(query.length);
                    }
                    sending.complete(null);
                } catch (IOException e) {
                    sending.completeExceptionally(e);
                }
            });
            try {
                await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(10)).until(() -> sent.get() < 40_000_000);
            } finally {
                closed.reopen();
            }
            assertThat(typesUntilReady(client, queries)).isEqualTo("CZ".repeat(queries));
            sending.get(30, TimeUnit.SECONDS);
        }
    }

    /**
     * A session whose first statement ran in units mode, that set its state there, went back to relaying when
     * dual-write ended and met the next start idle, gets its new twin from a snapshot, as a session older than
     * the first start does: its search_path and prepared statement reach green. Before, it counted as a session
     * that had run nothing, its twin started fresh, and its next write diverged there (green out of sync).
     */
    @Test
    void aSessionBackFromUnitsModeGetsItsStateOnItsNextTwin(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String schema = ClusterData.unique("app");
        ClusterData.onBoth(blue, green, "create schema " + schema, "create table " + schema + ".items (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            proxy.server().routing().start("test", null);
            for (String sql : List.of("set search_path = " + schema + ", public",
                    "prepare add_item(int) as insert into items values ($1)", "execute add_item(1)")) {
                client.send(RawClient.query(sql));
                assertThat(typesUntilReady(client, 1)).as(sql).isEqualTo("CZ");
            }

            proxy.server().routing().abort("test", null);
            await().atMost(Duration.ofSeconds(10)).until(() -> proxy.server().backendConnections("green") == 0);
            proxy.server().routing().start("test", null);

            for (String sql : List.of("execute add_item(2)", "insert into items values (3)")) {
                client.send(RawClient.query(sql));
                assertThat(typesUntilReady(client, 1)).as(sql).isEqualTo("CZ");
            }
            proxy.stillAlike();
        }
        assertThat(ClusterData.contents(blue, schema + ".items", "id")).isEqualTo("(1)\n(2)\n(3)");
        assertThat(ClusterData.contents(green, schema + ".items", "id")).isEqualTo("(1)\n(2)\n(3)");
    }

    /**
     * A LISTEN sent while a listening session's channels move to the new leader at cutover waits for the move,
     * which sets on the new leader what the old one had: here the old leader's backend is stopped so that the
     * move takes its time, and the client's LISTEN, sent meanwhile, holds. Before, it ran on the new leader at
     * once and the move's UNLISTEN * then undid it: notifications on that channel never came.
     */
    @Test
    void aListenSentWhileTheChannelsMoveAtCutoverIsNotUndoneByTheMove(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String name = ClusterData.unique("listener");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port())) {
            client.startup(Map.of("user", blue.superuser(), "database", "postgres", "application_name", name));
            client.readUntil('Z');
            proxy.server().routing().start("test", null);
            client.send(RawClient.query("listen a"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            long onBlue;
            try (Connection c = blue.connect("postgres"); Statement s = c.createStatement();
                 java.sql.ResultSet rs = s.executeQuery("select pid from pg_stat_activity where application_name = '"
                         + name + "'")) {
                assertThat(rs.next()).isTrue();
                onBlue = rs.getLong(1);
            }
            proxy.server().routing().setWeight("test", 100, null);

            try (Frozen frozen = Frozen.process(onBlue)) { // the move asks blue for the session's channels first
                proxy.server().routing().cutover("test", null);
                client.send(RawClient.query("listen b"));
            }
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            green.execute("postgres", "notify a", "notify b");
            assertThat(channel(client.readUntil('A'))).isEqualTo("a");
            assertThat(channel(client.readUntil('A'))).isEqualTo("b");
        }
    }

    /**
     * An old leader that does not answer while a listening session's channels move (its backend stopped for
     * good here) holds the session's units no longer than timeouts.follower: the move is given up, logged, and
     * the units go on, on the new leader.
     */
    @Test
    void aChannelMoveTheOldLeaderNeverAnswersHoldsTheSessionOnlyUntilTheFollowerTimeout(TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String name = ClusterData.unique("deaf_listener");
        try (TestProxy proxy = TestProxy.in(blue).green(green).followerTimeout(Duration.ofSeconds(1)).start();
             RawClient client = new RawClient(proxy.port())) {
            client.startup(Map.of("user", blue.superuser(), "database", "postgres", "application_name", name));
            client.readUntil('Z');
            proxy.server().routing().start("test", null);
            client.send(RawClient.query("listen a"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            long onBlue = Long.parseLong(ClusterData.text(blue,
                    "select pid::text from pg_stat_activity where application_name = '" + name + "'"));
            proxy.server().routing().setWeight("test", 100, null);

            try (Frozen frozen = Frozen.process(onBlue)) {
                proxy.server().routing().cutover("test", null);
                client.send(RawClient.query("select current_setting('server_version_num')::int >= 180000"));
                assertThat(typesUntilReady(client, 1)).isEqualTo("TDCZ");
            }
        }
    }

    /** A NotificationResponse's channel: after the sender's process id, up to its NUL. */
    private static String channel(RawClient.Message notification) {
        byte[] body = notification.body();
        int end = 4;
        while (body[end] != 0) {
            end++;
        }
        return new String(body, 4, end - 4, StandardCharsets.UTF_8);
    }

    /**
     * A session's first unit after start waits until its new twin has been given the session's state: here
     * the session's role does not exist on green, so green is dropped (out of sync) and the read, which green
     * was to serve at weight 100, runs on blue. Before, the unit was sent to green right behind the replay,
     * green was dropped while it answered it, and the client's session ended with 08006 for what green did.
     */
    @Test
    void aUnitWaitsForItsTwinsReplayAndGreenRefusingTheRoleCostsTheClientNothing(TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String role = ClusterData.unique("blue_only_role");
        blue.execute("postgres", "create role " + role);
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            client.send(RawClient.query("set role " + role));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CSZ"); // is_superuser is reported again
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);

            client.send(RawClient.query("select current_user"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("TDCZ");
            client.send(RawClient.query("select 1"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("TDCZ");
            await().atMost(Duration.ofSeconds(5)).until(() -> !proxy.server().routing().current().followerInSync());
        } finally {
            blue.execute("postgres", "drop role " + role);
        }
    }

    /**
     * The same in shadow mode, where a lost follower changes no routing state: the twin green refuses the role
     * to is not made again at once. Before, the session made it again and again (a snapshot on blue, a login on
     * green, a failed replay each time) and its unit never ran.
     */
    @Test
    void inShadowModeGreenRefusingTheRoleDoesNotRemakeTheTwinInALoop(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String role = ClusterData.unique("blue_only_shadow_role");
        blue.execute("postgres", "create role " + role);
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            client.send(RawClient.query("set role " + role));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CSZ");
            proxy.server().routing().startShadow("test", null);

            client.send(RawClient.query("select current_user"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("TDCZ");
            client.send(RawClient.query("select 1"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("TDCZ");
        } finally {
            blue.execute("postgres", "drop role " + role);
        }
    }

    /**
     * A new twin that does not answer the replay of the session's state (here its PREPARE waits for a lock on
     * green) holds the session's units no longer than timeouts.follower: then the follower is out of sync and
     * the read that waited runs on blue.
     */
    @Test
    void aTwinThatDoesNotAnswerTheReplayHoldsTheSessionOnlyUntilTheFollowerTimeout(TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("replay_locked");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).followerTimeout(Duration.ofSeconds(1)).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser());
             Connection onGreen = green.connect("postgres"); Statement lock = onGreen.createStatement()) {
            client.send(RawClient.query("prepare q as select * from " + table));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            onGreen.setAutoCommit(false);
            lock.execute("lock table " + table + " in access exclusive mode"); // the replayed PREPARE waits
            proxy.server().routing().start("test", null);

            client.send(RawClient.query("insert into " + table + " values (1)"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            await().atMost(Duration.ofSeconds(5)).until(() -> !proxy.server().routing().current().followerInSync());
            onGreen.rollback();
        }
        assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)");
    }

    /**
     * An idle session met by a cutover without a connection to green yet gets one, to lead, from a snapshot;
     * when green does not answer that replay (its PREPARE waits for a lock there) within timeouts.follower,
     * the session ends with 08006, once, since it cannot go on without its leader. Without a bound on the
     * replay it waited for good.
     */
    @Test
    void aLeaderToBeThatDoesNotAnswerTheReplayEndsTheSessionOnce(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("cutover_replay");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).followerTimeout(Duration.ofSeconds(1)).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser());
             Connection onGreen = green.connect("postgres"); Statement lock = onGreen.createStatement()) {
            client.send(RawClient.query("prepare q as select * from " + table));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            onGreen.setAutoCommit(false);
            lock.execute("lock table " + table + " in access exclusive mode");

            proxy.server().routing().cutover("test", null);

            RawClient.Message ended = client.readUntil('E');
            assertThat(ended.sqlState()).isEqualTo("08006");
            assertThat(client.isClosedByPeer()).isTrue();
            onGreen.rollback();
        }
    }

    /**
     * A COPY the server failed while the client was still sending its data: the server answered (ErrorResponse,
     * ReadyForQuery) and drops the CopyData and CopyDone that follow without a word, so they start no unit. Before,
     * they entered the write barrier and held it until the session's next statement, and a start timed out
     * naming this idle session (psql sends the rest of a file before it reads the error).
     */
    @Test
    void copyDataAfterTheServerFailedTheCopyHoldsNoBarrier(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        String table = ClusterData.unique("copy_failed");
        ClusterData.onBoth(blue, clusters.green(), "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            client.send(RawClient.query("copy " + table + " from stdin"));
            assertThat(typesUntil(client, 'G')).isEqualTo("G");
            client.send(copyData("not a number\n"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("EZ");

            client.send(concat(copyData("2\n"), copyData("3\n"), copyDone()));
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.server().routing().barrier().holders().isEmpty());
            assertThat(proxy.server().routing().start("test", null).phase()).isEqualTo(Phase.DUAL);

            client.send(RawClient.query("select 1"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("TDCZ");
        }
        assertThat(ClusterData.contents(blue, table, "id")).isEmpty();
    }

    /**
     * A Sync or Flush among COPY data (no common client sends one) is data to the server, which answers neither:
     * after the COPY, by a Query or by Execute, the session is idle, and a start passes its write barrier. Before,
     * the Sync waited for an answer that never came, and every later start timed out naming this session.
     */
    @Test
    void aSyncOrFlushAmongCopyDataLeavesTheSessionIdleOnceTheCopyEnds(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        String table = ClusterData.unique("copy_synced");
        ClusterData.onBoth(blue, clusters.green(), "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(clusters.green()).routing(shortBarrier()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            copyOneToFourWithASyncAndAFlushAmongTheData(client, table);

            assertThat(proxy.server().routing().start("test", null).phase()).isEqualTo(Phase.DUAL);

            client.send(RawClient.query("insert into " + table + " values (5)"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            // at weight 0 the client has its answer at blue's commit; green commits right behind it
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(ClusterData.contents(clusters.green(), table, "id")).isEqualTo("(5)"));
        }
        assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)\n(2)\n(3)\n(4)\n(5)");
    }

    /** The same COPYs under dual-write: both clusters get the data, and the session goes on. */
    @Test
    void aSyncOrFlushAmongCopyDataUnderDualWriteReachesBothClusters(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        String table = ClusterData.unique("copy_synced_dw");
        ClusterData.onBoth(blue, clusters.green(), "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(clusters.green()).routing(shortBarrier()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            proxy.server().routing().start("test", null);
            copyOneToFourWithASyncAndAFlushAmongTheData(client, table);
            client.send(RawClient.query("select count(*) from " + table));
            assertThat(typesUntilReady(client, 1)).isEqualTo("TDCZ");

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(ClusterData.contents(clusters.green(), table, "id")).isEqualTo("(1)\n(2)\n(3)\n(4)"));
            assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)\n(2)\n(3)\n(4)");
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * A COPY the server fails at its first row, whose client sends its CopyDone before it has read the error, in one
     * write with its next Query. The server drops that CopyDone; the relay must not count it as the end of a COPY
     * still to start. Before, it did: the session's next COPY was taken for one whose data had ended, a Sync among
     * that data for a request awaiting its answer, and the session never looked idle again (a start timed out on it).
     */
    @Test
    void aLateCopyDoneSentWithTheNextQueryLeavesTheNextCopyItsData(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        String table = ClusterData.unique("copy_late_end");
        ClusterData.onBoth(blue, clusters.green(), "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(clusters.green()).routing(shortBarrier()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            client.send(RawClient.query("copy " + table + " from stdin"));
            assertThat(typesUntil(client, 'G')).isEqualTo("G");
            client.send(copyData("not a number\n"));
            assertThat(typesUntilReady(client, 1)).as("the server fails the COPY at its first row").isEqualTo("EZ");
            client.send(concat(copyDone(), RawClient.query("select 1")));
            assertThat(typesUntilReady(client, 1)).isEqualTo("TDCZ");

            copyOneToFourWithASyncAndAFlushAmongTheData(client, table);
            assertThat(proxy.server().routing().start("test", null).phase()).isEqualTo(Phase.DUAL);
        }
        assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)\n(2)\n(3)\n(4)");
    }

    /**
     * A driver's prepared COMMIT (pgjdbc prepares its own after a few uses) bound after a SQL PREPARE, which makes the
     * proxy forget every statement name: it cannot read the Bind, and learns from blue's command tag that it
     * committed. That commit is numbered like any other, so a write that found its row on blue waits on green (and so
     * does its client: blue commits the write once green has run it) until green's COMMIT of the row, held on an
     * advisory lock, has landed. Before, the unreadable COMMIT took no number: the write ran on green at once, found
     * no committed row there (UPDATE 0 against blue's UPDATE 1) and took green out of sync.
     */
    @Test
    void aPreparedCommitBoundAfterTheProxyForgotItsNameIsOrderedLikeAnyCommit(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("forgotten_commit");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key, v text not null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green)
                     .followerTimeout(Duration.ofSeconds(40)).start(); // the write's wait on green: up to a quarter
             HeldGreenCommit commit = HeldGreenCommit.on(green, table);
             Connection worker = proxy.connect(blue.superuser())) {
            proxy.server().routing().start("test", null);
            try (RawClient writer = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
                preparedThenForgotten(writer, "commit_stmt", "COMMIT");
                for (String sql : List.of("begin", "insert into " + table + " values (1, 'one')")) {
                    writer.send(RawClient.query(sql));
                    assertThat(typesUntilReady(writer, 1)).isEqualTo("CZ");
                }
                writer.send(concat(bind("commit_stmt"), execute(), sync()));
                commit.awaitCommitWaiting();
                assertThat(proxy.server().followerCommitsOwed()).as("green's COMMIT of the row is owed").isOne();

                CompletableFuture<Integer> claim = ClientSessions.updateInBackground(worker,
                        "update " + table + " set v = 'claimed' where id = 1 and v = 'one'", ForkJoinPool.commonPool());
                await("the claim waits for the row's commit on green").during(Duration.ofMillis(700))
                        .atMost(Duration.ofSeconds(3))
                        .until(() -> !claim.isDone() && ClusterData.number(green, "select count(*) from " + table) == 0);

                commit.release();
                assertThat(claim.get(10, TimeUnit.SECONDS)).as("the row blue found").isEqualTo(1);
                assertThat(typesUntilReady(writer, 1)).isEqualTo("2CZ");
            }
            await("green runs the claim after the row's commit").until(() ->
                    ClusterData.text(green, "select v from " + table + " where id = 1").equals("claimed"));
            proxy.stillAlike();
        }
    }

    /**
     * As above, but the client leaves while blue runs that COMMIT (a relay holds blue's answer). The proxy still
     * reads blue's answer, learns from its tag that the transaction committed, and has green run the same COMMIT:
     * green holds the row too. Before, the closing session took the unreadable COMMIT for no end of a transaction and
     * closed green's connection, which rolled green's side back while blue kept the row, and nothing was recorded.
     */
    @Test
    void aPreparedCommitTheProxyForgotWhoseClientLeavesWhileBlueRunsItCommitsOnGreenToo(TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("forgotten_commit_left");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key, v text not null)");
        String commitText = "commit /* " + table + " */"; // not the proxy's own COMMITs of the writes it wraps
        try (InterceptingRelay relay = InterceptingRelay.holdingAnswers(blue.port(), commitText);
             TestProxy proxy = TestProxy.in(blue).clusterAt("127.0.0.1", relay.port()).green(green).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient writer = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
                preparedThenForgotten(writer, "commit_stmt", commitText);
                for (String sql : List.of("begin", "insert into " + table + " values (1, 'one')")) {
                    writer.send(RawClient.query(sql));
                    assertThat(typesUntilReady(writer, 1)).isEqualTo("CZ");
                }
                writer.send(concat(bind("commit_stmt"), execute(), sync()));
                await("blue has committed the row, its answer held").until(() -> relay.cuts() == 1
                        && ClusterData.number(blue, "select count(*) from " + table) == 1);
            }
            await("the proxy has closed the writer's session").until(() -> proxy.server().sessionCount() == 0);

            relay.release();
            await("green commits the row too").until(() ->
                    ClusterData.number(green, "select count(*) from " + table) == 1);
            await("nothing owed").until(() -> proxy.server().followerCommitsOwed() == 0);
            proxy.stillAlike();
        }
    }

    /**
     * A forgotten CALL of a procedure that commits on its own, at an idle boundary: not wrapped in a transaction of the
     * proxy's, where its COMMIT would fail (2D000), but run on blue, then on green, as a CALL the proxy can read is.
     */
    @Test
    void aForgottenCallOfAProcedureThatCommitsRunsOnBoth(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("forgotten_call");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)",
                "create procedure " + table + "_fill() language plpgsql as $$ begin insert into " + table
                        + " values (1); commit; insert into " + table + " values (2); end $$");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
                preparedThenForgotten(client, "call_stmt", "call " + table + "_fill()");
                client.send(concat(bind("call_stmt"), execute(), sync()));
                assertThat(typesUntilReady(client, 1)).as("the procedure's COMMIT ran").isEqualTo("2CZ");
            }
            await().until(() -> proxy.server().sessionCount() == 0);
            ClusterData.bothHold(blue, green, table, "(1)\n(2)");
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
    }

    /**
     * The other side of the test above: a statement the proxy forgot that was a read when it knew it (pgjdbc's prepared
     * SELECT, bound by name after a SQL PREPARE) may not commit, so it takes no ticket, and another session's write
     * goes to blue while it runs. Were every statement the proxy cannot read to take one, that write would be held
     * until the read's answer, or for the bound.
     */
    @Test
    void aForgottenReadHoldsNoOtherSessionsWriteBack(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("forgotten_read");
        String sleeper = "select pg_sleep(3) /* " + table + " */";
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection other = proxy.connect(blue.superuser());
             Statement s = other.createStatement()) {
            proxy.server().routing().start("test", null);
            try (RawClient reader = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
                preparedThenForgotten(reader, "sleeper", sleeper);
                reader.send(concat(bind("sleeper"), execute(), sync()));
                await("blue runs the forgotten read").until(() -> ClusterData.number(blue,
                        "select count(*) from pg_stat_activity where query = '" + sleeper + "'") == 1);

                assertThat(s.executeUpdate("insert into " + table + " values (1)")).isOne();
                assertThat(proxy.server().migration().writesHeldForCommits()).as("writes held for a COMMIT's answer")
                        .isZero();
                assertThat(typesUntilReady(reader, 1)).isEqualTo("2DCZ");
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
    }

    /**
     * A driver's prepared BEGIN (pgjdbc prepares its own) bound after a SQL PREPARE, which makes the proxy forget every
     * statement name: the proxy cannot read it, and must not wrap it in a transaction of its own as it wraps an
     * autocommit write, which it would then commit, ending the client's transaction after its first statement. The
     * client's transaction stays its own: what it inserts and rolls back is on neither cluster.
     */
    @Test
    void aPreparedBeginBoundAfterTheProxyForgotItsNameBeginsTheClientsOwnTransaction(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("forgotten_begin");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
                preparedThenForgotten(client, "begin_stmt", "BEGIN");

                client.send(concat(bind("begin_stmt"), execute(), parse("insert into " + table + " values (1)"), bind(),
                        execute(), sync()));
                List<Character> types = new ArrayList<>();
                RawClient.Message message;
                while ((message = client.read()).type() != 'Z') {
                    types.add(message.type());
                }
                assertThat(types).as("no warning of a transaction already in progress").containsExactly('2', 'C', '1', '2', 'C');
                assertThat((char) message.body()[0]).as("the client's transaction is open").isEqualTo('T');

                client.send(RawClient.query("rollback"));
                assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            }
            assertThat(ClusterData.number(blue, "select count(*) from " + table)).as("blue, read directly").isZero();
            await().until(() -> proxy.server().sessionCount() == 0);
            assertThat(ClusterData.number(green, "select count(*) from " + table)).as("green, read directly").isZero();
            proxy.stillAlike();
        }
    }

    /**
     * Parses {@code sql} as the statement {@code name}, then has the proxy forget every statement name: a SQL PREPARE
     * may re-make any of them, as far as it can tell (pgjdbc goes on binding the names it prepared).
     */
    private static void preparedThenForgotten(RawClient client, String name, String sql) throws Exception {
        client.send(concat(parse(name, sql), sync()));
        assertThat(typesUntilReady(client, 1)).isEqualTo("1Z");
        client.send(RawClient.query("prepare one_row as select 1"));
        assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
    }

    /** Rows 1 and 2 by a COPY in a Query, 3 and 4 by one by Execute, each with a Sync and a Flush among its data. */
    /**
     * A Query sent after a Flush, without a Sync, when a request before it fails: the server skips everything up
     * to the next Sync, that Query too, and answers the Sync alone. Whether the failure reached the proxy before the
     * Query arrived, or only while the Query waited behind the failing statement, the unit must end with that Sync's
     * ReadyForQuery. Before, with dual-write on, the Query was taken for the unit's end, and the session waited for
     * its answer for ever.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aQueryAfterAFlushThatTheServerSkipsAfterAnErrorEndsAtTheNextSync(boolean sentWhileItRuns, TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        try (TestProxy proxy = TestProxy.in(blue).green(clusters.green()).routing(shortBarrier()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            proxy.server().routing().start("test", null);

            // fails at Execute: the subquery runs there
            String failing = sentWhileItRuns ? "select 1 / (select 0 from pg_sleep(0.5))" : "select 1 / (select 0)";
            client.send(concat(parse(failing), bind(), execute(), flush()));
            assertThat(typesUntil(client, '2')).isEqualTo("12");
            if (!sentWhileItRuns) {
                assertThat(typesUntil(client, 'E')).isEqualTo("E");
            }
            client.send(RawClient.query("select 2"));
            client.send(sync());
            assertThat(typesUntilReady(client, 1)).isEqualTo(sentWhileItRuns ? "EZ" : "Z");

            client.send(RawClient.query("select 3"));
            assertThat(client.firstValue()).isEqualTo("3");
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * COPY data the client sends before it hears CopyInResponse, with a Sync and a Flush among it, in one write with
     * the COPY itself. The server ignores the Sync and the Flush while it copies in. Before, with dual-write on, the
     * proxy took only the data up to the Sync for the COPY, and the rest waited behind it for ever.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aSyncAmongCopyDataSentBeforeCopyInResponseIsPartOfTheCopy(boolean dualWrite, TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("copy_ahead");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).routing(shortBarrier()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            if (dualWrite) {
                proxy.server().routing().start("test", null);
            }
            client.send(concat(RawClient.query("copy " + table + " from stdin"),
                    copyData("1\n"), sync(), copyData("2\n"), flush(), copyData("3\n"), copyDone()));
            assertThat(typesUntilReady(client, 1)).isEqualTo("GCZ");
            client.send(RawClient.query("select count(*) from " + table));
            assertThat(client.firstValue()).isEqualTo("3");
            if (dualWrite) {
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                        assertThat(ClusterData.contents(green, table, "id")).isEqualTo("(1)\n(2)\n(3)"));
                assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            }
        }
        assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)\n(2)\n(3)");
    }

    private static void copyOneToFourWithASyncAndAFlushAmongTheData(RawClient client, String table) throws Exception {
        client.send(RawClient.query("copy " + table + " from stdin"));
        assertThat(typesUntil(client, 'G')).isEqualTo("G");
        client.send(concat(copyData("1\n"), sync(), flush(), copyData("2\n"), copyDone()));
        assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
        client.send(concat(parse("copy " + table + " from stdin"), bind(), execute(), sync()));
        assertThat(typesUntil(client, 'G')).isEqualTo("12G");
        client.send(concat(copyData("3\n"), flush(), sync(), copyData("4\n"), copyDone(), sync()));
        assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
    }

    /**
     * A shutdown whose grace is over while a statement runs cancels the statement before it closes the session, so
     * that it cannot commit unseen. The server's answer to that cancel (ERROR 57014, "due to user request") is not
     * the client's, who gets the FATAL 57P01 alone, as from a server's own fast shutdown; unless the server goes on
     * to answer a statement the client pipelined behind the cancelled one (it may have committed): then the client
     * hears all of it, in order. The fake server answers the cancel at once and keeps the cancel connection open
     * until the proxy gives up on it (the connect timeout), so its answer always arrives before the proxy closes.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aStatementAShutdownCancelsEndsWithTheShutdownsErrorAlone(boolean pipelined, TestClusters clusters) throws Exception {
        CountDownLatch queried = new CountDownLatch(1);
        AtomicReference<FakeBackend> fake = new AtomicReference<>(); // (set here, read on the fake's own thread)
        fake.set(new FakeBackend(out -> {
            queried.countDown();
            try (Socket cancel = fake.get().acceptNext()) {
                DataInputStream request = new DataInputStream(cancel.getInputStream());
                request.readFully(new byte[16]); // the CancelRequest
                out.write(FakeBackend.message('E', "SERROR\0VERROR\0C57014\0Mcanceling statement due to user request\0\0"
                        .getBytes(StandardCharsets.UTF_8)));
                out.write(FakeBackend.message('Z', new byte[] {'I'}));
                out.flush();
                if (pipelined) {
                    out.write(FakeBackend.message('C', "INSERT 0 1\0".getBytes(StandardCharsets.UTF_8)));
                    out.write(FakeBackend.message('Z', new byte[] {'I'}));
                    out.flush();
                }
                request.read(); // until the proxy closes the cancel connection
            }
        }));
        try (FakeBackend backend = fake.get();
             TestProxy viaFake = TestProxy.in(clusters.blue()).clusterAt("127.0.0.1", backend.port())
                     .connectTimeout(Duration.ofSeconds(1)).start();
             RawClient client = new RawClient(viaFake.port()).loggedIn("anyone")) {
            client.send(RawClient.query("select pg_sleep(60)"));
            if (pipelined) {
                client.send(RawClient.query("insert into t values (1)"));
            }
            assertThat(queried.await(10, TimeUnit.SECONDS)).as("the server has the query").isTrue();

            viaFake.shutdown(Duration.ZERO);

            if (pipelined) {
                assertThat(client.read().sqlState()).isEqualTo("57014");
                assertThat(typesUntil(client, 'Z') + typesUntil(client, 'Z')).as("the pipelined statement's answer").isEqualTo("ZCZ");
            }
            RawClient.Message last = client.read();
            assertThat(last.type()).isEqualTo('E');
            assertThat(last.sqlState()).isEqualTo("57P01");
            assertThat(client.readByte()).as("nothing after it: the end of the stream").isEqualTo(-1);
        }
    }

    /**
     * While a COPY by Execute copies in nothing is outstanding (the server ignores the Sync that closed
     * its batch), yet the COPY is a unit in progress: a graceful shutdown (what SIGTERM starts) lets it
     * finish, and closes the session after its ReadyForQuery.
     */
    @Test
    void aShutdownDuringCopyFromStdinByExecuteLetsTheCopyFinish(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        String table = ClusterData.unique("copy_drain");
        blue.execute("postgres", "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser());
             RawClient idle = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            client.send(concat(parse("copy " + table + " from stdin"), bind(), describePortal(), execute(), sync()));
            assertThat(typesUntil(client, 'G')).isEqualTo("12nG");
            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> {
                try {
                    proxy.shutdown(Duration.ofSeconds(30));
                } catch (InterruptedException e) {
                    throw new CompletionException(e);
                }
            });
            assertThat(idle.readUntil('E').sqlState()).as("the drain has reached the sessions").isEqualTo("57P01");

            client.send(concat(copyData("1\n"), copyData("2\n"), copyDone(), sync()));

            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            assertThat(client.read().sqlState()).isEqualTo("57P01");
            shutdown.get(30, TimeUnit.SECONDS);
        }
        assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)\n(2)");
    }

    /**
     * Shadow mode starts without the write barrier, so a session may see it in the middle of a COPY by
     * Execute: the data still goes to blue, where the COPY runs, and the twin comes at the next unit.
     */
    @Test
    void aShadowStartDuringCopyFromStdinByExecuteLetsTheCopyFinishOnBlue(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("copy_shadow");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            client.send(concat(parse("copy " + table + " from stdin"), bind(), describePortal(), execute(), sync()));
            assertThat(typesUntil(client, 'G')).isEqualTo("12nG");
            proxy.server().routing().startShadow("test", null);

            client.send(concat(copyData("1\n"), copyData("2\n"), copyDone(), sync()));

            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            client.send(RawClient.query("insert into " + table + " values (3)"));
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            await().untilAsserted(() -> assertThat(ClusterData.contents(green, table, "id")).isEqualTo("(3)"));
        }
        assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)\n(2)\n(3)");
    }

    private static String typesUntil(RawClient client, char last) throws Exception {
        StringBuilder types = new StringBuilder();
        char type;
        do {
            type = client.read().type();
            types.append(type);
        } while (type != last);
        return types.toString();
    }

    private static byte[] describePortal() {
        return RawClient.message('D', new byte[] {'P', 0});
    }

    @Test
    void withDualWriteOnWhatFollowsAFlushInTheSameReadRunsWhenItsSyncComesLater(TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        try (TestProxy proxy = TestProxy.in(blue).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            proxy.server().routing().start("test", null);

            // libpq's pipeline mode and psycopg 3 send like this: the Flush asks for what is done so far,
            // the Execute after it belongs to the same unit, and the Sync comes in a later packet
            client.send(concat(parse("select 8"), bind(), describePortal(), flush(), execute()));
            assertThat(client.read().type()).isEqualTo('1');
            assertThat(client.read().type()).isEqualTo('2');
            assertThat(client.read().type()).isEqualTo('T');
            client.send(sync());

            RawClient.Message row = client.read();
            assertThat(row.type()).isEqualTo('D');
            assertThat(new String(row.body(), 6, 1, StandardCharsets.UTF_8)).isEqualTo("8");
            assertThat(typesUntilReady(client, 1)).isEqualTo("CZ");
            client.send(concat(parse("select 9"), bind(), execute(), sync()));
            assertThat(typesUntilReady(client, 1)).isEqualTo("12DCZ");
        }
    }

    /**
     * A write a Flush opened (libpq's pipeline mode, psycopg 3, pgx) is held back from blue while another session's
     * COMMIT there is unanswered (a relay holds blue's answer): the Sync the client sends meanwhile waits with the
     * write and follows it. Before, the Sync went to blue on its own, ahead of the write, whose messages then went
     * a second time, and blue's unexpected answer ended the session.
     */
    @Test
    void aWriteAFlushOpenedHeldForAnotherSessionsCommitTakesWhatTheClientSendsOnAfterIt(TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("held_flush");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key, v text not null)",
                "insert into " + table + " values (1, 'queued'), (2, 'queued')");
        try (InterceptingRelay relay = InterceptingRelay.holdingAnswers(blue.port(), "commit /* held */");
             TestProxy proxy = TestProxy.in(blue).clusterAt("127.0.0.1", relay.port()).green(green).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser());
             Connection committer = proxy.connect(blue.superuser());
             Statement s = committer.createStatement()) {
            proxy.server().routing().start("test", null);
            client.send(RawClient.query("select 1"));
            client.readUntil('Z'); // the session's twin is made
            s.execute("begin");
            s.executeUpdate("update " + table + " set v = 'other' where id = 2");
            CompletableFuture<Void> commit = CompletableFuture.runAsync(() -> {
                try (Statement committing = committer.createStatement()) {
                    committing.execute("commit /* held */");
                } catch (java.sql.SQLException e) {
                    throw new IllegalStateException(e);
                }
            }, Thread::startVirtualThread);
            await("blue has the COMMIT, its answer held").until(() -> relay.cuts() == 1);

            client.send(concat(parse("update " + table + " set v = 'claimed' where id = 1"), bind(), execute(), flush()));
            await("the write is held back from blue").until(() -> proxy.server().migration().writesHeldForCommits() == 1);
            client.send(sync());
            relay.release();

            commit.get(10, TimeUnit.SECONDS);
            assertThat(typesUntilReady(client, 1)).isEqualTo("12CZ");
            assertThat(ClusterData.text(blue, "select v from " + table + " where id = 1")).isEqualTo("claimed");
            await("green runs it").until(() ->
                    ClusterData.text(green, "select v from " + table + " where id = 1").equals("claimed"));
            assertThat(proxy.server().migration().divergenceCount()).isZero();
            client.send(RawClient.query("select 2"));
            assertThat(client.firstValue()).as("the session goes on").isEqualTo("2");
        }
    }

    @Test
    void flushDeliversResultsBeforeAnySync(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        try (TestProxy proxy = TestProxy.in(blue).start(); RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {

            client.send(concat(parse("select 7"), bind(), execute(), flush()));

            assertThat(client.read().type()).isEqualTo('1');
            assertThat(client.read().type()).isEqualTo('2');
            RawClient.Message row = client.read();
            assertThat(row.type()).isEqualTo('D');
            assertThat(new String(row.body(), 6, 1, StandardCharsets.UTF_8)).isEqualTo("7");
            assertThat(client.read().type()).isEqualTo('C');
            client.send(sync());
            assertThat(client.read().type()).isEqualTo('Z');
        }
    }

    // --- messages pipelined behind the login: Postgres reads them after its ReadyForQuery ---------

    /** The text of the first column of the first DataRow after the next ReadyForQuery, skipping the login's messages. */
    private static String firstValueAfterLogin(RawClient client) throws Exception {
        client.readUntil('Z');
        RawClient.Message row = client.readUntil('D');
        client.readUntil('Z');
        return new String(row.body(), 6, row.body().length - 6, StandardCharsets.UTF_8);
    }

    @Test
    void aQuerySentWithTheStartupMessageIsAnsweredOnceTheSessionIsReady(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        try (TestProxy proxy = TestProxy.in(blue).start();
             RawClient client = new RawClient(proxy.port())) {

            client.send(concat(RawClient.startupPacket(3 << 16, Map.of("user", blue.superuser(), "database", "postgres")),
                    RawClient.query("select 'pipelined'")));

            assertThat(firstValueAfterLogin(client)).isEqualTo("pipelined");
        }
    }

    @Test
    void aQuerySentWithTheMd5PasswordIsAnsweredOnceTheSessionIsReady(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        try (TestProxy proxy = TestProxy.in(blue).backendLogin(blue.superuser(), null)
                .user(new User("bob", AuthMethod.MD5, Secret.of("bob-pw"))).start();
             RawClient client = new RawClient(proxy.port())) {
            client.startup(Map.of("user", "bob", "database", "postgres"));
            byte[] salt = Arrays.copyOfRange(client.read().body(), 4, 8);
            String answer = Md5.response("bob", "bob-pw", salt);

            client.send(concat(RawClient.message('p', (answer + "\0").getBytes(StandardCharsets.UTF_8)),
                    RawClient.query("select 'behind the password'")));

            assertThat(firstValueAfterLogin(client)).isEqualTo("behind the password");
        }
    }

    /** With dual-write on, the session's first unit starts in units mode, which takes the waiting write too. */
    @Test
    void aWriteSentWithTheStartupMessageReachesBothClustersWithDualWrite(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("behind_login");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port())) {

                client.send(concat(RawClient.startupPacket(3 << 16, Map.of("user", blue.superuser(), "database", "postgres")),
                        RawClient.query("insert into " + table + " values (1) returning id")));

                assertThat(firstValueAfterLogin(client)).isEqualTo("1");
            }
        }
        assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)");
        assertThat(ClusterData.contents(green, table, "id")).isEqualTo("(1)");
    }

    /**
     * With dual-write on, half an extended-protocol unit sent with the StartupMessage (no Sync yet) waits
     * for its other half, which the session must still read once it is ready.
     */
    @Test
    void halfAUnitSentWithTheStartupMessageIsCompletedByTheNextRead(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        try (TestProxy proxy = TestProxy.in(blue).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port())) {
                client.send(concat(RawClient.startupPacket(3 << 16, Map.of("user", blue.superuser(), "database", "postgres")),
                        parse("select 'completed later'"), bind()));
                client.readUntil('Z');

                client.send(concat(execute(), sync()));

                RawClient.Message row = client.readUntil('D');
                assertThat(new String(row.body(), 6, row.body().length - 6, StandardCharsets.UTF_8)).isEqualTo("completed later");
                client.readUntil('Z');
            }
        }
    }

    /**
     * What waits for the login is not read without limit: the client is not read again until the session
     * is ready, so a client streaming queries behind a login that takes its time fills its own socket.
     */
    @Test
    void whileTheClusterLoginIsPendingTheClientIsNotRead(TestClusters clusters) throws Exception {
        CountDownLatch loginHeld = new CountDownLatch(1);
        FakeBackend.Login slow = (in, out) -> {
            try {
                loginHeld.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            FakeBackend.trust().run(in, out);
        };
        byte[] query = RawClient.query("select '" + "x".repeat(64 * 1024) + "'"); // few frames: reading them is cheap
        try (FakeBackend fake = new FakeBackend(slow, out -> { });
             TestProxy proxy = TestProxy.in(clusters.blue()).clusterAt("127.0.0.1", fake.port()).start();
             RawClient client = new RawClient(proxy.port())) {
            client.startup(Map.of("user", "anyone", "database", "postgres"));
            client.readUntil('R');
            // the allocator is the JVM's shared pool: what earlier tests left in it is not this test's
            long before = proxyMemory(proxy);
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < 1024; i++) {
                        client.send(query);
                    }
                } catch (IOException e) {
                    throw new CompletionException(e);
                }
            });

            // 64 MiB of queries would take well under a second to cross the loopback if the proxy kept reading
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> !writer.isDone());
            assertThat(proxyMemory(proxy) - before).as("pooled memory taken meanwhile").isLessThan(16L << 20);

            loginHeld.countDown();
        }
    }

    private static long proxyMemory(TestProxy proxy) {
        ByteBufAllocatorMetric memory = ((ByteBufAllocatorMetricProvider) proxy.server().allocator()).metric();
        return memory.usedDirectMemory() + memory.usedHeapMemory();
    }
}
