package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.embedded.PgCluster;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Green's COMMIT of a table's rows held on an advisory lock, for the tests of a session that closes while
 * its follower's COMMIT still runs: a deferred trigger on green only takes the lock at commit, and this
 * object holds the lock, from a connection straight to green, until {@link #release} or {@link #close}.
 */
final class HeldGreenCommit implements AutoCloseable {

    private final PgCluster green;
    private final Connection holder;
    private final long key;
    /** Green's backend that waits for the lock, holding the table's: not one another test left waiting. */
    private final String waiting;
    private boolean held;

    private HeldGreenCommit(PgCluster green, Connection holder, long key, String table) {
        this.green = green;
        this.holder = holder;
        this.key = key;
        this.waiting = "from pg_stat_activity where wait_event_type = 'Lock' and wait_event = 'advisory'"
                + " and pid in (select pid from pg_locks where relation = '" + table + "'::regclass)";
    }

    /** Puts the trigger on {@code table} on green and takes the lock. */
    static HeldGreenCommit on(PgCluster green, String table) throws SQLException {
        long key = table.hashCode();
        green.execute("postgres",
                "create function " + table + "_wait() returns trigger language plpgsql as "
                        + "$$ begin perform pg_advisory_xact_lock(" + key + "); return null; end $$",
                "create constraint trigger " + table + "_wait after insert on " + table
                        + " deferrable initially deferred for each row execute function " + table + "_wait()");
        HeldGreenCommit commit = new HeldGreenCommit(green, green.connect("postgres"), key, table);
        commit.execute("select pg_advisory_lock(" + key + ")");
        commit.held = true;
        return commit;
    }

    /**
     * Inserts {@code (1, 'one')} into {@code table} through a session of the proxy that then closes, and
     * returns once green's COMMIT of it waits for the lock and the proxy has no session left.
     */
    void insertThroughAndLeave(TestProxy proxy, String user, String table) throws SQLException {
        try (Connection c = proxy.connect(user); Statement s = c.createStatement()) {
            assertThat(s.executeUpdate("insert into " + table + " values (1, 'one')")).isEqualTo(1);
        }
        awaitCommitWaiting();
        await("the client's session has closed").until(() -> proxy.server().sessionCount() == 0);
    }

    /** Returns once a COMMIT on green waits for the lock. */
    void awaitCommitWaiting() {
        await("green's COMMIT waits for the advisory lock")
                .until(() -> ClusterData.number(green, "select count(*) " + waiting) == 1);
    }

    /** Lets the held COMMIT go on. */
    void release() throws SQLException {
        execute("select pg_advisory_unlock(" + key + ")");
        held = false;
    }

    /**
     * For a test's cleanup: lets the held COMMIT (or PREPARE TRANSACTION) go on if it still waits, and gives green a
     * few seconds to answer it, so that a prepared transaction it makes is there to roll back. Quietly: a test that
     * failed keeps its own failure.
     */
    void letGo(TestProxy proxy) throws SQLException {
        if (held) {
            release();
        }
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> proxy.server().followerCommitsOwed() == 0);
        } catch (ConditionTimeoutException e) {
            // what green still owes stays; the test has failed already
        }
    }

    /** Ends green's backend that waits for the lock, as a crash of that connection would. */
    void terminateWaitingBackend() throws SQLException {
        execute("select pg_terminate_backend(pid) " + waiting);
    }

    private void execute(String sql) throws SQLException {
        try (Statement s = holder.createStatement()) {
            s.execute(sql);
        }
    }

    @Override
    public void close() throws SQLException {
        try {
            if (held) {
                release();
            }
        } finally {
            holder.close();
        }
    }
}
