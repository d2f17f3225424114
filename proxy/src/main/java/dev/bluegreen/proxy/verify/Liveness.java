package dev.bluegreen.proxy.verify;

import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks each cluster {@code select 1}, on a connection of its own, while a check reads them, and ends the
 * check's reads on both clusters when one has not answered within the deadline.
 *
 * <p>A table's digest is one statement that answers only when its scan is done, so the check's own
 * connections cannot tell a long scan from a cluster that stopped answering (its host gone, a network
 * partition, a frozen server): without this the check would wait for the kernel to give the connection
 * up, hours with Linux's keepalive defaults, and hold the other cluster's snapshot, its tables' share
 * locks and its vacuum horizon, as long.
 */
final class Liveness implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Liveness.class);

    /** The longest time between two questions; a shorter deadline asks as often as it allows. */
    static final Duration MAX_INTERVAL = Duration.ofSeconds(10);

    private final Map<String, Connection> asked;
    private final List<Connection> reading;
    private final Duration deadline;
    private final ScheduledExecutorService timer;
    private volatile String silent;
    /** Set once the check is over: a question still running then fails because its connection closes. */
    private volatile boolean over;

    private Liveness(Map<String, Connection> asked, List<Connection> reading, Duration deadline) {
        this.asked = asked;
        this.reading = reading;
        this.deadline = deadline;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "bluegreen-verify-liveness");
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Starts asking.
     *
     * @param asked    cluster name → a connection of the check's own that only this uses
     * @param reading  the check's connections, aborted when a cluster falls silent
     * @param deadline how long a cluster may take to answer
     */
    static Liveness watch(Map<String, Connection> asked, List<Connection> reading, Duration deadline)
            throws SQLException {
        int millis = (int) Math.min(Integer.MAX_VALUE, deadline.toMillis());
        for (Connection connection : asked.values()) {
            connection.setNetworkTimeout(Runnable::run, millis);
        }
        Liveness liveness = new Liveness(asked, reading, deadline);
        long interval = Math.min(MAX_INTERVAL.toMillis(), deadline.toMillis());
        liveness.timer.scheduleWithFixedDelay(liveness::ask, interval, interval, TimeUnit.MILLISECONDS);
        return liveness;
    }

    /**
     * Why the check's reads were ended, in a sentence: the cluster that did not answer, or null while every
     * cluster answers.
     */
    String silent() {
        return silent;
    }

    private void ask() {
        if (silent != null) {
            return;
        }
        for (Map.Entry<String, Connection> cluster : asked.entrySet()) {
            try (Statement s = cluster.getValue().createStatement()) {
                s.execute("select 1");
            } catch (SQLException e) {
                if (over) {
                    return; // the check ended and closed the connection under the question: nothing was silent
                }
                // a timeout says it all; anything else (the server ended the session, refused the query) is told
                String why = e.getCause() instanceof SocketTimeoutException ? "" : " (" + e.getMessage() + ")";
                silent = "cluster " + cluster.getKey() + " did not answer a query within " + deadline.toSeconds()
                        + " s while verify read it" + why + "; the check was ended and both clusters' snapshots released";
                log.warn("verify ended: {}", silent);
                for (Connection connection : reading) {
                    try {
                        connection.abort(Runnable::run);
                    } catch (SQLException | RuntimeException failed) {
                        log.warn("verify could not end a read on a silent cluster", failed);
                    }
                }
                return;
            }
        }
    }

    @Override
    public void close() {
        over = true;
        timer.shutdownNow();
    }
}
