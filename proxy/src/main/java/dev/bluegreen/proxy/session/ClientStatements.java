package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.protocol.ProtocolViolation;
import dev.bluegreen.proxy.routing.Classification;
import dev.bluegreen.proxy.routing.Classifier;
import dev.bluegreen.proxy.routing.InsertShape;
import dev.bluegreen.proxy.routing.Kind;
import dev.bluegreen.proxy.routing.Trait;
import dev.bluegreen.proxy.routing.TransactionTime;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A session's prepared statements and portals as the proxy reads them from the client's messages in units mode
 * ({@link Units}): what each statement prepared by name runs, its text (or the beginning of it), a copy of its Parse where
 * the follower's copy is rewritten, where its ids are among its rows; the unnamed statement's last Parse; and from all
 * of that, what each unit runs ({@link #classify}). Owned by the session's event loop.
 */
final class ClientStatements {

    /** A function call ('F'): a write, since the function is not known; one that cannot end a transaction. */
    private static final Classification FUNCTION_CALL =
            new Classification(Kind.WRITE, EnumSet.noneOf(Trait.class), 1, Optional.empty());
    /** At most so many forgotten statement names are kept as hints ({@link #forgotten}); pgjdbc caches 256. */
    private static final int MAX_FORGOTTEN_NAMES = 1024;
    /** What is kept of a named statement's text: a divergence record keeps less (MigrationStats). */
    static final int MAX_STATEMENT_TEXT = 2048;
    /** Named statements kept to be prepared again rewritten ({@link #followerRewritable}): at most so many a session, */
    private static final int MAX_REWRITABLE = 256;
    /** and of at most so many bytes together. */
    private static final int MAX_REWRITABLE_BYTES = 512 * 1024;

    /**
     * What the proxy read of the whole text of a statement prepared by name whose beginning alone it keeps: its shape,
     * where it is an {@code INSERT} (which rows it inserts, which columns each leaves to their defaults), and whether it
     * reads the transaction's start itself. The beginning may show neither: pgjdbc's rewritten batch of 64 rows is
     * longer than kept, an upsert's {@code ON CONFLICT} or an {@code UPDATE}'s {@code now()} may come after the cut.
     */
    record Whole(InsertShape insert, boolean readsStart) {}

    /**
     * The result column {@code column} of a statement's rows is the one at {@code field}, the table column
     * {@code place} ({@link dev.bluegreen.proxy.dualwrite.OutcomeRecorder#capturedUuidPlace}; null for ids).
     */
    record IdsAt(String column, int field, String place) {}

    private final SqlReading reading;
    private final Classifier classifier;
    private final ByteBufAllocator alloc;
    /** What the relay knew to change no data when this units mode began (see {@link #readingStatements()}). */
    private final Set<String> relayReadingStatements;
    /** What each statement prepared by name runs, as far as the proxy knows. */
    private final Map<String, Classification> statements = new HashMap<>();
    /**
     * The text of each named statement in {@link #statements} whose Parse (or replay) the proxy saw, at most
     * {@link #MAX_STATEMENT_TEXT} characters of it: what a divergence or a non-deterministic count of a unit that
     * only binds it by name is recorded under, rather than no statement at all.
     */
    private final Map<String, String> statementTexts = new HashMap<>();
    /** What the whole text says of each named statement of {@link #statementTexts} kept the beginning of only. */
    private final Map<String, Whole> cutTexts = new HashMap<>();
    /**
     * A copy of the Parse of each named statement whose follower copy is rewritten, or may be once the session knows its
     * table (it reads the transaction's start, or inserts a row: {@link Units#writeToFollower}), so that when the leader
     * changes the cluster that follows from then on can be given it rewritten ({@link Units#prepareAgainToFollow}): it was
     * prepared there as the client sent it, while that cluster led.
     */
    private final Map<String, ByteBuf> followerRewritable = new HashMap<>();
    /** The bytes of {@link #followerRewritable}'s Parses together. */
    private int rewritableBytes;
    /**
     * Statement names {@link #forgetStatementNames} forgot, with what they were: a hint for whether a Bind of one may
     * commit (pgjdbc binds its own prepared COMMIT by name), never for where it runs.
     */
    private final Map<String, Classification> forgotten = new HashMap<>();
    /**
     * Set by {@link #classify} and {@link #learn}: what they read binds a statement the proxy cannot read that may be a
     * COMMIT (one it never saw parsed, or one it forgot while it was a COMMIT), or is SQL it cannot read.
     */
    private boolean unreadMayCommit;
    /**
     * The same for a statement the proxy does not wrap in a transaction of its own ({@link UnitRules#transactionShaped}: a
     * BEGIN, a CALL, a VACUUM ...), of a Bind only. (SQL the proxy cannot lex the server most likely cannot parse
     * either: that is still wrapped.)
     */
    private boolean unreadUnwrapped;
    /** The statement each open portal was bound from, for an Execute that continues it without a Bind. */
    private final Map<String, Classification> portals = new HashMap<>();
    private Classification unnamedStatement = Classification.unparseable();
    /** A Parse of the unnamed statement was seen in this units mode ({@link #unnamedStatement} is its). */
    private boolean unnamedLearned;
    /** The unit {@link #classify} last looked at parses or closes a named statement. */
    private boolean namesStatements;
    /** The unit {@link #classify} last looked at binds the unnamed statement without parsing it first. */
    private boolean reusesUnnamed;
    /** The unit {@link #classify} last looked at executes a portal an earlier unit bound. */
    private boolean continuesPortal;
    /** The last Parse of the unnamed statement, whole, to parse it again ahead of a unit that reuses it. */
    private ByteBuf unnamedParse;
    /** Where, among the rows a statement prepared by name returns, its ids are ({@link GeneratedValues#capture}). */
    private final Map<String, IdsAt> idsAt = new HashMap<>();
    /**
     * How many times entries of {@link #idsAt} were dropped (a Close, a leader change): a unit that began before keeps
     * nothing there, its statement perhaps closed and prepared anew under its name meanwhile ({@link #keepIdsAt}).
     */
    private long idsAtForgets;

    ClientStatements(SqlReading reading, Classifier classifier, ByteBufAllocator alloc, Set<String> relayReadingStatements) {
        this.reading = reading;
        this.classifier = classifier;
        this.alloc = alloc;
        this.relayReadingStatements = Set.copyOf(relayReadingStatements);
    }

    /** The unit {@link #classify} last looked at parses or closes a named statement; or a frame {@link #learn} read does. */
    boolean namesStatements() {
        return namesStatements;
    }

    /** The unit {@link #classify} last looked at binds the unnamed statement without parsing it first. */
    boolean reusesUnnamed() {
        return reusesUnnamed;
    }

    /** The unit {@link #classify} last looked at executes a portal an earlier unit bound. */
    boolean continuesPortal() {
        return continuesPortal;
    }

    /** See {@link #unreadMayCommit}: of the unit {@link #classify} or the frame {@link #learn} last read. */
    boolean unreadMayCommit() {
        return unreadMayCommit;
    }

    /** See {@link #unreadUnwrapped}. */
    boolean unreadUnwrapped() {
        return unreadUnwrapped;
    }

    /** What statement {@code name}, prepared by name, runs; null where the proxy does not know it. */
    Classification classification(String name) {
        return statements.get(name);
    }

    /** The text of statement {@code name}, prepared by name, or its beginning ({@link #shortened}); null if not kept. */
    String text(String name) {
        return statementTexts.get(name);
    }

    /** What the whole text of statement {@code name} says, where its beginning alone is kept; null otherwise. */
    Whole cutText(String name) {
        return cutTexts.get(name);
    }

    /** The client's Parse of the statement {@code name}, kept for the follower ({@link #keepIfRewritable}); null if not kept. */
    ByteBuf keptParse(String name) {
        return followerRewritable.get(name);
    }

    /** Every Parse kept for the follower, by statement name. */
    Map<String, ByteBuf> keptParses() {
        return Collections.unmodifiableMap(followerRewritable);
    }

    /** The last Parse of the unnamed statement, whole; null if there is none. */
    ByteBuf unnamedParse() {
        return unnamedParse;
    }

    /** A twin was given statement {@code name} from the session's snapshot, prepared as {@code sql}. */
    void replayed(String name, String sql) {
        statements.put(name, reading.classify(classifier, sql));
        keepText(name, sql);
    }

    /** The session leaves units mode, or closes: lets go of the buffers held. */
    void release() {
        forgetUnnamedParse();
        forgetKeptParses();
    }

    /**
     * Remembers what a Parse names. A name parsed again without a Close is either an error (the name is
     * taken) or follows an earlier Parse that failed; which one is known only from the answer, so the
     * name keeps the classification that writes if either does. True when it parses the unnamed statement.
     */
    private boolean learnParse(ByteBuf all, int offset, int length) {
        String name = FrontendMessages.parseName(all, offset, length);
        String sql = FrontendMessages.parseSql(all, offset, length, reading.encoding());
        Classification parsed = reading.classify(classifier, sql);
        if (parsed.has(Trait.NAMES_STATEMENTS)) {
            forgetStatementNames();
        }
        if (name.isEmpty()) {
            unnamedStatement = parsed;
            unnamedLearned = true;
            forgetUnnamedParse();
            unnamedParse = all.retainedSlice(offset, length);
            return true;
        }
        if (!statements.containsKey(name)) {
            // (a name parsed again without a Close is refused by the server: the text that stands is the first)
            keepText(name, sql);
        }
        statements.merge(name, parsed, (before, now) -> before.isRead() ? now : before);
        forgotten.remove(name);
        namesStatements = true;
        return false;
    }

    /** The classification of the statement a Bind binds, remembered for {@code portal}. */
    private Classification learnBind(ByteBuf all, int offset, int length, String portal) {
        String name = FrontendMessages.bindStatement(all, offset, length);
        Classification bound = name.isEmpty() ? unnamedStatement : statements.getOrDefault(name, Classification.unparseable());
        portals.put(portal, bound);
        if (bound.has(Trait.UNPARSEABLE)) {
            Classification was = name.isEmpty() ? null : forgotten.get(name);
            boolean unknown = was == null || was.has(Trait.UNPARSEABLE);
            unreadMayCommit |= unknown || UnitRules.mayCommit(was);
            unreadUnwrapped |= unknown || UnitRules.transactionShaped(was);
        }
        if (bound.has(Trait.NAMES_STATEMENTS)) {
            forgetStatementNames(); // a DEALLOCATE or a DO prepared by name, run again
        }
        return bound;
    }

    private void learnClose(ByteBuf all, int offset, int length) {
        String name = FrontendMessages.closedStatement(all, offset, length);
        if (name == null) {
            portals.remove(FrontendMessages.closedPortal(all, offset, length));
        } else if (!name.isEmpty()) {
            statements.remove(name);
            statementTexts.remove(name);
            cutTexts.remove(name);
            forgetKeptParse(name);
            idsAt.remove(name);
            idsAtForgets++; // (a unit that began before this keeps nothing for the name: keepIdsAt)
            forgotten.remove(name);
            namesStatements = true;
        }
    }

    /**
     * Keeps a copy of the Parse of statement {@code name}, on its way to the follower, when its follower copy is
     * rewritten or may be once the session knows its table (an INSERT). False when it cannot be kept (too many, or too
     * many bytes together): the follower is then sent the client's text, so that no cluster holds a rewritten statement
     * the proxy could not put back.
     */
    boolean keepIfRewritable(String name, ByteBuf all, int offset, int length) {
        forgetKeptParse(name);
        if (followerRewritable.size() >= MAX_REWRITABLE || rewritableBytes + length > MAX_REWRITABLE_BYTES) {
            return false;
        }
        ByteBuf copy = alloc.buffer(length);
        copy.writeBytes(all, offset, length);
        followerRewritable.put(name, copy);
        rewritableBytes += length;
        return true;
    }

    private void forgetKeptParse(String name) {
        ByteBuf kept = followerRewritable.remove(name);
        if (kept != null) {
            rewritableBytes -= kept.readableBytes();
            kept.release();
        }
    }

    /** SQL's PREPARE, DEALLOCATE or DISCARD ALL ran: no named statement's classification can be trusted. */
    private void forgetStatementNames() {
        if (forgotten.size() + statements.size() > MAX_FORGOTTEN_NAMES) {
            forgotten.clear(); // a driver that re-prepares under new names after each DISCARD ALL never closes the old
        }
        forgotten.putAll(statements);
        statements.clear(); // a Bind of a name not known is a write: safe, if slower
        statementTexts.clear();
        cutTexts.clear();
        forgetKeptParses();
    }

    /** Lets go of the Parses kept for the follower ({@link #followerRewritable}) and of what {@link #idsAt} says of them. */
    void forgetKeptParses() {
        followerRewritable.values().forEach(ByteBuf::release);
        followerRewritable.clear();
        rewritableBytes = 0;
        forgetIdsAt();
    }

    /** Lets go of what {@link #idsAt} says of every statement (learned from the rows of a cluster that no longer leads). */
    void forgetIdsAt() {
        idsAt.clear();
        idsAtForgets++;
    }

    /** Where the ids, or the random uuids, are among the rows statement {@code name} returns, as a Describe found; or null. */
    IdsAt idsAt(String name) {
        return idsAt.get(name);
    }

    /** {@code unit} begins: it keeps what it learns of where its statement's ids are only if nothing is forgotten meanwhile. */
    void unitBegins(Unit unit) {
        unit.idsAtAsOf = idsAtForgets;
    }

    /** Keeps {@code at} for statement {@code name}, unless entries were dropped since {@code unit} began. */
    void keepIdsAt(Unit unit, String name, IdsAt at) {
        if (unit.idsAtAsOf == idsAtForgets) {
            idsAt.put(name, at);
        }
    }

    /**
     * The relay ran a Parse of the unnamed statement before this units mode began, and nothing ended it since:
     * learnt as if this units mode had seen it, so that a unit that binds it without parsing it parses it again
     * first, where the twin never had it and the leader lost it to the proxy's own queries. The caller keeps its
     * reference to {@code parse}.
     */
    void unnamedParsedBefore(ByteBuf parse) {
        try {
            learnParse(parse, parse.readerIndex(), parse.readableBytes());
        } catch (ProtocolViolation malformed) {
            // the server answered it with the error: there is no statement to give the twin
        }
    }

    void forgetUnnamedParse() {
        if (unnamedParse != null) {
            unnamedParse.release();
            unnamedParse = null;
        }
    }

    /**
     * What a frame that continues a running unit parses, binds or closes, for the units after it; and
     * what it will run, when it is a Bind or a Query the server does not skip (null otherwise).
     */
    Classification learn(Frame frame, boolean skipped) {
        unreadMayCommit = false;
        unreadUnwrapped = false;
        ByteBuf all = frame.content();
        int offset = all.readerIndex();
        int length = all.readableBytes();
        switch (frame.type()) {
            case 'P' -> learnParse(all, offset, length);
            case 'B' -> {
                Classification bound = learnBind(all, offset, length, FrontendMessages.bindPortal(all, offset, length));
                return skipped ? null : bound;
            }
            case 'C' -> learnClose(all, offset, length);
            case 'Q' -> {
                if (skipped) {
                    return null;
                }
                Classification query = reading.classify(classifier,
                        FrontendMessages.querySql(all, offset, length, reading.encoding()));
                if (query.has(Trait.NAMES_STATEMENTS)) {
                    forgetStatementNames();
                }
                unreadMayCommit |= query.has(Trait.UNPARSEABLE);
                return query;
            }
            default -> { }
        }
        return null;
    }

    /**
     * The kind and traits of the unit of the first {@code count} of {@code pending}: the union over its statements (a unit
     * is a read only if all of them are); {@code status}, the session's, is idle where portals are gone.
     */
    Classification classify(ArrayDeque<Frame> pending, int count, byte status) {
        Kind kind = Kind.READ;
        Set<Trait> traits = EnumSet.noneOf(Trait.class);
        Optional<String> tenant = Optional.empty();
        int statementCount = 0;
        int i = 0;
        namesStatements = false;
        reusesUnnamed = false;
        continuesPortal = false;
        unreadMayCommit = false;
        unreadUnwrapped = false;
        boolean parsedUnnamed = false;
        if (status == 'I') {
            portals.clear(); // a portal ends with its transaction
        }
        String boundPortal = null;
        boolean describesWrite = false;
        Classification only = null; // the one statement's answer, when that is the whole unit's
        for (Frame frame : pending) {
            if (i++ == count) {
                break;
            }
            ByteBuf all = frame.content();
            int offset = all.readerIndex();
            int length = all.readableBytes();
            Classification c = switch (frame.type()) {
                case 'Q' -> {
                    Classification query = reading.classify(classifier,
                            FrontendMessages.querySql(all, offset, length, reading.encoding()));
                    if (query.has(Trait.NAMES_STATEMENTS)) {
                        forgetStatementNames();
                    }
                    unreadMayCommit |= query.has(Trait.UNPARSEABLE);
                    yield query;
                }
                case 'P' -> {
                    parsedUnnamed |= learnParse(all, offset, length);
                    yield null; // counted when bound
                }
                case 'B' -> {
                    boundPortal = FrontendMessages.bindPortal(all, offset, length);
                    reusesUnnamed |= !parsedUnnamed && FrontendMessages.bindStatement(all, offset, length).isEmpty();
                    yield learnBind(all, offset, length, boundPortal);
                }
                case 'E' -> {
                    // an Execute with no Bind before it continues a portal bound in an earlier unit (pgjdbc's
                    // fetch size): it runs what that portal runs, where that unit ran it
                    String portal = FrontendMessages.executePortal(all, offset, length);
                    if (portal.equals(boundPortal)) {
                        yield null;
                    }
                    continuesPortal = true;
                    yield portals.getOrDefault(portal, Classification.unparseable());
                }
                case 'C' -> {
                    learnClose(all, offset, length);
                    yield null;
                }
                case 'D' -> {
                    // a Describe alone (how pgx, asyncpg and pgjdbc's metadata prepare a statement) answers with
                    // the parameter and column types of the cluster that runs it: those of a write are the leader's
                    String statement = FrontendMessages.describedStatement(all, offset, length);
                    reusesUnnamed |= !parsedUnnamed && "".equals(statement); // (as a Bind of it: parsed again ahead)
                    Classification described = statement == null
                            ? portals.get(FrontendMessages.describedPortal(all, offset, length))
                            : statement.isEmpty() ? unnamedStatement : statements.getOrDefault(statement, Classification.unparseable());
                    describesWrite |= described != null && !described.isRead();
                    yield null;
                }
                case 'F' -> FUNCTION_CALL;
                default -> null;
            };
            if (c != null) {
                only = statementCount == 0 && c.statementCount() > 0 ? c : null;
                statementCount += Math.max(1, c.statementCount());
                if (!c.isRead()) {
                    kind = Kind.WRITE;
                }
                traits.addAll(c.traits());
                if (c.tenant().isPresent() || c.has(Trait.TENANT_SETTING)) {
                    tenant = c.tenant();
                }
            }
        }
        if (statementCount > 1) {
            traits.add(Trait.MULTI_STATEMENT);
        }
        if (describesWrite && statementCount == 0) {
            kind = Kind.WRITE; // runs nothing: on both twins (the follower learns the statement too), unwrapped
        }
        if (reusesUnnamed && parsedUnnamed) {
            // a Bind of "" came before this unit's own Parse of "": the Parse kept is this unit's, not the one
            // that Bind meant, so nothing is put ahead of the unit
            reusesUnnamed = false;
        }
        if (only != null && only.statementCount() == statementCount) {
            return only; // (the union of one answer is that answer)
        }
        if (!traits.contains(Trait.TENANT_SETTING)) {
            tenant = Optional.empty();
        }
        return new Classification(kind, traits, statementCount, tenant);
    }

    /** The texts of the named statements a unit with no Parse or Query binds, each once, as far as they are known. */
    void boundTexts(Unit unit, StringBuilder sql) {
        Set<String> texts = new LinkedHashSet<>(2);
        for (Frame frame : unit.frames) {
            if (frame.type() == FrontendMessages.BIND) {
                ByteBuf all = frame.content();
                String name = FrontendMessages.bindStatement(all, all.readerIndex(), all.readableBytes());
                String text = !name.isEmpty() ? statementTexts.get(name) : unnamedParse == null ? null
                        : shortText(FrontendMessages.parseSql(unnamedParse, unnamedParse.readerIndex(),
                                unnamedParse.readableBytes(), reading.encoding()));
                if (text != null) {
                    texts.add(text);
                }
            }
        }
        sql.append(String.join("; ", texts));
    }

    /** Keeps the text of the statement named {@code name}, or its beginning ({@link #statementTexts}). */
    private void keepText(String name, String sql) {
        String kept = shortText(sql);
        statementTexts.put(name, kept);
        if (shortened(kept)) {
            cutTexts.put(name, new Whole(reading.insertShape(sql).orElse(null),
                    TransactionTime.mayRead(sql) && !reading.startEdits(sql).isEmpty()));
        } else {
            cutTexts.remove(name);
        }
    }

    /** Whether {@code sql} is a text {@link #shortText} cut. */
    static boolean shortened(String sql) {
        return sql.length() > MAX_STATEMENT_TEXT && sql.endsWith("…");
    }

    private static String shortText(String sql) {
        return sql.length() <= MAX_STATEMENT_TEXT ? sql : sql.substring(0, MAX_STATEMENT_TEXT) + "…";
    }

    /** The names of the session's prepared statements known to read the system catalogs, {@code ""} for the unnamed one. */
    Set<String> catalogStatements() {
        Set<String> catalog = new HashSet<>();
        statements.forEach((name, c) -> {
            if (c.has(Trait.CATALOG)) {
                catalog.add(name);
            }
        });
        if (unnamedLearned && unnamedStatement.has(Trait.CATALOG)) {
            catalog.add("");
        }
        return catalog;
    }

    /**
     * The names of the session's prepared statements known to change no data, {@code ""} for the unnamed one:
     * what this units mode learned, and for the names it did not (a twin that failed before its snapshot
     * said what the session holds), what the relay knew before it.
     */
    Set<String> readingStatements() {
        Set<String> reading = new HashSet<>();
        for (String name : relayReadingStatements) {
            if (!statements.containsKey(name) && (!name.isEmpty() || !unnamedLearned)) {
                reading.add(name);
            }
        }
        statements.forEach((name, c) -> {
            if (!c.mayChangeData()) {
                reading.add(name);
            }
        });
        if (unnamedLearned && !unnamedStatement.mayChangeData()) {
            reading.add("");
        }
        return reading;
    }
}
