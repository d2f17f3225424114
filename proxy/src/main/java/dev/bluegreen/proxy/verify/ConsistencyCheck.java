package dev.bluegreen.proxy.verify;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.routing.ClusterRole;
import dev.bluegreen.proxy.store.JdbcLogin;
import java.sql.Array;
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
import java.util.regex.Pattern;

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

    /**
     * Ordinary tables outside the system schemas: schema, name, then each column's name and type. Names
     * are quoted here, not by the server: {@code quote_ident} quotes by the server's own keyword list,
     * which changes between major versions (PostgreSQL 18 quotes {@code json}, 16 does not).
     */
    private static final String TABLES = """
            select n.nspname, c.relname,
                   (select array_agg(format_type(a.atttypid, a.atttypmod) order by a.attnum)
                      from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
                   (select array_agg(a.attname::text order by a.attnum)
                      from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped)
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind = 'r' and n.nspname <> 'information_schema' and n.nspname not like 'pg\\_%'
            """;

    /** Sequences outside the system schemas and their last value (null before the first nextval). */
    private static final String SEQUENCES = """
            select schemaname, sequencename, last_value from pg_catalog.pg_sequences
            where schemaname <> 'information_schema' and schemaname not like 'pg\\_%'
            """;

    /** A name as it prints: bare when it is a plain lower-case word, quoted otherwise (and then always). */
    private static final Pattern PLAIN_NAME = Pattern.compile("[a-z_][a-z0-9_$]*");

    /**
     * Settings that change how a row prints, the same on both clusters' check sessions; and row security
     * off, so that a role policies would filter fails the check instead of counting what it may see.
     */
    static final String PINNED = "-c extra_float_digits=3 -c bytea_output=hex -c IntervalStyle=postgres"
            + " -c lc_monetary=C -c row_security=off";

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
        /** A sequence's last value. */
        VALUE_DIFFERS("value differs"),
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
            Map<String, Relation> blueTables = tables(onBlue);
            Map<String, Relation> greenTables = tables(onGreen);
            // each table is read where writes go first, as a write locks it: a check reading the follower
            // first would hold a lock there that the leader's next write must wait for on the follower
            boolean greenFirst = control.current().leader() == ClusterRole.GREEN;
            Set<String> names = new TreeSet<>(blueTables.keySet());
            names.addAll(greenTables.keySet());
            names.removeAll(OWN_TABLES);
            List<TableResult> results = new ArrayList<>();
            for (String name : names) {
                results.add(compare(name, blueTables.get(name), greenTables.get(name), onBlue, onGreen, greenFirst));
            }
            results.addAll(compareSequences(sequences(onBlue), sequences(onGreen)));
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
        // a lock held past the barrier timeout (a client's DDL waiting on the other cluster for this very
        // check, say) ends the check instead of holding both for good: nothing else would break that cycle
        properties.setProperty("options", PINNED + " -c lock_timeout=" + control.barrierTimeout().toMillis() + "ms");
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

    /** A table as one cluster has it: its name quoted for SQL, and its columns as they print. */
    private record Relation(String sqlName, String columns) {}

    /** Name as it prints → the table. */
    private static Map<String, Relation> tables(Connection connection) throws SQLException {
        Map<String, Relation> tables = new TreeMap<>();
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(TABLES)) {
            while (rs.next()) {
                String schema = rs.getString(1);
                String table = rs.getString(2);
                List<String> columns = new ArrayList<>();
                Array types = rs.getArray(3);
                Array names = rs.getArray(4);
                if (types != null) {
                    String[] type = (String[]) types.getArray();
                    String[] name = (String[]) names.getArray();
                    for (int i = 0; i < type.length; i++) {
                        columns.add(printed(name[i]) + " " + type[i]);
                    }
                }
                tables.put(printed(schema) + "." + printed(table),
                        new Relation(quoted(schema) + "." + quoted(table), String.join(", ", columns)));
            }
        }
        return tables;
    }

    /** Sequence name as it prints → its last value, or "never used". */
    private static Map<String, String> sequences(Connection connection) throws SQLException {
        Map<String, String> sequences = new TreeMap<>();
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(SEQUENCES)) {
            while (rs.next()) {
                String value = rs.getString(3);
                sequences.put(printed(rs.getString(1)) + "." + printed(rs.getString(2)), value == null ? "never used" : value);
            }
        }
        return sequences;
    }

    /**
     * Sequences are compared by their last value: dual-write calls nextval on both clusters, so they
     * move together, and a green seeded without them (logical replication does not copy sequences)
     * would hand out ids blue has already used.
     */
    private static List<TableResult> compareSequences(Map<String, String> blue, Map<String, String> green) {
        Set<String> names = new TreeSet<>(blue.keySet());
        names.addAll(green.keySet());
        List<TableResult> results = new ArrayList<>();
        for (String name : names) {
            Side blueSide = blue.containsKey(name) ? sequenceSide(blue.get(name)) : null;
            Side greenSide = green.containsKey(name) ? sequenceSide(green.get(name)) : null;
            Status status = blueSide == null ? Status.ONLY_ON_GREEN : greenSide == null ? Status.ONLY_ON_BLUE
                    : blue.get(name).equals(green.get(name)) ? Status.SAME : Status.VALUE_DIFFERS;
            results.add(new TableResult(name, status, blueSide, greenSide));
        }
        return results;
    }

    /** A sequence's side: its last value where a table's has its row count (0 before the first nextval). */
    private static Side sequenceSide(String lastValue) {
        return new Side("sequence, last value " + lastValue, lastValue.equals("never used") ? 0 : Long.parseLong(lastValue), null);
    }

    static String printed(String name) {
        return PLAIN_NAME.matcher(name).matches() ? name : quoted(name);
    }

    static String quoted(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    private static TableResult compare(String name, Relation blueTable, Relation greenTable,
                                       Connection blueConnection, Connection greenConnection, boolean greenFirst)
            throws SQLException {
        if (greenTable == null) {
            return new TableResult(name, Status.ONLY_ON_BLUE, side(blueConnection, blueTable, true), null);
        }
        if (blueTable == null) {
            return new TableResult(name, Status.ONLY_ON_GREEN, null, side(greenConnection, greenTable, true));
        }
        boolean sameColumns = blueTable.columns().equals(greenTable.columns());
        Side greenSide = greenFirst ? side(greenConnection, greenTable, sameColumns) : null;
        Side blueSide = side(blueConnection, blueTable, sameColumns);
        if (greenSide == null) {
            greenSide = side(greenConnection, greenTable, sameColumns);
        }
        Status status = !sameColumns ? Status.COLUMNS_DIFFER
                : blueSide.rows() == greenSide.rows() && blueSide.digest().equals(greenSide.digest()) ? Status.SAME
                : Status.ROWS_DIFFER;
        return new TableResult(name, status, blueSide, greenSide);
    }

    /**
     * Counts the table's rows and, when asked, digests them: one sequential scan on the cluster. The whole
     * row is hashed through its alias's star, which no column name can shadow.
     */
    private static Side side(Connection connection, Relation table, boolean digest) throws SQLException {
        // the row's text is hashed as UTF-8 whatever the database's encoding, which a migration may change
        String sql = digest
                ? "select count(*), coalesce(sum(('x' || substr(md5(convert_to(row(verified_row.*)::text, 'UTF8')), 1, 16))"
                        + "::bit(64)::bigint::numeric), 0)::text from only " + table.sqlName() + " verified_row"
                : "select count(*), null from only " + table.sqlName();
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return new Side(table.columns(), rs.getLong(1), rs.getString(2));
        }
    }
}
