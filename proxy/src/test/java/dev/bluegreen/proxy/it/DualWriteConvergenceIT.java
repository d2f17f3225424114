package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.ClusterData.contents;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The ordering rule keeps blue and green identical under contention (DESIGN §5): sixteen pgjdbc sessions,
 * in autocommit and in explicit transactions, run thousands of conflicting writes on a handful of rows
 * (last-writer-wins updates, counters, upserts, ordered appends, deletes and re-inserts, rollbacks and
 * savepoints, statements the leader refuses); afterwards every table reads the same on both clusters,
 * read directly, and the run ends within its bound, so no deadlock spans the clusters. The same workload
 * with the ordering rule off (shadow mode) leaves the clusters different: that is what proves the first
 * test can fail.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class DualWriteConvergenceIT {

    private static final int SESSIONS = 16;
    private static final Duration BOUND = Duration.ofSeconds(120);

    private static PgCluster blue;
    private static PgCluster green;

    @BeforeAll
    static void clusters(TestClusters clusters) {
        blue = clusters.blue();
        green = clusters.green();
    }

    @Test
    void conflictingWritesFromSixteenSessionsLeaveBlueAndGreenIdentical() throws Exception {
        Contention workload = Contention.createOnBoth("conv");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);

            Contention.Outcome outcome = workload.run(proxy, SESSIONS, 128);

            assertThat(outcome.errors()).as("client-visible errors").isEmpty();
            assertThat(outcome.total().statements).as("statements run").isGreaterThan(3000);
            for (Map.Entry<String, String> table : workload.tables().entrySet()) {
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                        assertThat(contents(green, table.getKey(), table.getValue()))
                                .as("%s on green, read directly", table.getKey())
                                .isEqualTo(contents(blue, table.getKey(), table.getValue())));
            }
            workload.assertBlueHolds(outcome.total());
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * A transaction's follower work goes out in one batch when it ends, but a lock the leader gives back
     * earlier must be given back on the follower at once: here session A undoes an update with ROLLBACK TO
     * SAVEPOINT and stays in its transaction; session B then updates the same row. Were A's follower still
     * holding the row, B's follower would wait for A, and A's next statement on the leader for B: a
     * deadlock across the clusters that no server can see.
     */
    @Test
    void aRowLockGivenBackByRollbackToSavepointIsGivenBackOnTheFollowerAtOnce() throws Exception {
        String t = ClusterData.unique("undone");
        ClusterData.onBoth(blue, green, "create table " + t + " (id int primary key, v text)",
                "insert into " + t + " values (1, 'first'), (2, 'other')");
        ExecutorService other = Executors.newSingleThreadExecutor();
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection a = proxy.connect("postgres"); Connection b = proxy.connect("postgres")) {
            proxy.server().routing().start("test", null);
            a.setAutoCommit(false);
            a.createStatement().execute("update " + t + " set v = 'kept' where id = 2");
            Savepoint before = a.setSavepoint();
            a.createStatement().execute("update " + t + " set v = 'undone' where id = 1");
            a.rollback(before);

            Future<Integer> bUpdates = other.submit(() -> b.createStatement().executeUpdate(
                    "update " + t + " set v = 'by b' where id = 1"));
            assertThat(bUpdates.get(10, TimeUnit.SECONDS)).as("B's update, while A's transaction is open").isEqualTo(1);

            a.createStatement().execute("update " + t + " set v = v || ', then a' where id = 1");
            a.commit();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(contents(green, t, "id")).as("green, read directly").isEqualTo(contents(blue, t, "id")));
            assertThat(contents(blue, t, "id")).isEqualTo("(1,\"by b, then a\")\n(2,kept)");
            assertThat(proxy.server().migration().divergences()).isEmpty();
        } finally {
            other.shutdownNow();
        }
    }

    @Test
    void theSameWorkloadWithoutTheOrderingRuleLeavesTheClustersDifferent() throws Exception {
        Contention workload = Contention.createOnBoth("shadow");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().startShadow("test", null);

            Contention.Outcome outcome = workload.run(proxy, SESSIONS, 128);

            assertThat(outcome.errors()).as("client-visible errors").isEmpty();
            workload.assertBlueHolds(outcome.total());
            // the mirror is asynchronous: wait until green has every session's last write, then stops changing
            await().atMost(Duration.ofSeconds(60)).until(() ->
                    ClusterData.number(green, "select count(*) from " + workload.done) == SESSIONS
                            || proxy.server().migration().mirrorDrops() > 0);
            AtomicReference<String> previous = new AtomicReference<>("");
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> {
                String now = workload.snapshot(green);
                return now.equals(previous.getAndSet(now));
            });
            assertThat(workload.tablesThatDiffer()).as("tables that differ after unordered mirroring").isNotEmpty();
            // not only what the bounded mirror dropped: appends both clusters hold landed in another order
            assertThat(workload.appendsInAnotherOrderOnGreen()).as("rows whose common appends are reordered").isNotEmpty();
        }
    }

    /** What one session, or all of them, saw commit: the figures blue must show afterwards. */
    private static final class Tally {
        final long[] increments = new long[Contention.HOT_ROWS + 1];
        final long[] appends = new long[Contention.HOT_ROWS + 1];
        long upserts;
        long statements;

        void add(Tally other) {
            for (int i = 0; i < increments.length; i++) {
                increments[i] += other.increments[i];
                appends[i] += other.appends[i];
            }
            upserts += other.upserts;
            statements += other.statements;
        }
    }

    /**
     * The tables and the mix of conflicting writes. Every transaction takes its row locks in one global
     * order (guard, churn, last-writer-wins, counter, append), as a careful application does, so a
     * deadlock can only come from the proxy. Deletes and re-inserts of a key happen under a lock on its
     * guard row: without it, a delete that finds nothing on the leader (the row's re-insert is not yet
     * committed) can find it on the follower, a race of the application's own making.
     */
    private static final class Contention {

        static final int HOT_ROWS = 4;
        static final int UPSERT_KEYS = 8;
        static final int TAG_LENGTH = 10;
        static final Set<String> RETRYABLE = Set.of("40P01", "40001");

        final String lww;
        final String counter;
        final String upsert;
        final String append;
        final String guard;
        final String churn;
        final String done;

        private Contention(String stem) {
            String prefix = ClusterData.unique(stem);
            lww = prefix + "_lww";
            counter = prefix + "_counter";
            upsert = prefix + "_upsert";
            append = prefix + "_append";
            guard = prefix + "_guard";
            churn = prefix + "_churn";
            done = prefix + "_done";
        }

        /** The same tables and rows on blue and green, as a restored copy would have them. */
        static Contention createOnBoth(String stem) {
            Contention c = new Contention(stem);
            ClusterData.onBoth(blue, green,
                    "create table " + c.lww + " (id int primary key, v text not null, writer int not null)",
                    "insert into " + c.lww + " select g, 'initial', 0 from generate_series(1, " + HOT_ROWS + ") g",
                    "create table " + c.counter + " (id int primary key, n bigint not null)",
                    "insert into " + c.counter + " select g, 0 from generate_series(1, " + HOT_ROWS + ") g",
                    "create table " + c.upsert + " (id int primary key, v text not null, hits int not null)",
                    "create table " + c.append + " (id int primary key, s text not null)",
                    "insert into " + c.append + " select g, '' from generate_series(1, " + HOT_ROWS + ") g",
                    "create table " + c.guard + " (id int primary key)",
                    "insert into " + c.guard + " select g from generate_series(1, " + HOT_ROWS + ") g",
                    "create table " + c.churn + " (id int primary key, v text not null)",
                    "insert into " + c.churn + " select g, 'initial' from generate_series(1, " + HOT_ROWS + ") g",
                    "create table " + c.done + " (session int primary key)");
            return c;
        }

        /** Table → the order its full contents are compared in. */
        Map<String, String> tables() {
            Map<String, String> tables = new LinkedHashMap<>();
            for (String table : List.of(lww, counter, upsert, append, guard, churn)) {
                tables.put(table, "id");
            }
            tables.put(done, "session");
            return tables;
        }

        String snapshot(PgCluster cluster) throws Exception {
            StringBuilder all = new StringBuilder();
            for (Map.Entry<String, String> table : tables().entrySet()) {
                all.append(table.getKey()).append(":\n").append(contents(cluster, table.getKey(), table.getValue()))
                        .append('\n');
            }
            return all.toString();
        }

        List<String> tablesThatDiffer() throws SQLException {
            List<String> differ = new ArrayList<>();
            for (Map.Entry<String, String> table : tables().entrySet()) {
                if (!contents(blue, table.getKey(), table.getValue()).equals(contents(green, table.getKey(), table.getValue()))) {
                    differ.add(table.getKey());
                }
            }
            return differ;
        }

        /** Append rows where the tags both clusters hold are not in the same order. */
        List<Integer> appendsInAnotherOrderOnGreen() throws SQLException {
            List<Integer> reordered = new ArrayList<>();
            for (int row = 1; row <= HOT_ROWS; row++) {
                String sql = "select s from " + append + " where id = " + row;
                List<String> onBlue = List.of(ClusterData.text(blue, sql).split(";"));
                List<String> onGreen = List.of(ClusterData.text(green, sql).split(";"));
                if (!onBlue.stream().filter(onGreen::contains).toList().equals(onGreen.stream().filter(onBlue::contains).toList())) {
                    reordered.add(row);
                }
            }
            return reordered;
        }

        /** Blue holds exactly what the clients saw commit: nothing lost, nothing rolled back kept. */
        void assertBlueHolds(Tally committed) throws SQLException {
            for (int row = 1; row <= HOT_ROWS; row++) {
                assertThat(ClusterData.number(blue, "select n from " + counter + " where id = " + row))
                        .as("counter %d on blue", row).isEqualTo(committed.increments[row]);
                assertThat(ClusterData.number(blue, "select length(s) from " + append + " where id = " + row))
                        .as("appends to row %d on blue", row).isEqualTo(TAG_LENGTH * committed.appends[row]);
            }
            assertThat(ClusterData.number(blue, "select coalesce(sum(hits), 0) from " + upsert))
                    .as("upserts on blue").isEqualTo(committed.upserts);
            assertThat(ClusterData.number(blue, "select count(*) from " + churn)).as("churned keys on blue")
                    .isEqualTo(HOT_ROWS);
        }

        record Outcome(Tally total, List<String> errors) {}

        /** Runs the sessions side by side, from one starting line, and fails if they outlast {@link #BOUND}. */
        Outcome run(TestProxy proxy, int sessions, int unitsPerSession) throws Exception {
            long seed = ThreadLocalRandom.current().nextLong();
            ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
            CountDownLatch connected = new CountDownLatch(sessions);
            ExecutorService threads = Executors.newFixedThreadPool(sessions);
            try {
                List<Future<Tally>> running = new ArrayList<>();
                for (int session = 0; session < sessions; session++) {
                    int id = session;
                    running.add(threads.submit(() -> session(proxy, id, unitsPerSession, seed + id, connected, errors)));
                }
                long deadline = System.nanoTime() + BOUND.toNanos();
                Tally total = new Tally();
                for (Future<Tally> session : running) {
                    try {
                        total.add(session.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
                    } catch (TimeoutException e) {
                        fail("the sessions did not finish within " + BOUND + " (a deadlock across the clusters?), seed "
                                + seed + "\nwaiting for locks on blue:\n" + ClusterData.lockWaits(blue)
                                + "\nwaiting for locks on green:\n" + ClusterData.lockWaits(green));
                    } catch (ExecutionException e) {
                        throw new AssertionError("a session crashed, seed " + seed, e.getCause());
                    }
                }
                return new Outcome(total, List.copyOf(errors));
            } finally {
                threads.shutdownNow();
            }
        }

        private Tally session(TestProxy proxy, int session, int units, long seed, CountDownLatch connected,
                              ConcurrentLinkedQueue<String> errors) throws Exception {
            Tally total = new Tally();
            Random random = new Random(seed);
            Connection connection;
            try {
                connection = proxy.connect(blue.superuser());
            } catch (SQLException e) {
                errors.add("session " + session + " could not connect: " + describe(e));
                return total;
            } finally {
                connected.countDown();
            }
            try (Connection c = connection) {
                Writes writes = new Writes(c);
                connected.await();
                for (int unit = 0; unit < units; unit++) {
                    String tag = String.format("s%02du%05d;", session, unit);
                    int pick = random.nextInt(100);
                    int[] rows = {random.nextInt(HOT_ROWS) + 1, random.nextInt(HOT_ROWS) + 1,
                            random.nextInt(HOT_ROWS) + 1, random.nextInt(HOT_ROWS) + 1};
                    int key = random.nextInt(UPSERT_KEYS) + 1;
                    boolean savepoint = random.nextBoolean();
                    try {
                        total.add(retrying(c, () -> writes.unit(pick, session, tag, rows, key, savepoint)));
                    } catch (SQLException | IllegalStateException e) {
                        errors.add("session " + session + " unit " + unit + " (kind " + pick + "): " + describe(e));
                        return total;
                    }
                }
                writes.finished(session);
                total.statements++;
            } catch (SQLException e) {
                errors.add("session " + session + ": " + describe(e));
            }
            return total;
        }

        private static String describe(Exception e) {
            return e instanceof SQLException sql ? sql.getSQLState() + " " + sql.getMessage() : e.toString();
        }

        private interface Unit {
            Tally run() throws SQLException;
        }

        /** Retries a deadlock or serialisation failure the way an application does: roll back, run again. */
        private static Tally retrying(Connection c, Unit unit) throws SQLException {
            for (int attempt = 1; ; attempt++) {
                try {
                    return unit.run();
                } catch (SQLException e) {
                    if (!c.getAutoCommit()) {
                        c.rollback();
                        c.setAutoCommit(true);
                    }
                    if (!RETRYABLE.contains(e.getSQLState()) || attempt == 10) {
                        throw e;
                    }
                }
            }
        }

        /** One session's prepared statements and the kinds of unit it runs. */
        private final class Writes {
            private final Connection c;
            private final PreparedStatement lastWriterWins;
            private final PreparedStatement increment;
            private final PreparedStatement upsertOne;
            private final PreparedStatement appendTag;
            private final PreparedStatement lockGuard;
            private final PreparedStatement deleteChurn;
            private final PreparedStatement insertChurn;
            private final PreparedStatement duplicateGuard;
            private final PreparedStatement finish;

            Writes(Connection c) throws SQLException {
                this.c = c;
                lastWriterWins = c.prepareStatement("update " + lww + " set v = ?, writer = ? where id = ?");
                increment = c.prepareStatement("update " + counter + " set n = n + 1 where id = ?");
                upsertOne = c.prepareStatement("insert into " + upsert + " as u values (?, ?, 1)"
                        + " on conflict (id) do update set v = excluded.v, hits = u.hits + 1");
                appendTag = c.prepareStatement("update " + append + " set s = s || ? where id = ?");
                lockGuard = c.prepareStatement("select id from " + guard + " where id = ? for update");
                deleteChurn = c.prepareStatement("delete from " + churn + " where id = ?");
                insertChurn = c.prepareStatement("insert into " + churn + " values (?, ?)");
                duplicateGuard = c.prepareStatement("insert into " + guard + " values (?)");
                finish = c.prepareStatement("insert into " + done + " values (?)");
            }

            /** @param rows four hot rows: the churned key, the overwritten row, the counter, the appended row */
            Tally unit(int pick, int session, String tag, int[] rows, int key, boolean savepoint) throws SQLException {
                Tally t = new Tally();
                if (pick < 18) {
                    lastWriterWins(t, tag, session, rows[1]);
                } else if (pick < 33) {
                    increment(t, rows[2]);
                } else if (pick < 48) {
                    upsertOne.setInt(1, key);
                    upsertOne.setString(2, tag);
                    exactlyOne(t, upsertOne);
                    t.upserts++;
                } else if (pick < 62) {
                    append(t, tag, rows[3]);
                } else if (pick < 82) {
                    c.setAutoCommit(false);
                    lockGuard.setInt(1, rows[0]);
                    lockGuard.executeQuery().close();
                    t.statements++;
                    deleteChurn.setInt(1, rows[0]);
                    exactlyOne(t, deleteChurn);
                    insertChurn.setInt(1, rows[0]);
                    insertChurn.setString(2, tag);
                    exactlyOne(t, insertChurn);
                    lastWriterWins(t, tag, session, rows[1]);
                    increment(t, rows[2]);
                    if (savepoint) {
                        Savepoint undone = c.setSavepoint();
                        increment(new Tally(), rows[2]);
                        append(new Tally(), "undone   ;", rows[3]);
                        c.rollback(undone);
                    }
                    append(t, tag, rows[3]);
                    c.commit();
                    c.setAutoCommit(true);
                } else if (pick < 92) {
                    c.setAutoCommit(false);
                    lastWriterWins(new Tally(), tag, session, rows[1]);
                    increment(new Tally(), rows[2]);
                    append(new Tally(), tag, rows[3]);
                    c.rollback();
                    c.setAutoCommit(true);
                    t.statements += 3;
                } else {
                    duplicateGuard.setInt(1, rows[0]);
                    try {
                        duplicateGuard.executeUpdate();
                        throw new IllegalStateException("a duplicate key was accepted");
                    } catch (SQLException expected) {
                        if (!"23505".equals(expected.getSQLState())) {
                            throw expected;
                        }
                    }
                    t.statements++;
                }
                return t;
            }

            void finished(int session) throws SQLException {
                finish.setInt(1, session);
                finish.executeUpdate();
            }

            private void lastWriterWins(Tally t, String tag, int session, int row) throws SQLException {
                lastWriterWins.setString(1, tag);
                lastWriterWins.setInt(2, session);
                lastWriterWins.setInt(3, row);
                exactlyOne(t, lastWriterWins);
            }

            private void increment(Tally t, int row) throws SQLException {
                increment.setInt(1, row);
                exactlyOne(t, increment);
                t.increments[row]++;
            }

            private void append(Tally t, String tag, int row) throws SQLException {
                appendTag.setString(1, tag);
                appendTag.setInt(2, row);
                exactlyOne(t, appendTag);
                t.appends[row]++;
            }

            /** Runs and insists on one row: the client sees the leader's count. */
            private static void exactlyOne(Tally t, PreparedStatement statement) throws SQLException {
                int count = statement.executeUpdate();
                if (count != 1) {
                    throw new IllegalStateException("expected one row, the client saw " + count);
                }
                t.statements++;
            }
        }
    }
}
