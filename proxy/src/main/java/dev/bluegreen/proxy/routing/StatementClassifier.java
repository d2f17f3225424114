package dev.bluegreen.proxy.routing;

import java.util.List;
import java.util.Set;

/**
 * Classifies one statement by its leading keyword. Reads are proven by elimination: a query is a read
 * when nothing in it can write (see {@link #query}); every statement type not listed as a read is a write.
 */
final class StatementClassifier {

    /** Statements that are writes with no trait of their own. */
    private static final Set<String> PLAIN_WRITES = Set.of(
            "insert", "update", "delete", "merge", "lock", "execute", "analyze", "analyse",
            "checkpoint", "notify", "refresh");
    private static final Set<String> DDL_WORDS = Set.of(
            "truncate", "grant", "revoke", "comment", "security", "import", "reassign");
    private static final Set<String> QUERY_WORDS = Set.of("select", "values", "table", "with");
    /**
     * Statements whose classification reads no number's value (see {@link #numberBlind}). Others can:
     * {@code EXPLAIN (ANALYZE 0)} does not run what it explains, {@code SET bluegreen.tenant = 42} names a tenant.
     */
    private static final Set<String> NUMBER_BLIND = Set.of(
            "select", "values", "table", "with", "insert", "update", "delete", "merge");

    private final FunctionCatalog catalog;

    StatementClassifier(FunctionCatalog catalog) {
        this.catalog = catalog;
    }

    /**
     * Whether a {@code DO} block's body speaks of prepared statements at all ({@code PREPARE},
     * {@code DEALLOCATE}, {@code DISCARD}, in any case): only then may it re-make one the session's
     * {@code Bind}s name. Forgetting every name after each {@code DO} would make every later named statement
     * of the session a write. (A procedure's or function's body is not in the text: not seen.)
     */
    private static boolean mayRenameStatements(Statement s) {
        for (int i = 1; i < s.size(); i++) {
            Token token = s.get(i);
            if (token.type() == Token.Type.STRING) {
                String body = Lexer.asciiLower(token.value());
                if (body.contains("prepare") || body.contains("deallocate") || body.contains("discard")) {
                    return true;
                }
            }
        }
        return false;
    }

    Classification classify(Statement s) {
        Verdict verdict = new Verdict();
        if (!s.balanced()) {
            return verdict.unparseable().toClassification();
        }
        int start = leadingParentheses(s);
        String first = s.word(start);
        if (start > 0 && !QUERY_WORDS.contains(first)) {
            return verdict.unparseable().toClassification();
        }
        boolean callsWrite = false;
        if (!first.equals("explain") && !first.equals("prepare")) {
            // EXPLAIN without ANALYZE and PREPARE do not run what they contain
            callsWrite = Calls.scan(s, catalog, verdict);
        } else if (first.equals("prepare")) {
            // but its EXECUTE may set a custom setting whose name only this text spells out: a twin made
            // later copies the settings named so far
            Verdict body = new Verdict();
            Calls.scan(s, catalog, body);
            body.toClassification().customSettings().forEach(verdict::customSetting);
        }
        switch (first) {
            case "select", "values", "table", "with" -> query(s, callsWrite, verdict);
            case "show" -> verdict.read();
            case "explain" -> explain(s, verdict);
            case "copy" -> copy(s, callsWrite, verdict);
            case "begin", "start" -> TransactionSyntax.begin(s, verdict);
            case "commit", "end", "rollback", "abort" -> TransactionSyntax.end(s, verdict);
            case "savepoint", "release" -> verdict.add(Trait.SAVEPOINT);
            case "prepare" -> TransactionSyntax.prepare(s, verdict);
            case "deallocate" -> verdict.add(Trait.SESSION_STATE).add(Trait.NAMES_STATEMENTS);
            case "load" -> verdict.add(Trait.SESSION_STATE);
            case "set" -> SettingSyntax.set(s, verdict);
            case "reset" -> SettingSyntax.reset(s, verdict);
            case "discard" -> SettingSyntax.discard(s, verdict);
            case "listen", "unlisten" -> verdict.add(Trait.LISTEN);
            case "declare" -> declare(s, verdict);
            case "fetch", "move", "close" -> verdict.add(Trait.CURSOR);
            case "lock" -> verdict.add(Trait.TRANSACTION_BLOCK_ONLY);
            case "call" -> verdict.add(Trait.TRANSACTION_CONTROL);
            case "do" -> {
                verdict.add(Trait.TRANSACTION_CONTROL);
                if (mayRenameStatements(s)) {
                    verdict.add(Trait.NAMES_STATEMENTS); // it may PREPARE or DEALLOCATE through EXECUTE
                }
            }
            case "create" -> DdlSyntax.create(s, verdict);
            case "alter" -> DdlSyntax.alter(s, verdict);
            case "drop" -> DdlSyntax.drop(s, verdict);
            case "cluster" -> DdlSyntax.cluster(s, verdict);
            case "reindex" -> DdlSyntax.reindex(s, verdict);
            case "vacuum" -> verdict.add(Trait.NOT_IN_TRANSACTION_BLOCK);
            default -> {
                if (DDL_WORDS.contains(first)) {
                    verdict.add(Trait.DDL);
                } else if (!PLAIN_WRITES.contains(first)) {
                    verdict.unparseable();
                }
            }
        }
        return verdict.toClassification();
    }

    /**
     * Whether this statement's classification is the same whatever numbers are written in it: only their
     * places count, never their values. What lets {@link Classifier} share one answer between texts of one
     * {@link NumberShape}.
     */
    static boolean numberBlind(Statement s) {
        return NUMBER_BLIND.contains(s.word(leadingParentheses(s))) && !Calls.readsANumbersValue(s);
    }

    private static int leadingParentheses(Statement s) {
        int start = 0;
        while (s.isPunct(start, "(")) {
            start++;
        }
        return start;
    }

    /**
     * {@code SELECT}, {@code VALUES}, {@code TABLE}, {@code WITH}: a read unless some word in it can write.
     * The scan is deliberately blunt: any unquoted {@code INSERT/UPDATE/DELETE/MERGE} (a data-modifying CTE,
     * the main statement after {@code WITH}, {@code FOR [NO KEY] UPDATE}), {@code FOR [KEY] SHARE}, or
     * {@code INTO} (which creates a table) makes it a write. A column literally named {@code update} is
     * the price: it needs quoting or qualifying ({@code t.update}) to stay a read.
     */
    private static void query(Statement s, boolean callsWrite, Verdict verdict) {
        boolean writes = callsWrite;
        for (int i = 0; i < s.size(); i++) {
            switch (s.word(i)) {
                case "insert", "update", "delete", "merge" ->
                        writes |= !s.isPunct(i - 1, ".") && !s.isWord(i - 1, "as");
                case "share" -> writes |= s.isWord(i - 1, "for") || s.isWord(i - 1, "key");
                case "into" -> {
                    writes = true;
                    if (!s.isWord(i - 1, "insert") && !s.isWord(i - 1, "merge")) {
                        selectInto(s, i, verdict);
                    }
                }
                default -> {
                }
            }
        }
        verdict.kind(writes ? Kind.WRITE : Kind.READ);
    }

    /** {@code SELECT ... INTO [[LOCAL | GLOBAL] TEMP] t} creates a table, one that pins the session when temporary. */
    private static void selectInto(Statement s, int into, Verdict verdict) {
        verdict.add(Trait.DDL);
        int at = s.isWord(into + 1, "local") || s.isWord(into + 1, "global") ? into + 2 : into + 1;
        if (s.isWord(at, "temp") || s.isWord(at, "temporary")) {
            verdict.add(Trait.PINS_SESSION);
        }
    }

    /**
     * {@code EXPLAIN} without {@code ANALYZE} only plans, so it is a read whatever it explains. With
     * {@code ANALYZE} it runs the statement: a write (as DESIGN §4 says) carrying the statement's traits.
     */
    private void explain(Statement s, Verdict verdict) {
        int i = 1;
        boolean analyze = false;
        if (s.isPunct(1, "(")) {
            for (Statement option : s.arguments(1)) {
                if (namesAnalyze(option)) {
                    analyze |= isTrue(option.from(1));
                }
            }
            i = s.closing(1) + 1;
        } else {
            while (s.isWord(i, "analyze") || s.isWord(i, "analyse") || s.isWord(i, "verbose")) {
                analyze |= !s.isWord(i, "verbose");
                i++;
            }
        }
        Statement explained = s.from(i);
        if (explained.size() == 0 || nests(explained)) {
            verdict.unparseable(); // the server explains neither: not read further, as a client could nest them deep
        } else if (analyze) {
            verdict.write().addAll(classify(explained));
        } else {
            verdict.read();
        }
    }

    /**
     * Whether an EXPLAIN option is {@code ANALYZE}: the server takes an option's name as any identifier, so
     * {@code ("analyze")} runs the statement too; a {@code U&"..."} name, whose escapes this does not decode,
     * counts as one.
     */
    private static boolean namesAnalyze(Statement option) {
        if (option.isWord(0, "analyze") || option.isWord(0, "analyse")) {
            return true;
        }
        if (option.size() == 0) {
            return false;
        }
        Token name = option.get(0);
        return name.type() == Token.Type.UNICODE_IDENT || (name.type() == Token.Type.QUOTED_IDENT
                && (name.value().equals("analyze") || name.value().equals("analyse")));
    }

    /** An EXPLAIN option's value: absent means true; only false, off and 0 turn it off. */
    private static boolean isTrue(Statement value) {
        if (value.size() == 0) {
            return true;
        }
        String text = Lexer.asciiLower(value.singleValue());
        return !(text.equals("false") || text.equals("off") || text.equals("0"));
    }

    /**
     * {@code COPY table | (query) FROM STDIN | TO STDOUT}. Copying to the client is a read when it copies a
     * table or a read-only query; copying from the client, a server file or a program is a write.
     */
    private void copy(Statement s, boolean callsWrite, Verdict verdict) {
        int i = s.isWord(1, "binary") ? 2 : 1;
        Classification query = null;
        if (s.isPunct(i, "(")) {
            int close = s.closing(i);
            Statement copied = s.slice(i + 1, close);
            if (nests(copied)) {
                verdict.unparseable(); // the server copies neither: not read further, as a client could nest them deep
                return;
            }
            query = classify(copied);
            i = close + 1;
        } else {
            while (i < s.size() && s.get(i).isIdentifier() && s.isPunct(i + 1, ".")) {
                i += 2;
            }
            i++;
            if (s.isPunct(i, "(")) {
                i = s.closing(i) + 1;
            }
        }
        String direction = s.word(i);
        String target = s.word(i + 1);
        // the server takes STDIN and STDOUT alike for the client, whichever the direction
        boolean client = target.equals("stdin") || target.equals("stdout");
        if (direction.equals("from") && client) {
            verdict.add(Trait.COPY_FROM_STDIN);
        } else if (direction.equals("to") && client) {
            verdict.add(Trait.COPY_TO_STDOUT);
            boolean read = !callsWrite && (query == null || query.isRead());
            verdict.kind(read ? Kind.READ : Kind.WRITE);
        }
        if (query != null) {
            verdict.addAll(query);
        }
    }

    /**
     * Whether a statement inside an EXPLAIN or a COPY is itself one of the two, which the server refuses there:
     * classifying what they contain is the only way this classifier reads a statement within a statement, so
     * refusing these keeps that one level deep, however deep a client nests them.
     */
    private static boolean nests(Statement inner) {
        return inner.isWord(0, "explain") || inner.isWord(0, "copy");
    }

    /** {@code DECLARE name ... CURSOR [WITH HOLD] FOR query}: a held cursor outlives the transaction. */
    private static void declare(Statement s, Verdict verdict) {
        verdict.add(Trait.CURSOR);
        List<Token> tokens = s.tokens();
        boolean hold = false;
        for (int i = 0; i < tokens.size() && !s.isWord(i, "for"); i++) {
            hold |= s.isWord(i, "with") && s.isWord(i + 1, "hold");
        }
        verdict.add(hold ? Trait.PINS_SESSION : Trait.TRANSACTION_BLOCK_ONLY);
    }
}
