package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.Signals;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * What the dual-write tests read from the clusters directly, never through the proxy: a table's whole
 * contents in a fixed order, single values, and the same schema laid down on blue and green before
 * dual-write starts (green must hold a copy of blue's data).
 */
final class ClusterData {

    private ClusterData() {
    }

    /** A table name no other test class or run uses: the shared clusters live for the whole run. */
    static String unique(String stem) {
        return stem + "_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
    }

    /** Runs the statements on blue, then the same on green, each in autocommit. */
    static void onBoth(PgCluster blue, PgCluster green, String... statements) {
        blue.execute("postgres", statements);
        green.execute("postgres", statements);
    }

    /**
     * Both clusters hold exactly {@code rows} in {@code table} (ordered by id): green once its commit, which the
     * client need not wait for, has landed; blue at once.
     */
    static void bothHold(PgCluster blue, PgCluster green, String table, String rows) throws SQLException {
        await().atMost(Duration.ofSeconds(5)).until(() -> contents(green, table, "id").equals(rows));
        assertThat(contents(blue, table, "id")).isEqualTo(rows);
    }

    /** Every row of {@code table} as text, one per line, ordered by {@code orderBy}. */
    static String contents(PgCluster cluster, String table, String orderBy) throws SQLException {
        return text(cluster, "select coalesce(string_agg(t::text, E'\\n' order by " + orderBy + "), '') from "
                + table + " t");
    }

    static String text(PgCluster cluster, String sql) throws SQLException {
        try (Connection direct = cluster.connect("postgres"); Statement s = direct.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    static long number(PgCluster cluster, String sql) throws SQLException {
        try (Connection direct = cluster.connect("postgres"); Statement s = direct.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** How many prepared transactions named {@code gid} the cluster holds, read directly. */
    static long preparedTransactions(PgCluster cluster, String gid) throws SQLException {
        return number(cluster, "select count(*) from pg_prepared_xacts where gid = '" + gid + "'");
    }

    /** Rolls back the transaction prepared as {@code gid} wherever a test left it, so that it holds no lock after. */
    static void rollBackPrepared(String gid, PgCluster... clusters) throws SQLException {
        for (PgCluster cluster : clusters) {
            if (preparedTransactions(cluster, gid) > 0) {
                cluster.execute("postgres", "rollback prepared '" + gid + "'");
            }
        }
    }

    static List<Long> numbers(PgCluster cluster, String sql) throws SQLException {
        List<Long> values = new ArrayList<>();
        try (Connection direct = cluster.connect("postgres"); Statement s = direct.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                values.add(rs.getLong(1));
            }
        }
        return values;
    }

    /** Sessions waiting for a lock on the cluster, for the message of a test that ran out of time. */
    static String lockWaits(PgCluster cluster) {
        try {
            return text(cluster, "select coalesce(string_agg(pid || ' ' || coalesce(wait_event, '') || ': ' || query, E'\\n'), 'none')"
                    + " from pg_stat_activity where wait_event_type = 'Lock'");
        } catch (SQLException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    /** Every other backend's state, wait and query, for the message of a test that found a session stuck. */
    static String activity(PgCluster cluster) {
        try {
            return text(cluster, "select coalesce(string_agg(pid || ' ' || state || ' ' || coalesce(wait_event_type || ':' "
                    + "|| wait_event, '-') || ' xact ' || coalesce((now() - xact_start)::text, '-') || ': ' || query, E'\\n'), 'none')"
                    + " from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()");
        } catch (SQLException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    /** What one of {@link #inSessions}' sessions runs, given its number. */
    @FunctionalInterface
    interface SessionWork {
        void run(int session) throws Exception;
    }

    /** Runs {@code work} in {@code count} sessions at once, and fails with the first that failed (or ran past 120 s). */
    static void inSessions(int count, SessionWork work) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(count);
        try {
            List<Future<?>> sessions = new ArrayList<>();
            for (int s = 0; s < count; s++) {
                int session = s;
                sessions.add(pool.submit(() -> {
                    work.run(session);
                    return null;
                }));
            }
            for (Future<?> session : sessions) {
                session.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** pgjdbc connection properties from name, value pairs. */
    static Properties properties(String... pairs) {
        Properties properties = new Properties();
        for (int i = 0; i < pairs.length; i += 2) {
            properties.setProperty(pairs[i], pairs[i + 1]);
        }
        return properties;
    }

    /** The PostgreSQL major version that answered, from {@code server_version_num} (160009 → 16). */
    static int major(int serverVersionNum) {
        return serverVersionNum / 10_000;
    }

    /** "state query" of the backend with this application name, read on a connection opened beforehand. */
    static String backendOf(Connection watcher, String application) throws SQLException {
        try (PreparedStatement ps = watcher.prepareStatement(
                "select state || ' ' || query from pg_stat_activity where application_name = ?")) {
            ps.setString(1, application);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : "no backend";
            }
        }
    }

    /**
     * Sends the signal ({@code STOP}, {@code CONT}) to a cluster's process: a stopped postmaster leaves new
     * connections, cancel requests among them, in its listen queue while the backends already connected run on.
     */
    static void signal(String name, long pid) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder(Signals.command(pid, name)).inheritIO().start();
        if (kill.waitFor() != 0) {
            throw new IOException("kill -" + name + " " + pid + " failed");
        }
    }
}
