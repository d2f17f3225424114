package dev.bluegreen.proxy.verify;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.store.JdbcLogin;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * Compares every table of one database on blue and green: the column list, the row count and an
 * order-independent digest of the rows (the sum of a 64-bit hash of each row's text).
 *
 * <p>Both clusters are read from snapshots taken together while the write barrier is closed, so no
 * write unit is half applied when they are taken: with synchronous dual-write, tables that the proxy
 * keeps identical read identical even under traffic. The barrier is closed only for the time it takes
 * to drain and to take the two snapshots (under a network timeout of the barrier's own length); the
 * tables are read after it has reopened, inside two read-only repeatable-read transactions, which
 * hold their tables' share locks and the clusters' vacuum horizon until the check ends. Only this
 * instance's sessions are quiesced; with several proxy instances, a write running through another one
 * can show as a difference.
 *
 * <p>Row text depends on settings, so the check's sessions pin those that shape it ({@link #PINNED});
 * the JDBC driver pins the date style and time zone itself.
 */
public final class ConsistencyCheck {

    /** The proxy's own state tables, found in a database that also holds the {@code postgres} state store. */
    static final Set<String> OWN_TABLES = Set.of("public.bluegreen_state", "public.bluegreen_history",
            "public.bluegreen_instances", "public.bluegreen_barrier");

    /** Ordinary tables outside the system schemas: name (quoted where it needs it), then columns and types. */
    private static final String TABLES = """
            select quote_ident(n.nspname) || '.' || quote_ident(c.relname),
                   coalesce((select string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod),
                                               ', ' order by a.attnum)
                             from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '')
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind = 'r' and n.nspname <> 'information_schema' and n.nspname not like 'pg\\_%'
            """;

    /** Settings that change how a row prints, the same on both clusters' check sessions. */
    static final String PINNED = "-c extra_float_digits=3 -c bytea_output=hex -c IntervalStyle=postgres"
            + " -c lc_monetary=C";

    /** Why the check could not run; nothing was compared. */
    public static final class Unavailable extends Exception {
        public Unavailable(String message) {
            super(message, null, false, false);
        }
    }

    /** One table as one cluster has it; null digest when not computed (columns differ). */
    public record Side(String columns, long rows, String digest) {}

    /** One table's verdict; a side is null when the table is missing there. */
    public record TableResult(String table, Status status, Side blue, Side green) {}

    public enum Status {
        SAME("same"),
        ROWS_DIFFER("rows differ"),
        COLUMNS_DIFFER("columns differ"),
        ONLY_ON_BLUE("only on blue"),
        ONLY_ON_GREEN("only on green");

        private final String text;

        Status(String text) {
            this.text = text;
        }

        public String text() {
            return text;
        }
    }

    /** What the check found, table by table in name order. */
    public record Report(String database, Instant snapshotAt, long tookMillis, List<TableResult> tables) {
        public boolean consistent() {
            return tables.stream().allMatch(t -> t.status() == Status.SAME);
        }
    }

    private final Cluster blue;
    private final Cluster green;
    private final RoutingControl control;
    private final Duration loginTimeout;
    private final Clock clock;

    /**
     * @param control      whose write barrier the snapshots are taken behind; its timeout bounds them too
     * @param loginTimeout how long a login to a cluster may take
     */
    public ConsistencyCheck(Cluster blue, Cluster green, RoutingControl control, Duration loginTimeout, Clock clock) {
        this.blue = blue;
        this.green = green;
        this.control = Objects.requireNonNull(control, "control");
        this.loginTimeout = Objects.requireNonNull(loginTimeout, "loginTimeout");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** The database verify reads when none is named, as a client names it: {@code postgres}. */
    public String defaultDatabase() {
        return "postgres";
    }

    /**
     * Compares the tables of {@code clientDatabase} (a client's database name, mapped per cluster as the
     * proxy maps a session's).
     */
    public Report run(String clientDatabase) throws Unavailable, InterruptedException {
        if (green == null) {
            throw new Unavailable("verify compares blue with green, and no green cluster is configured");
        }
        long started = System.nanoTime();
        try (Connection onBlue = open(blue, clientDatabase); Connection onGreen = open(green, clientDatabase)) {
            Instant at = snapshotsTogether(onBlue, onGreen);
            Map<String, String> blueTables = tables(onBlue);
            Map<String, String> greenTables = tables(onGreen);
            Set<String> names = new TreeSet<>(blueTables.keySet());
            names.addAll(greenTables.keySet());
            names.removeAll(OWN_TABLES);
            List<TableResult> results = new ArrayList<>();
            for (String name : names) {
                results.add(compare(name, blueTables.get(name), greenTables.get(name), onBlue, onGreen));
            }
            onBlue.rollback();
            onGreen.rollback();
            return new Report(clientDatabase, at, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), results);
        } catch (SQLException e) {
            throw new Unavailable("verify could not read the clusters: " + e.getMessage());
        }
    }

    private Connection open(Cluster cluster, String clientDatabase) throws Unavailable {
        if (cluster.user() == null) {
            throw new Unavailable("verify logs in to each cluster as the role its configuration names, and cluster "
                    + cluster.name() + " names none (set clusters." + cluster.name() + ".user to a role that can read every table)");
        }
        // no socket timeout: a digest of a large table may take long; the snapshots set their own
        Properties properties = JdbcLogin.properties(cluster, (int) Math.max(1, loginTimeout.toSeconds()), 0,
                "bluegreen verify");
        properties.setProperty("options", PINNED);
        try {
            Connection connection = DriverManager.getConnection(
                    JdbcLogin.url(cluster, cluster.backendDatabase(clientDatabase)), properties);
            connection.setAutoCommit(false);
            connection.setReadOnly(true);
            connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            return connection;
        } catch (SQLException e) {
            throw new Unavailable("verify could not log in to cluster " + cluster.name() + " at " + cluster.endpoint()
                    + ": " + e.getMessage());
        }
    }

    /** Waits for the write units in flight, then takes both snapshots before any other unit starts. */
    private Instant snapshotsTogether(Connection onBlue, Connection onGreen) throws Unavailable, InterruptedException,
            SQLException {
        try {
            return control.whileWritesQuiesced("verify", () -> {
                Instant at = clock.instant();
                takeSnapshot(onBlue);
                takeSnapshot(onGreen);
                return at;
            });
        } catch (RoutingControl.Refused refused) {
            throw new Unavailable(refused.getMessage());
        }
    }

    /**
     * A repeatable-read transaction's snapshot is taken by its first statement. The barrier is closed
     * meanwhile, so a cluster that stops answering must not hold it for TCP's hours.
     */
    private void takeSnapshot(Connection connection) throws SQLException {
        connection.setNetworkTimeout(Runnable::run, (int) control.barrierTimeout().toMillis());
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("select 1")) {
            rs.next();
        } finally {
            connection.setNetworkTimeout(Runnable::run, 0);
        }
    }

    /** Name, as it is written in SQL, → columns. */
    private static Map<String, String> tables(Connection connection) throws SQLException {
        Map<String, String> tables = new TreeMap<>();
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(TABLES)) {
            while (rs.next()) {
                tables.put(rs.getString(1), rs.getString(2));
            }
        }
        return tables;
    }

    private static TableResult compare(String name, String blueColumns, String greenColumns,
                                       Connection blueConnection, Connection greenConnection) throws SQLException {
        if (greenColumns == null) {
            return new TableResult(name, Status.ONLY_ON_BLUE, side(blueConnection, name, blueColumns, true), null);
        }
        if (blueColumns == null) {
            return new TableResult(name, Status.ONLY_ON_GREEN, null, side(greenConnection, name, greenColumns, true));
        }
        boolean sameColumns = blueColumns.equals(greenColumns);
        Side blueSide = side(blueConnection, name, blueColumns, sameColumns);
        Side greenSide = side(greenConnection, name, greenColumns, sameColumns);
        Status status = !sameColumns ? Status.COLUMNS_DIFFER
                : blueSide.rows() == greenSide.rows() && blueSide.digest().equals(greenSide.digest()) ? Status.SAME
                : Status.ROWS_DIFFER;
        return new TableResult(name, status, blueSide, greenSide);
    }

    /**
     * Counts the table's rows and, when asked, digests them: one sequential scan on the cluster. The whole
     * row is hashed through its alias's star, which no column name can shadow.
     */
    private static Side side(Connection connection, String table, String columns, boolean digest) throws SQLException {
        String sql = digest
                ? "select count(*), coalesce(sum(('x' || substr(md5(row(verified_row.*)::text), 1, 16))::bit(64)::bigint::numeric), 0)::text"
                        + " from only " + table + " verified_row"
                : "select count(*), null from only " + table;
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return new Side(columns, rs.getLong(1), rs.getString(2));
        }
    }
}
