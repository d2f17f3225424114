package dev.bluegreen.proxy.routing;

import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * The temporary tables and {@code WITH HOLD} cursors a session holds on the leader alone: made before its twin
 * was, which cannot be given them (DESIGN §3). A statement that works on nothing else runs on the leader alone,
 * where the follower would fail it ({@code 42P01}, {@code 34000}) and so diverge: see {@link #run}.
 *
 * <p>A wrong "alone" is the costly mistake: a write the follower never sees, unreported. So the analysis keeps
 * to forms it can read whole, and the snapshot names only tables that cannot reach beyond themselves (no
 * trigger or rule, no default drawing on a permanent sequence or a user function; a temporary view over a
 * permanent table is not named), and only where an unqualified name finds them. Forgetting a name too early
 * costs a divergence the follower reports; keeping one too long could not be seen, so what may end or replace
 * an object ends its name.
 *
 * <p>Names are as the catalogs store them ({@code pg_class.relname}, {@code pg_cursors.name}); a statement's
 * unquoted names are folded to lower case before they are looked up, as the server folds them.
 */
public final class LeaderOnlyObjects {

    public static final LeaderOnlyObjects NONE = new LeaderOnlyObjects(Set.of(), Set.of());

    private static final Set<String> TRUNCATE_OPTIONS = Set.of("restart", "continue", "identity", "cascade", "restrict");
    /**
     * What may be followed by {@code (} in a statement that runs on the leader alone: syntax, and built-in
     * functions that change nothing. Any other call may write (a user function, {@code nextval}), and the
     * statement runs on both twins.
     */
    private static final Set<String> PURE_CALLS = Set.of(
            // keywords a parenthesis may follow
            "values", "in", "exists", "any", "all", "some", "row", "array", "cast", "where", "and", "or", "not",
            "on", "conflict", "set", "returning", "using", "when", "then", "else", "as", "select", "from", "join",
            "between", "like", "is", "distinct", "over", "partition", "filter", "within", "by", "having", "case",
            // built-in functions that change nothing, and type modifiers
            "coalesce", "nullif", "greatest", "least", "count", "sum", "min", "max", "avg", "lower", "upper",
            "length", "abs", "round", "trim", "substring", "concat", "extract", "position", "now", "numeric",
            "decimal", "varchar", "char", "character", "timestamp", "time", "interval", "bit");

    private final Set<String> relations;
    private final Set<String> cursors;

    public LeaderOnlyObjects(Collection<String> relations, Collection<String> cursors) {
        this.relations = Set.copyOf(relations);
        this.cursors = Set.copyOf(cursors);
    }

    public boolean isEmpty() {
        return relations.isEmpty() && cursors.isEmpty();
    }

    public Set<String> relations() {
        return relations;
    }

    public Set<String> cursors() {
        return cursors;
    }

    /**
     * What running some SQL means for these objects.
     *
     * @param leaderOnly every statement works on these objects alone: the leader alone runs them
     * @param left       what is left of them once the statements have run, whatever their outcome (a name
     *                   forgotten too early costs only a reported divergence)
     */
    public record Run(boolean leaderOnly, LeaderOnlyObjects left) {
    }

    /**
     * Whether every statement of {@code texts} (a Query's string, or each Parse of an extended-protocol unit)
     * works on these objects alone, and what is left of them once they have run. Alone: {@code FETCH} and
     * {@code MOVE} from, and {@code CLOSE} of, one of the cursors; {@code INSERT INTO}, {@code UPDATE} and
     * {@code DELETE FROM} one of the tables (reading any other, {@code INSERT INTO t SELECT … FROM orders}, but
     * calling no function that is not {@link #PURE_CALLS built in and pure}); {@code TRUNCATE} and
     * {@code DROP TABLE} of these tables only. A name qualified by any schema but {@code pg_temp} is another
     * object. Anything else, a {@code WITH} before the statement included, may touch other objects and runs on
     * both twins; what it may do to these is still followed: {@code DISCARD}, {@code CLOSE ALL}, a change of
     * {@code search_path}, and a {@code CREATE TEMPORARY TABLE} or {@code DECLARE} of one of the names (which
     * succeeds only once the leader's is gone, and makes it both twins') end names.
     *
     * @param backslashInPlainStrings the session has {@code standard_conforming_strings = off}
     */
    public Run run(List<String> texts, boolean backslashInPlainStrings) {
        Objects.requireNonNull(texts, "texts");
        if (isEmpty()) {
            return new Run(false, this);
        }
        Set<String> relationsLeft = new HashSet<>(relations);
        Set<String> cursorsLeft = new HashSet<>(cursors);
        boolean leaderOnly = true;
        int statements = 0;
        for (String text : texts) {
            Lexed lexed = Lexer.lex(text, backslashInPlainStrings);
            if (!lexed.readable()) {
                leaderOnly = false;
                continue;
            }
            for (List<Token> tokens : Statements.split(lexed.tokens())) {
                statements++;
                Statement s = new Statement(tokens);
                if (!s.balanced()) {
                    leaderOnly = false;
                    continue;
                }
                leaderOnly &= callsNothingImpure(s) && switch (s.word(0)) {
                    case "fetch", "move" -> s.size() >= 2 && cursorsLeft.contains(name(s.get(s.size() - 1)));
                    case "close" -> s.size() == 2 && !s.isWord(1, "all") && cursorsLeft.contains(name(s.get(1)));
                    case "insert" -> s.isWord(1, "into") && relationAt(s, 2, relationsLeft) > 0;
                    case "update" -> relationAt(s, s.isWord(1, "only") ? 2 : 1, relationsLeft) > 0;
                    case "delete" -> s.isWord(1, "from") && relationAt(s, s.isWord(2, "only") ? 3 : 2, relationsLeft) > 0;
                    case "truncate" -> truncatesOnly(s, relationsLeft);
                    case "drop" -> dropsOnly(s, relationsLeft);
                    default -> false;
                };
                forgetEnded(s, relationsLeft, cursorsLeft);
            }
        }
        LeaderOnlyObjects left = relationsLeft.equals(relations) && cursorsLeft.equals(cursors) ? this
                : new LeaderOnlyObjects(relationsLeft, cursorsLeft);
        return new Run(leaderOnly && statements > 0, left);
    }

    /** Whether the statement calls only what {@link #PURE_CALLS} lists (a table's column list is no call). */
    private static boolean callsNothingImpure(Statement s) {
        for (int i = 1; i < s.size(); i++) {
            Token token = s.get(i);
            if (!token.isIdentifier() || !s.isPunct(i + 1, "(") || namesTable(s, i)) {
                continue;
            }
            boolean qualified = s.isPunct(i - 1, ".");
            if (token.type() != Token.Type.WORD || !PURE_CALLS.contains(token.value())
                    || (qualified && !s.isWord(i - 2, "pg_catalog"))) {
                return false; // public.lower( is the application's, whatever it is called
            }
        }
        return true;
    }

    /** The name at {@code i} is the table an {@code INSERT INTO} names, before its column list. */
    private static boolean namesTable(Statement s, int i) {
        return s.isWord(0, "insert") && (s.isWord(i - 1, "into") || (s.isPunct(i - 1, ".") && s.isWord(i - 3, "into")));
    }

    /**
     * Where the name of one of {@code names} that begins at {@code i} ends (the index after it), or -1 when
     * none does there: {@code name}, {@code "Name"} or {@code pg_temp.name}.
     */
    private static int relationAt(Statement s, int i, Set<String> names) {
        if (s.isWord(i, "pg_temp") && s.isPunct(i + 1, ".")) {
            i += 2;
        }
        if (i >= s.size() || s.isPunct(i + 1, ".") || !names.contains(name(s.get(i)))) {
            return -1;
        }
        return i + 1;
    }

    /** The index of the name {@link #relationAt} reads at {@code i}. */
    private static int nameIndex(Statement s, int i) {
        return s.isWord(i, "pg_temp") && s.isPunct(i + 1, ".") ? i + 2 : i;
    }

    /** {@code TRUNCATE [TABLE] [ONLY] name [*] [, …] [RESTART | CONTINUE IDENTITY] [CASCADE | RESTRICT]}. */
    private static boolean truncatesOnly(Statement s, Set<String> names) {
        int i = s.isWord(1, "table") ? 2 : 1;
        while (true) {
            if (s.isWord(i, "only")) {
                i++;
            }
            i = relationAt(s, i, names);
            if (i < 0) {
                return false;
            }
            if (i < s.size() && s.get(i).text().equals("*")) {
                i++; // and its descendants
            }
            if (!s.isPunct(i, ",")) {
                break;
            }
            i++;
        }
        for (; i < s.size(); i++) {
            if (!TRUNCATE_OPTIONS.contains(s.word(i))) {
                return false;
            }
        }
        return true;
    }

    /** {@code DROP TABLE [IF EXISTS] name [, …] [CASCADE | RESTRICT]}; the names go. */
    private static boolean dropsOnly(Statement s, Set<String> names) {
        if (!s.isWord(1, "table")) {
            return false;
        }
        int i = s.isWord(2, "if") && s.isWord(3, "exists") ? 4 : 2;
        Set<String> dropped = new HashSet<>();
        while (true) {
            int at = nameIndex(s, i);
            i = relationAt(s, i, names);
            if (i < 0) {
                return false;
            }
            dropped.add(name(s.get(at)));
            if (!s.isPunct(i, ",")) {
                break;
            }
            i++;
        }
        if (i < s.size() && !(i == s.size() - 1 && (s.isWord(i, "cascade") || s.isWord(i, "restrict")))) {
            return false;
        }
        names.removeAll(dropped);
        return true;
    }

    /** What a statement, on whichever twins it runs, may end or replace of these objects: their names go. */
    private static void forgetEnded(Statement s, Set<String> relations, Set<String> cursors) {
        switch (s.word(0)) {
            case "discard" -> {
                relations.clear(); // ALL, TEMP; PLANS and SEQUENCES end nothing, but a name forgotten is harmless
                if (s.isWord(1, "all")) {
                    cursors.clear();
                }
            }
            case "close" -> {
                if (s.isWord(1, "all")) {
                    cursors.clear();
                } else if (s.size() == 2) {
                    cursors.remove(name(s.get(1)));
                }
            }
            case "declare" -> {
                if (s.size() > 1) {
                    cursors.remove(name(s.get(1)));
                }
            }
            case "set", "reset" -> {
                // another search_path may find another table by the same name first
                if (s.containsWord("search_path") || s.isWord(1, "all")
                        || (s.isWord(1, "session") && s.isWord(2, "authorization")) || s.isWord(1, "role")) {
                    relations.clear();
                }
            }
            case "drop" -> {
                // one that names other tables too runs on both twins, and still ends these
                if (!s.isWord(1, "table")) {
                    return;
                }
                for (int i = s.isWord(2, "if") && s.isWord(3, "exists") ? 4 : 2; i < s.size(); i++) {
                    int at = nameIndex(s, i);
                    if (at < s.size() && !s.isPunct(at + 1, ".")) {
                        relations.remove(name(s.get(at))); // public.scratch is another table
                    }
                    while (i < s.size() && !s.isPunct(i, ",")) {
                        i++; // to the next name
                    }
                }
            }
            case "create" -> {
                boolean temporary = false;
                for (int i = 1; i < s.size() && !s.isPunct(i, "("); i++) {
                    temporary |= s.isWord(i, "temp") || s.isWord(i, "temporary");
                    if (s.isWord(i, "table")) {
                        int at = s.isWord(i + 1, "if") && s.isWord(i + 2, "not") && s.isWord(i + 3, "exists") ? i + 4 : i + 1;
                        // a permanent table of the same name leaves the temporary one first on the search path
                        if (temporary || s.isWord(at, "pg_temp")) {
                            relations.remove(name(s.get(nameIndex(s, at))));
                        }
                        return;
                    }
                }
            }
            default -> {
                // set_config('search_path', …) anywhere
                for (Token token : s.tokens()) {
                    if (token.type() == Token.Type.STRING && token.value().toLowerCase(Locale.ROOT).contains("search_path")) {
                        relations.clear();
                        return;
                    }
                }
            }
        }
    }

    /** A token as the name it spells, folded as the server folds it; {@code ""} when it spells none. */
    private static String name(Token token) {
        return switch (token.type()) {
            case WORD, QUOTED_IDENT -> token.value();
            default -> "";
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LeaderOnlyObjects other && relations.equals(other.relations) && cursors.equals(other.cursors);
    }

    @Override
    public int hashCode() {
        return Objects.hash(relations, cursors);
    }

    @Override
    public String toString() {
        return "tables " + relations + ", cursors " + cursors;
    }
}
