package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.routing.InsertShape;
import dev.bluegreen.proxy.routing.TransactionTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * Makes the follower draw from a sequence what the leader drew for the same {@code INSERT}, so that a {@code serial} or
 * identity column left to its default holds the same value on both clusters. Without it each cluster draws in the order
 * statements reach it, and concurrent sessions' inserts reach green in another order than blue: the ids come out
 * swapped among the rows (docs/dual-write.md, <i>Values generated on the server</i>).
 *
 * <p>For one session: once the leader has answered a plain {@code INSERT} ({@link InsertShape}), the proxy asks it, in
 * the same transaction, which of the table's columns draw from a sequence by default and, for those the statement left
 * to their default, {@code currval} of the sequence ({@link #leaderQuery}). Then the follower is sent, ahead of the
 * statement, a lock on the sequence and {@code setval(sequence, value, false)} (for N rows, the value N - 1 increments
 * before the leader's last, {@link Draw#rows}), and behind it the sequence
 * set back to the highest value it had handed out and the unlock ({@link #followerBefore}, {@link #followerAfter}): its
 * draw takes exactly that value, no other session's draw on the follower comes between, and the sequence never ends
 * below a value it handed out. The lock is a session-level advisory lock of the follower's own; one left behind by a
 * follower statement that failed goes with the connection, which a divergence drops.
 *
 * <p>The same question learns which columns default to the transaction's start ({@code now()}, {@code CURRENT_TIMESTAMP}
 * and the like, {@link TransactionTime#defaultExpression}) and asks the leader that instant: the follower's copy of
 * the statement gives those columns the leader's value ({@link #supplied}), as it does where the statement itself
 * reads it.
 *
 * <p>What a table draws is learned from the leader's answers and kept per session, by the table's name as statements
 * spell it, until the session changes a setting (its {@code search_path} may name other tables now) or any session
 * runs DDL through the proxy; a table known to draw nothing, or nothing the statement left to its default, costs
 * nothing more.
 */
final class SequenceDraws {

    /**
     * The last value the leader drew for a statement, from which sequence (as the leader's catalog names it), and how
     * many rows drew from it, one value each: the follower draws as many, ending at that value.
     */
    record Draw(String sequence, long value, long rows, List<Long> given) {

        Draw(String sequence, long value) {
            this(sequence, value, 1, null);
        }

        /** This draw, made by {@code count} rows. */
        Draw ofRows(long count) {
            return new Draw(sequence, value, count, null);
        }

        /**
         * This draw, made by rows the leader returned the values of, in order: the follower's copy of the statement is
         * given them row by row ({@link InsertShape#givingRows}), and draws none.
         */
        Draw givenRows(List<Long> values) {
            return new Draw(sequence, value, values.size(), List.copyOf(values));
        }
    }

    /**
     * What the leader made up for one statement that the follower is to take too: the values it drew, and its
     * transaction's start (null where the statement does not read it, or the leader did not say).
     */
    record Generated(List<Draw> draws, String start) {

        static final Generated NOTHING = new Generated(List.of(), null);

        boolean any() {
            return !draws.isEmpty() || start != null;
        }
    }

    /** A savepoint around the leader's query, so that its failure cannot fail the client's transaction. */
    static final String SAVEPOINT = "bluegreen_draws";
    /** What ends the proxy's query on the leader after it failed inside a transaction. */
    static final String RECOVER = "ROLLBACK TO SAVEPOINT " + SAVEPOINT + "; RELEASE SAVEPOINT " + SAVEPOINT;
    /** The first key of the follower's advisory locks ('bgsq'); the second is the sequence name's hash. */
    static final int LOCK_CLASS = 0x62677371;

    private static final int MAX_TABLES = 256;
    /** The longest statement text whose reading is kept for the next time the session sends it. */
    private static final int MAX_KEPT_TEXT = 2048;
    /**
     * Whether the session may read the sequence {@code s.seq} whole and set it: the follower reads and sets it as the
     * session's role, which has on green the grants it has on blue (docs/dual-write.md, <i>Before start</i>); the
     * leader is asked, so that the follower's query names the sequence only where it may.
     */
    private static final String MAY_READ_AND_SET = "pg_catalog.has_sequence_privilege(s.seq, 'SELECT')"
            + " AND pg_catalog.has_sequence_privilege(s.seq, 'UPDATE')";
    /** A sequence's name as the server prints it: one or two identifiers, each plain or double-quoted. */
    private static final Pattern QUALIFIED_NAME =
            Pattern.compile("(?:[a-z_][a-z0-9_$]*|\"(?:[^\"\u0000]|\"\")+\")(?:\\.(?:[a-z_][a-z0-9_$]*|\"(?:[^\"\u0000]|\"\")+\"))?");
    private static final Pattern NUMBER = Pattern.compile("-?[0-9]{1,19}");
    /**
     * A default that makes up a random {@code uuid} (or, PostgreSQL 18's {@code uuidv7()}, one of the time and random
     * bits), as {@code pg_get_expr} prints it: the leader's, read from the rows an insert returns, is given to the
     * follower's copy ({@link #uuidColumn}).
     */
    static final Pattern RANDOM_UUID = Pattern.compile("(?:[a-z_][a-z0-9_$]*\\.)?(?:gen_random_uuid|uuid_generate_v4|uuidv4|uuidv7)\\(\\)");
    /** The leader's start as {@link TransactionTime#LEADER_START} prints it. */
    private static final Pattern INSTANT = Pattern.compile("[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}\\+00");
    /** DDL run through the proxy, by any session: what sessions learned of tables before may be stale. */
    private static final AtomicLong CATALOG_CHANGES = new AtomicLong();

    /** Per table as statements name it: each column that draws from a sequence by default, and the sequence. */
    private final Map<String, Map<String, String>> drawingColumns = new HashMap<>();
    /**
     * Per table as statements name it: each column that defaults to the transaction's start, and the expression that
     * reads the leader's instead ({@link TransactionTime#defaultExpression}); kept for the tables in
     * {@link #drawingColumns}.
     */
    private final Map<String, Map<String, String>> timeColumns = new HashMap<>();
    /**
     * Per table as statements name it: each {@code uuid} column that defaults to a random one ({@link #RANDOM_UUID}),
     * and where the leader's rows say it comes from (its table's OID and its number, as a RowDescription names a
     * column: {@link #place}); kept for the tables in {@link #drawingColumns}.
     */
    private final Map<String, Map<String, String>> uuidColumns = new HashMap<>();
    /** The shapes of the INSERT texts the session ran lately (a prepared statement's text comes again and again). */
    private final Map<String, Optional<InsertShape>> shapes = new HashMap<>();
    /** The edits that make the texts the session ran lately read the leader's transaction start, where they read it. */
    private final Map<String, List<TransactionTime.Edit>> startEdits = new HashMap<>();
    private long learnedAsOf = CATALOG_CHANGES.get();

    /**
     * The INSERT {@code sql} is, if it is a plain one ({@link InsertShape}); text that does not begin with {@code insert}
     * (or a comment) is not read further.
     */
    Optional<InsertShape> shapeOf(String sql, SqlReading reading) {
        int i = 0;
        while (i < sql.length() && Character.isWhitespace(sql.charAt(i))) {
            i++;
        }
        char first = i < sql.length() ? sql.charAt(i) : ' ';
        if (first != 'i' && first != 'I' && first != '/' && first != '-') {
            return Optional.empty();
        }
        if (makesNothing(sql, i)) {
            return Optional.empty(); // a table known to generate nothing (pgbench_history): not read further
        }
        Optional<InsertShape> shape = shapes.get(sql);
        if (shape == null) {
            shape = reading.insertShape(sql);
            if (sql.length() <= MAX_KEPT_TEXT) {
                if (shapes.size() >= MAX_TABLES) {
                    shapes.clear();
                }
                shapes.put(sql, shape);
            }
        }
        return shape;
    }

    /**
     * Whether {@code sql} holds {@code nextval} in any case (a table known to make up nothing may still be inserted into
     * with a sequence the statement names), without allocating: pgbench's history inserts pass here.
     */
    private static boolean callsNextval(String sql) {
        for (int i = sql.length() - 7; i >= 0; i--) {
            if (sql.regionMatches(true, i, "nextval", 0, 7)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The edits that make the statement {@code sql} read the leader's transaction start where it reads its own
     * ({@link TransactionTime#edits}); empty where it reads none, or cannot be read so.
     */
    List<TransactionTime.Edit> startEdits(String sql, SqlReading reading) {
        List<TransactionTime.Edit> edits = startEdits.get(sql);
        if (edits == null) {
            edits = TransactionTime.mayRead(sql) ? reading.startEdits(sql) : null;
            edits = edits == null ? List.of() : List.copyOf(edits);
            if (sql.length() <= MAX_KEPT_TEXT) { // (texts with their values inlined come once: not kept)
                if (startEdits.size() >= MAX_TABLES) {
                    startEdits.clear();
                }
                startEdits.put(sql, edits);
            }
        }
        return edits;
    }

    /**
     * The table an {@code insert into name} at {@code from} names, when the name is plain (letters, digits, {@code _},
     * {@code $} and dots, nothing quoted): a look that costs less than reading the statement; null otherwise.
     */
    /**
     * Whether {@code sql} inserts into a table named plainly that the session knows makes up nothing (no sequence, start
     * or random uuid default), and names no sequence itself: such an insert draws nothing, and is not read further.
     */
    boolean makesNothing(String sql) {
        int i = 0;
        while (i < sql.length() && Character.isWhitespace(sql.charAt(i))) {
            i++;
        }
        return makesNothing(sql, i);
    }

    private boolean makesNothing(String sql, int from) {
        String table = plainTable(sql, from);
        Map<String, String> known = table == null ? null : drawingColumns.get(table);
        return known != null && known.isEmpty() && timeColumns.get(table).isEmpty() && uuidColumns.get(table).isEmpty()
                && learnedAsOf == CATALOG_CHANGES.get() && !callsNextval(sql);
    }

    private static String plainTable(String sql, int from) {
        if (!sql.regionMatches(true, from, "insert into ", 0, 12)) {
            return null;
        }
        int start = from + 12;
        while (start < sql.length() && sql.charAt(start) == ' ') {
            start++;
        }
        int end = start;
        while (end < sql.length()) {
            char c = sql.charAt(end);
            if (!(Character.isLetterOrDigit(c) || c == '_' || c == '$' || c == '.')) {
                break;
            }
            end++;
        }
        int next = end;
        while (next < sql.length() && sql.charAt(next) == ' ') {
            next++;
        }
        return end > start && next < sql.length() && (sql.charAt(next) == '(' || (next > end && Character.isLetter(sql.charAt(next))))
                ? sql.substring(start, end) : null;
    }

    /** A unit of the session ran DDL: every session forgets what it learned. */
    static void catalogChanged() {
        CATALOG_CHANGES.incrementAndGet();
    }

    /** How many DDL units ran through the proxy: a change tells that what was learned before may be stale. */
    static long catalogVersion() {
        return CATALOG_CHANGES.get();
    }

    /** The session changed a setting: its names may resolve to other tables now. */
    void forget() {
        drawingColumns.clear();
        timeColumns.clear();
        uuidColumns.clear();
        shapes.clear(); // the text is read as the session reads strings, which a SET may have changed
        startEdits.clear();
    }

    /**
     * Whether {@code insert} may draw from a sequence for a column it leaves to its default, as far as the session
     * knows: true for a table not known yet.
     */
    boolean mayDraw(InsertShape insert) {
        long changes = CATALOG_CHANGES.get();
        if (changes != learnedAsOf || drawingColumns.size() > MAX_TABLES) {
            drawingColumns.clear();
            timeColumns.clear();
            uuidColumns.clear();
            learnedAsOf = changes;
        }
        if (!quotable(insert.table()) || !insert.columns().stream().allMatch(SequenceDraws::quotable)) {
            return false;
        }
        Map<String, String> known = drawingColumns.get(insert.table());
        return known == null || known.keySet().stream().anyMatch(insert::leavesToDefault) || called(insert) != null
                || timeColumns.get(insert.table()).keySet().stream().anyMatch(insert::mayLeaveToDefault)
                || uuidColumns.get(insert.table()).keySet().stream().anyMatch(insert::leavesToDefault);
    }

    /**
     * The one {@code uuid} column {@code insert} leaves to a random default in every row, as far as the session knows
     * its table; null where it knows of none, or of several, or does not know the table.
     */
    String uuidColumn(InsertShape insert) {
        if (learnedAsOf != CATALOG_CHANGES.get()) {
            return null;
        }
        List<String> left = randomUuids(insert);
        return left.size() == 1 ? left.getFirst() : null;
    }

    /**
     * The {@code uuid} columns {@code insert} leaves to a random default in every row, as the session learned its table
     * last (DDL since may have changed it: what the leader's rows say of where a value comes from is checked against
     * {@link #place}); empty where it does not know the table.
     */
    List<String> randomUuids(InsertShape insert) {
        Map<String, String> known = uuidColumns.get(insert.table());
        return known == null ? List.of() : known.keySet().stream().filter(insert::leavesToDefault).sorted().toList();
    }

    /** Whether {@code insert} leaves some {@code uuid} column to a random default, as far as the session knows. */
    boolean mayLeaveRandomUuid(InsertShape insert) {
        Map<String, String> known = uuidColumns.get(insert.table());
        return known != null && known.keySet().stream().anyMatch(insert::mayLeaveToDefault);
    }

    /**
     * Where the leader's rows of {@code insert}'s table say its {@code uuid} column {@code column} comes from: its
     * table's OID and its number, {@code "oid/number"}; null where the session does not know it.
     */
    String place(InsertShape insert, String column) {
        Map<String, String> known = uuidColumns.get(insert.table());
        return known == null ? null : known.get(column);
    }

    /** Whether the session knows what {@code insert}'s table makes up (it asked the leader about it). */
    boolean knows(InsertShape insert) {
        return drawingColumns.containsKey(insert.table()) && learnedAsOf == CATALOG_CHANGES.get();
    }

    /**
     * The columns {@code insert} leaves to a default that reads the transaction's start, each with the expression that
     * reads the leader's instead, as far as the session knows its table: empty when it knows none.
     */
    Map<String, String> knownTimes(InsertShape insert) {
        Map<String, String> known = timeColumns.get(insert.table());
        if (known == null || known.isEmpty() || learnedAsOf != CATALOG_CHANGES.get()) {
            return Map.of(); // (after DDL anywhere the table may have lost the column, or its default)
        }
        Map<String, String> left = new LinkedHashMap<>(2);
        known.forEach((column, expression) -> {
            if (insert.mayLeaveToDefault(column)) {
                left.put(column, expression);
            }
        });
        return left;
    }

    /**
     * The edits that make the follower's copy of {@code insert} (its text {@code sql}) give the columns it leaves to a
     * default reading the transaction's start the leader's instead; empty where there are none or its rows cannot be
     * given them (those of a {@code SELECT}).
     */
    List<TransactionTime.Edit> supplied(InsertShape insert) {
        Map<String, String> times = knownTimes(insert);
        if (times.isEmpty()) {
            return List.of();
        }
        List<TransactionTime.Edit> edits = insert.supplying(List.copyOf(times.keySet()), List.copyOf(times.values()));
        return edits == null ? List.of() : edits;
    }

    /**
     * The one column {@code insert} leaves to a sequence's default in every row, as far as the session knows its table;
     * null where it knows of none, or of several.
     */
    String drawingColumn(InsertShape insert) {
        Map<String, String> known = drawingColumns.get(insert.table());
        if (known == null || learnedAsOf != CATALOG_CHANGES.get()) {
            return null;
        }
        List<String> left = known.keySet().stream().filter(insert::leavesToDefault).toList();
        return left.size() == 1 ? left.getFirst() : null;
    }

    /**
     * The sequences {@code insert} draws from, sorted, when the session knows its table already; null when it does not
     * (the leader is then asked about the table after the statement, {@link #leaderQuery}). A sequence the statement
     * names itself ({@link #called}) is one of them where it leaves no column to a sequence's default: the same
     * sequence might be spelled otherwise there, and drawn twice a row.
     */
    List<String> knownDraws(InsertShape insert) {
        Map<String, String> known = drawingColumns.get(insert.table());
        if (known == null) {
            return null;
        }
        List<String> sequences = new ArrayList<>(1);
        known.forEach((column, sequence) -> {
            if (insert.leavesToDefault(column)) {
                sequences.add(sequence);
            }
        });
        String called = called(insert);
        if (called != null && drawsNoDefault(insert, known)) {
            sequences.add(called);
        }
        sequences.sort(null);
        return sequences;
    }

    /**
     * Whether {@code insert} leaves no column of its table to a sequence's default ({@code drawing}, column to
     * sequence): only then is a sequence it names itself carried, which might be one of those spelled otherwise, drawn
     * twice a row.
     */
    private static boolean drawsNoDefault(InsertShape insert, Map<String, String> drawing) {
        return drawing.keySet().stream().noneMatch(insert::leavesToDefault);
    }

    /**
     * The one sequence {@code insert} names itself, {@code nextval('name')} being the value of one of its columns in
     * every row (an application drawing its ids so, as Oracle-born code and MyBatis mappings do), as written; null where
     * it names none, or several, or a name the proxy does not quote into its own queries.
     */
    static String called(InsertShape insert) {
        Map<String, String> called = insert.calledSequences();
        if (called.size() != 1) {
            return null;
        }
        String sequence = called.values().iterator().next();
        return quotable(sequence) && !sequence.isEmpty() ? sequence : null;
    }

    /**
     * What the leader is sent right behind a statement, in the same flush, when the session knows what it makes up:
     * {@code currval} of each sequence an INSERT draws from ({@link #knownDraws}; rows of sequence and value, null where
     * the session may not read the sequence), and the transaction's start where {@code start} (a row of one value),
     * under {@link #SAVEPOINT}. Behind a statement that failed it fails as a whole, changing nothing.
     */
    static String pipelinedQuery(List<String> sequences, boolean start) {
        StringBuilder sql = new StringBuilder("SAVEPOINT " + SAVEPOINT + "; ");
        if (!sequences.isEmpty()) {
            StringBuilder values = new StringBuilder();
            for (int i = 0; i < sequences.size(); i++) {
                values.append(i == 0 ? "" : ", ").append('(').append(literal(sequences.get(i))).append(')');
            }
            sql.append("SELECT s.seq, CASE WHEN " + MAY_READ_AND_SET
                    + " THEN pg_catalog.currval(s.seq::pg_catalog.regclass)::text END FROM (VALUES ").append(values)
                    .append(") AS s (seq); ");
        }
        if (start) {
            sql.append("SELECT ").append(TransactionTime.LEADER_START).append("; ");
        }
        return sql.append("RELEASE SAVEPOINT " + SAVEPOINT).toString();
    }

    /** Reads the answer to {@link #pipelinedQuery}: sequence and value rows, and the start's row. */
    static Generated drawn(List<String[]> rows) {
        List<Draw> draws = new ArrayList<>(rows.size());
        String start = null;
        for (String[] row : rows) {
            if (row.length == 1) {
                start = instant(row[0]);
            }
            if (row.length != 2 || row[0] == null || row[1] == null || !NUMBER.matcher(row[1]).matches()) {
                continue;
            }
            draws.add(new Draw(row[0], Long.parseLong(row[1])));
        }
        draws.sort(Comparator.comparing(Draw::sequence));
        return new Generated(List.copyOf(draws), start);
    }

    private static String instant(String text) {
        return text != null && INSTANT.matcher(text).matches() ? text : null;
    }

    /**
     * The query the leader answers right after {@code insert} has inserted one row: per column of the table that draws
     * from a sequence by default, its name, the sequence and, where the statement left it to its default,
     * {@code currval} (null where the session may not read the sequence); per column whose default may read the
     * transaction's start, and that the session may insert into, its name and that default; and in each row the
     * transaction's start; and where {@code start} (the statement reads it itself), a row of just that. Inside a
     * transaction it runs under {@link #SAVEPOINT}. Only ordinary and partitioned tables without rules are read: a rule may have inserted elsewhere, and a view's defaults are not its table's.
     */
    static String leaderQuery(InsertShape insert, boolean inTransaction, boolean start) {
        String select = columnsQuery(insert);
        String called = called(insert);
        if (called != null) {
            // a row of two: the sequence the statement names itself, and what it drew there (learned() tells them apart)
            select += "; SELECT s.seq, CASE WHEN " + MAY_READ_AND_SET
                    + " THEN pg_catalog.currval(s.seq::pg_catalog.regclass)::text END FROM (VALUES (" + literal(called)
                    + ")) AS s (seq)";
        }
        return underSavepoint(select, inTransaction, start);
    }

    /**
     * {@link #leaderQuery} for one-row inserts into tables of their own, run together ({@link Unit#eachInserts}): the
     * rows of each table's columns, each led by the insert's place among {@code inserts}, for {@link #learnedEach}.
     */
    static String leaderQueryEach(List<InsertShape> inserts, boolean inTransaction, boolean start) {
        StringBuilder select = new StringBuilder();
        for (int i = 0; i < inserts.size(); i++) {
            select.append(i == 0 ? "" : " UNION ALL ").append("SELECT ").append(i).append(", q.* FROM (")
                    .append(columnsQuery(inserts.get(i))).append(") AS q");
        }
        return underSavepoint(select.toString(), inTransaction, start);
    }

    /** {@code select}, inside a transaction under {@link #SAVEPOINT} and followed by the start's row where asked. */
    private static String underSavepoint(String select, boolean inTransaction, boolean start) {
        if (!inTransaction) {
            return select; // (outside the statement's transaction its start is another)
        }
        return "SAVEPOINT " + SAVEPOINT + "; " + select + (start ? "; SELECT " + TransactionTime.LEADER_START : "")
                + "; RELEASE SAVEPOINT " + SAVEPOINT;
    }

    /** The part of {@link #leaderQuery} that reads the columns of {@code insert}'s table. */
    private static String columnsQuery(InsertShape insert) {
        StringBuilder listed = new StringBuilder("ARRAY[");
        List<String> given = insert.givenColumns();
        for (int i = 0; i < given.size(); i++) {
            listed.append(i == 0 ? "" : ", ").append(literal(given.get(i)));
        }
        listed.append("]::pg_catalog.name[]");
        return "SELECT a.attname, s.seq::pg_catalog.regclass::text, CASE WHEN s.seq IS NOT NULL"
                + " AND a.attname <> ALL (" + listed + ") AND " + MAY_READ_AND_SET
                + " THEN pg_catalog.currval(s.seq::pg_catalog.regclass)::text END,"
                + " CASE WHEN s.seq IS NULL THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END, "
                + TransactionTime.LEADER_START + ", a.attrelid::pg_catalog.int8 || '/' || a.attnum"
                + " FROM pg_catalog.pg_attribute a"
                + " LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
                + " CROSS JOIN LATERAL (SELECT coalesce(pg_catalog.pg_get_serial_sequence(a.attrelid::pg_catalog.regclass::text,"
                + " a.attname::text), substring(pg_catalog.pg_get_expr(d.adbin, d.adrelid)"
                + " from '^nextval[(]''(.+)''::regclass[)]$')) AS seq) s"
                + " WHERE a.attrelid = (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass("
                + literal(insert.table()) + ") AND c.relkind IN ('r', 'p') AND NOT c.relhasrules)"
                + " AND a.attnum > 0 AND NOT a.attisdropped AND (a.attidentity <> '' OR d.adbin IS NOT NULL)"
                + " AND (s.seq IS NOT NULL OR (a.attgenerated = '' AND (pg_catalog.pg_get_expr(d.adbin, d.adrelid)"
                + " ~* '(now|transaction_timestamp)[(][)]|current_(timestamp|date|time)|localtime'"
                + " OR (a.atttypid = 'pg_catalog.uuid'::pg_catalog.regtype AND pg_catalog.pg_get_expr(d.adbin, d.adrelid)"
                + " ~ '^([a-z_][a-z0-9_$]*[.])?(gen_random_uuid|uuid_generate_v4|uuidv4|uuidv7)[(][)]$'))"
                + " AND pg_catalog.has_column_privilege(a.attrelid, a.attnum, 'INSERT')))";
    }

    /**
     * Reads the leader's answer to {@link #leaderQueryEach} as {@link #learned} reads one table's, keeping what each
     * table makes up: the draws of all, unless two tables turn out to draw from one sequence (then none: what currval
     * says is the last draw only), and the start where one of them reads it.
     */
    Generated learnedEach(List<InsertShape> inserts, List<String[]> rows) {
        List<List<String[]>> each = new ArrayList<>(inserts.size());
        for (int i = 0; i < inserts.size(); i++) {
            each.add(new ArrayList<>());
        }
        for (String[] row : rows) {
            if (row.length == 1) {
                each.forEach(table -> table.add(row)); // the start, asked for the unit
            } else if (row.length == 7 && row[0] != null && row[0].matches("[0-9]{1,4}")
                    && Integer.parseInt(row[0]) < inserts.size()) {
                each.get(Integer.parseInt(row[0])).add(Arrays.copyOfRange(row, 1, 7));
            } else {
                return Generated.NOTHING;
            }
        }
        List<Draw> draws = new ArrayList<>(inserts.size());
        String start = null;
        for (int i = 0; i < inserts.size(); i++) {
            Generated learned = learned(inserts.get(i), each.get(i));
            draws.addAll(learned.draws());
            start = start != null ? start : learned.start();
        }
        if (draws.stream().map(Draw::sequence).distinct().count() != draws.size()) {
            draws.clear();
        }
        draws.sort(Comparator.comparing(Draw::sequence)); // locks taken in one order by every session
        return new Generated(List.copyOf(draws), start);
    }

    /**
     * Reads the leader's rows (column, sequence or null, value or null, default or null, start, {@link #place}), and
     * keeps what the table makes up for the session.
     */
    Generated learned(InsertShape insert, List<String[]> rows) {
        Map<String, String> drawing = new HashMap<>();
        Map<String, String> times = new HashMap<>();
        Map<String, String> uuids = new HashMap<>();
        List<Draw> draws = new ArrayList<>(1);
        String start = null;
        String read = null;
        Draw called = null;
        for (String[] row : rows) {
            if (row.length == 1) {
                read = instant(row[0]);
                continue;
            }
            if (row.length == 2) {
                called = row[0] != null && row[1] != null && NUMBER.matcher(row[1]).matches()
                        ? new Draw(row[0], Long.parseLong(row[1])) : null;
                continue;
            }
            if (row.length != 6 || row[0] == null) {
                return Generated.NOTHING;
            }
            if (row[1] == null) {
                String expression = row[3] == null ? null : TransactionTime.defaultExpression(row[3]);
                if (expression != null) {
                    times.put(row[0], expression);
                    start = instant(row[4]);
                } else if (row[3] != null && row[5] != null && RANDOM_UUID.matcher(row[3]).matches()) {
                    uuids.put(row[0], row[5]);
                }
                continue;
            }
            if (!QUALIFIED_NAME.matcher(row[1]).matches()) {
                continue; // a sequence the proxy does not name in its own queries: drawn as before
            }
            drawing.put(row[0], row[1]);
            if (row[2] != null && NUMBER.matcher(row[2]).matches()) {
                draws.add(new Draw(row[1], Long.parseLong(row[2])));
            }
        }
        // two columns drawing from one sequence draw twice per row, and currval tells only the last: not carried
        Map<String, Integer> uses = new HashMap<>();
        drawing.values().forEach(sequence -> uses.merge(sequence, 1, Integer::sum));
        drawing.values().removeIf(sequence -> uses.get(sequence) > 1);
        draws.removeIf(draw -> !drawing.containsValue(draw.sequence()));
        if (called != null && drawsNoDefault(insert, drawing)) {
            draws.add(called); // (as knownDraws)
        }
        drawingColumns.put(insert.table(), Map.copyOf(drawing));
        timeColumns.put(insert.table(), Map.copyOf(times));
        uuidColumns.put(insert.table(), Map.copyOf(uuids));
        draws.sort(Comparator.comparing(Draw::sequence)); // locks taken in one order by every session
        return new Generated(List.copyOf(draws), times.keySet().stream().anyMatch(insert::mayLeaveToDefault) ? start : read);
    }

    /**
     * What the follower runs ahead of the statement: the locks (keyed by the sequence's OID there, however statements
     * spell its name); then, per sequence, the highest value it has handed out kept aside in a setting of the
     * follower's session, and the sequence set to hand out the leader's value next; and the leader's start, for the
     * rest of the transaction ({@link TransactionTime#SETTING}).
     */
    static String followerBefore(Generated generated) {
        List<Draw> draws = generated.draws();
        StringBuilder sql = new StringBuilder("SELECT ");
        if (generated.start() != null) {
            sql.append("pg_catalog.set_config(").append(literal(TransactionTime.SETTING)).append(", ")
                    .append(literal(generated.start())).append(", true)").append(draws.isEmpty() ? "" : ", ");
        }
        for (Draw draw : draws) {
            sql.append("pg_catalog.pg_advisory_lock(").append(LOCK_CLASS).append(", ").append(lockKey(draw)).append("), ");
        }
        for (int i = 0; i < draws.size(); i++) {
            Draw draw = draws.get(i);
            sql.append(i == 0 ? "" : ", ").append("pg_catalog.set_config(").append(literal(keptAside(i)))
                    .append(", (SELECT (CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - q.seqincrement END)::text FROM ")
                    .append(draw.sequence()).append(" s, pg_catalog.pg_sequence q WHERE q.seqrelid = ")
                    .append(literal(draw.sequence())).append("::pg_catalog.regclass), false)");
            if (draw.given() == null) {
                sql.append(", pg_catalog.setval(").append(literal(draw.sequence())).append(", ").append(firstValue(draw))
                        .append(", false)");
            }
        }
        return sql.toString();
    }

    /**
     * The first value of {@code draw}: its last, where one row drew; otherwise as many increments before it as rows
     * drew after the first, which holds where the leader's draws for the statement came one after the other (no
     * other session drew from the sequence meanwhile; docs/dual-write.md, <i>Values generated on the server</i>).
     */
    private static String firstValue(Draw draw) {
        if (draw.rows() <= 1) {
            return Long.toString(draw.value());
        }
        return "(SELECT " + draw.value() + " - " + (draw.rows() - 1) + " * q.seqincrement FROM pg_catalog.pg_sequence q"
                + " WHERE q.seqrelid = " + literal(draw.sequence()) + "::pg_catalog.regclass)";
    }

    /**
     * What the follower runs behind the statement: each sequence the statement took back behind a value it had handed
     * out already (a session whose leader drew later may have drawn on the follower first) set to hand out the one after
     * that next, not below it, or it would hand a value out again once the follower leads; set with {@code is_called}
     * false, which leaves the session's {@code currval} at the value the statement drew; then the unlocks.
     */
    static String followerAfter(List<Draw> draws) {
        StringBuilder sql = new StringBuilder();
        for (int i = 0; i < draws.size(); i++) {
            Draw draw = draws.get(i);
            String sequence = literal(draw.sequence());
            if (draw.given() != null) {
                // the statement was given its values and drew none: the session draws the leader's last once more, so
                // that its currval() and lastval() read it, as on the leader's session; then the sequence goes past the
                // given values, or past what it had handed out (or past what that draw took into the session's cache)
                // (one statement: the value is handed out again only for as long as it takes to draw it)
                sql.append("SELECT pg_catalog.nextval(").append(sequence).append(") FROM (SELECT pg_catalog.setval(")
                        .append(sequence).append(", ").append(draw.value()).append(", false)) v; ");
                long low = draw.given().stream().mapToLong(Long::longValue).min().orElseThrow();
                long high = draw.given().stream().mapToLong(Long::longValue).max().orElseThrow();
                sql.append("SELECT CASE WHEN n.next BETWEEN q.seqmin AND q.seqmax THEN pg_catalog.setval(").append(sequence)
                        .append(", n.next::bigint, false) END FROM (SELECT nullif(pg_catalog.current_setting(")
                        .append(literal(keptAside(i))).append(", true), '')::bigint AS kept) k, ").append(draw.sequence())
                        .append(" s, pg_catalog.pg_sequence q CROSS JOIN LATERAL (SELECT CASE WHEN q.seqincrement > 0")
                        .append(" THEN GREATEST(k.kept, s.last_value, ").append(high)
                        .append(")::numeric ELSE LEAST(k.kept, s.last_value, ").append(low)
                        .append(")::numeric END + q.seqincrement AS next) n WHERE q.seqrelid = ").append(sequence)
                        .append("::pg_catalog.regclass; ");
                continue;
            }
            sql.append("SELECT CASE WHEN k.kept IS NOT NULL AND ((q.seqincrement > 0 AND ")
                    .append(draw.value()).append(" < k.kept) OR (q.seqincrement < 0 AND ").append(draw.value())
                    .append(" > k.kept)) AND k.kept::numeric + q.seqincrement BETWEEN q.seqmin AND q.seqmax")
                    .append(" THEN pg_catalog.setval(").append(sequence).append(", k.kept + q.seqincrement, false) END")
                    .append(" FROM (SELECT nullif(pg_catalog.current_setting(").append(literal(keptAside(i)))
                    .append(", true), '')::bigint AS kept) k, pg_catalog.pg_sequence q WHERE q.seqrelid = ")
                    .append(sequence).append("::pg_catalog.regclass; ");
        }
        sql.append("SELECT ");
        for (int i = 0; i < draws.size(); i++) {
            sql.append(i == 0 ? "" : ", ").append("pg_catalog.pg_advisory_unlock(").append(LOCK_CLASS).append(", ")
                    .append(lockKey(draws.get(i))).append(")");
        }
        return sql.toString();
    }

    /** The sequence's OID on the follower, as the second key of an advisory lock (an int: OIDs shifted by 2^31). */
    private static String lockKey(Draw draw) {
        return "(" + literal(draw.sequence()) + "::pg_catalog.regclass::pg_catalog.oid::bigint - 2147483648)::int";
    }

    /** The follower session's setting that holds the {@code i}th sequence's last value while its draw runs. */
    private static String keptAside(int i) {
        return "bluegreen.draw_" + (i + 1);
    }

    /** A name that goes into a string literal the same whatever the session's {@code standard_conforming_strings}. */
    private static boolean quotable(String name) {
        return name.indexOf('\\') < 0 && name.indexOf('\0') < 0;
    }

    private static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
    }
}
