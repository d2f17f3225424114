package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An application's traffic through the proxy for the control-plane tests: pgjdbc sessions that insert
 * rows with ids of their own and read each back, bump shared counters in a transaction, and count
 * rows (a read the weight routes). Sessions connect at once and wait for {@link #go}, so that they exist
 * before dual-write starts; they can be held still between rounds ({@link #quiesce}), so that a
 * test reads both clusters at a moment when no write is in flight, and let go again.
 *
 * <p>Every error a client sees is kept; a test of a migration without client errors asserts there are
 * none.
 */
final class MixedLoad implements AutoCloseable {

    private final ClientSessions sessionThreads;
    private final Semaphore gate;
    private final int sessions;
    private final Set<Long> committed = ConcurrentHashMap.newKeySet();
    private final AtomicLong rounds = new AtomicLong();
    private final AtomicLong increments = new AtomicLong();

    MixedLoad(TestProxy proxy, String user, String items, String counters, int sessions) {
        this.sessions = sessions;
        // closed until go(); fair, so that a waiting quiesce is not overtaken by the sessions
        this.gate = new Semaphore(0, true);
        this.sessionThreads = new ClientSessions(sessions);
        sessionThreads.start(session -> run(proxy, user, items, counters, session));
    }

    private void run(TestProxy proxy, String user, String items, String counters, int session) {
        try (Connection c = proxy.connect(user);
             PreparedStatement insert = c.prepareStatement("insert into " + items + " (id, session, v) values (?, ?, ?)");
             PreparedStatement readBack = c.prepareStatement("select v from " + items + " where id = ?");
             PreparedStatement bump = c.prepareStatement("update " + counters + " set n = n + 1 where id = ?");
             PreparedStatement count = c.prepareStatement("select count(*) from " + items + " where session = ?")) {
            for (long round = 1; !sessionThreads.stopping(); round++) {
                gate.acquireUninterruptibly();
                try {
                    if (sessionThreads.stopping()) {
                        return;
                    }
                    long id = session * 1_000_000_000L + round;
                    insert.setLong(1, id);
                    insert.setInt(2, session);
                    insert.setString(3, "s" + session + "r" + round);
                    insert.executeUpdate();
                    committed.add(id);
                    readBack.setLong(1, id);
                    try (ResultSet rs = readBack.executeQuery()) {
                        assertThat(rs.next()).as("row %d read back at once", id).isTrue();
                    }
                    bumpInATransaction(c, bump, (int) (round % 4) + 1);
                    count.setInt(1, session);
                    try (ResultSet rs = count.executeQuery()) {
                        rs.next();
                    }
                    rounds.incrementAndGet();
                } catch (SQLException | AssertionError e) {
                    sessionThreads.error("session " + session + ": " + e.getMessage());
                } finally {
                    gate.release();
                }
            }
        } catch (SQLException e) {
            sessionThreads.error("session " + session + " could not connect: " + e.getMessage());
        }
    }

    /** Counters are shared, so sessions conflict on them; a deadlock or serialisation failure is retried as an application would. */
    private void bumpInATransaction(Connection c, PreparedStatement bump, int row) throws SQLException {
        for (int attempt = 1; ; attempt++) {
            c.setAutoCommit(false);
            try {
                bump.setInt(1, row);
                bump.executeUpdate();
                c.commit();
                increments.incrementAndGet();
                return;
            } catch (SQLException e) {
                c.rollback();
                if (attempt >= 5 || e.getSQLState() == null || !e.getSQLState().startsWith("40")) {
                    throw e;
                }
            } finally {
                c.setAutoCommit(true);
            }
        }
    }

    /** Lets the sessions (connected, idle until now) begin. */
    void go() {
        gate.release(sessions);
    }

    /** Waits until the sessions completed {@code more} further rounds: what follows runs under traffic. */
    void awaitProgress(long more) {
        long target = rounds.get() + more;
        await().atMost(Duration.ofSeconds(60)).until(() -> rounds.get() >= target || sessionThreads.failed());
        assertThat(sessionThreads.errors()).as("client-visible errors").isEmpty();
    }

    /** Holds every session between two rounds; {@link #release} lets them go. */
    void quiesce() throws InterruptedException {
        assertThat(gate.tryAcquire(sessions, 60, TimeUnit.SECONDS)).as("every session between rounds").isTrue();
    }

    void release() {
        gate.release(sessions);
    }

    /** Ids of every insert a client saw commit. */
    Set<Long> committed() {
        return Set.copyOf(committed);
    }

    long increments() {
        return increments.get();
    }

    List<String> errors() {
        return sessionThreads.errors();
    }

    void stop() throws Exception {
        sessionThreads.stop();
    }

    @Override
    public void close() {
        sessionThreads.close();
        gate.release(sessions); // sessions that never went, or were held, see that they are stopping
    }
}
