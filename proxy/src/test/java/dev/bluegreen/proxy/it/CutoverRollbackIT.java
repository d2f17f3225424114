package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.ClusterData.contents;
import static dev.bluegreen.proxy.it.ClusterData.major;
import static dev.bluegreen.proxy.it.ClusterData.onBoth;
import static dev.bluegreen.proxy.it.ClusterData.preparedTransactions;
import static dev.bluegreen.proxy.it.ClusterData.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.config.Limits;
import dev.bluegreen.config.ReadAfterWrite;
import dev.bluegreen.config.Routing;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.control.FollowerWrites;
import dev.bluegreen.proxy.control.Phase;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Leadership moves under traffic without losing a write (DESIGN §2, §5): while pgjdbc sessions insert,
 * read back and count, dual-write starts, the weight goes to 100, green takes over the writes and
 * hands them back; every insert a client saw commit is on both clusters and the tables read the same.
 * The write barrier that makes these switches exact gives up after its timeout when a session keeps a
 * transaction open: the command fails naming that session, and nothing changes. Shadow mode never lets
 * green serve reads.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class CutoverRollbackIT {

    private static final int BLUE_MAJOR = 16;
    /** A write barrier that gives up after 2 s, for tests where a session holds it up on purpose. */
    private static final Routing SHORT_BARRIER = Routing.defaults().withWriteBarrierTimeout(Duration.ofSeconds(2));
    /**
     * A session named so that an operator finds its application: user, application_name, client address (pgjdbc
     * sets its application name, "PostgreSQL JDBC Driver", by default).
     */
    private static final String SESSION =
            "session\\[\\d+\\] \\(user \\w+(, application [^,)]+)?, from 127\\.0\\.0\\.1:\\d+\\)";
    private static final String HELD_UP_BY_ONE_SESSION = "held up by \\[" + SESSION + "\\]";

    private static PgCluster blue;
    private static PgCluster green;

    @BeforeAll
    static void clusters(TestClusters clusters) {
        blue = clusters.blue();
        green = clusters.green();
    }

    /**
     * pgjdbc's {@code ApplicationName}: in the startup packet, as libpq sends it, or (pgjdbc's default) by a
     * {@code SET} after logging in.
     */
    private static Properties applicationName(String name, boolean inStartupPacket) {
        Properties properties = new Properties();
        properties.setProperty("ApplicationName", name);
        if (inStartupPacket) {
            properties.setProperty("assumeMinServerVersion", "9.0");
        }
        return properties;
    }

    private static Connection viaProxy(TestProxy proxy) throws SQLException {
        return proxy.connect(blue.superuser());
    }

    @Test
    void cutoverAndThenRollbackUnderTrafficLoseNoWrite() throws Exception {
        String items = unique("cr_items");
        String counters = unique("cr_counters");
        onBoth(blue, green,
                "create table " + items + " (id bigint primary key, session int not null, v text not null)",
                "create table " + counters + " (id int primary key, n bigint not null)",
                "insert into " + counters + " select g, 0 from generate_series(1, 4) g");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             WriteLoad load = new WriteLoad(proxy, items, counters, 6)) {
            RoutingControl routing = proxy.server().routing();
            routing.start("test", null);
            load.go();
            load.awaitProgress(100);
            routing.setWeight("test", 100, null);
            load.awaitProgress(100);

            RoutingState cutover = routing.cutover("test", null);
            load.awaitProgress(200);
            RoutingState rolledBack = routing.rollback("test", "proving rollback under traffic", false);
            load.awaitProgress(200);
            load.stop();
            // at weight 0 a write is acknowledged at blue's commit: green's may still be on its way
            await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);

            assertThat(cutover.phase()).isEqualTo(Phase.CUTOVER);
            assertThat(cutover.leader()).isEqualTo(ClusterRole.GREEN);
            assertThat(rolledBack.phase()).isEqualTo(Phase.DUAL);
            assertThat(rolledBack.leader()).isEqualTo(ClusterRole.BLUE);
            assertThat(rolledBack.weight()).isZero();
            assertThat(load.errors()).as("client-visible errors").isEmpty();
            List<Long> committed = List.copyOf(new TreeSet<>(load.committed()));
            assertThat(committed).hasSizeGreaterThan(600);
            for (PgCluster cluster : List.of(blue, green)) {
                assertThat(ClusterData.numbers(cluster, "select id from " + items + " order by id"))
                        .as("every insert the clients saw commit, and nothing else, on %s", cluster.name())
                        .containsExactlyElementsOf(committed);
                for (int row = 1; row <= 4; row++) {
                    assertThat(ClusterData.number(cluster, "select n from " + counters + " where id = " + row))
                            .as("counter %d on %s", row, cluster.name()).isEqualTo(load.increments(row));
                }
            }
            assertThat(contents(green, items, "id")).isEqualTo(contents(blue, items, "id"));
            assertThat(contents(green, counters, "id")).isEqualTo(contents(blue, counters, "id"));
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(routing.current().followerInSync()).isTrue();
        }
    }

    /**
     * pgjdbc sessions, connected before dual-write starts and idle until {@link #go}: each inserts rows
     * with explicit ids and reads each back at once, bumps counters, and every fifth round does both in a
     * transaction, retried on deadlock or serialisation failure as an application would.
     */
    private static final class WriteLoad implements AutoCloseable {
        private final ClientSessions sessions;
        private final CountDownLatch connected;
        private final CountDownLatch go = new CountDownLatch(1);
        private final Set<Long> committed = ConcurrentHashMap.newKeySet();
        private final AtomicLongArray increments = new AtomicLongArray(5);
        private final AtomicLong rounds = new AtomicLong();

        WriteLoad(TestProxy proxy, String items, String counters, int count) throws InterruptedException {
            connected = new CountDownLatch(count);
            sessions = new ClientSessions(count);
            sessions.start(session -> run(proxy, items, counters, session));
            assertThat(connected.await(30, TimeUnit.SECONDS)).as("sessions connected").isTrue();
        }

        void go() {
            go.countDown();
        }

        /** Waits until the sessions have completed {@code more} further rounds: the next command runs under traffic. */
        void awaitProgress(long more) {
            long target = rounds.get() + more;
            await().atMost(Duration.ofSeconds(60)).until(() -> rounds.get() >= target || sessions.failed());
        }

        private void run(TestProxy proxy, String items, String counters, int session) {
            Connection c;
            try {
                c = viaProxy(proxy);
            } catch (SQLException e) {
                sessions.error("session " + session + " could not connect: " + e.getMessage());
                return;
            } finally {
                connected.countDown();
            }
            try (c;
                 PreparedStatement insert = c.prepareStatement("insert into " + items + " values (?, ?, ?)");
                 PreparedStatement read = c.prepareStatement("select v from " + items + " where id = ?");
                 PreparedStatement bump = c.prepareStatement("update " + counters + " set n = n + 1 where id = ?")) {
                go.await();
                for (long seq = 0; !sessions.stopping(); seq++) {
                    long id = session * 1_000_000L + seq;
                    int row = (int) (seq % 4) + 1;
                    insert.setLong(1, id);
                    insert.setInt(2, session);
                    bump.setInt(1, row);
                    if (seq % 5 == 4) {
                        insert.setString(3, "in a transaction");
                        transaction(c, insert, bump);
                        committed.add(id);
                    } else {
                        insert.setString(3, "value " + id);
                        insert.executeUpdate();
                        committed.add(id);
                        read.setLong(1, id);
                        try (ResultSet rs = read.executeQuery()) {
                            if (!rs.next()) {
                                sessions.error("session " + session + " did not see its own row " + id);
                            }
                        }
                        bump.executeUpdate();
                    }
                    increments.incrementAndGet(row);
                    rounds.incrementAndGet();
                }
            } catch (SQLException e) {
                sessions.error("session " + session + ": " + e.getSQLState() + " " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private static void transaction(Connection c, PreparedStatement insert, PreparedStatement bump) throws SQLException {
            for (int attempt = 1; ; attempt++) {
                c.setAutoCommit(false);
                try {
                    insert.executeUpdate();
                    bump.executeUpdate();
                    c.commit();
                    c.setAutoCommit(true);
                    return;
                } catch (SQLException e) {
                    c.rollback();
                    c.setAutoCommit(true);
                    if (!Set.of("40P01", "40001").contains(e.getSQLState()) || attempt == 10) {
                        throw e;
                    }
                }
            }
        }

        Set<Long> committed() {
            return committed;
        }

        long increments(int row) {
            return increments.get(row);
        }

        List<String> errors() {
            return sessions.errors();
        }

        void stop() throws Exception {
            sessions.stop();
        }

        @Override
        public void close() {
            sessions.close();
            go.countDown();
        }
    }

    @ParameterizedTest(name = "application name in the startup packet: {0}")
    @ValueSource(booleans = {true, false})
    void aSessionHoldingATransactionOpenMakesStartTimeOutNamingItAndChangingNothing(boolean inStartupPacket)
            throws Exception {
        String table = unique("barrier_start");
        onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).routing(SHORT_BARRIER).start();
             Connection idle = viaProxy(proxy); Statement idleStatement = idle.createStatement();
             Connection holder = proxy.connect(blue.superuser(), null,
                     applicationName("billing-worker", inStartupPacket));
             Statement holderStatement = holder.createStatement()) {
            RoutingControl routing = proxy.server().routing();
            idleStatement.executeUpdate("insert into " + table + " values (1)");
            holder.setAutoCommit(false);
            holderStatement.executeUpdate("insert into " + table + " values (2)");
            RoutingState before = routing.current();
            int changes = routing.history().size();

            RoutingControl.Refused refused = catchThrowableOfType(RoutingControl.Refused.class, () -> routing.start("test", null));

            assertThat(refused).as("start refused").isNotNull();
            // named so that the operator finds the application, not by the proxy's session number alone
            assertThat(refused.getMessage()).containsPattern("held up by \\[session\\[\\d+\\] \\(user "
                    + blue.superuser() + ", application billing-worker, from 127\\.0\\.0\\.1:\\d+\\)\\]");
            assertThat(routing.current()).isEqualTo(before);
            assertThat(routing.current().phase()).isEqualTo(Phase.BLUE);
            assertThat(routing.history()).hasSize(changes);
            // the holder was the reason: once it commits, the same command goes through
            holder.commit();
            assertThat(routing.start("test", null).phase()).isEqualTo(Phase.DUAL);
        }
    }

    @Test
    void aSessionHoldingATransactionOpenMakesCutoverTimeOutNamingItAndChangingNothing() throws Exception {
        String table = unique("barrier_cutover");
        onBoth(blue, green,
                "create table " + table + " (id int primary key, n int not null)",
                "insert into " + table + " values (1, 0)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).routing(SHORT_BARRIER).start()) {
            RoutingControl routing = proxy.server().routing();
            routing.start("test", null);
            routing.setWeight("test", 100, null);
            try (Connection idle = viaProxy(proxy); Statement idleStatement = idle.createStatement();
                 Connection holder = viaProxy(proxy); Statement holderStatement = holder.createStatement()) {
                idleStatement.executeQuery("select 1").close();
                holder.setAutoCommit(false);
                holderStatement.executeUpdate("update " + table + " set n = n + 1 where id = 1");
                RoutingState before = routing.current();
                int changes = routing.history().size();

                RoutingControl.Refused refused = catchThrowableOfType(RoutingControl.Refused.class, () -> routing.cutover("test", null));

                assertThat(refused).as("cutover refused").isNotNull();
                assertThat(refused.getMessage()).containsPattern(HELD_UP_BY_ONE_SESSION);
                assertThat(routing.current()).isEqualTo(before);
                assertThat(routing.current().phase()).isEqualTo(Phase.DUAL);
                assertThat(routing.current().leader()).isEqualTo(ClusterRole.BLUE);
                assertThat(routing.history()).hasSize(changes);
                holder.commit();
                assertThat(ClusterData.number(blue, "select n from " + table + " where id = 1")).isEqualTo(1);
                assertThat(ClusterData.number(green, "select n from " + table + " where id = 1")).isEqualTo(1);
                assertThat(routing.cutover("test", null).leader()).isEqualTo(ClusterRole.GREEN);
            }
        }
    }

    /**
     * The client has blue's answer to its autocommit insert ({@code read_after_write: session}: at blue's
     * commit) and has gone while green's COMMIT still runs (held here on an advisory lock a deferred trigger
     * takes): that write is still in flight, so the closed session keeps the barrier closed until green has
     * answered, and the cutover that waited finds the row committed on green.
     */
    @Test
    void aCutoverWaitsForTheFollowersCommitOfASessionThatHasAlreadyClosed() throws Exception {
        String table = unique("barrier_drain");
        onBoth(blue, green, "create table " + table + " (id int primary key, v text not null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green)
                .routing(Routing.defaults().withReadAfterWrite(ReadAfterWrite.SESSION)).start();
             HeldGreenCommit commit = HeldGreenCommit.on(green, table)) {
            RoutingControl routing = proxy.server().routing();
            routing.start("test", null);
            routing.setWeight("test", 100, null);
            commit.insertThroughAndLeave(proxy, blue.superuser(), table);
            assertThat(routing.barrier().holders()).as("the closed session's write is still in flight")
                    .singleElement().asString().matches(SESSION);

            CompletableFuture<RoutingState> cutover = CompletableFuture.supplyAsync(() -> {
                try {
                    return routing.cutover("test", null);
                } catch (RoutingControl.Refused e) {
                    throw new IllegalStateException(e);
                }
            });
            commit.release();

            assertThat(cutover.get(10, TimeUnit.SECONDS).leader()).isEqualTo(ClusterRole.GREEN);
            assertThat(contents(green, table, "id")).as("green, read directly, when the cutover returned")
                    .isEqualTo("(1,one)");
            assertThat(contents(blue, table, "id")).isEqualTo("(1,one)");
            assertThat(routing.current().followerInSync()).isTrue();
        }
    }

    /**
     * The same for a session whose last transaction ended with COMMIT AND CHAIN (or a COMMIT and a BEGIN in one
     * unit), which leaves the next one open:
     * the client has blue's answer (weight 0: at blue's commit) and leaves while green's COMMIT AND CHAIN runs. The
     * closed session waits for it and holds the barrier meanwhile, and green commits what blue committed. The
     * chained transaction's writes, rolled back on blue as the session closed, are not compared: the 16 sent to
     * green behind its COMMIT (the lane's batch) fail there, as another session has inserted the first one's key
     * meanwhile, and that is no divergence. Before, only a session left idle waited: green's connection was closed
     * under its COMMIT, and green rolled back a transaction blue had committed, unseen.
     */
    @ParameterizedTest
    @ValueSource(strings = {"commit and chain", "commit; begin"})
    void aClosedSessionWaitsForTheFollowersCommitAndChain(String end) throws Exception {
        String table = unique("chain_drain");
        onBoth(blue, green, "create table " + table + " (id int primary key, v text not null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             HeldGreenCommit commit = HeldGreenCommit.on(green, table)) {
            RoutingControl routing = proxy.server().routing();
            routing.start("test", null);
            try (Connection c = viaProxy(proxy); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                assertThat(s.executeUpdate("insert into " + table + " values (1, 'one')")).isEqualTo(1);
                s.execute(end);
                for (int id = 2; id <= 18; id++) {
                    assertThat(s.executeUpdate("insert into " + table + " values (" + id + ", 'chained')")).isEqualTo(1);
                }
                commit.awaitCommitWaiting();
            }
            await("the client's session has closed").until(() -> proxy.server().sessionCount() == 0);
            assertThat(routing.barrier().holders()).as("the closed session's commit is still in flight")
                    .singleElement().asString().matches(SESSION);
            try (Connection c = viaProxy(proxy); Statement s = c.createStatement()) {
                assertThat(s.executeUpdate("insert into " + table + " values (2, 'two')")).isEqualTo(1);
            }

            commit.release();

            await("the barrier is let go").until(() -> routing.barrier().holders().isEmpty());
            assertThat(contents(green, table, "id")).as("green, read directly").isEqualTo("(1,one)\n(2,two)");
            assertThat(contents(blue, table, "id")).isEqualTo("(1,one)\n(2,two)");
            assertThat(routing.current().followerInSync()).isTrue();
            assertThat(proxy.server().migration().divergences()).isEmpty();
        }
    }

    /**
     * The same for a PREPARE TRANSACTION and a BEGIN in one unit (the first phase of a two-phase commit, the session
     * going on): the closed session waits for green's PREPARE TRANSACTION and holds the barrier meanwhile, so green
     * holds the prepared transaction blue holds, and the COMMIT PREPARED that follows commits it on both. Before,
     * only a COMMIT counted: green's connection was closed under its PREPARE TRANSACTION, and green rolled the
     * transaction back.
     */
    @Test
    void aClosedSessionWaitsForTheFollowersPrepareTransaction() throws Exception {
        String table = unique("prepare_drain");
        onBoth(blue, green, "create table " + table + " (id int primary key, v text not null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             HeldGreenCommit commit = HeldGreenCommit.on(green, table)) {
            RoutingControl routing = proxy.server().routing();
            routing.start("test", null);
            try {
                try (Connection c = viaProxy(proxy); Statement s = c.createStatement()) {
                    c.setAutoCommit(false);
                    assertThat(s.executeUpdate("insert into " + table + " values (1, 'one')")).isEqualTo(1);
                    s.execute("prepare transaction '" + table + "'; begin");
                    assertThat(s.executeUpdate("insert into " + table + " values (2, 'chained')")).isEqualTo(1);
                    commit.awaitCommitWaiting();
                }
                await("the client's session has closed").until(() -> proxy.server().sessionCount() == 0);
                assertThat(routing.barrier().holders()).as("the closed session's PREPARE TRANSACTION is still in flight")
                        .singleElement().asString().matches(SESSION);

                commit.release();

                await("the barrier is let go").until(() -> routing.barrier().holders().isEmpty());
                assertThat(preparedTransactions(green, table)).as("green, read directly").isEqualTo(1);
                assertThat(preparedTransactions(blue, table)).isEqualTo(1);
                try (Connection c = viaProxy(proxy); Statement s = c.createStatement()) {
                    s.execute("commit prepared '" + table + "'");
                }
                assertThat(contents(green, table, "id")).as("green, read directly").isEqualTo("(1,one)");
                assertThat(contents(blue, table, "id")).isEqualTo("(1,one)");
                assertThat(routing.current().followerInSync()).isTrue();
                assertThat(proxy.server().migration().divergences()).isEmpty();
            } finally {
                ClusterData.rollBackPrepared(table, blue, green);
            }
        }
    }

    /**
     * Two-phase commit across sessions at weight 0: one session prepares a transaction, and has blue's answer while
     * green's {@code PREPARE TRANSACTION} still runs (held here by a deferred trigger); another commits it at once.
     * Green's copy of that {@code COMMIT PREPARED} waits for green's {@code PREPARE TRANSACTION}, so it finds the
     * transaction there. Before, it reached green first and failed ({@code 42704}), a divergence that left green's
     * prepared transaction behind. The {@code COMMIT PREPARED} is numbered as a commit too: a third session's write
     * of the row it made visible waits, on green, for green's {@code COMMIT PREPARED}, as it would for a
     * {@code COMMIT}.
     */
    @Test
    void aCommitPreparedFromAnotherSessionWaitsForTheFollowersPrepareTransaction() throws Exception {
        String table = unique("prepare_other");
        onBoth(blue, green, "create table " + table + " (id int primary key, v text not null)");
        // (green's waits for other sessions' commits last up to a quarter of the follower timeout: 30 s here)
        try (TestProxy proxy = TestProxy.in(blue).green(green).followerTimeout(Duration.ofMinutes(2)).start();
             HeldGreenCommit prepare = HeldGreenCommit.on(green, table);
             Connection preparing = viaProxy(proxy); Statement p = preparing.createStatement();
             Connection committing = viaProxy(proxy); Statement c = committing.createStatement();
             Connection writing = viaProxy(proxy); Statement w = writing.createStatement()) {
            RoutingControl routing = proxy.server().routing();
            routing.start("test", null);
            try {
                p.execute("begin");
                assertThat(p.executeUpdate("insert into " + table + " values (1, 'one')")).isEqualTo(1);
                p.execute("prepare transaction '" + table + "'");
                prepare.awaitCommitWaiting();
                assertThat(preparedTransactions(green, table)).as("green, its PREPARE TRANSACTION held").isZero();

                CompletableFuture<Boolean> committed = CompletableFuture.supplyAsync(() -> execute(c,
                        "commit prepared '" + table + "'"));
                await("blue has committed the prepared transaction").until(() -> preparedTransactions(blue, table) == 0);
                await("green owes the PREPARE TRANSACTION and the COMMIT PREPARED")
                        .until(() -> proxy.server().followerCommitsOwed() == 2);
                CompletableFuture<Boolean> updated = CompletableFuture.supplyAsync(() -> execute(w,
                        "update " + table + " set v = 'two' where id = 1"));
                await("green's COMMIT PREPARED waits for its PREPARE TRANSACTION").during(Duration.ofSeconds(1))
                        .atMost(Duration.ofSeconds(5))
                        .until(() -> !committed.isDone() && proxy.server().migration().divergences().isEmpty());

                prepare.release();

                assertThat(committed.get(30, TimeUnit.SECONDS)).isFalse(); // no result set: a command
                assertThat(updated.get(30, TimeUnit.SECONDS)).isFalse();
                assertThat(w.getUpdateCount()).as("the third session's UPDATE, blue's answer").isOne();
                // (at weight 0 the UPDATE's client has its answer once green's COMMIT is sent, not answered)
                await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);
                ClusterData.bothHold(blue, green, table, "(1,two)");
                assertThat(preparedTransactions(green, table)).as("green, read directly").isZero();
                assertThat(proxy.server().migration().divergences()).isEmpty();
                assertThat(routing.current().followerInSync()).isTrue();
            } finally {
                prepare.letGo(proxy);
                ClusterData.rollBackPrepared(table, blue, green);
            }
        }
    }

    private static boolean execute(Statement statement, String sql) {
        try {
            return statement.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    /** In shadow mode the follower's copy of a write is not part of the unit, for a closed session either. */
    @Test
    void aClosedSessionsQueuedShadowWritesDoNotHoldTheBarrier() throws Exception {
        String table = unique("barrier_shadow");
        onBoth(blue, green, "create table " + table + " (id int primary key, v text not null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             HeldGreenCommit commit = HeldGreenCommit.on(green, table)) {
            RoutingControl routing = proxy.server().routing();
            routing.startShadow("test", null);
            commit.insertThroughAndLeave(proxy, blue.superuser(), table);

            assertThat(routing.barrier().holders()).isEmpty();

            commit.release();
            await("the shadow write reaches green").until(() -> contents(green, table, "id").equals("(1,one)"));
        }
    }

    /**
     * Shadow writes waiting for a green that does not keep up share a budget of bytes across sessions (the
     * largest message accepted, {@code limits.max_message_size}); beyond it they are dropped and counted, as
     * beyond 1024 units a session. Before, only the count bounded them: 1024 units of up to that size each, a
     * session, held in memory.
     */
    @Test
    void shadowWritesQueuedForASlowGreenKeepWithinABudgetOfBytes() throws Exception {
        String table = unique("shadow_budget");
        onBoth(blue, green, "create table " + table + " (id int primary key, v text not null)");
        int budget = 64 * 1024;
        String payload = "x".repeat(10_000);
        try (TestProxy proxy = TestProxy.in(blue).green(green)
                .limits(new Limits(1000, budget, Limits.DEFAULT_MAX_STARTUP_PACKET_BYTES)).start();
             Connection onGreen = green.connect("postgres"); Statement lock = onGreen.createStatement();
             Connection c = viaProxy(proxy); Statement s = c.createStatement()) {
            proxy.server().routing().startShadow("test", null);
            onGreen.setAutoCommit(false);
            lock.execute("lock table " + table + " in access exclusive mode"); // green takes no write meanwhile
            for (int id = 1; id <= 20; id++) {
                s.execute("insert into " + table + " values (" + id + ", '" + payload + "')");
            }
            long dropped = proxy.server().migration().mirrorDrops();
            assertThat(dropped).as("writes beyond the budget dropped").isBetween(20L - budget / 10_000, 20L);
            onGreen.rollback();

            await().atMost(Duration.ofSeconds(10)).until(() -> count(green, table) == 20 - dropped);
            assertThat(count(blue, table)).isEqualTo(20);
        }
    }

    private static long count(PgCluster cluster, String table) throws SQLException {
        try (Connection direct = cluster.connect("postgres"); Statement s = direct.createStatement();
             ResultSet rs = s.executeQuery("select count(*) from " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void shadowModeRefusesAnyWeightAboveZeroAndReadsStayOnBlue() throws Exception {
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            RoutingControl routing = proxy.server().routing();
            RoutingState shadow = routing.startShadow("test", null);

            assertThatThrownBy(() -> routing.setWeight("test", 1, null)).isInstanceOf(RoutingControl.Refused.class);
            assertThatThrownBy(() -> routing.setWeight("test", 100, null)).isInstanceOf(RoutingControl.Refused.class);
            assertThatThrownBy(() -> routing.cutover("test", null)).isInstanceOf(RoutingControl.Refused.class);

            assertThat(routing.current()).isEqualTo(shadow);
            assertThat(shadow.followerWrites()).isEqualTo(FollowerWrites.ASYNC);
            assertThat(shadow.weight()).isZero();
            for (int session = 0; session < 8; session++) {
                try (Connection c = viaProxy(proxy); Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery("select current_setting('server_version_num')::int")) {
                    rs.next();
                    assertThat(major(rs.getInt(1))).as("session %d served by", session).isEqualTo(BLUE_MAJOR);
                }
            }
        }
    }

    /**
     * A read-only transaction (pgjdbc's {@code BEGIN READ ONLY}, or pg_dump's {@code BEGIN} then {@code SET TRANSACTION
     * ... READ ONLY}) does not hold the write barrier (DESIGN §5: reads are never held): a cutover and a rollback
     * while it is open both go through at once, and it reads on and commits. Before, each waited for it and was
     * refused after the barrier's timeout, naming the session.
     */
    @ParameterizedTest
    @ValueSource(strings = {"begin read only", "begin; set transaction isolation level repeatable read, read only"})
    void aReadOnlyTransactionHoldsNeitherACutoverNorARollback(String begin) throws Exception {
        String table = unique("cr_read_only");
        onBoth(blue, green, "create table " + table + " (id int primary key)", "insert into " + table + " values (1)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).routing(Routing.defaults().withWriteBarrierTimeout(Duration.ofSeconds(2))).start();
             Connection reader = viaProxy(proxy); Statement s = reader.createStatement()) {
            RoutingControl routing = proxy.server().routing();
            routing.start("test", null);
            routing.setWeight("test", 100, null);
            for (String statement : begin.split("; ")) {
                s.execute(statement);
            }
            assertThat(count(s, table)).isEqualTo(1);

            assertThat(routing.cutover("test", null).leader()).isEqualTo(ClusterRole.GREEN);
            assertThat(count(s, table)).as("the transaction reads on").isEqualTo(1);
            assertThat(routing.rollback("test", null, false).leader()).isEqualTo(ClusterRole.BLUE);
            assertThat(count(s, table)).isEqualTo(1);
            s.execute("commit");
            assertThat(routing.barrier().holders()).isEmpty();
            assertThat(proxy.server().migration().divergenceCount()).isZero();
        }
    }

    private static long count(Statement s, String table) throws SQLException {
        try (ResultSet rs = s.executeQuery("select count(*) from " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * A read-only transaction made writable ({@code SET TRANSACTION READ WRITE}, allowed before its first query, here
     * in one string with an insert and a return to read-only) enters the write barrier then: a cutover now waits for it, and is refused at the barrier's timeout while it stays
     * open. One made writable after a cutover it did not hold, which it began under blue's leadership, cannot write
     * in blue's order any more: the session ends with {@code 25006}, and neither cluster has a row of it.
     */
    @Test
    void aReadOnlyTransactionMadeWritableHoldsTheBarrierAndCannotWriteAcrossACutover() throws Exception {
        String table = unique("cr_made_writable");
        onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).routing(Routing.defaults().withWriteBarrierTimeout(Duration.ofSeconds(1))).start();
             Connection writer = viaProxy(proxy); Statement w = writer.createStatement();
             Connection late = viaProxy(proxy); Statement l = late.createStatement()) {
            RoutingControl routing = proxy.server().routing();
            routing.start("test", null);
            routing.setWeight("test", 100, null);
            w.execute("begin read only");
            // in one string: the unit is judged whole, not by its SET TRANSACTION alone
            w.execute("set transaction read write; insert into " + table + " values (1); set transaction read only");
            assertThatThrownBy(() -> routing.cutover("test", null)).isInstanceOf(RoutingControl.Refused.class)
                    .hasMessageContaining("held up by");
            w.execute("commit");

            l.execute("begin read only");
            assertThat(routing.cutover("test", null).leader()).isEqualTo(ClusterRole.GREEN);
            assertThatThrownBy(() -> l.execute("set transaction read write")).isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("25006"));
            assertThat(ClusterData.number(blue, "select count(*) from " + table)).isEqualTo(1);
            assertThat(ClusterData.number(green, "select count(*) from " + table)).isEqualTo(1);
            assertThat(proxy.server().migration().divergenceCount()).isZero();
        }
    }
}
