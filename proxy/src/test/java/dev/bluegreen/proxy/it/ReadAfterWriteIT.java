package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.ClusterData.major;
import static dev.bluegreen.proxy.it.ClusterData.onBoth;
import static dev.bluegreen.proxy.it.ClusterData.preparedTransactions;
import static dev.bluegreen.proxy.it.ClusterData.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.config.ReadAfterWrite;
import dev.bluegreen.config.Routing;
import dev.bluegreen.config.StickyKey;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code routing.read_after_write}: whether a write whose commit the client has been told of is visible to a
 * read on another connection that the follower serves. Green's commit of the test's table is held on an
 * advisory lock ({@link HeldGreenCommit}), so the moment between blue's commit and green's lasts as long as
 * the test wants. Which cluster served a read is told by {@code server_version_num}: blue runs PostgreSQL 16,
 * green 18.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class ReadAfterWriteIT {

    private static final int GREEN_MAJOR = 18;
    private static final Duration HELD = Duration.ofMillis(700);

    private static PgCluster blue;
    private static PgCluster green;

    @BeforeAll
    static void clusters(TestClusters clusters) {
        blue = clusters.blue();
        green = clusters.green();
    }

    private static Routing routing(ReadAfterWrite readAfterWrite) {
        Routing d = Routing.defaults();
        return new Routing(StickyKey.NONE, d.tenantParameter(), d.tenantPins(), d.writeBarrierTimeout(),
                d.writeFunctions(), readAfterWrite);
    }

    private static TestProxy started(ReadAfterWrite readAfterWrite, int weight) throws Exception {
        TestProxy proxy = TestProxy.in(blue).green(green).routing(routing(readAfterWrite)).start();
        try {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", weight, null);
            return proxy;
        } catch (Exception | AssertionError e) {
            proxy.close();
            throw e;
        }
    }

    private static String table() {
        String table = unique("read_after_write");
        onBoth(blue, green, "create table " + table + " (id int primary key, v text not null)");
        return table;
    }

    /** Counts the table's rows through the proxy, as {@code rows@major} of the cluster that served the read. */
    private static String countThrough(TestProxy proxy, String table) throws SQLException {
        try (Connection c = proxy.connect(blue.superuser()); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select count(*), current_setting('server_version_num')::int from " + table)) {
            rs.next();
            return rs.getLong(1) + "@" + major(rs.getInt(2));
        }
    }

    /** How the insert commits. */
    private enum Commit { AUTOCOMMIT, COMMIT, COMMIT_AND_CHAIN, COMMIT_THEN_BEGIN, PREPARE_TRANSACTION }

    /** The insert of {@code (1, 'one')}, run on a thread of its own, committed as {@code how} says. */

    private static CompletableFuture<Integer> insertInBackground(Connection c, String table, Commit how) {
        return CompletableFuture.supplyAsync(() -> {
            try (Statement s = c.createStatement()) {
                c.setAutoCommit(how == Commit.AUTOCOMMIT);
                int inserted = s.executeUpdate("insert into " + table + " values (1, 'one')");
                switch (how) {
                    case COMMIT -> c.commit();
                    case COMMIT_AND_CHAIN -> s.execute("commit and chain");
                    case COMMIT_THEN_BEGIN -> s.execute("commit; begin"); // one unit that commits and goes on
                    case PREPARE_TRANSACTION -> s.execute("prepare transaction '" + table + "'"); // the table names it
                    default -> { }
                }
                return inserted;
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private void greenServingReadsHoldsTheAcknowledgement(Commit how) throws Exception {
        String table = table();
        try (TestProxy proxy = started(ReadAfterWrite.EVERYWHERE, 100);
             HeldGreenCommit commit = HeldGreenCommit.on(green, table);
             Connection writer = proxy.connect(blue.superuser())) {
            CompletableFuture<Integer> write = insertInBackground(writer, table, how);
            commit.awaitCommitWaiting();

            await("the client is not told of a commit green has not made").during(HELD).atMost(HELD.multipliedBy(3))
                    .until(() -> !write.isDone());
            assertThat(ClusterData.number(blue, "select count(*) from " + table)).as("blue, read directly").isEqualTo(1);

            commit.release();
            assertThat(write.get(10, TimeUnit.SECONDS)).isEqualTo(1);
            assertThat(countThrough(proxy, table)).as("a read on another connection, served by green")
                    .isEqualTo("1@" + GREEN_MAJOR);
        }
    }

    @Test
    void whileGreenServesReadsAnAutocommitWriteIsAcknowledgedOnceGreenHasCommittedIt() throws Exception {
        greenServingReadsHoldsTheAcknowledgement(Commit.AUTOCOMMIT);
    }

    @Test
    void whileGreenServesReadsACommitIsAcknowledgedOnceGreenHasCommittedIt() throws Exception {
        greenServingReadsHoldsTheAcknowledgement(Commit.COMMIT);
    }

    /** Its next transaction's statements wait behind the acknowledgement, in order. */
    @Test
    void whileGreenServesReadsACommitAndChainIsAcknowledgedOnceGreenHasCommittedIt() throws Exception {
        greenServingReadsHoldsTheAcknowledgement(Commit.COMMIT_AND_CHAIN);
    }

    /**
     * The same for a unit that commits and goes on ({@code COMMIT; BEGIN} in one string); before, only a unit whose
     * last statement committed was held, and a read green served on another connection could miss the row.
     */
    @Test
    void whileGreenServesReadsACommitAndABeginInOneStringAreAcknowledgedOnceGreenHasCommitted() throws Exception {
        greenServingReadsHoldsTheAcknowledgement(Commit.COMMIT_THEN_BEGIN);
    }

    /**
     * A {@code PREPARE TRANSACTION} counts as a commit: any session may commit the prepared transaction next, and a
     * read green serves then is to find its rows. So while green serves reads the client is answered once green
     * has prepared it too.
     */
    @Test
    void whileGreenServesReadsAPrepareTransactionIsAcknowledgedOnceGreenHasPreparedIt() throws Exception {
        String table = table();
        try (TestProxy proxy = started(ReadAfterWrite.EVERYWHERE, 100);
             HeldGreenCommit prepare = HeldGreenCommit.on(green, table);
             Connection writer = proxy.connect(blue.superuser())) {
            try {
                CompletableFuture<Integer> write = insertInBackground(writer, table, Commit.PREPARE_TRANSACTION);
                prepare.awaitCommitWaiting();

                await("the client is not told of a PREPARE TRANSACTION green has not made").during(HELD)
                        .atMost(HELD.multipliedBy(3)).until(() -> !write.isDone());
                assertThat(preparedTransactions(blue, table)).as("blue, read directly").isOne();

                prepare.release();
                assertThat(write.get(10, TimeUnit.SECONDS)).isEqualTo(1);
                assertThat(preparedTransactions(green, table)).as("green, read directly").isOne();
                try (Connection c = proxy.connect(blue.superuser()); Statement s = c.createStatement()) {
                    s.execute("commit prepared '" + table + "'");
                }
                assertThat(countThrough(proxy, table)).as("a read on another connection, served by green")
                        .isEqualTo("1@" + GREEN_MAJOR);
            } finally {
                prepare.letGo(proxy);
                ClusterData.rollBackPrepared(table, blue, green);
            }
        }
    }

    /** The trade-off {@code session} makes: the acknowledgement comes sooner, and another connection may not see it yet. */
    @Test
    void withSessionReadAfterWriteAnotherConnectionsGreenReadMayMissAnAcknowledgedWrite() throws Exception {
        String table = table();
        try (TestProxy proxy = started(ReadAfterWrite.SESSION, 100);
             HeldGreenCommit commit = HeldGreenCommit.on(green, table);
             Connection writer = proxy.connect(blue.superuser())) {
            CompletableFuture<Integer> write = insertInBackground(writer, table, Commit.AUTOCOMMIT);

            assertThat(write.get(10, TimeUnit.SECONDS)).as("acknowledged while green's commit waits").isEqualTo(1);
            commit.awaitCommitWaiting();
            assertThat(countThrough(proxy, table)).isEqualTo("0@" + GREEN_MAJOR);

            commit.release();
            await("green's commit lands").until(() -> countThrough(proxy, table).equals("1@" + GREEN_MAJOR));
        }
    }

    /**
     * A write on another connection that finds the row a session has just committed on blue, as a worker claiming
     * a job does, runs on green only once that commit has landed there too: otherwise it would find nothing on
     * green (the row is not yet committed there) and the clusters would part. This holds at weight 0 too, where
     * the writer's acknowledgement does not wait for green.
     */
    private void aWriteThatFindsAJustCommittedRowWaitsForItOnGreen(boolean inATransaction, Commit how) throws Exception {
        String table = table();
        try (TestProxy proxy = started(ReadAfterWrite.EVERYWHERE, 0);
             HeldGreenCommit commit = HeldGreenCommit.on(green, table);
             Connection writer = proxy.connect(blue.superuser());
             Connection worker = proxy.connect(blue.superuser())) {
            assertThat(insertInBackground(writer, table, how).get(10, TimeUnit.SECONDS))
                    .as("acknowledged at blue's commit").isEqualTo(1);
            commit.awaitCommitWaiting();

            CompletableFuture<Integer> claim = CompletableFuture.supplyAsync(() -> {
                try (Statement s = worker.createStatement()) {
                    worker.setAutoCommit(!inATransaction);
                    int claimed = s.executeUpdate("update " + table + " set v = 'claimed' where id = 1 and v = 'one'");
                    if (inATransaction) {
                        worker.commit();
                    }
                    return claimed;
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            await("the claim waits for green's commit of the row it found on blue").during(HELD)
                    .atMost(HELD.multipliedBy(3)).until(() -> !claim.isDone());
            assertThat(ClusterData.number(green, "select count(*) from " + table + " where v = 'claimed'"))
                    .as("green, read directly, while its commit of the insert waits").isZero();

            commit.release();
            assertThat(claim.get(10, TimeUnit.SECONDS)).as("the row blue found").isEqualTo(1);
            await("green runs the claim").until(() ->
                    ClusterData.number(green, "select count(*) from " + table + " where v = 'claimed'") == 1);
            assertThat(ClusterData.number(blue, "select count(*) from " + table + " where v = 'claimed'")).isEqualTo(1);
            assertThat(proxy.server().migration().divergenceCount()).isZero();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    @Test
    void anAutocommitWriteThatFindsARowJustCommittedOnBlueRunsOnGreenOnceThatCommitHasLanded() throws Exception {
        aWriteThatFindsAJustCommittedRowWaitsForItOnGreen(false, Commit.AUTOCOMMIT);
    }

    @Test
    void aTransactionsWriteThatFindsARowJustCommittedOnBlueRunsOnGreenOnceThatCommitHasLanded() throws Exception {
        aWriteThatFindsAJustCommittedRowWaitsForItOnGreen(true, Commit.AUTOCOMMIT);
    }

    /**
     * The same for a row committed by a unit that goes on after its COMMIT ({@code COMMIT; BEGIN} in one string):
     * before, only a unit whose last statement committed counted, and the claim ran on green before the row was
     * there (a divergence).
     */
    @Test
    void aWriteThatFindsARowCommittedByAUnitThatGoesOnRunsOnGreenOnceThatCommitHasLanded() throws Exception {
        aWriteThatFindsAJustCommittedRowWaitsForItOnGreen(false, Commit.COMMIT_THEN_BEGIN);
    }

    /**
     * A job queue's claim, {@code UPDATE ... WHERE id = 1 AND v = 'queued'}, sent while another session's COMMIT that
     * put the job back in the queue has committed on blue but its answer has not reached the proxy (a relay holds
     * it): on blue the claim finds the job queued; on green, where that session's update waits uncommitted behind
     * the same COMMIT, the claim would find the job's old version, 'running', change nothing, and the clusters would
     * part (UPDATE 1 on blue, UPDATE 0 on green, found by a soak). So the claim is held back from blue until the
     * COMMIT has answered, then runs on green once that commit has landed there. Before, it went to blue at once
     * and diverged.
     */
    @Test
    void aWriteSentWhileAnotherSessionsCommitIsUnansweredWaitsForItsAnswerAndThenForGreensCommit() throws Exception {
        String table = table();
        onBoth(blue, green, "insert into " + table + " values (1, 'running')");
        // two clients blocked at once: the common pool may have a single thread on a small machine
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
             InterceptingRelay relay = InterceptingRelay.holdingAnswers(blue.port(), "commit /* requeue */");
             TestProxy proxy = TestProxy.in(blue).clusterAt("127.0.0.1", relay.port()).green(green)
                     .routing(routing(ReadAfterWrite.EVERYWHERE)).start();
             Connection requeuer = proxy.connect(blue.superuser());
             Connection worker = proxy.connect(blue.superuser());
             Statement s = requeuer.createStatement()) {
            proxy.server().routing().start("test", null);
            s.execute("begin");
            s.executeUpdate("update " + table + " set v = 'queued' where id = 1 and v = 'running'");
            CompletableFuture<Integer> requeue = ClientSessions.updateInBackground(requeuer, "commit /* requeue */", clients);
            await("blue has committed the requeue, its answer held").until(() -> relay.cuts() == 1
                    && ClusterData.text(blue, "select v from " + table + " where id = 1").equals("queued"));

            CompletableFuture<Integer> claim = ClientSessions.updateInBackground(worker,
                    "update " + table + " set v = 'claimed' where id = 1 and v = 'queued'", clients);
            await("the claim is held back from blue").until(() -> proxy.server().migration().writesHeldForCommits() == 1);
            assertThat(claim).isNotDone();
            assertThat(ClusterData.text(blue, "select v from " + table + " where id = 1")).as("blue, read directly")
                    .isEqualTo("queued");

            relay.release();
            requeue.get(10, TimeUnit.SECONDS);
            assertThat(claim.get(10, TimeUnit.SECONDS)).as("the job blue found queued").isEqualTo(1);
            await("green runs the claim").until(() ->
                    ClusterData.text(green, "select v from " + table + " where id = 1").equals("claimed"));
            assertThat(proxy.server().migration().divergenceCount()).isZero();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * As above, but the requeuer's client leaves while blue's answer to its COMMIT is held. The proxy still reads that
     * answer and commits green's side; until the answer is in, the claim is held back from blue as when the client
     * stays, and green runs it once the requeue has landed there. Before, the COMMIT's ticket went back as the
     * client left: the claim went to blue at once, found the job queued, and on green found it running.
     */
    @Test
    void aWriteSentWhileTheCommitOfASessionWhoseClientLeftIsUnansweredWaitsForItAsWell() throws Exception {
        String table = table();
        onBoth(blue, green, "insert into " + table + " values (1, 'running')");
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
             InterceptingRelay relay = InterceptingRelay.holdingAnswers(blue.port(), "commit /* requeue */");
             TestProxy proxy = TestProxy.in(blue).clusterAt("127.0.0.1", relay.port()).green(green)
                     .routing(routing(ReadAfterWrite.EVERYWHERE)).start();
             Connection worker = proxy.connect(blue.superuser())) {
            proxy.server().routing().start("test", null);
            Connection requeuer = proxy.connect(blue.superuser());
            try (Statement s = requeuer.createStatement()) {
                s.execute("begin");
                s.executeUpdate("update " + table + " set v = 'queued' where id = 1 and v = 'running'");
            }
            CompletableFuture<Integer> requeue = ClientSessions.updateInBackground(requeuer, "commit /* requeue */", clients);
            await("blue has committed the requeue, its answer held").until(() -> relay.cuts() == 1
                    && ClusterData.text(blue, "select v from " + table + " where id = 1").equals("queued"));
            requeuer.abort(Runnable::run);
            assertThatThrownBy(requeue::join).hasRootCauseInstanceOf(java.net.SocketException.class);
            await("the proxy has closed the requeuer's session").until(() -> proxy.server().sessionCount() == 1);

            CompletableFuture<Integer> claim = ClientSessions.updateInBackground(worker,
                    "update " + table + " set v = 'claimed' where id = 1 and v = 'queued'", clients);
            await("the claim is held back from blue").until(() -> proxy.server().migration().writesHeldForCommits() == 1);
            assertThat(claim).isNotDone();

            relay.release();
            assertThat(claim.get(10, TimeUnit.SECONDS)).as("the job blue found queued").isEqualTo(1);
            await("green runs the claim").until(() ->
                    ClusterData.text(green, "select v from " + table + " where id = 1").equals("claimed"));
            proxy.stillAlike();
        }
    }

    /**
     * As above, with a unit that commits on the way and goes on into a next transaction ({@code begin; insert …;
     * commit; begin} in one string), which the proxy leaves whole: its commit gets a number when its client stays, so
     * it must when the client leaves while blue's answer is on its way. Then a claim that found the row on blue waits
     * on green (and so does its client: blue commits the claim once green has run it) until green's COMMIT of the
     * row, held on an advisory lock, has landed. Before, the closed session numbered
     * only the end of a transaction open before the unit: nothing was owed, and the claim ran on green at once, found
     * no committed row there (UPDATE 0 against blue's UPDATE 1) and took green out of sync.
     */
    @Test
    void aWholeTransactionWhoseClientLeftBeforeBlueAnsweredIsOwedOnGreenAndWaitedFor() throws Exception {
        String table = table();
        String unit = "begin; insert into " + table + " values (1, 'one'); commit; begin";
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
             InterceptingRelay relay = InterceptingRelay.holdingAnswers(blue.port(), unit);
             TestProxy proxy = TestProxy.in(blue).clusterAt("127.0.0.1", relay.port()).green(green)
                     .routing(routing(ReadAfterWrite.EVERYWHERE))
                     .followerTimeout(Duration.ofSeconds(40)).start(); // the claim's wait on green: up to a quarter
             HeldGreenCommit commit = HeldGreenCommit.on(green, table);
             Connection worker = proxy.connect(blue.superuser())) {
            proxy.server().routing().start("test", null);
            try (RawClient writer = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
                writer.send(RawClient.query(unit));
                await("blue has committed the row, its answer held").until(() -> relay.cuts() == 1
                        && ClusterData.number(blue, "select count(*) from " + table) == 1);
            }
            await("the proxy has closed the writer's session").until(() -> proxy.server().sessionCount() == 1);

            relay.release();
            commit.awaitCommitWaiting();
            assertThat(proxy.server().followerCommitsOwed()).as("green's COMMIT of the row is owed").isOne();
            CompletableFuture<Integer> claim = ClientSessions.updateInBackground(worker,
                    "update " + table + " set v = 'claimed' where id = 1 and v = 'one'", clients);
            // blue's COMMIT of the claim waits for green's run of it, which waits for the row's commit there
            await("the claim waits for the row's commit on green").during(HELD).atMost(HELD.multipliedBy(3))
                    .until(() -> !claim.isDone() && ClusterData.number(green, "select count(*) from " + table) == 0);

            commit.release();
            assertThat(claim.get(10, TimeUnit.SECONDS)).as("the row blue found").isEqualTo(1);
            await("green runs the claim after the row's commit").until(() ->
                    ClusterData.text(green, "select v from " + table + " where id = 1").equals("claimed"));
            proxy.stillAlike();
        }
    }

    /**
     * The other direction. A claim that blue answered (UPDATE 0: the job was running) before the requeue's COMMIT was
     * sent there did not see that commit; its run on green, held up on its way there (a relay holds it), must not see
     * it either, or it finds the job queued there (UPDATE 1, a divergence). So the requeue's COMMIT on green waits
     * for the claim's run there, which finds the job running as blue did. Before, green committed the requeue at once
     * and the claim diverged.
     */
    @Test
    void aWriteBlueAnsweredBeforeAnotherSessionsCommitRunsOnGreenBeforeThatCommitLandsThere() throws Exception {
        String table = table();
        onBoth(blue, green, "insert into " + table + " values (1, 'running')");
        String claimSql = "update " + table + " set v = 'claimed' where id = 1 and v = 'queued'";
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
             InterceptingRelay relay = InterceptingRelay.holdingRequest(green.port(), claimSql);
             TestProxy proxy = TestProxy.in(blue).green(green).greenAt("127.0.0.1", relay.port())
                     .routing(routing(ReadAfterWrite.EVERYWHERE)).start();
             Connection requeuer = proxy.connect(blue.superuser());
             Connection worker = proxy.connect(blue.superuser());
             Statement s = requeuer.createStatement()) {
            proxy.server().routing().start("test", null);
            s.execute("begin");
            s.executeUpdate("update " + table + " set v = 'queued' where id = 1 and v = 'running'");
            CompletableFuture<Integer> claim = ClientSessions.updateInBackground(worker, claimSql, clients);
            await("blue has answered the claim, its run on green held").until(() -> relay.cuts() == 1);
            assertThat(ClusterData.text(blue, "select v from " + table + " where id = 1")).as("blue, read directly")
                    .isEqualTo("running");

            s.execute("commit");
            assertThat(ClusterData.text(blue, "select v from " + table + " where id = 1")).isEqualTo("queued");
            await("green's COMMIT of the requeue waits for the claim").during(HELD).atMost(HELD.multipliedBy(3))
                    .until(() -> ClusterData.text(green, "select v from " + table + " where id = 1").equals("running"));

            relay.release();
            assertThat(claim.get(10, TimeUnit.SECONDS)).as("the job blue found running").isZero();
            await("green commits the requeue").until(() ->
                    ClusterData.text(green, "select v from " + table + " where id = 1").equals("queued"));
            assertThat(proxy.server().migration().divergenceCount()).isZero();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * A requeue committed while blue runs another session's claim of the same job, which began before the commit: the
     * claim's statement took its snapshot before it sleeps in a one-time filter, so on blue it finds the job running
     * and claims nothing. The requeue's COMMIT waits until blue has answered the claim ({@code timeouts.commit_wait}),
     * and green's COMMIT of it waits for green's run of the claim, which also finds the job running there. Before,
     * the COMMIT went to blue at once, and green ran the claim only after the requeue had landed there: it claimed the
     * job, and green fell out of sync.
     */
    @Test
    void aCommitWaitsForAnAutocommitWriteBlueIsRunningWhichGreenThenRunsBeforeTheCommit() throws Exception {
        String table = table();
        onBoth(blue, green, "insert into " + table + " values (1, 'running')");
        String claimSql = "update " + table + " set v = 'claimed' where id = 1 and v = 'queued'"
                + " and (select pg_sleep(0.5) /* claim */) is not null";
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
             TestProxy proxy = TestProxy.in(blue).green(green).commitWait(Duration.ofSeconds(2)).start();
             Connection requeuer = proxy.connect(blue.superuser());
             Connection worker = proxy.connect(blue.superuser());
             Statement s = requeuer.createStatement()) {
            proxy.server().routing().start("test", null);
            CompletableFuture<Integer> claim = ClientSessions.updateInBackground(worker, claimSql, clients);
            await("blue runs the claim").until(() -> ClusterData.number(blue,
                    "select count(*) from pg_stat_activity where wait_event = 'PgSleep' and query like '%/* claim */%'") == 1);

            assertThat(s.executeUpdate("update " + table + " set v = 'queued' where id = 1 and v = 'running'"))
                    .isEqualTo(1);
            assertThat(claim.get(10, TimeUnit.SECONDS)).as("the job blue found running as the claim began").isZero();
            await("green commits the requeue").until(() ->
                    ClusterData.text(green, "select v from " + table + " where id = 1").equals("queued"));
            assertThat(ClusterData.text(blue, "select v from " + table + " where id = 1")).isEqualTo("queued");
            assertThat(proxy.server().migration().divergenceCount()).isZero();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            assertThat(proxy.server().migration().commitsHeldForWrites()).isEqualTo(1);
            assertThat(proxy.server().migration().commitWaitsRanOut()).isZero();
        }
    }

    /**
     * A COMMIT that would wait for an autocommit write blue holds behind that very transaction's row lock goes at
     * {@code timeouts.commit_wait}: the write then finds the committed row version on blue, and on green, where it
     * waits for the same lock or runs after the commit, the same one. Without the bound the two would wait for each
     * other for ever.
     */
    @Test
    void aCommitWhoseWaitedForWriteWaitsForItsRowLockGoesAtTheBound() throws Exception {
        String table = table();
        onBoth(blue, green, "insert into " + table + " values (1, 'queued')");
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor();
             TestProxy proxy = TestProxy.in(blue).green(green).commitWait(Duration.ofMillis(300)).start();
             Connection first = proxy.connect(blue.superuser());
             Connection second = proxy.connect(blue.superuser());
             Statement s = first.createStatement()) {
            proxy.server().routing().start("test", null);
            s.execute("begin");
            assertThat(s.executeUpdate("update " + table + " set v = 'first' where id = 1 and v = 'queued'")).isEqualTo(1);
            CompletableFuture<Integer> claim = ClientSessions.updateInBackground(second,
                    "update " + table + " set v = 'second' where id = 1 and v = 'queued'", clients);
            await("blue holds the second claim behind the first's row lock").until(() -> ClusterData.number(blue,
                    "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and query like '%''second''%'") == 1);

            s.execute("commit");
            assertThat(claim.get(10, TimeUnit.SECONDS)).as("the job the first claim took").isZero();
            await("green commits the first claim").until(() ->
                    ClusterData.text(green, "select v from " + table + " where id = 1").equals("first"));
            assertThat(ClusterData.text(blue, "select v from " + table + " where id = 1")).isEqualTo("first");
            assertThat(proxy.server().migration().divergenceCount()).isZero();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            assertThat(proxy.server().migration().commitWaitsRanOut()).isEqualTo(1);
        }
    }

    /**
     * A session that leaves inside the transaction a {@code COMMIT AND CHAIN} opened, while green's COMMIT of the
     * chained one still runs, still owes that commit: the closed session waits for green's answer (see
     * CutoverRollbackIT), so other sessions' writes that find the row wait for it as for any commit still landing;
     * once green has answered, nothing is owed and green holds the row. Before, the session closed green's
     * connection under the COMMIT, owed nothing, and green rolled the row back.
     */
    @Test
    void aSessionThatLeavesAfterCommitAndChainOwesTheCommitUntilGreenHasMadeIt() throws Exception {
        String table = table();
        try (TestProxy proxy = started(ReadAfterWrite.EVERYWHERE, 0);
             HeldGreenCommit commit = HeldGreenCommit.on(green, table)) {
            Connection writer = proxy.connect(blue.superuser());
            try {
                assertThat(insertInBackground(writer, table, Commit.COMMIT_AND_CHAIN).get(10, TimeUnit.SECONDS)).isEqualTo(1);
                commit.awaitCommitWaiting();
                assertThat(proxy.server().followerCommitsOwed()).as("green's COMMIT of the insert is still to answer")
                        .isOne();
            } finally {
                writer.close();
            }
            await("the session has closed").until(() -> proxy.server().sessionCount() == 0);
            assertThat(proxy.server().followerCommitsOwed()).as("green's COMMIT still runs").isOne();

            commit.release();

            await("nothing owed once green has answered").until(() -> proxy.server().followerCommitsOwed() == 0);
            assertThat(ClusterData.number(green, "select count(*) from " + table)).as("green, read directly").isEqualTo(1);
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /** At weight 0 green serves no read: no acknowledgement waits for it. */
    @Test
    void whileGreenServesNoReadsTheAcknowledgementDoesNotWaitForIt() throws Exception {
        String table = table();
        try (TestProxy proxy = started(ReadAfterWrite.EVERYWHERE, 0);
             HeldGreenCommit commit = HeldGreenCommit.on(green, table);
             Connection writer = proxy.connect(blue.superuser())) {
            CompletableFuture<Integer> write = insertInBackground(writer, table, Commit.COMMIT);

            assertThat(write.get(10, TimeUnit.SECONDS)).as("acknowledged while green's commit waits").isEqualTo(1);
            commit.awaitCommitWaiting();
            assertThat(countThrough(proxy, table)).isEqualTo("1@16");

            commit.release();
            await("green's commit lands").until(() -> ClusterData.number(green, "select count(*) from " + table) == 1);
        }
    }
}
