package dev.bluegreen.proxy.routing;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Rewrites, for the follower, what reads the transaction's start time ({@code now()}, {@code CURRENT_TIMESTAMP},
 * {@code CURRENT_DATE}, {@code LOCALTIMESTAMP} ...) so that it reads the leader's instead: a value the proxy keeps in
 * a transaction-local setting of the follower's session ({@link #SETTING}), falling back to the follower's own clock
 * where the setting was not made in this transaction. Within one transaction every one of these reads the same
 * instant on a server, so the leader's, asked once the statement has run there, is the value the statement used on
 * the leader (docs/dual-write.md, <i>Values generated on the server</i>). Each reading becomes a scalar subquery named
 * as the reading was, so that a result column keeps its name; like the reading, it is computed once per statement.
 *
 * <p>The other clock functions ({@code statement_timestamp()}, {@code clock_timestamp()}) read another instant per
 * statement or per call and are left alone, as is anything spelled in a way this does not read (a quoted
 * {@code "now"()}, a {@code now()} of another schema).
 */
public final class TransactionTime {

    /** The follower session's setting that holds the leader transaction's start while a statement that reads it runs. */
    public static final String SETTING = "bluegreen.now";
    /**
     * What the leader answers for its transaction's start: in UTC, to the microsecond, as ISO 8601, which the follower
     * reads back the same whatever its {@code DateStyle}.
     */
    public static final String LEADER_START = "pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC',"
            + " 'YYYY-MM-DD HH24:MI:SS.US\"+00\"')";
    /** The leader's start, where the follower's session was told it in this transaction; its own otherwise. */
    public static final String START = "coalesce(nullif(pg_catalog.current_setting('" + SETTING + "', true), '')"
            + "::pg_catalog.timestamptz, pg_catalog.now())";

    /** The keywords that read the transaction's start, and the type each reads it as (null: as it is). */
    private static final List<String> KEYWORDS = List.of(
            "current_timestamp", "current_date", "current_time", "localtimestamp", "localtime");
    /** The functions that read it. */
    private static final Set<String> FUNCTIONS = Set.of("now", "transaction_timestamp");
    /** What else a column default may hold around them and still read nothing but that instant and constants. */
    private static final Set<String> DEFAULT_WORDS = Set.of("at", "time", "zone", "with", "without", "text",
            "timestamp", "timestamptz", "date", "interval", "pg_catalog", "timezone", "date_trunc");

    private TransactionTime() {
    }

    /** One change to a text: {@code [start, end)} replaced with {@code text}. */
    public record Edit(int start, int end, String text) {
    }

    /**
     * Whether {@code sql} may read the transaction's start: a look at its letters that costs less than lexing it, for
     * texts the classifier flagged as reading something that differs between clusters.
     */
    public static boolean mayRead(String sql) {
        for (int i = 0; i < sql.length(); i++) {
            switch (sql.charAt(i)) { // (no copy of the text: this runs for every write sent to a follower)
                case 'n', 'N' -> {
                    if (sql.regionMatches(true, i, "now", 0, 3)) {
                        return true;
                    }
                }
                case 'c', 'C' -> {
                    if (sql.regionMatches(true, i, "current_", 0, 8)) {
                        return true;
                    }
                }
                case 'l', 'L' -> {
                    if (sql.regionMatches(true, i, "local", 0, 5)) {
                        return true;
                    }
                }
                case 't', 'T' -> {
                    if (sql.regionMatches(true, i, "transaction_timestamp", 0, 21)) {
                        return true;
                    }
                }
                default -> { }
            }
        }
        return false;
    }

    /**
     * The edits that make one DML statement {@code sql} read the leader's start ({@link #START}), none where it reads no
     * such thing; null where the text cannot be read, or is not one {@code INSERT}, {@code UPDATE}, {@code DELETE},
     * {@code MERGE}, {@code SELECT}, {@code WITH} or {@code VALUES} (a DDL's default must stay as written).
     */
    public static List<Edit> edits(String sql, boolean backslashInPlainStrings) {
        Lexed lexed = Lexer.lex(sql, backslashInPlainStrings);
        if (!lexed.readable() || lexed.tokens().isEmpty()) {
            return null;
        }
        List<Token> t = lexed.tokens();
        Token first = t.getFirst();
        if (!(first.isWord("insert") || first.isWord("update") || first.isWord("delete") || first.isWord("merge")
                || first.isWord("select") || first.isWord("with") || first.isWord("values"))) {
            return null;
        }
        for (int i = 0; i < t.size(); i++) {
            if (t.get(i).isPunct(";") && i < t.size() - 1) {
                return null; // several statements
            }
            if (t.get(i).isWord("into") && !(i > 0 && (t.get(i - 1).isWord("insert") || t.get(i - 1).isWord("merge")))) {
                return null; // SELECT INTO makes a table: its columns are named after what it reads
            }
        }
        return edits(sql, t);
    }

    /**
     * The expression a column default {@code expression} (as {@code pg_get_expr} prints it) becomes when it reads the
     * leader's start: null unless it reads the transaction's start and otherwise only constants, casts, time zone
     * conversions and truncations, so that the leader's instant determines its value.
     */
    public static String defaultExpression(String expression) {
        if (expression.indexOf('\\') >= 0) {
            return null; // a string the follower's session might read another way than the leader printed it
        }
        Lexed lexed = Lexer.lex(expression, false);
        if (!lexed.readable()) {
            return null;
        }
        List<Token> t = lexed.tokens();
        List<Edit> edits = edits(expression, t);
        if (edits.isEmpty()) {
            return null;
        }
        int e = 0;
        for (int i = 0; i < t.size(); i++) {
            Token token = t.get(i);
            while (e < edits.size() && edits.get(e).end() <= token.start()) {
                e++;
            }
            if (e < edits.size() && token.start() >= edits.get(e).start()) {
                continue; // replaced
            }
            boolean allowed = switch (token.type()) {
                case STRING, NUMBER -> true;
                case PUNCT -> token.isPunct("(") || token.isPunct(")") || token.isPunct(",") || token.isPunct("::")
                        || token.isPunct(".");
                case OPERATOR -> token.isOperator("+") || token.isOperator("-");
                case WORD -> DEFAULT_WORDS.contains(token.value());
                default -> false;
            };
            if (!allowed) {
                return null;
            }
        }
        return apply(expression, edits);
    }

    /** {@code text} with {@code edits} (in order, not overlapping) made. */
    public static String apply(String text, List<Edit> edits) {
        StringBuilder out = new StringBuilder(text.length() + 96 * edits.size());
        int at = 0;
        for (Edit edit : edits) {
            out.append(text, at, edit.start()).append(edit.text());
            at = edit.end();
        }
        return out.append(text, at, text.length()).toString();
    }

    /**
     * Each reading of the start in {@code t}, as a scalar subquery named as the server names the reading in a result
     * ({@code now}, {@code current_timestamp}), so that a statement's result columns keep their names. Not where the
     * word is a label ({@code AS current_time}) or a function in {@code FROM}, whose result is a table.
     */
    private static List<Edit> edits(String sql, List<Token> t) {
        List<Edit> edits = new ArrayList<>(1);
        for (int i = 0; i < t.size(); i++) {
            Token token = t.get(i);
            if (token.type() != Token.Type.WORD) {
                continue;
            }
            boolean qualified = i >= 2 && t.get(i - 1).isPunct(".");
            if (qualified && !(t.get(i - 2).isWord("pg_catalog"))) {
                continue; // another schema's function of that name
            }
            int first = qualified ? i - 2 : i;
            if (qualified && i >= 3 && t.get(i - 3).isPunct(".")) {
                continue; // a database-qualified name: left alone
            }
            if (first > 0 && (t.get(first - 1).isWord("as") || t.get(first - 1).isWord("join")
                    || t.get(first - 1).isWord("lateral") || (t.get(first - 1).isWord("from") && !valueFrom(t, first - 1)))) {
                continue;
            }
            int start = t.get(first).start();
            if (FUNCTIONS.contains(token.value()) && i + 2 < t.size() && t.get(i + 1).isPunct("(")
                    && t.get(i + 2).isPunct(")")) {
                edits.add(new Edit(start, end(t.get(i + 2)), named(START, token.value())));
                i += 2;
            } else if (!qualified && KEYWORDS.contains(token.value()) && !(i > 0 && t.get(i - 1).isPunct("."))) {
                String type = switch (token.value()) {
                    case "current_date" -> "pg_catalog.date";
                    case "current_time" -> "pg_catalog.timetz";
                    case "localtimestamp" -> "pg_catalog.\"timestamp\"";
                    case "localtime" -> "pg_catalog.\"time\"";
                    default -> "pg_catalog.timestamptz";
                };
                int end = end(token);
                if (i + 3 < t.size() && t.get(i + 1).isPunct("(") && t.get(i + 2).type() == Token.Type.NUMBER
                        && t.get(i + 3).isPunct(")")) {
                    if (token.value().equals("current_date")) {
                        continue; // not valid SQL: left to fail alike
                    }
                    type += "(" + t.get(i + 2).text() + ")";
                    end = end(t.get(i + 3));
                    i += 3;
                }
                edits.add(new Edit(start, end, named("(" + START + ")::" + type, token.value())));
            }
        }
        return edits;
    }

    /**
     * Whether the {@code FROM} at {@code from} takes a value, not a table: {@code IS [NOT] DISTINCT FROM}, or inside the
     * parentheses of {@code EXTRACT}, {@code SUBSTRING}, {@code TRIM} or {@code OVERLAY}.
     */
    private static boolean valueFrom(List<Token> t, int from) {
        if (from > 0 && t.get(from - 1).isWord("distinct")) {
            return (from > 1 && t.get(from - 2).isWord("is"))
                    || (from > 2 && t.get(from - 2).isWord("not") && t.get(from - 3).isWord("is"));
        }
        int depth = 0;
        for (int j = from - 1; j > 0; j--) {
            if (t.get(j).isPunct(")")) {
                depth++;
            } else if (t.get(j).isPunct("(") && depth-- == 0) {
                Token call = t.get(j - 1);
                return call.isWord("extract") || call.isWord("substring") || call.isWord("trim") || call.isWord("overlay");
            }
        }
        return false;
    }

    private static String named(String expression, String name) {
        return "(SELECT " + expression + " AS \"" + name + "\")";
    }

    private static int end(Token token) {
        return token.start() + token.text().length();
    }
}
