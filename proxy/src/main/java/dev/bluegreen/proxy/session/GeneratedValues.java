package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.dualwrite.OutcomeRecorder;
import dev.bluegreen.proxy.dualwrite.StatementOutcome;
import dev.bluegreen.proxy.protocol.ClientEncoding;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.protocol.ProtocolViolation;
import dev.bluegreen.proxy.routing.Classification;
import dev.bluegreen.proxy.routing.InsertShape;
import dev.bluegreen.proxy.routing.LargeObjectSql;
import dev.bluegreen.proxy.routing.StatementTexts;
import dev.bluegreen.proxy.routing.Trait;
import dev.bluegreen.proxy.routing.TransactionTime;
import dev.bluegreen.proxy.session.ClientStatements.IdsAt;
import dev.bluegreen.proxy.session.ClientStatements.Whole;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What the leader makes up running a session's units that the follower is to take too (docs/dual-write.md, <i>Values
 * generated on the server</i>): the values an INSERT draws from sequences, the random {@code uuid}s and ids a statement
 * returns, and the transaction's start. For each unit with a follower it notes what to read of the leader's answer and
 * what to ask the leader behind it, and from both what the follower is given: its text rewritten, or the leader's
 * draws set ahead of it ({@link SequenceDraws}). {@link Units} sends and receives; this class decides. Owned by the
 * session's event loop.
 */
final class GeneratedValues {

    private final SequenceDraws sequenceDraws;
    private final SqlReading reading;
    private final MigrationStats stats;
    private final ClientStatements statements;
    /**
     * The start of the transaction the leader has open, once asked: behind the transaction's first statement (a
     * session whose units read it), or behind the first that reads it. Asked early, the question runs before the
     * transaction holds most of its locks, where behind a statement reading it late it would lengthen the time they
     * are held (pgbench's TPC-B-like script stamps its history row last, with the branch row locked). Not behind the
     * BEGIN: a query there would take the transaction's snapshot, after which the server refuses a SET TRANSACTION.
     */
    private String transactionStart;

    GeneratedValues(SequenceDraws sequenceDraws, SqlReading reading, MigrationStats stats, ClientStatements statements) {
        this.sequenceDraws = sequenceDraws;
        this.reading = reading;
        this.stats = stats;
        this.statements = statements;
    }

    /** The leader's transaction ended, or may have (COMMIT AND CHAIN begins another; so may what the proxy cannot read). */
    void transactionEnded() {
        transactionStart = null;
    }

    /** Whether the start of the transaction the leader has open is known. */
    boolean startKnown() {
        return transactionStart != null;
    }

    /**
     * Notes what the leader makes up running {@code unit} that the follower is to take too: for a unit of one
     * statement, the INSERT that may draw from sequences ({@link Unit#insert}) and whether it reads the transaction's
     * start, as for one statement bound again and again (a JDBC batch under one Sync); for a unit of several texts
     * (pgjdbc's rewritten batches come as two), whether one of them reads the start, itself or by a default, which
     * holds for all of them alike. Draws are carried for a unit of several texts where they are one table's inserts of
     * one column list (by the count of their rows) or one-row inserts into tables of their own ({@link Unit#eachInserts});
     * another notes an INSERT only to learn its table, where the session does not know it yet. For a unit whose follower
     * can be made to take what the leader makes up ({@link Units#mayTakeGenerated}).
     */
    void takes(Unit unit) {
        Classification c = unit.classification;
        boolean nonDeterministic = c.has(Trait.NON_DETERMINISTIC);
        if (c.statementCount() == 1) {
            // the statement the unit runs, not one it prepares ahead (Parse S2, Bind S1)
            List<RunText> texts = unit.frames.size() == 1 && unit.frames.getFirst().type() == FrontendMessages.QUERY
                    ? List.of(new RunText(unit.sql, null)) : runTexts(unit);
            if (texts != null && texts.size() == 1) {
                takes(unit, texts.getFirst(), nonDeterministic);
            }
            return;
        }
        if (c.has(Trait.TRANSACTION_BEGIN) || c.has(Trait.TRANSACTION_END) || c.has(Trait.SAVEPOINT)
                || c.has(Trait.ROLLBACK_TO) || c.has(Trait.SESSION_STATE) || c.has(Trait.TRANSACTION_CONTROL)
                || c.has(Trait.DDL) || c.has(Trait.UNPARSEABLE) || c.has(Trait.NOT_IN_TRANSACTION_BLOCK)) {
            return; // (the follower's setting lasts its transaction: the unit must not end one or begin another)
        }
        boolean oneQuery = oneQuery(unit);
        List<RunText> texts = oneQuery ? statementsOf(unit.sql) : runTexts(unit);
        if (texts == null) {
            return;
        }
        unit.runTexts = texts.stream().map(RunText::sql).toList();
        if (texts.size() == 1) {
            takes(unit, texts.getFirst(), nonDeterministic);
            return;
        }
        if (texts.stream().anyMatch(text -> text.whole() != null && text.whole().insert() == null)) {
            return; // (the proxy kept the beginning of one only, and it is no insert)
        }
        List<InsertShape> shapes = new ArrayList<>(texts.size());
        Set<Integer> makeNothing = new HashSet<>(2);
        for (RunText run : texts) {
            String text = run.sql();
            Whole whole = run.whole();
            InsertShape insert = shapeOf(run);
            if (makesNothing(run, insert)) {
                makeNothing.add(shapes.size());
            }
            shapes.add(insert);
            if (insert != null && sequenceDraws.mayDraw(insert)) {
                unit.alsoInserts = unit.alsoInserts == null ? insert : unit.alsoInserts;
                if (sequenceDraws.knownDraws(insert) == null) {
                    // learned once the leader has run it (its start asked with it, where a column defaults to it)
                    unit.insert = unit.insert == null ? insert : unit.insert;
                } else if (!sequenceDraws.knownTimes(insert).isEmpty()) {
                    unit.readsStart = true;
                }
            }
            // (one Query's reading of the start is not rewritten for the follower, a string of several: not asked for)
            unit.readsStart |= nonDeterministic && !oneQuery
                    && (!sequenceDraws.startEdits(text, reading).isEmpty() || (whole != null && whole.readsStart()));
        }
        if (!oneQuery && alike(shapes) && sequenceDraws.mayDraw(shapes.getFirst())) {
            // (not one Query's: its statements run as one, and another session's draw may come between them)
            // pgjdbc's rewritten batch of a size that is not a power of two (rows of 4, 2 and 1): one insert, by count
            unit.insert = shapes.getFirst();
            unit.oneShape = true;
        } else {
            // one shape per statement run, in order: two runs of one text (Npgsql parses each statement of a batch
            // anew, two inserts of one entity type alike) are two inserts; one Query's statements are so already
            List<InsertShape> eachShapes = shapes;
            Set<Integer> eachMakeNothing = makeNothing;
            if (!oneQuery) {
                List<RunText> each = runTexts(unit, true);
                if (each == null) {
                    return;
                }
                eachShapes = new ArrayList<>(each.size());
                eachMakeNothing = new HashSet<>(2);
                for (RunText run : each) {
                    InsertShape insert = shapeOf(run);
                    if (makesNothing(run, insert)) {
                        eachMakeNothing.add(eachShapes.size());
                    }
                    eachShapes.add(insert);
                }
            }
            if (eachOwnTable(unit, eachShapes, eachMakeNothing)) {
                unit.eachInserts = Collections.unmodifiableList(eachShapes);
            }
        }
    }

    /** The insert {@code run} runs, as far as the session reads it; null where it is none, or not read. */
    private InsertShape shapeOf(RunText run) {
        return run.whole() != null ? run.whole().insert() : sequenceDraws.shapeOf(run.sql(), reading).orElse(null);
    }

    /** Whether {@code run}, read as no insert ({@code insert} null), is one into a table known to make up nothing. */
    private boolean makesNothing(RunText run, InsertShape insert) {
        return insert == null && run.whole() == null && sequenceDraws.makesNothing(run.sql());
    }

    /**
     * Whether {@code shapes}, the texts of a unit of several, each bound and executed once, are each a one-row
     * {@code INSERT … VALUES} into a table of its own, none an upsert or naming a sequence itself, one at least leaving a
     * column to what may make up a value, and no two of the tables the session knows drawing from one sequence; or, at
     * the places {@code makeNothing} lists (where {@code shapes} holds null), an insert into a table the session knows
     * makes up nothing. Each then draws once from its own sequences, which the leader is asked about behind the unit (or
     * after it, where the session does not know every table yet, learning them all; {@link SequenceDraws#leaderQueryEach}).
     */
    private boolean eachOwnTable(Unit unit, List<InsertShape> shapes, Set<Integer> makeNothing) {
        if (!eachRunOnce(unit, shapes.size()) || shapes.stream().noneMatch(shape -> shape != null && sequenceDraws.mayDraw(shape))) {
            return false;
        }
        Map<String, InsertShape> tables = new HashMap<>();
        Set<String> sequences = new HashSet<>();
        for (int i = 0; i < shapes.size(); i++) {
            InsertShape shape = shapes.get(i);
            if (shape == null && makeNothing.contains(i)) {
                continue; // (draws nothing)
            }
            if (shape == null || shape.upsert() || shape.places() == null || shape.places().rows().size() != 1
                    || SequenceDraws.called(shape) != null) {
                return false;
            }
            InsertShape first = tables.putIfAbsent(LeaderInserts.key(shape.table()), shape);
            if (first != null) {
                if (!alike(List.of(first, shape))) {
                    return false;
                }
                continue; // (another row of the table's, drawn right after the first: the unit is sent to the leader alone)
            }
            List<String> drawn = sequenceDraws.knownDraws(shape);
            if (drawn != null && !drawn.stream().allMatch(sequences::add)) {
                return false; // (two tables sharing a sequence: what currval says is the last draw only)
            }
        }
        return true;
    }

    /** Whether {@code unit} is one simple-protocol {@code Query} and nothing else. */
    private static boolean oneQuery(Unit unit) {
        return unit.frames.size() == 1 && unit.frames.getFirst().type() == FrontendMessages.QUERY && unit.sql != null;
    }

    /** The statements of the string {@code sql} of several, each run once; null where they cannot be told apart. */
    private List<RunText> statementsOf(String sql) {
        List<StatementTexts.Slice> statements = reading.statements(sql);
        return statements.size() < 2 ? null : statements.stream().map(each -> new RunText(each.text(), null)).toList();
    }

    /**
     * Whether {@code unit} binds {@code texts} statements, each executed once right after its Bind, and runs no other;
     * or is one {@code Query} (its statements, split, are the texts: each runs once).
     */
    private static boolean eachRunOnce(Unit unit, int texts) {
        if (oneQuery(unit)) {
            return true;
        }
        int binds = 0;
        boolean bound = false;
        for (Frame frame : unit.frames) {
            switch (frame.type()) {
                case FrontendMessages.BIND -> {
                    if (bound) {
                        return false; // (a portal bound and not run: a later Execute may run another)
                    }
                    bound = true;
                    binds++;
                }
                case FrontendMessages.EXECUTE -> {
                    if (!bound) {
                        return false;
                    }
                    bound = false;
                }
                case FrontendMessages.QUERY -> {
                    return false;
                }
                default -> { }
            }
        }
        return !bound && binds == texts;
    }

    /**
     * Whether {@code shapes} are inserts of {@code VALUES} rows into one table as it is spelled, each listing the same
     * columns and leaving the same ones to their defaults in every row, none an upsert: they draw from the same
     * sequences, in turn, one value per row.
     */
    private static boolean alike(List<InsertShape> shapes) {
        InsertShape first = shapes.getFirst();
        if (first == null || !shapes.stream().allMatch(shape -> shape != null && !shape.upsert()
                && shape.table().equals(first.table()) && shape.columns().equals(first.columns())
                && shape.places() != null && !shape.places().rows().isEmpty())) {
            return false;
        }
        for (String column : first.columns()) {
            boolean left = first.leavesToDefault(column);
            if (!shapes.stream().allMatch(shape -> shape.leavesToDefault(column) == left
                    && shape.mayLeaveToDefault(column) == left)) {
                return false; // (a column given in some rows and left in others draws for those rows only)
            }
        }
        return true;
    }

    /** {@link #takes(Unit)} for a unit that runs the one statement {@code text}, once or more. */
    private void takes(Unit unit, RunText text, boolean nonDeterministic) {
        String sql = text.sql();
        Whole whole = text.whole();
        // a text the proxy kept the beginning of only: what its whole says, read as it was prepared (pgjdbc's rewritten
        // batch of 64 rows), or else the beginning, whose draws are carried for one row at a time at most
        unit.shortenedText = ClientStatements.shortened(sql) && whole == null;
        InsertShape insert = whole != null ? whole.insert() : sequenceDraws.shapeOf(sql, reading).orElse(null);
        unit.insert = insert != null && sequenceDraws.mayDraw(insert) ? insert : null;
        unit.readsStart = nonDeterministic
                && (!sequenceDraws.startEdits(sql, reading).isEmpty() || (whole != null && whole.readsStart()));
        unit.oneShape = true;
        if (unit.insert == null && whole == null && !ClientStatements.shortened(sql)) {
            takesLargeObject(unit, sql); // (only a text read whole: what is cut off could create another)
            return;
        }
        if (unit.insert == null || unit.insert.places() == null || unit.insert.places().rows().isEmpty() || whole != null
                || unit.shortenedText || unit.insert.upsert()) {
            return; // (a text not kept whole cannot be given the ids; what an upsert returns may be the row that was there)
        }
        // a bulk insert returning its ids (SQLAlchemy's, Django's, jOOQ's): the follower can be given the leader's, row by
        // row, where other sessions' draws came between them on the leader; an insert returning the uuid its table made up
        // for it (Rails' uuid keys, Supabase's): likewise (one column is given the leader's values per run: ids first)
        String ids = unit.insert.places().rows().size() > 1 ? sequenceDraws.drawingColumn(unit.insert) : null;
        ids = ids != null && reading.returnsColumn(sql, ids) ? ids : null; // (else by count, sent to the leader alone)
        String uuid = ids == null ? sequenceDraws.uuidColumn(unit.insert) : null;
        boolean uuids = ids == null && (uuid != null || !sequenceDraws.knows(unit.insert));
        String statement = (ids != null || uuids) && sql.toLowerCase(Locale.ROOT).contains("returning") ? runsOnce(unit) : null;
        if (statement != null) {
            unit.givenStatement = statement.isEmpty() ? null : statement;
            unit.idsColumn = ids;
            unit.uuidColumn = uuid;
            unit.capturesUuids = uuids;
        }
    }

    /**
     * {@link #takes(Unit, RunText, boolean)} for a statement creating a large object in SQL with an OID the server picks
     * ({@link LargeObjectSql}): where the unit runs it once, its OID is read from the leader's answer and given to the
     * follower's copy ({@link #giveLargeObjectOid}).
     */
    /**
     * In shadow mode, where the follower's copy of a write goes out as the client sent it, but for the leader's large
     * object OID: {@code unit} a creation in SQL that runs once (a Query, or the unnamed statement parsed with it), whose
     * copy is then given the OID the leader answered ({@link Unit#givenEdits}, see {@link #giveLargeObjectOid}).
     */
    void takesLargeObjectInShadow(Unit unit) {
        if (unit.classification.statementCount() == 1 && unit.sql != null && !unit.shortenedText) {
            takesLargeObject(unit, unit.sql);
            if (unit.givenStatement != null) {
                unit.largeObject = null; // (a statement prepared by name: its copy is not rewritten in shadow mode)
                unit.givenStatement = null;
            }
        }
    }

    private void takesLargeObject(Unit unit, String sql) {
        LargeObjectSql created = reading.largeObjectCreation(sql).orElse(null);
        String statement = created == null ? null : runsOnce(unit);
        if (statement != null) {
            unit.largeObject = created;
            unit.givenStatement = statement.isEmpty() ? null : statement;
        }
    }

    /**
     * The statement {@code unit} runs once, where the follower can be sent its text for this run only: {@code ""} for a
     * Query, or for a Parse of the unnamed statement executed once (a later unit that binds the unnamed statement again
     * has the client's Parse put ahead of it, {@link Unit#reparses}); the name of a statement prepared by name that the
     * unit binds and executes once, where the proxy holds its Parse ({@link #parseOf}). Null otherwise.
     */
    private String runsOnce(Unit unit) {
        if (unit.frames.size() == 1) {
            return unit.frames.getFirst().type() == FrontendMessages.QUERY ? "" : null;
        }
        int parses = 0;
        int executes = 0;
        String parsed = null;
        String statement = null; // the statement the unit binds
        String bound = null; // the portal
        Set<String> described = new HashSet<>(2);
        Set<String> closed = new HashSet<>(2);
        for (Frame frame : unit.frames) {
            ByteBuf all = frame.content();
            int offset = all.readerIndex();
            int length = all.readableBytes();
            switch (frame.type()) {
                case FrontendMessages.PARSE -> {
                    if (parses++ > 0) {
                        return null;
                    }
                    parsed = FrontendMessages.parseName(all, offset, length);
                }
                case FrontendMessages.BIND -> {
                    if (statement != null) {
                        return null;
                    }
                    statement = FrontendMessages.bindStatement(all, offset, length);
                    bound = FrontendMessages.bindPortal(all, offset, length);
                }
                case FrontendMessages.EXECUTE -> {
                    if (!FrontendMessages.executePortal(all, offset, length).equals(bound)) {
                        return null;
                    }
                    executes++;
                }
                case FrontendMessages.DESCRIBE -> {
                    // the rows the ids are read from are described by this statement, not another one
                    String name = FrontendMessages.describedStatement(all, offset, length);
                    if (name == null && !FrontendMessages.describedPortal(all, offset, length).equals(bound)) {
                        return null;
                    }
                    if (name != null) {
                        described.add(name);
                    }
                }
                case FrontendMessages.CLOSE -> {
                    // pgjdbc closes the statements it let go of ahead of its next query: others than this one
                    String name = FrontendMessages.closedStatement(all, offset, length);
                    if (name == null || name.equals(parsed) || name.equals(statement)) {
                        return null;
                    }
                    closed.add(name);
                }
                case FrontendMessages.SYNC, FrontendMessages.FLUSH -> { }
                default -> {
                    return null;
                }
            }
        }
        if (executes != 1 || statement == null || closed.contains(statement) || (parses == 1 && !statement.equals(parsed))
                || (parses == 0 && statement.isEmpty()) || !described.stream().allMatch(statement::equals)) {
            return null;
        }
        return statement.isEmpty() || parseOf(unit, statement) != null ? statement : null;
    }

    /**
     * Has {@code recorder} keep the ids, or the random {@code uuid}s, the leader's answer to {@code unit} returns: in the
     * format its Bind asks for, and for a statement prepared by name, where the session saw a RowDescription of the
     * statement's rows before, at the place that said (pgjdbc describes a statement's rows once, then only binds and
     * executes it). The {@code uuid} column of a table the session does not know yet is the one the rows have that the
     * statement gives no value to.
     */
    void capture(Unit unit, OutcomeRecorder recorder) {
        int[] formats = null;
        for (Frame frame : unit.frames) {
            ByteBuf all = frame.content();
            if (frame.type() == FrontendMessages.BIND) {
                try {
                    formats = FrontendMessages.bindResultFormats(all, all.readerIndex(), all.readableBytes());
                } catch (ProtocolViolation malformed) {
                    return; // the server refuses the Bind: there is nothing to capture
                }
            }
        }
        IdsAt at = unit.givenStatement == null ? null : statements.idsAt(unit.givenStatement);
        if (unit.idsColumn != null) {
            int field = at != null && at.column().equals(unit.idsColumn) ? at.field() : -1;
            if (formats == null) {
                recorder.capture(unit.idsColumn);
            } else {
                recorder.capture(unit.idsColumn, formats, field);
            }
        } else if (unit.largeObject != null) {
            recorder.captureOid(formats);
        } else if (unit.capturesUuids) {
            // (a table the session does not know yet: the column a Describe of the statement found, if one did)
            boolean known = at != null && at.place() != null && (unit.uuidColumn == null || at.column().equals(unit.uuidColumn));
            recorder.captureUuid(known ? at.column() : unit.uuidColumn, Set.copyOf(unit.insert.givenColumns()), formats,
                    known ? at.field() : -1, known ? at.place() : null);
        }
    }

    /**
     * A unit that only describes a statement prepared by name (asyncpg prepares each statement so, Parse, Describe,
     * Sync, then only binds and executes it): where the statement is an insert whose ids or random uuids the proxy would
     * read from its rows, {@code recorder} finds where they are in the RowDescription, for {@link #learnDescribed} to
     * keep ({@link ClientStatements#idsAt}).
     */
    void captureDescribed(Unit unit, OutcomeRecorder recorder) {
        if (unit.classification.statementCount() != 0) {
            return; // (a unit that runs a statement: the one that only describes runs none)
        }
        String name = null;
        for (Frame frame : unit.frames) {
            ByteBuf all = frame.content();
            String described = switch (frame.type()) {
                case FrontendMessages.DESCRIBE -> FrontendMessages.describedStatement(all, all.readerIndex(), all.readableBytes());
                case FrontendMessages.PARSE -> FrontendMessages.parseName(all, all.readerIndex(), all.readableBytes());
                case FrontendMessages.SYNC, FrontendMessages.FLUSH -> name;
                default -> null;
            };
            if (described == null || described.isEmpty() || (name != null && !name.equals(described))) {
                return;
            }
            name = described;
        }
        ByteBuf parse = name == null ? null : parseOf(unit, name);
        String sql = parse == null ? null : FrontendMessages.parseSql(parse, parse.readerIndex(), parse.readableBytes());
        InsertShape insert = sql == null || !sql.toLowerCase(Locale.ROOT).contains("returning") ? null
                : sequenceDraws.shapeOf(sql, reading).orElse(null);
        if (insert == null || insert.places() == null || insert.places().rows().isEmpty() || insert.upsert()
                || !sequenceDraws.mayDraw(insert)) {
            return;
        }
        String ids = insert.places().rows().size() > 1 ? sequenceDraws.drawingColumn(insert) : null;
        String uuid = ids == null ? sequenceDraws.uuidColumn(insert) : null;
        if (ids == null && uuid == null && sequenceDraws.knows(insert)) {
            return; // (as takes: nothing the proxy would read)
        }
        unit.describedIds = ids;
        if (ids != null) {
            recorder.capture(ids);
        } else {
            recorder.captureUuid(uuid, Set.copyOf(insert.givenColumns()), null, -1, null);
        }
        unit.describedStatement = name;
    }

    /** Keeps where {@link #captureDescribed} found the ids or uuids of the statement a unit described. */
    void learnDescribed(Unit unit, Sink answer) {
        String name = unit.describedStatement;
        unit.describedStatement = null;
        if (answer.error || answer.lost || answer.recorder == null) {
            return;
        }
        OutcomeRecorder recorder = answer.recorder;
        if (unit.describedIds != null) {
            if (recorder.capturedField() >= 0) {
                statements.keepIdsAt(unit, name, new IdsAt(unit.describedIds, recorder.capturedField(), null));
            }
        } else if (recorder.capturedUuidPlace() != null) {
            statements.keepIdsAt(unit, name, new IdsAt(recorder.capturedUuidColumn(), recorder.capturedUuidField(), recorder.capturedUuidPlace()));
        }
    }

    /**
     * The client's Parse of statement {@code name}, prepared by name: the unit's own, or the one kept for the follower
     * ({@link ClientStatements#keepIfRewritable}); null where the proxy holds neither.
     */
    ByteBuf parseOf(Unit unit, String name) {
        for (Frame frame : unit.frames) {
            ByteBuf all = frame.content();
            if (frame.type() == FrontendMessages.PARSE && FrontendMessages.parseName(all, all.readerIndex(), all.readableBytes()).equals(name)) {
                return all;
            }
        }
        return statements.keptParse(name);
    }

    /**
     * One text a unit runs, and where the proxy kept the beginning of it only, what its whole says
     * ({@link ClientStatements#cutText}; null otherwise).
     */
    private record RunText(String sql, Whole whole) {}

    /**
     * The distinct texts of the statements {@code unit} runs, in order: its Queries', and those its Binds bind; null
     * where one is not known (a portal an earlier unit bound, a statement the proxy did not keep the text of).
     */
    private List<RunText> runTexts(Unit unit) {
        return runTexts(unit, false);
    }

    /** {@link #runTexts(Unit)}, or with {@code each} one per Query or Bind, in order, a text run twice twice. */
    private List<RunText> runTexts(Unit unit, boolean each) {
        // by text; a text the proxy kept the beginning of only by its statement's name too (two cut alike are two)
        Map<String, RunText> texts = new LinkedHashMap<>(2);
        List<RunText> inOrder = each ? new ArrayList<>(4) : null;
        Map<String, String> parsed = new HashMap<>(2);
        Set<String> bound = new HashSet<>(2);
        Set<String> portals = new HashSet<>(2);
        ByteBuf unnamed = statements.unnamedParse();
        for (Frame frame : unit.frames) {
            ByteBuf all = frame.content();
            int offset = all.readerIndex();
            int length = all.readableBytes();
            switch (frame.type()) {
                case FrontendMessages.QUERY -> {
                    String text = FrontendMessages.querySql(all, offset, length);
                    RunText run = new RunText(text, null);
                    texts.put(text, run);
                    if (each) {
                        inOrder.add(run);
                    }
                }
                case FrontendMessages.PARSE, FrontendMessages.CLOSE -> {
                    String name = frame.type() == FrontendMessages.PARSE ? FrontendMessages.parseName(all, offset, length)
                            : FrontendMessages.closedStatement(all, offset, length);
                    if (name != null && bound.contains(name) && !name.isEmpty()) {
                        // a statement made anew after a Bind of it: the proxy keeps the later text only (the unnamed
                        // one's is read from its Parse here, as pgjdbc and Npgsql parse each statement of a batch)
                        return null;
                    }
                    if (frame.type() == FrontendMessages.PARSE) {
                        parsed.put(name, FrontendMessages.parseSql(all, offset, length));
                    }
                }
                case FrontendMessages.BIND -> {
                    String name = FrontendMessages.bindStatement(all, offset, length);
                    String text = parsed.containsKey(name) ? parsed.get(name) : !name.isEmpty() ? statements.text(name)
                            : unnamed == null ? null : FrontendMessages.parseSql(unnamed, unnamed.readerIndex(),
                                    unnamed.readableBytes(), reading.encoding());
                    if (text == null) {
                        return null;
                    }
                    bound.add(name);
                    portals.add(FrontendMessages.bindPortal(all, offset, length));
                    boolean cut = ClientStatements.shortened(text);
                    RunText run = new RunText(text, cut ? statements.cutText(name) : null);
                    texts.put(cut ? name + '\0' + text : text, run);
                    if (each) {
                        inOrder.add(run);
                    }
                }
                case FrontendMessages.EXECUTE -> {
                    if (!portals.contains(FrontendMessages.executePortal(all, offset, length))) {
                        return null; // a portal an earlier unit bound
                    }
                }
                case FrontendMessages.DESCRIBE, FrontendMessages.SYNC, FrontendMessages.FLUSH -> { }
                default -> {
                    return null;
                }
            }
        }
        return each ? List.copyOf(inOrder) : List.copyOf(texts.values());
    }

    /**
     * Whether {@code unit} executes a portal that returns rows for some rows only: the portal may be left suspended,
     * for the client to go on reading, and a Query of the proxy's would end it, so the leader is asked only once its
     * answer shows it was not. (pgjdbc asks for one row of a statement whose rows it discards, an INSERT without
     * {@code RETURNING} too, which returns none.)
     */
    static boolean executesSomeRows(Unit unit) {
        if (unit.runTexts == null ? returnsNoRows(unit.sql) : unit.runTexts.stream().allMatch(GeneratedValues::returnsNoRows)) {
            return false;
        }
        for (Frame frame : unit.frames) {
            ByteBuf all = frame.content();
            if (frame.type() == FrontendMessages.EXECUTE
                    && FrontendMessages.executeRowLimit(all, all.readerIndex(), all.readableBytes()) != 0) {
                return true;
            }
        }
        return false;
    }

    /** Whether a statement text surely returns no rows: short enough to have been read whole, and no RETURNING. */
    private static boolean returnsNoRows(String text) {
        String sql = text.toLowerCase(Locale.ROOT);
        return sql.length() < ClientStatements.MAX_STATEMENT_TEXT && !sql.contains("returning") && !sql.stripLeading().startsWith("select")
                && !sql.stripLeading().startsWith("with") && !sql.stripLeading().startsWith("values");
    }

    /**
     * The leader has inserted rows for {@code unit}'s INSERT into a table the session does not know yet (or that
     * executed a portal for some rows only, {@link #executesSomeRows}): asks it,
     * before the follower runs the statement, what it drew from sequences and its transaction's start
     * ({@link SequenceDraws#leaderQuery}), for {@link Units#askDraws} to send before it goes on with the answer; for
     * another statement that reads the start, just that. Null where there is nothing to ask ({@link Unit#generated}
     * is then nothing).
     */
    String questionAfter(Unit unit, Sink answer) {
        if (unit.eachInserts != null) {
            if (suspended(answer) || !oneRowEach(unit, answer)) {
                unit.generated = SequenceDraws.Generated.NOTHING;
                return null;
            }
            // as for one insert: tables the session knows are asked just what they drew, inside a transaction
            List<String> known = eachDraws(unit.eachInserts);
            boolean start = unit.readsStart || drawing(unit.eachInserts).stream()
                    .anyMatch(insert -> !sequenceDraws.knownTimes(insert).isEmpty());
            unit.drawsPipelined = known != null && answer.status == 'T';
            if (unit.drawsPipelined && known.isEmpty() && !start) {
                unit.generated = SequenceDraws.Generated.NOTHING;
                return null;
            }
            return unit.drawsPipelined ? SequenceDraws.pipelinedQuery(known, start)
                    : SequenceDraws.leaderQueryEach(drawing(unit.eachInserts), answer.status == 'T', unit.readsStart);
        }
        boolean inserted = unit.insert != null && insertedRows(answer);
        boolean inTransaction = !answer.error && answer.status == 'T';
        List<String> known = inserted ? sequenceDraws.knownDraws(unit.insert) : null;
        // a table the session knows is asked just what the statement made up, not learned again (which would prepare
        // its statements again on the follower), unless outside a transaction, where the pipelined question cannot go
        boolean learn = inserted && (known == null || !inTransaction);
        List<String> sequences = inserted && !learn ? known : List.of();
        boolean start = inTransaction && (unit.readsStart || unit.asksStart
                || (inserted && !sequenceDraws.knownTimes(unit.insert).isEmpty()));
        if (suspended(answer) || !(learn || start || !sequences.isEmpty())) {
            unit.generated = SequenceDraws.Generated.NOTHING;
            return null;
        }
        unit.drawsPipelined = !learn; // (its answer is read as the pipelined question's)
        return learn ? SequenceDraws.leaderQuery(unit.insert, answer.status == 'T', unit.readsStart)
                : SequenceDraws.pipelinedQuery(sequences, start);
    }

    /**
     * The question to the leader, right behind an INSERT into a table the session knows draws or reads the transaction's
     * start, or a statement that reads it itself, about what it made up for it ({@link Units#askDrawsBehind}); null where
     * none goes behind it, {@code status} being the session's.
     */
    String questionBehind(Unit unit, byte status) {
        if (unit.asksStart && !executesSomeRows(unit)) {
            unit.drawsPipelined = true;
            return SequenceDraws.pipelinedQuery(List.of(), true);
        }
        List<String> sequences = unit.eachInserts != null ? eachDraws(unit.eachInserts)
                : unit.insert == null ? List.of() : sequenceDraws.knownDraws(unit.insert);
        if (sequences == null || ((unit.insert != null || unit.eachInserts != null || unit.readsStart) && executesSomeRows(unit))) {
            return null; // asked once the statement has answered (questionAfter): a table the session does not know yet, or a portal
        }
        boolean readsIt = unit.readsStart || (unit.insert != null && !sequenceDraws.knownTimes(unit.insert).isEmpty());
        unit.knownStart = readsIt && status == 'T' ? transactionStart : null;
        boolean start = readsIt && unit.knownStart == null;
        if (sequences.isEmpty() && !start) {
            if (unit.knownStart != null) {
                unit.generated = new SequenceDraws.Generated(List.of(), unit.knownStart);
            }
            return null;
        }
        unit.drawsPipelined = true;
        return SequenceDraws.pipelinedQuery(sequences, start);
    }

    /** The sequences {@code inserts} draw from, in the order the follower locks them; null where a table is not known. */
    private List<String> eachDraws(List<InsertShape> inserts) {
        List<String> sequences = new ArrayList<>(inserts.size());
        for (InsertShape insert : drawing(inserts)) {
            List<String> drawn = sequenceDraws.knownDraws(insert);
            if (drawn == null) {
                return null;
            }
            sequences.addAll(drawn);
        }
        sequences.sort(null);
        return sequences;
    }

    /**
     * Whether the answer to {@code unit}, inserts into tables of their own, inserted one row with each that may draw (and
     * rows, or none, with each into a table that makes up nothing).
     */
    private static boolean oneRowEach(Unit unit, Sink answer) {
        if (!ranInserts(answer, false) || answer.recorder.outcomes().size() != unit.eachInserts.size()) {
            return false;
        }
        for (int i = 0; i < unit.eachInserts.size(); i++) {
            if (unit.eachInserts.get(i) != null && !"INSERT 0 1".equals(answer.recorder.outcomes().get(i).commandTag())) {
                return false;
            }
        }
        return true;
    }

    /**
     * The inserts of {@link Unit#eachInserts} that may draw, one per table: the first into each table not known to make
     * up nothing (others into the same table are alike).
     */
    static List<InsertShape> drawing(List<InsertShape> eachInserts) {
        Set<String> tables = new HashSet<>(4);
        return eachInserts.stream().filter(insert -> insert != null && tables.add(LeaderInserts.key(insert.table()))).toList();
    }

    /**
     * Whether two or more of {@link Unit#eachInserts} go into one of {@code drawingTables} (as statements spell them):
     * their rows draw from its sequences one after the other, which holds on the leader only where it runs them alone
     * among the inserts into the table ({@link LeaderInserts}). A table repeated that draws nothing needs no such turn.
     */
    static boolean repeatsATable(List<InsertShape> eachInserts, Collection<String> drawingTables) {
        Set<String> drawing = new HashSet<>(4);
        drawingTables.forEach(table -> drawing.add(LeaderInserts.key(table)));
        Set<String> seen = new HashSet<>(4);
        for (InsertShape insert : eachInserts) {
            String key = insert == null ? null : LeaderInserts.key(insert.table());
            if (key != null && drawing.contains(key) && !seen.add(key)) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code draws}, the leader's last draw from each sequence of a unit of {@link Unit#eachInserts}, each made by as
     * many rows as the unit inserts into the table drawing from it; none where a table is not known.
     */
    private List<SequenceDraws.Draw> eachRows(List<InsertShape> eachInserts, List<SequenceDraws.Draw> draws) {
        Map<String, Long> rows = new HashMap<>(4);
        for (InsertShape insert : eachInserts) {
            List<String> drawn = insert == null ? List.of() : sequenceDraws.knownDraws(insert);
            if (drawn == null) {
                return List.of();
            }
            drawn.forEach(sequence -> rows.merge(sequence, 1L, Long::sum));
        }
        List<SequenceDraws.Draw> each = new ArrayList<>(draws.size());
        for (SequenceDraws.Draw draw : draws) {
            Long count = rows.get(draw.sequence());
            if (count == null) {
                return List.of();
            }
            each.add(draw.ofRows(count));
        }
        return each;
    }

    /** Whether the answer left a portal suspended, which a Query of the proxy's would end. */
    private static boolean suspended(Sink answer) {
        return answer.recorder != null && answer.recorder.outcomes().stream()
                .anyMatch(outcome -> StatementOutcome.SUSPENDED.equals(outcome.commandTag()));
    }

    /**
     * How many rows the answer's INSERTs inserted, each of which drew once from each sequence the statement leaves a
     * column to; 0 unless every statement it is of inserted rows.
     */
    private static long insertedRowCount(Sink answer) {
        if (!insertedRows(answer)) {
            return 0;
        }
        long rows = 0;
        for (StatementOutcome outcome : answer.recorder.outcomes()) {
            String count = outcome.commandTag().substring("INSERT 0 ".length());
            if (count.isEmpty() || count.length() > 18 || !count.chars().allMatch(Character::isDigit)) {
                return 0;
            }
            rows += Long.parseLong(count);
        }
        return rows;
    }

    /**
     * Whether each statement the answer is of inserted rows: one INSERT, or a batch of them (every row took the
     * transaction's start, and every sequence the table draws from was drawn from in the session).
     */
    private static boolean insertedRows(Sink answer) {
        return ranInserts(answer, true);
    }

    /** Whether each statement the answer is of is an INSERT that ran, and inserted rows where {@code rowsEach} says so. */
    private static boolean ranInserts(Sink answer, boolean rowsEach) {
        List<StatementOutcome> outcomes = answer.recorder == null ? List.of() : answer.recorder.outcomes();
        return !answer.error && !outcomes.isEmpty() && (answer.status == 'T' || answer.status == 'I')
                && outcomes.stream().allMatch(outcome -> outcome.commandTag() != null
                        && outcome.commandTag().startsWith("INSERT 0 ") && !(rowsEach && outcome.commandTag().equals("INSERT 0 0")));
    }

    /**
     * The edits that give the follower's copy of {@code unit}'s text the values {@code ids} row by row; null where
     * that copy would go out as the client wrote it (a text the follower is not sent rewritten, rows not as many).
     */
    private List<TransactionTime.Edit> givenToFollower(Unit unit, String column, List<String> values) {
        return mayGive(unit) ? unit.insert.givingRows(column, values) : null;
    }

    /** Whether the follower's copy of {@code unit}'s text can be sent rewritten: its bytes read as text, its Parse at hand. */
    private boolean mayGive(Unit unit) {
        return reading.encoding() == ClientEncoding.ASCII_SAFE && utf8(unit.sql)
                && (unit.givenStatement == null || parseOf(unit, unit.givenStatement) != null);
    }

    /**
     * Where the leader's answer to {@code unit} returned the random {@code uuid} each row took for the column its table
     * defaults so ({@link SequenceDraws#uuidColumn}, learned by now where the session did not know the table before),
     * the follower's copy is given them row by row ({@link Unit#givenEdits}), as it is a bulk insert's ids. Where it did
     * not (no {@code RETURNING} of it, a bulk insert given its ids), each cluster makes up its own: the statement is
     * counted as non-deterministic (DESIGN §5).
     */
    void giveUuids(Unit unit, Sink answer) {
        if (unit.uuidsRead || unit.insert == null || answer.error || answer.lost || answer.recorder == null) {
            return;
        }
        unit.uuidsRead = true; // (primaryDone may run again for the unit)
        if (unit.capturesUuids) {
            unit.givenEdits = capturedUuids(unit, answer.recorder, insertedRowCount(answer));
            if (unit.givenEdits != null) {
                return;
            }
        }
        if (sequenceDraws.mayLeaveRandomUuid(unit.insert) && !unit.classification.has(Trait.NON_DETERMINISTIC)) {
            stats.nonDeterministic(reading.normalize(unit.sql)); // each cluster makes up its own
        }
    }

    /**
     * Where the leader's answer to {@code unit}, a statement creating a large object whose OID the server picks, was
     * that OID, the follower's copy is given it ({@link Unit#givenEdits}): each cluster's OID counter is its own.
     */
    void giveLargeObjectOid(Unit unit, Sink answer) {
        if (unit.largeObject == null || unit.givenEdits != null || answer.error || answer.lost || answer.recorder == null) {
            return;
        }
        List<String> oids = answer.recorder.capturedOids();
        if (oids != null && oids.size() == 1 && answer.recorder.outcomes().size() == 1 && mayGive(unit)) {
            unit.givenEdits = List.of(unit.largeObject.given(oids.getFirst()));
        } else {
            stats.nonDeterministic(reading.normalize(unit.sql)); // each cluster picks its own
            unit.largeObject = null; // (counted once, should primaryDone run again for the unit)
        }
    }

    /** {@link #giveUuids}: the edits that give the follower the uuids {@code recorder} read, where they may be given. */
    private List<TransactionTime.Edit> capturedUuids(Unit unit, OutcomeRecorder recorder, long inserted) {
        List<String> values = recorder.capturedUuids();
        String column = values == null ? null : recorder.capturedUuidColumn();
        String place = column == null ? null : recorder.capturedUuidPlace();
        if (place == null) {
            return null;
        }
        if (unit.givenStatement != null && recorder.uuidsDescribed()) {
            // (kept from this run's RowDescription only: a place kept before, which DDL may have made stale, is not kept again)
            statements.keepIdsAt(unit, unit.givenStatement, new IdsAt(column, recorder.capturedUuidField(), place));
        }
        // the column the rows say the values come from must be the one the table defaults so (not another column, or an
        // expression, returned under its name); learned by now where the session did not know the table
        List<String> left = sequenceDraws.randomUuids(unit.insert);
        return left.size() == 1 && left.getFirst().equals(column) && place.equals(sequenceDraws.place(unit.insert, column))
                && recorder.outcomes().size() == 1 && inserted == values.size() ? givenToFollower(unit, column, values) : null;
    }

    /**
     * What the follower is to take of what the leader made up for {@code unit}, which it answered with {@code answer}
     * and its question with {@code drawn} ({@link Units#drawsAnswered}, which deals with a question that failed),
     * {@code status} being the session's.
     */
    SequenceDraws.Generated answered(Unit unit, Sink answer, Sink drawn, byte status) {
        SequenceDraws.Generated generated = unit.drawsPipelined ? SequenceDraws.drawn(drawn.rows)
                : unit.eachInserts != null ? sequenceDraws.learnedEach(drawing(unit.eachInserts), drawn.rows)
                : sequenceDraws.learned(unit.insert, drawn.rows);
        // (outside the statement's transaction it is another start)
        String start = answer.status != 'T' ? null : generated.start() != null ? generated.start() : unit.knownStart;
        if (start != null && status == 'T') {
            transactionStart = start; // (the unit ran in a transaction that goes on: its later statements take it)
        }
        if (unit.asksStart) {
            return SequenceDraws.Generated.NOTHING; // (the follower is told it with the statement that reads it)
        }
        long inserted = unit.oneShape ? insertedRowCount(answer) : 0;
        // a query's rows of several (INSERT … SELECT) each cluster may produce in another order: the same ids would go
        // to other rows
        // (a text the proxy kept the beginning of only may say less about its rows than they are)
        long rows;
        if (unit.eachInserts != null) {
            rows = oneRowEach(unit, answer) ? 1 : 0; // (each table's rows one per insert into it: eachRows)
        } else if (unit.insert != null && unit.insert.upsert()) {
            rows = unit.oneShape ? upsertDraws(unit, answer) : 0; // (its tag does not count the rows it left)
        } else if (inserted > 1 && (unit.shortenedText || unit.insert == null || unit.insert.places() == null
                || unit.insert.places().rows().isEmpty())
                && answer.recorder.outcomes().stream().anyMatch(outcome -> !"INSERT 0 1".equals(outcome.commandTag()))) {
            rows = 0;
        } else {
            rows = inserted;
        }
        List<SequenceDraws.Draw> draws = rows == 0 ? List.of() : unit.eachInserts != null ? eachRows(unit.eachInserts, generated.draws())
                : generated.draws().stream().map(draw -> draw.ofRows(rows)).toList();
        long[] ids = unit.idsColumn == null ? null : answer.recorder.captured();
        if (ids != null && unit.givenStatement != null) {
            statements.keepIdsAt(unit, unit.givenStatement, new IdsAt(unit.idsColumn, answer.recorder.capturedField(), null));
        }
        if (ids != null && ids.length == rows && draws.size() == 1 && draws.getFirst().value() == ids[ids.length - 1]) {
            // (the last row drew the leader's currval)
            unit.givenEdits = givenToFollower(unit, unit.idsColumn, Arrays.stream(ids).mapToObj(String::valueOf).toList());
            if (unit.givenEdits != null) {
                draws = List.of(draws.getFirst().givenRows(Arrays.stream(ids).boxed().toList()));
            }
        }
        return new SequenceDraws.Generated(draws, start);
    }

    /**
     * How many times {@code unit}, an upsert of one text, drew from each sequence it leaves a column to: once per row it
     * proposed, whether the server inserted the row, updated the one there or left it. 0 where that is not known: it
     * failed, or a query made up its rows (the server may have cut the query short at a conflict, or not).
     */
    private static long upsertDraws(Unit unit, Sink answer) {
        return ranInserts(answer, false) && answer.recorder.outcomes().size() == runs(unit) ? Math.max(0, proposedRows(unit)) : 0;
    }

    /**
     * How many rows {@code unit}, an insert of one text, proposed in all: each drew from the sequences the statement
     * leaves columns to, whether the server inserted it or (an upsert) found it there. -1 where a query makes them up.
     */
    private static long proposedRows(Unit unit) {
        InsertShape.Places places = unit.insert.places();
        if (places == null || (places.rows().isEmpty() && places.defaultValuesStart() < 0)) {
            return -1;
        }
        return runs(unit) * Math.max(1, places.rows().size());
    }

    /** How many times {@code unit} runs its statements: its Executes, or its one Query. */
    static long runs(Unit unit) {
        long runs = 0;
        for (Frame frame : unit.frames) {
            if (frame.type() == FrontendMessages.EXECUTE || frame.type() == FrontendMessages.QUERY) {
                runs++;
            }
        }
        return runs;
    }

    /**
     * The follower's text for the client's {@code sql} (read from a frame as UTF-8): what reads the transaction's
     * start, and the columns a one-row insert leaves to a default reading it, made to read the leader's; null where
     * there is nothing to rewrite, or the text is not its bytes read as UTF-8.
     */
    String rewrittenToFollow(String sql) {
        return rewrittenToFollow(sql, List.of());
    }

    /** {@link #rewrittenToFollow(String)} with {@code given} made too. */
    String rewrittenToFollow(String sql, List<TransactionTime.Edit> given) {
        List<TransactionTime.Edit> reads = sequenceDraws.startEdits(sql, reading);
        List<TransactionTime.Edit> supplied = supplied(sql);
        if ((reads.isEmpty() && supplied.isEmpty() && given.isEmpty()) || !utf8(sql)) {
            return null;
        }
        List<TransactionTime.Edit> edits = new ArrayList<>(reads);
        edits.addAll(supplied);
        edits.addAll(given);
        edits.sort(Comparator.comparingInt(TransactionTime.Edit::start));
        return TransactionTime.apply(sql, edits);
    }

    /**
     * The columns the inserts of {@code sql} leave to a default reading the transaction's start, made to read the
     * leader's ({@link SequenceDraws#supplied}): of its one statement, or of each of a string of several.
     */
    private List<TransactionTime.Edit> supplied(String sql) {
        List<StatementTexts.Slice> statements = mayHoldSeveral(sql) ? reading.statements(sql) : List.of();
        if (statements.size() < 2) {
            return sequenceDraws.shapeOf(sql, reading).map(sequenceDraws::supplied).orElse(List.of());
        }
        List<TransactionTime.Edit> edits = new ArrayList<>(0);
        for (StatementTexts.Slice statement : statements) {
            for (TransactionTime.Edit edit : sequenceDraws.shapeOf(statement.text(), reading).map(sequenceDraws::supplied)
                    .orElse(List.of())) {
                edits.add(new TransactionTime.Edit(statement.start() + edit.start(), statement.start() + edit.end(), edit.text()));
            }
        }
        return edits;
    }

    /**
     * Whether {@code sql} may be a string of several statements: something follows a semicolon outside a plain
     * {@code '…'} string. A look that costs less than lexing it, for every text the follower is sent (pgbench's end in
     * a semicolon; a bulk insert's values may hold some). It may say yes where lexing then finds one statement (a
     * semicolon in a dollar-quoted string), not the other way round but where quotes are written in a way it does not
     * follow (a quote inside a dollar-quoted string), which only leaves such a string's defaults unread.
     */
    static boolean mayHoldSeveral(String sql) {
        boolean quoted = false;
        for (int i = 0; i < sql.length(); i++) {
            char c = sql.charAt(i);
            if (c == '\'') {
                quoted = !quoted; // ('' inside a string closes and opens it again)
            } else if (c == ';' && !quoted) {
                for (int j = i + 1; j < sql.length(); j++) {
                    if (!Character.isWhitespace(sql.charAt(j))) {
                        return true;
                    }
                }
                return false;
            }
        }
        return false;
    }

    /** Whether {@code sql}, read from a frame as UTF-8, is its bytes there: no byte was one UTF-8 does not have. */
    static boolean utf8(String sql) {
        for (int i = 0; i < sql.length(); i++) {
            if (sql.charAt(i) == '\uFFFD') {
                return false; // a byte that is not UTF-8 (LATIN1 text): its bytes would not come back
            }
        }
        return true;
    }
}
