package dev.bluegreen.proxy.store;

import dev.bluegreen.config.Cluster;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the {@code postgres} state store connects, as pgjdbc needs it: the URL from the cluster's host,
 * port and database, {@code sslmode} from its TLS mode, the credentials as properties so that they never
 * appear in a URL that might be logged.
 */
final class Database {

    private static final Logger log = LoggerFactory.getLogger(Database.class);

    private static final int CONNECT_TIMEOUT_SECONDS = 10;
    /** A statement stuck longer than this on a silent network fails instead of holding a command forever. */
    private static final int SOCKET_TIMEOUT_SECONDS = 30;
    /** The store's transactions hold a row for milliseconds: a wait this long is someone else's doing. */
    static final int LOCK_TIMEOUT_MILLIS = 5_000;

    private final Cluster cluster;
    private final String instance;

    Database(Cluster cluster, String instance) {
        this.cluster = Objects.requireNonNull(cluster, "cluster");
        if (cluster.database() == null) {
            throw new IllegalArgumentException("the postgres state store needs a database name");
        }
        this.instance = instance;
    }

    /** {@code host:port/database}: for logs and messages, never a credential. */
    String describe() {
        return cluster.endpoint() + "/" + cluster.database();
    }

    String url() {
        return JdbcLogin.url(cluster, cluster.database());
    }

    /**
     * Every connection has a socket timeout, the listener's too: a catch-up query on a silent network must
     * not hold the store's lock (and a closed write barrier) for TCP keepalive's hours. pgjdbc's timed
     * wait for notifications sets its own timeout while it waits.
     */
    Properties properties(String purpose) {
        // pg_stat_activity shows which instance and which of its connections
        return JdbcLogin.properties(cluster, CONNECT_TIMEOUT_SECONDS, SOCKET_TIMEOUT_SECONDS,
                "bluegreen " + purpose + " " + instance);
    }

    /**
     * A new connection; the caller closes it. A statement that waits for a row lock (an operator's {@code
     * SELECT ... FOR UPDATE} left open on a state table, say) fails after {@link #LOCK_TIMEOUT_MILLIS} with
     * PostgreSQL's own message, rather than holding a command until the socket timeout.
     */
    Connection connect(String purpose) throws SQLException {
        Connection c = DriverManager.getConnection(url(), properties(purpose));
        try (Statement s = c.createStatement()) {
            // a SET, not a startup option: a pooler in front of the store may refuse startup options
            s.execute("SET lock_timeout = " + LOCK_TIMEOUT_MILLIS);
        } catch (SQLException e) {
            closeQuietly(c);
            throw e;
        }
        return c;
    }

    /** Work done in one transaction on a {@link Link}. */
    interface Work<T> {
        T run(Connection connection) throws SQLException;
    }

    /**
     * One connection used by one thread at a time, opened on first use and opened again on the next use
     * after it broke: the store's threads outlive any connection.
     */
    final class Link implements AutoCloseable {

        /** Checked before use when idle this long: a restarted server is noticed before a change is sent. */
        private static final long VALIDATE_AFTER_IDLE_NANOS = TimeUnit.SECONDS.toNanos(5);

        private final String purpose;
        private final ReentrantLock lock = new ReentrantLock();
        private volatile Connection connection;
        private long lastUsed;

        Link(String purpose) {
            this.purpose = purpose;
        }

        /** Runs {@code work} and commits; rolls back whatever it throws. Work may roll back itself and return. */
        <T> T transaction(Work<T> work) throws SQLException {
            lock.lock();
            try {
                Connection c = connection();
                try {
                    T result = work.run(c);
                    c.commit();
                    return result;
                } catch (SQLException | RuntimeException e) {
                    rollback(c);
                    if (broken(c, e)) {
                        drop();
                    }
                    throw e;
                } finally {
                    lastUsed = System.nanoTime();
                }
            } finally {
                lock.unlock();
            }
        }

        private Connection connection() throws SQLException {
            Connection c = connection;
            if (c != null && System.nanoTime() - lastUsed > VALIDATE_AFTER_IDLE_NANOS && !c.isValid(2)) {
                log.info("state store connection lost while idle store={} purpose={}", describe(), purpose);
                drop();
                c = null;
            }
            if (c == null) {
                c = connect(purpose);
                c.setAutoCommit(false);
                connection = c;
            }
            return c;
        }

        private void rollback(Connection c) {
            try {
                if (!c.isClosed()) {
                    c.rollback();
                }
            } catch (SQLException e) {
                log.debug("rollback failed store={} purpose={} reason={}", describe(), purpose, e.getMessage());
            }
        }

        private void drop() {
            Connection c = connection;
            connection = null;
            closeQuietly(c);
        }

        /** Closes at once, even while another thread is inside a statement. */
        void abort() {
            Connection c = connection;
            connection = null;
            Database.abort(c);
        }

        /** Closes once the work in progress, if any, is done; aborts it if it takes more than a moment. */
        @Override
        public void close() {
            boolean locked = false;
            try {
                locked = lock.tryLock(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                if (locked) {
                    drop();
                } else {
                    abort();
                }
            } finally {
                if (locked) {
                    lock.unlock();
                }
            }
        }
    }

    /** Connection-level failures: the connection is useless afterwards and must be opened again. */
    static boolean broken(Connection c, Exception e) {
        try {
            if (c.isClosed()) {
                return true;
            }
        } catch (SQLException ignored) {
            return true;
        }
        if (e instanceof SQLException sql && sql.getSQLState() != null) {
            String state = sql.getSQLState();
            // 08: connection exception; 57P: the server is shutting down or was restarted
            return state.startsWith("08") || state.startsWith("57P");
        }
        return false;
    }

    static void abort(Connection c) {
        if (c == null) {
            return;
        }
        try {
            c.abort(Runnable::run);
        } catch (SQLException e) {
            closeQuietly(c);
        }
    }

    static void closeQuietly(Connection c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (SQLException e) {
            log.debug("close failed reason={}", e.getMessage());
        }
    }
}
