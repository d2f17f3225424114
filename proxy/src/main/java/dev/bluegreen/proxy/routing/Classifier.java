package dev.bluegreen.proxy.routing;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Decides whether SQL text is provably read-only (DESIGN §4.2) and which {@link Trait}s it has. Thread-safe;
 * answers are cached by the exact text, since applications send the same few hundred statements over and
 * over.
 *
 * <p>Texts that differ only in the numbers written into them ({@code where aid = 5123}) share an entry under
 * their {@link NumberShape}, when every statement in them is one whose answer reads no number
 * ({@link StatementClassifier#numberBlind}: queries and plain DML) and the lexer agrees that each masked run
 * is a number. Others with numbers are cached by their exact text.
 *
 * <p>A text (or shape) enters the cache only the second time it is seen. Texts with other values written in
 * (strings) are a new text nearly every time; caching each of them cost an insert and an eviction per query
 * and pushed the texts that do repeat out of the cache. A small table of recent hashes remembers what was
 * seen once.
 *
 * <p>A string of several statements is a read only if every statement is; its traits are the union of
 * theirs, plus {@link Trait#MULTI_STATEMENT}. Text that cannot be lexed (an unterminated quote or
 * comment) and unknown statements are writes with {@link Trait#UNPARSEABLE}; text with no statement at all
 * (empty, blanks, comments) is a read of none, as the server runs nothing for it.
 */
public final class Classifier {

    /**
     * Longer texts are classified every time rather than cached: they are mostly one-off bulk statements,
     * and caching them would let a few of them hold megabytes.
     */
    static final int MAX_CACHED_LENGTH = 16 * 1024;

    private final Cache<String, Classification> cache;
    /** Hashes of texts seen once, by slot; read and written without synchronisation (a lost update costs one miss). */
    private final int[] seenOnce;
    private final StatementClassifier statements;

    /** @param cacheSize the most SQL texts to remember */
    public Classifier(int cacheSize) {
        this(cacheSize, Set.of());
    }

    /**
     * @param cacheSize           the most SQL texts to remember
     * @param extraWriteFunctions names of the application's own functions that write (matched on their last
     *                            component, case-insensitively): a query calling one is never a read
     */
    public Classifier(int cacheSize, Set<String> extraWriteFunctions) {
        if (cacheSize < 0) {
            throw new IllegalArgumentException("cacheSize < 0");
        }
        // evict on the caller's thread: the cache stays bounded without a background pool
        this.cache = Caffeine.newBuilder().maximumSize(cacheSize).executor(Runnable::run).build();
        this.seenOnce = new int[Integer.highestOneBit(Math.clamp(cacheSize, 8, 1 << 20) - 1) << 1];
        this.statements = new StatementClassifier(new FunctionCatalog(extraWriteFunctions));
    }

    public Classification classify(String sql) {
        Objects.requireNonNull(sql, "sql");
        if (sql.length() > MAX_CACHED_LENGTH) {
            return classifyUncached(sql, false).classification();
        }
        String shape = NumberShape.of(sql);
        Classification cached = cache.getIfPresent(shape != null ? shape : sql);
        if (cached == null && shape != null) {
            cached = cache.getIfPresent(sql); // a statement whose numbers count (EXPLAIN, SET)
        }
        if (cached != null) {
            return cached;
        }
        Fresh fresh = classifyUncached(sql, false);
        // the shape is trusted once the lexer has found a number at every run the quick scan masked
        boolean shapeHolds = shape != null && fresh.numberBlind() && shape.equals(NumberShape.of(sql, fresh.tokens()));
        String key = shapeHolds ? shape : sql;
        if (seenBefore(key)) {
            cache.put(key, fresh.classification());
        }
        return fresh.classification();
    }

    /**
     * Classifies text as a session with {@code standard_conforming_strings = off} means it: a backslash in
     * a plain string escapes. Not cached: such sessions are rare, and the cache holds texts read the
     * standard way.
     */
    public Classification classifyWithBackslashStrings(String sql) {
        Objects.requireNonNull(sql, "sql");
        return classifyUncached(sql, true).classification();
    }

    /**
     * Where a string's closing transaction end begins, when the string is a transaction's statements followed
     * by its end alone: {@code BEGIN; UPDATE ...; COMMIT}, or {@code UPDATE ...; COMMIT} inside a transaction
     * already open. A {@code ROLLBACK TO} a savepoint counts as an end here: it releases the row locks the
     * statements before it took. Null for anything else: a last statement that is not a plain {@code COMMIT},
     * {@code END}, {@code ROLLBACK} or {@code ABORT} (with {@code WORK}, {@code TRANSACTION}, {@code AND [NO]
     * CHAIN}) or {@code ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name}, or an
     * earlier one that begins or ends a transaction (but for a first {@code BEGIN}), goes back to a savepoint,
     * copies, listens, imports a snapshot, sets a setting, may commit on its own or cannot be read; and a lone {@code BEGIN}
     * before the end. Not cached: asked only of the few strings that end a transaction among other statements.
     */
    public TransactionTail transactionTail(String sql, boolean backslashInPlainStrings) {
        Lexed lexed = Lexer.lex(sql, backslashInPlainStrings);
        if (!lexed.readable()) {
            return null;
        }
        List<List<Token>> split = Statements.split(lexed.tokens());
        if (split.size() < 2 || !(plainEnd(split.getLast()) || rollbackTo(split.getLast()))) {
            return null;
        }
        boolean opens = false;
        for (int i = 0; i < split.size() - 1; i++) {
            Classification one = statements.classify(new Statement(split.get(i)));
            if (i == 0 && one.has(Trait.TRANSACTION_BEGIN) && !one.has(Trait.TRANSACTION_END)
                    && !one.has(Trait.UNPARSEABLE)) {
                opens = true;
                continue;
            }
            if (!mayComeBeforeTransactionTail(one.traits())) {
                return null;
            }
        }
        if (opens && split.size() == 2) {
            return null; // BEGIN; COMMIT: nothing for the follower to catch up with
        }
        return new TransactionTail(split.getLast().getFirst().start(), opens);
    }

    /**
     * Whether a statement with these traits may be among those before a transaction's end split off as {@link #transactionTail}
     * splits one: nothing that begins or ends a transaction, goes back to a savepoint, copies, listens, imports
     * a snapshot, may commit on its own or cannot be read; nor a setting ({@code SET}, {@code SET LOCAL},
     * {@code set_config}), which the server reports at each ReadyForQuery: the first part's would tell the client
     * of a value the whole would not have (a {@code SET LOCAL DateStyle} undone by the end).
     */
    public static boolean mayComeBeforeTransactionTail(Set<Trait> traits) {
        return Collections.disjoint(traits, TAIL_FORBIDS);
    }

    /** What a statement before a transaction's end must not be for {@link #transactionTail} to find one. */
    private static final Set<Trait> TAIL_FORBIDS = EnumSet.of(Trait.TRANSACTION_BEGIN, Trait.TRANSACTION_END,
            Trait.ROLLBACK_TO, Trait.NOT_IN_TRANSACTION_BLOCK, Trait.TRANSACTION_CONTROL, Trait.COPY_FROM_STDIN,
            Trait.COPY_TO_STDOUT, Trait.IMPORTS_SNAPSHOT, Trait.LISTEN, Trait.UNPARSEABLE, Trait.SESSION_STATE,
            Trait.SET_LOCAL);

    /** {@code COMMIT | END | ROLLBACK | ABORT [WORK | TRANSACTION] [AND [NO] CHAIN]} and nothing else. */
    private static boolean plainEnd(List<Token> s) {
        Token first = s.getFirst();
        if (!(first.isWord("commit") || first.isWord("end") || first.isWord("rollback") || first.isWord("abort"))) {
            return false;
        }
        int i = 1;
        if (i < s.size() && (s.get(i).isWord("work") || s.get(i).isWord("transaction"))) {
            i++;
        }
        if (i < s.size() && s.get(i).isWord("and")) {
            i++;
            if (i < s.size() && s.get(i).isWord("no")) {
                i++;
            }
            if (!(i < s.size() && s.get(i).isWord("chain"))) {
                return false;
            }
            i++;
        }
        return i == s.size();
    }

    /** {@code ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name} and nothing else. */
    private static boolean rollbackTo(List<Token> s) {
        int i = 1;
        if (i < s.size() && (s.get(i).isWord("work") || s.get(i).isWord("transaction"))) {
            i++;
        }
        if (!s.getFirst().isWord("rollback") || !(i < s.size() && s.get(i).isWord("to"))) {
            return false;
        }
        i++;
        if (i + 1 < s.size() && s.get(i).isWord("savepoint")) {
            i++;
        }
        return i == s.size() - 1 && savepointName(s.get(i));
    }

    /**
     * A savepoint name the server reads as one in {@code ROLLBACK TO}, without a notice: a word that is no reserved
     * or type and function name keyword (of PostgreSQL 16 to 18), or a quoted identifier, not empty, and short enough
     * not to be truncated. (Split off, the end is parsed apart from the statements before it: a name that fails to
     * parse would no longer fail the whole string before any of it ran.)
     */
    private static boolean savepointName(Token name) {
        return ((name.type() == Token.Type.WORD && !NOT_A_COLUMN_ID.contains(name.value()))
                || (name.type() == Token.Type.QUOTED_IDENT && !name.value().isEmpty()))
                && name.value().length() < 64;
    }

    /** The keywords a name ({@code ColId}) may not be, in any of the server versions the proxy fronts. */
    private static final Set<String> NOT_A_COLUMN_ID = Set.of(
            // reserved
            "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case", "cast",
            "check", "collate", "column", "constraint", "create", "current_catalog", "current_date", "current_role",
            "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do",
            "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant", "group", "having", "in",
            "initially", "intersect", "into", "lateral", "leading", "limit", "localtime", "localtimestamp", "not",
            "null", "offset", "on", "only", "or", "order", "placing", "primary", "references", "returning", "select",
            "session_user", "some", "symmetric", "system_user", "table", "then", "to", "trailing", "true", "union",
            "unique", "user", "using", "variadic", "when", "where", "window", "with",
            // type and function names
            "authorization", "binary", "collation", "concurrently", "cross", "current_schema", "freeze", "full",
            "ilike", "inner", "is", "isnull", "join", "left", "like", "natural", "notnull", "outer", "overlaps",
            "right", "similar", "tablesample", "verbose");

    /**
     * See {@link #transactionTail}.
     *
     * @param endAt where the transaction's end begins in the string
     * @param opens the string's first statement begins the transaction
     */
    public record TransactionTail(int endAt, boolean opens) {
    }

    /** Whether this text's hash was the last one noted in its slot; notes it otherwise. */
    private boolean seenBefore(String sql) {
        int hash = sql.hashCode();
        int slot = (hash ^ (hash >>> 16)) & (seenOnce.length - 1);
        if (seenOnce[slot] == hash) {
            return true;
        }
        seenOnce[slot] = hash;
        return false;
    }

    /** Entries held now, after pending evictions; for tests and metrics. */
    long cachedEntries() {
        cache.cleanUp();
        return cache.estimatedSize();
    }

    /**
     * A classification, the tokens it was made from, and whether it holds for every text with the same tokens
     * but for the values of their numbers.
     */
    private record Fresh(Classification classification, List<Token> tokens, boolean numberBlind) {
    }

    private Fresh classifyUncached(String sql, boolean backslashInPlainStrings) {
        Lexed lexed = Lexer.lex(sql, backslashInPlainStrings);
        if (!lexed.readable()) {
            return new Fresh(Classification.unparseable(), lexed.tokens(), false);
        }
        List<List<Token>> split = Statements.split(lexed.tokens());
        if (split.isEmpty()) {
            // the server answers EmptyQueryResponse and runs nothing (pgjdbc's isValid, a pool's check on borrow)
            return new Fresh(Classification.empty(), lexed.tokens(), false);
        }
        Kind kind = Kind.READ;
        EnumSet<Trait> traits = EnumSet.noneOf(Trait.class);
        Optional<String> tenant = Optional.empty();
        Set<String> customSettings = new HashSet<>(0);
        boolean numberBlind = true;
        for (List<Token> tokens : split) {
            Statement statement = new Statement(tokens);
            Classification one = statements.classify(statement);
            numberBlind &= StatementClassifier.numberBlind(statement);
            if (!one.isRead()) {
                kind = Kind.WRITE;
            }
            traits.addAll(one.traits());
            if (one.has(Trait.TENANT_SETTING)) {
                tenant = one.tenant();
            }
            customSettings.addAll(one.customSettings());
        }
        if (split.size() > 1) {
            traits.add(Trait.MULTI_STATEMENT);
        }
        // what a non-deterministic write is counted under, made here from the tokens at hand rather than per query
        String normalized = traits.contains(Trait.NON_DETERMINISTIC)
                ? SqlNormalizer.normalize(lexed.tokens(), sql.length()) : "";
        return new Fresh(new Classification(kind, traits, split.size(), tenant, customSettings, normalized),
                lexed.tokens(), numberBlind);
    }
}
