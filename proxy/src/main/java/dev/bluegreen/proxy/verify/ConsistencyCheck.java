package dev.bluegreen.proxy.verify;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.StateStoreConfig;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.routing.ClusterRole;
import dev.bluegreen.proxy.store.JdbcLogin;
import dev.bluegreen.proxy.store.StoreTables;
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
 * keeps identical read identical even under traffic. Sequences are not transactional, so a snapshot does
 * not keep their values: they are read while the barrier is closed too, just before the snapshots. The
 * barrier is closed only for the time it takes to drain and to read the sequences and take the snapshots
 * (two short statements per cluster, under a network timeout of the barrier's own length); the tables are
 * read after it has reopened, inside two read-only repeatable-read transactions, which hold their tables'
 * share locks and the clusters' vacuum horizon until the check ends. Only this instance's sessions are
 * quiesced; with several proxy instances, a write running through another one can show as a difference.
 * While it reads, each cluster is asked a trivial query on a connection of its own ({@link Liveness}): one
 * that leaves it unanswered for {@code timeouts.keepalive} ends the check, which releases both snapshots.
 *
 * <p>The {@code postgres} state store's tables are left out where the store keeps them: in the schema its
 * login resolves them to, on the cluster and in the database that hold the store, nowhere else.
 *
 * <p>Row text depends on settings, so the check's sessions pin those that shape it ({@link #PINNED});
 * the JDBC driver pins the date style and time zone itself.
 */
public final class ConsistencyCheck {

    /** The name {@code pg_stat_activity} shows for the check's sessions. */
    static final String APPLICATION_NAME = "bluegreen verify";

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
                      from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
                   c.oid::int8, c.relfilenode::int8
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind = 'r' and n.nspname <> 'information_schema' and n.nspname not like 'pg\\_%'
            """;

    /**
     * Sequences outside the system schemas, whether the check's role may read them, their last value (null
     * before the first nextval or after a {@code setval(…, false)}, and also where the role may not read it,
     * as pg_sequences shows it, hence the privilege beside it), whether it may read the sequence itself (for
     * the value such a null stands for: by name, so it must also be allowed into its schema), and its definition.
     */
    private static final String SEQUENCES = """
            select n.nspname, c.relname, has_sequence_privilege(c.oid, 'SELECT,USAGE'),
                   case when has_sequence_privilege(c.oid, 'SELECT,USAGE') then pg_sequence_last_value(c.oid) end,
                   has_sequence_privilege(c.oid, 'SELECT') and has_schema_privilege(n.oid, 'USAGE'),
                   s.seqincrement, s.seqmin, s.seqmax, s.seqcycle
            from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_sequence s on s.seqrelid = c.oid
            where c.relkind = 'S' and n.nspname <> 'information_schema' and n.nspname not like 'pg\\_%'
            """;

    /** A name as it prints: bare when it is a plain lower-case word, quoted otherwise (and then always). */
    private static final Pattern PLAIN_NAME = Pattern.compile("[a-z_][a-z0-9_$]*");

    /**
     * Settings that change how a row prints, the same on both clusters' check sessions; row security off, so
     * that a role policies would filter fails the check instead of counting what it may see; and standard
     * strings, which the check's own SQL is written for ({@code 'pg\_%'} would otherwise match {@code pgboss}).
     */
    static final String PINNED = "-c extra_float_digits=3 -c bytea_output=hex -c IntervalStyle=postgres"
            + " -c lc_monetary=C -c row_security=off -c search_path=pg_catalog -c standard_conforming_strings=on";

    /** Why the check could not run; nothing was compared. */
    public static final class Unavailable extends Exception {
        public Unavailable(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * One table as one cluster has it; null digest when not computed (columns differ), null rows when not
     * read (a sequence the check's role may not read).
     */
    public record Side(String columns, Long rows, String digest) {}

    /** One table's or sequence's verdict; a side is null when it is missing there. */
    public record TableResult(String table, Kind kind, Status status, Side blue, Side green) {}

    /** What a {@link TableResult} compares. */
    public enum Kind {
        TABLE, SEQUENCE,
        /** The database's large objects, all in one entry ({@link #LARGE_OBJECTS}): their count, and a digest. */
        LARGE_OBJECTS
    }

    /** The name the report gives the entry of the database's large objects. */
    public static final String LARGE_OBJECTS = "large objects";

    public enum Status {
        SAME("same"),
        ROWS_DIFFER("rows differ"),
        /** A sequence's last value, or the value it hands out next. */
        VALUE_DIFFERS("value differs"),
        /** A sequence's increment, bounds or cycling. */
        DEFINITION_DIFFERS("definition differs"),
        /** A sequence the check's role may not read, on one side or both: not compared. */
        NOT_READABLE("not readable"),
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

    /**
     * What the check found, table by table in name order.
     *
     * @param state the routing state in force when the snapshots were taken
     */
    public record Report(String database, Instant snapshotAt, RoutingState state, long tookMillis, List<TableResult> tables) {
        public boolean consistent() {
            return tables.stream().allMatch(t -> t.status() == Status.SAME);
        }

        /** The routing state's epoch in force when the snapshots were taken. */
        public long epoch() {
            return state.epoch();
        }

        /** The tables (and sequences) found to differ, leaving out those not readable. */
        public List<String> differing() {
            return tables.stream().filter(t -> t.status() != Status.SAME && t.status() != Status.NOT_READABLE)
                    .map(TableResult::table).toList();
        }

        /**
         * The tables whose row counts differ: one cluster holds rows the other lacks. Rows
         * that differ only in their values may be the non-deterministic values each cluster computes itself
         * ({@code now()} in a column), and a table or column on one side only a schema green was given on purpose.
         */
        public List<String> rowCountsDiffer() {
            return tables.stream().filter(t -> t.status() == Status.ROWS_DIFFER && t.blue() != null && t.green() != null
                            && t.blue().rows() != null && t.green().rows() != null && !t.blue().rows().equals(t.green().rows()))
                    .map(TableResult::table).toList();
        }
    }

    private final Cluster blue;
    private final Cluster green;
    private final StateStoreConfig store;
    private final RoutingControl control;
    private final Duration loginTimeout;
    private final Duration liveness;
    private final Clock clock;

    /**
     * @param store        where the routing state is kept: a {@code postgres} store's tables are left out
     * @param control      whose write barrier the snapshots are taken behind; its timeout bounds them too
     * @param loginTimeout how long a login to a cluster may take
     * @param liveness     how long a cluster may leave a question unanswered while the check reads it before the
     *                     check ends ({@link Liveness}); zero for no questions
     */
    public ConsistencyCheck(Cluster blue, Cluster green, StateStoreConfig store, RoutingControl control,
                            Duration loginTimeout, Duration liveness, Clock clock) {
        this.blue = blue;
        this.green = green;
        this.store = Objects.requireNonNull(store, "store");
        this.control = Objects.requireNonNull(control, "control");
        this.loginTimeout = Objects.requireNonNull(loginTimeout, "loginTimeout");
        this.liveness = Objects.requireNonNull(liveness, "liveness");
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
        StoreTables own = storeTables();
        try (Connection onBlue = open(blue, clientDatabase, APPLICATION_NAME);
             Connection onGreen = open(green, clientDatabase, APPLICATION_NAME);
             Connection askBlue = liveness.isZero() ? null : open(blue, clientDatabase, APPLICATION_NAME + " liveness");
             Connection askGreen = liveness.isZero() ? null : open(green, clientDatabase, APPLICATION_NAME + " liveness");
             Liveness watch = liveness.isZero() ? null : Liveness.watch(
                     Map.of(blue.name(), askBlue, green.name(), askGreen), List.of(onBlue, onGreen), liveness)) {
            try {
                Snapshots snapshots = snapshotsTogether(onBlue, onGreen);
                Map<String, Relation> blueTables = tables(onBlue, own);
                Map<String, Relation> greenTables = tables(onGreen, own);
                // each table is read where writes go first, as a write locks it: a check reading the follower
                // first would hold a lock there that the leader's next write must wait for on the follower
                boolean greenFirst = control.current().leader() == ClusterRole.GREEN;
                Set<String> names = new TreeSet<>(blueTables.keySet());
                names.addAll(greenTables.keySet());
                List<TableResult> results = new ArrayList<>();
                for (String name : names) {
                    results.add(compare(name, blueTables.get(name), greenTables.get(name), onBlue, onGreen, greenFirst));
                }
                results.addAll(compareSequences(snapshots.blue(), snapshots.green()));
                TableResult largeObjects = compareLargeObjects(onBlue, onGreen, greenFirst);
                if (largeObjects != null) {
                    results.add(largeObjects);
                }
                onBlue.rollback();
                onGreen.rollback();
                long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                return new Report(clientDatabase, snapshots.at(), snapshots.state(), took, results);
            } catch (SQLException e) {
                if (watch != null && watch.silent() != null) {
                    throw new Unavailable("verify could not read the clusters: " + watch.silent());
                }
                throw e;
            }
        } catch (SQLException e) {
            throw new Unavailable("verify could not read the clusters: " + e.getMessage());
        }
    }

    /** Where the {@code postgres} state store keeps its tables; null for the {@code file} store. */
    private StoreTables storeTables() throws Unavailable {
        if (store.kind() != StateStoreConfig.Kind.POSTGRES) {
            return null;
        }
        try {
            return StoreTables.locate(store.database(), (int) Math.max(1, loginTimeout.toSeconds()));
        } catch (SQLException e) {
            throw new Unavailable("verify leaves the state store's tables out, and could not ask the state store at "
                    + store.database().endpoint() + "/" + store.database().database() + " where they are: "
                    + e.getMessage());
        }
    }

    /** Logs in for a check; autocommit until {@link #sequencesThenSnapshot} begins the snapshot's transaction. */
    private Connection open(Cluster cluster, String clientDatabase, String applicationName) throws Unavailable {
        if (cluster.user() == null) {
            throw new Unavailable("verify logs in to each cluster as the role its configuration names, and cluster "
                    + cluster.name() + " names none (set clusters." + cluster.name() + ".user to a role that can read every table)");
        }
        // no socket timeout: a digest of a large table may take long; the snapshots set their own
        Properties properties = JdbcLogin.properties(cluster, (int) Math.max(1, loginTimeout.toSeconds()), 0,
                applicationName);
        // a lock held past the barrier timeout (a client's DDL waiting on the other cluster for this very
        // check, say) ends the check instead of holding both for good: nothing else would break that cycle
        properties.setProperty("options", PINNED + " -c lock_timeout=" + control.barrierTimeout().toMillis() + "ms");
        try {
            Connection connection = DriverManager.getConnection(
                    JdbcLogin.url(cluster, cluster.backendDatabase(clientDatabase)), properties);
            connection.setReadOnly(true);
            connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            return connection;
        } catch (SQLException e) {
            throw new Unavailable("verify could not log in to cluster " + cluster.name() + " at " + cluster.endpoint()
                    + ": " + e.getMessage());
        }
    }

    /** The moment the snapshots were taken, and each cluster's sequences as they were then, by name as it prints. */
    private record Snapshots(Instant at, RoutingState state, Map<String, Sequence> blue, Map<String, Sequence> green) {}

    /**
     * Waits for the write units in flight, then reads both clusters' sequences and takes both snapshots before
     * any other unit starts.
     */
    private Snapshots snapshotsTogether(Connection onBlue, Connection onGreen) throws Unavailable, InterruptedException,
            SQLException {
        try {
            return control.whileWritesQuiesced("verify", () -> {
                Instant at = clock.instant();
                RoutingState state = control.current();
                Map<String, Sequence> blueSequences = sequencesThenSnapshot(onBlue);
                Map<String, Sequence> greenSequences = sequencesThenSnapshot(onGreen);
                return new Snapshots(at, state, blueSequences, greenSequences);
            });
        } catch (RoutingControl.Refused refused) {
            throw new Unavailable(refused.getMessage());
        }
    }

    /**
     * Reads the sequences, then begins the repeatable-read transaction whose first statement takes the
     * snapshot. The sequences are read in a statement of their own, committed at once: reading a sequence's
     * value locks it until its transaction ends, and in the snapshot's transaction, which lasts the whole
     * check, that lock would make a {@code DROP TABLE} of a table owning a sequence wait for the check while
     * it holds that table, which the check has yet to read: a deadlock, which the server breaks by failing
     * one of the two, often the client's statement. The barrier is closed meanwhile, so a cluster that stops
     * answering must not hold it for TCP's hours.
     */
    private Map<String, Sequence> sequencesThenSnapshot(Connection connection) throws SQLException {
        connection.setNetworkTimeout(Runnable::run, (int) control.barrierTimeout().toMillis());
        try {
            Map<String, Sequence> sequences;
            // reading a sequence locks it: behind a client's ALTER SEQUENCE or DROP in an open transaction it
            // would wait, with every write of this instance held at the barrier; it gives up soon instead
            try (Statement s = connection.createStatement()) {
                s.execute("set lock_timeout = " + SEQUENCE_LOCK_TIMEOUT_MILLIS);
                sequences = sequences(connection);
                s.execute("set lock_timeout = " + control.barrierTimeout().toMillis());
            }
            connection.setAutoCommit(false);
            try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("select 1")) {
                rs.next();
            }
            return sequences;
        } finally {
            connection.setNetworkTimeout(Runnable::run, 0);
        }
    }

    /** A table as one cluster has it: its name quoted for SQL, and its columns as they print. */
    /**
     * @param oid      the table's OID, for asking after its file
     * @param filenode its file as of the snapshot: a TRUNCATE or a rewrite by ALTER TABLE gives it a new one,
     *                 which a snapshot older than that reads as empty
     */
    private record Relation(String sqlName, String columns, long oid, long filenode) {}

    /**
     * Name as it prints → the table; without the state store's own tables when {@code own} says this is the
     * database that holds them.
     */
    private static Map<String, Relation> tables(Connection connection, StoreTables own) throws SQLException {
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
                        new Relation(quoted(schema) + "." + quoted(table), String.join(", ", columns), rs.getLong(5),
                                rs.getLong(6)));
            }
        }
        if (own != null && own.server().sameAs(StoreTables.Server.of(connection))) {
            for (StoreTables.Name table : own.tables()) {
                tables.remove(printed(table.schema()) + "." + printed(table.table()));
            }
        }
        return tables;
    }

    /** How long the sequences' read, behind the closed barrier, waits for a sequence another session holds. */
    private static final long SEQUENCE_LOCK_TIMEOUT_MILLIS = 1000;

    /**
     * A sequence as one cluster has it: the last value it handed out, or null when none since it was created
     * or set with {@code setval(…, false)}; then the value it hands out next; and its increment, bounds and
     * cycling. Not readable also where it has handed out none and the check's role has only USAGE on it, which
     * does not read the next value.
     */
    private record Sequence(boolean readable, String lastValue, String nextValue, Steps steps) {

        Side side(boolean withDefinition) {
            if (!readable) {
                return new Side("sequence, not readable by the role verify logs in as", null, null);
            }
            String definitionText = withDefinition ? "; " + steps : "";
            if (lastValue != null) {
                return new Side("sequence, last value " + lastValue + definitionText, Long.parseLong(lastValue), null);
            }
            // the value before the next one, as if handed out last: what a sequence set to hand that next out stands at
            long before = nextValue == null ? 0L : Long.parseLong(nextValue) - steps.increment();
            return new Side("sequence, last value never used, next value " + nextValue + definitionText, before, null);
        }

        /**
         * The same value handed out next: a sequence that handed out L hands out L + increment (within its bounds, or
         * round them when it cycles), as one set with {@code setval(…, false)} to that value does. (The proxy leaves a
         * follower's sequence so when sessions' draws reached it out of order: docs/dual-write.md.)
         */
        boolean sameValue(Sequence other) {
            return Objects.equals(next(), other.next());
        }

        /** The value it hands out next; null once it has run out. */
        private Long next() {
            if (lastValue == null) {
                return nextValue == null ? null : Long.parseLong(nextValue);
            }
            long last = Long.parseLong(lastValue);
            boolean past = steps.increment() > 0 ? last > steps.max() - steps.increment() : last < steps.min() - steps.increment();
            if (past) {
                return steps.cycle() ? (steps.increment() > 0 ? steps.min() : steps.max()) : null;
            }
            return last + steps.increment();
        }
    }

    /** How a sequence steps, its definition: its increment, bounds and whether it cycles. */
    private record Steps(long increment, long min, long max, boolean cycle) {

        @Override
        public String toString() {
            return "increment " + increment + ", min " + min + ", max " + max + ", " + (cycle ? "cycle" : "no cycle");
        }
    }

    /**
     * Sequence name as it prints → the sequence. Where no value has been handed out, the next one is read
     * from the sequence itself (one statement for all of them): a sequence reset with
     * {@code setval(…, false)} hands out the value it was set to, whatever it gave before.
     */
    private static Map<String, Sequence> sequences(Connection connection) throws SQLException {
        Map<String, Sequence> sequences = new TreeMap<>();
        Map<String, String> unused = new TreeMap<>(); // name as it prints → name for SQL
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(SEQUENCES)) {
            while (rs.next()) {
                String name = printed(rs.getString(1)) + "." + printed(rs.getString(2));
                // a last value of null says nothing to a role with USAGE alone: it cannot read the next value either
                boolean readable = rs.getBoolean(3) && (rs.getString(4) != null || rs.getBoolean(5));
                sequences.put(name, new Sequence(readable, rs.getString(4), null,
                        new Steps(rs.getLong(6), rs.getLong(7), rs.getLong(8), rs.getBoolean(9))));
                if (rs.getBoolean(3) && rs.getString(4) == null && rs.getBoolean(5)) {
                    unused.put(name, quoted(rs.getString(1)) + "." + quoted(rs.getString(2)));
                }
            }
        }
        if (unused.isEmpty()) {
            return sequences;
        }
        List<String> names = new ArrayList<>(unused.keySet());
        StringBuilder sql = new StringBuilder();
        for (int i = 0; i < names.size(); i++) {
            sql.append(i == 0 ? "" : " union all ").append("select ").append(i).append(", last_value::text from ")
                    .append(unused.get(names.get(i)));
        }
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(sql.toString())) {
            while (rs.next()) {
                String name = names.get(rs.getInt(1));
                Sequence known = sequences.get(name);
                sequences.put(name, new Sequence(true, null, rs.getString(2), known.steps()));
            }
        }
        return sequences;
    }

    /**
     * Sequences are compared by the value they hand out next (after their last value, or the one they were set to
     * hand out), and by their increment, bounds and cycling: dual-write calls nextval on both
     * clusters, so they move together, and a green seeded without them (logical replication does not copy
     * sequences) would hand out ids blue has already used.
     */
    private static List<TableResult> compareSequences(Map<String, Sequence> blue, Map<String, Sequence> green) {
        Set<String> names = new TreeSet<>(blue.keySet());
        names.addAll(green.keySet());
        List<TableResult> results = new ArrayList<>();
        for (String name : names) {
            Sequence onBlue = blue.get(name);
            Sequence onGreen = green.get(name);
            Status status = onBlue == null ? Status.ONLY_ON_GREEN : onGreen == null ? Status.ONLY_ON_BLUE
                    : !onBlue.readable() || !onGreen.readable() ? Status.NOT_READABLE
                    : !onBlue.steps().equals(onGreen.steps()) ? Status.DEFINITION_DIFFERS
                    : onBlue.sameValue(onGreen) ? Status.SAME : Status.VALUE_DIFFERS;
            boolean withDefinition = status == Status.DEFINITION_DIFFERS;
            results.add(new TableResult(name, Kind.SEQUENCE, status, onBlue == null ? null : onBlue.side(withDefinition),
                    onGreen == null ? null : onGreen.side(withDefinition)));
        }
        return results;
    }

    /**
     * The database's large objects, where either cluster has any: the same OIDs on both, and where the check's role
     * is a superuser on both clusters (another role may not read every object: {@code lo_get} refuses one it was
     * not granted), the same contents. Dual-write makes a large object created through the function-call interface
     * ({@code LargeObjectCreation}) or by a lone {@code SELECT lo_creat(-1)} and the like ({@code LargeObjectSql}) with
     * the leader's OID, so both hold it under one OID. Read in the snapshots' transactions, a MiB at a time
     * ({@link #CONTENTS_DIGEST}).
     */
    private static TableResult compareLargeObjects(Connection onBlue, Connection onGreen, boolean greenFirst)
            throws SQLException {
        boolean contents = superuser(onBlue) && superuser(onGreen);
        Side greenSide = greenFirst ? largeObjects(onGreen, contents) : null;
        Side blueSide = largeObjects(onBlue, contents);
        if (greenSide == null) {
            greenSide = largeObjects(onGreen, contents);
        }
        if (blueSide.rows() == 0 && greenSide.rows() == 0) {
            return null;
        }
        Status status = blueSide.rows().equals(greenSide.rows()) && blueSide.digest().equals(greenSide.digest())
                ? Status.SAME : Status.ROWS_DIFFER;
        return new TableResult(LARGE_OBJECTS, Kind.LARGE_OBJECTS, status, blueSide, greenSide);
    }

    private static boolean superuser(Connection connection) throws SQLException {
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("select current_setting('is_superuser')")) {
            rs.next();
            return "on".equals(rs.getString(1));
        }
    }

    /**
     * The contents of the large object {@code m.oid} as a digest: of each MiB read in turn ({@code lo_get} of a range),
     * so that the server holds one MiB of it at a time, not the object whole (which {@code lo_get} refuses beyond
     * 1 GB). Its length is its last page's end, as the server finds it for a seek to the end (holes read as zeros).
     */
    private static final String CONTENTS_DIGEST = "(select md5(coalesce(string_agg(md5(lo_get(m.oid, o, 1048576)), '' order by o), ''))"
            + " from generate_series(0::bigint, coalesce((select p.pageno::bigint * (current_setting('block_size')::int / 4)"
            + " + length(p.data) from pg_largeobject p where p.loid = m.oid order by p.pageno desc limit 1), 0) - 1, 1048576) o)";

    /** Counts the large objects and digests each one's OID, and its contents where {@code contents}. */
    private static Side largeObjects(Connection connection, boolean contents) throws SQLException {
        String each = contents ? "m.oid::text || ' ' || " + CONTENTS_DIGEST : "m.oid::text";
        String sql = "select count(*), coalesce(sum(('x' || substr(md5(" + each + "), 1, 16))::bit(64)::bigint::numeric), 0)"
                + "::text from pg_largeobject_metadata m";
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return new Side(contents ? "large objects, by OID and contents"
                    : "large objects, by OID only: reading their contents takes a superuser on both clusters",
                    rs.getLong(1), rs.getString(2));
        }
    }

    static String printed(String name) {
        return PLAIN_NAME.matcher(name).matches() ? name : quoted(name);
    }

    static String quoted(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    private static TableResult compare(String name, Relation blueTable, Relation greenTable,
                                       Connection blueConnection, Connection greenConnection, boolean greenFirst)
            throws SQLException, Unavailable {
        if (greenTable == null) {
            return new TableResult(name, Kind.TABLE, Status.ONLY_ON_BLUE, side(blueConnection, blueTable, true), null);
        }
        if (blueTable == null) {
            return new TableResult(name, Kind.TABLE, Status.ONLY_ON_GREEN, null, side(greenConnection, greenTable, true));
        }
        boolean sameColumns = blueTable.columns().equals(greenTable.columns());
        Side greenSide = greenFirst ? side(greenConnection, greenTable, sameColumns) : null;
        Side blueSide = side(blueConnection, blueTable, sameColumns);
        if (greenSide == null) {
            greenSide = side(greenConnection, greenTable, sameColumns);
        }
        Status status = !sameColumns ? Status.COLUMNS_DIFFER
                : blueSide.rows().equals(greenSide.rows()) && blueSide.digest().equals(greenSide.digest()) ? Status.SAME
                : Status.ROWS_DIFFER;
        return new TableResult(name, Kind.TABLE, status, blueSide, greenSide);
    }

    /**
     * Counts the table's rows and, when asked, digests them: one sequential scan on the cluster. The whole
     * row is hashed through its alias's star, which no column name can shadow.
     */
    private static Side side(Connection connection, Relation table, boolean digest) throws SQLException, Unavailable {
        // the row's text is hashed as UTF-8 whatever the database's encoding, which a migration may change
        String sql = digest
                ? "select count(*), coalesce(sum(('x' || substr(md5(convert_to(row(verified_row.*)::text, 'UTF8')), 1, 16))"
                        + "::bit(64)::bigint::numeric), 0)::text from only " + table.sqlName() + " verified_row"
                : "select count(*), null from only " + table.sqlName();
        Side side;
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            side = new Side(table.columns(), rs.getLong(1), rs.getString(2));
        }
        if (side.rows() != 0) {
            return side;
        }
        // TRUNCATE and ALTER TABLE's rewrites are not MVCC-safe: done after the snapshot, before the scan took
        // the table's share lock, they leave the snapshot reading a new file whose rows are all newer than it,
        // none of them, and an emptied table reads as the same on both clusters whatever it held. (VACUUM FULL
        // and CLUSTER keep what an older snapshot sees.) The scan's lock keeps the file from changing again.
        try (Statement s = connection.createStatement();
             ResultSet rs = s.executeQuery("select pg_relation_filenode(" + table.oid() + ")::int8")) {
            rs.next();
            long now = rs.getLong(1);
            if (rs.wasNull() || now != table.filenode()) {
                throw new Unavailable("verify could not read the clusters: " + table.sqlName() + " was emptied or"
                        + " rewritten (TRUNCATE, an ALTER TABLE that rewrites it) after the snapshots were taken, so"
                        + " they no longer show what it held; run verify again");
            }
        }
        return side;
    }
}
