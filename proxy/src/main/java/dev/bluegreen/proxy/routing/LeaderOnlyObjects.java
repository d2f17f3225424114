package dev.bluegreen.proxy.routing;

import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The temporary relations and {@code WITH HOLD} cursors a session holds on the leader alone: made before its
 * twin was, which cannot be given them (DESIGN §3). A statement that works on nothing else runs on the leader
 * alone, where the follower would fail it ({@code 42P01}, {@code 34000}) and so diverge: see {@link #after}.
 *
 * <p>Names are as the catalogs store them ({@code pg_class.relname}, {@code pg_cursors.name}); a statement's
 * unquoted names are folded to lower case before they are looked up, as the server folds them.
 */
public final class LeaderOnlyObjects {

    public static final LeaderOnlyObjects NONE = new LeaderOnlyObjects(Set.of(), Set.of());

    private static final Set<String> DROPPABLE = Set.of("table", "view", "sequence");
    private static final Set<String> TRUNCATE_OPTIONS = Set.of("restart", "continue", "identity", "cascade", "restrict");

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
     * What running {@code sql} means for these objects.
     *
     * @param leaderOnly the text works on these objects alone, and the leader alone runs it
     * @param left       what is left of them once the text has run without an error
     */
    public record Run(boolean leaderOnly, LeaderOnlyObjects left) {
    }

    /**
     * Whether every statement of {@code sql} works on these objects alone, and what is left of them once it
     * has run. Known to: {@code FETCH} and {@code MOVE} from, and {@code CLOSE} of, one of the cursors;
     * {@code INSERT INTO}, {@code UPDATE} and {@code DELETE FROM} one of the relations (reading anything
     * else, as {@code INSERT INTO t SELECT … FROM orders} does, but calling no function that writes or
     * depends on the session, such as {@code nextval}); {@code TRUNCATE} and {@code DROP TABLE}, {@code VIEW}
     * or {@code SEQUENCE} of these relations only. A name qualified by any schema but {@code pg_temp} is
     * another object. Anything else, a {@code WITH} before the statement included, may touch other objects,
     * and the text runs on both twins; what it does to these is still followed: {@code DISCARD ALL} or
     * {@code TEMP} and {@code CLOSE ALL} end them, and a {@code CREATE} of one of the names can only succeed
     * once the leader's is gone, so the name is both twins' from then on.
     *
     * @param backslashInPlainStrings the session has {@code standard_conforming_strings = off}
     * @param catalog                 the functions known to write, as the classifier knows them
     */
    Run run(String sql, boolean backslashInPlainStrings, FunctionCatalog catalog) {
        Objects.requireNonNull(sql, "sql");
        Run unchanged = new Run(false, this);
        if (isEmpty()) {
            return unchanged;
        }
        Lexed lexed = Lexer.lex(sql, backslashInPlainStrings);
        if (!lexed.readable()) {
            return unchanged;
        }
        List<List<Token>> split = Statements.split(lexed.tokens());
        Set<String> relationsLeft = new HashSet<>(relations);
        Set<String> cursorsLeft = new HashSet<>(cursors);
        boolean leaderOnly = !split.isEmpty();
        for (List<Token> tokens : split) {
            Statement s = new Statement(tokens);
            if (!s.balanced()) {
                return unchanged;
            }
            leaderOnly &= !Calls.scan(s, catalog, new Verdict()) && switch (s.word(0)) {
                case "fetch", "move" -> s.size() >= 2 && cursorsLeft.contains(name(s.get(s.size() - 1)));
                case "close" -> s.size() == 2 && !s.isWord(1, "all") && cursorsLeft.remove(name(s.get(1)));
                case "insert" -> s.isWord(1, "into") && relationAt(s, 2, relationsLeft) > 0;
                case "update" -> relationAt(s, s.isWord(1, "only") ? 2 : 1, relationsLeft) > 0;
                case "delete" -> s.isWord(1, "from") && relationAt(s, s.isWord(2, "only") ? 3 : 2, relationsLeft) > 0;
                case "truncate" -> truncatesOnly(s, relationsLeft);
                case "drop" -> dropsOnly(s, relationsLeft);
                default -> false;
            };
            forgetEnded(s, relationsLeft, cursorsLeft);
        }
        LeaderOnlyObjects left = relationsLeft.equals(relations) && cursorsLeft.equals(cursors) ? this
                : new LeaderOnlyObjects(relationsLeft, cursorsLeft);
        return new Run(leaderOnly, left);
    }

    /** What {@code DISCARD}, {@code CLOSE ALL} and a {@code CREATE} of one of the names end. */
    private static void forgetEnded(Statement s, Set<String> relations, Set<String> cursors) {
        switch (s.word(0)) {
            case "discard" -> {
                if (s.isWord(1, "all")) {
                    relations.clear();
                    cursors.clear();
                } else if (s.isWord(1, "temp") || s.isWord(1, "temporary")) {
                    relations.clear();
                }
            }
            case "close" -> {
                if (s.size() == 2 && s.isWord(1, "all")) {
                    cursors.clear();
                }
            }
            case "create" -> {
                for (int i = 1; i < s.size() && !s.isPunct(i, "("); i++) {
                    if (DROPPABLE.contains(s.word(i))) {
                        int at = s.isWord(i + 1, "if") && s.isWord(i + 2, "not") && s.isWord(i + 3, "exists") ? i + 4 : i + 1;
                        int nameAt = s.isWord(at, "pg_temp") && s.isPunct(at + 1, ".") ? at + 2 : at;
                        if (relationAt(s, at, relations) > 0) {
                            relations.remove(name(s.get(nameAt)));
                        }
                        return;
                    }
                }
            }
            default -> { }
        }
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

    /** {@code DROP TABLE | VIEW | SEQUENCE [IF EXISTS] name [, …] [CASCADE | RESTRICT]}; the names go. */
    private static boolean dropsOnly(Statement s, Set<String> names) {
        if (!DROPPABLE.contains(s.word(1))) {
            return false;
        }
        int i = s.isWord(2, "if") && s.isWord(3, "exists") ? 4 : 2;
        Set<String> dropped = new HashSet<>();
        while (true) {
            int start = s.isWord(i, "pg_temp") && s.isPunct(i + 1, ".") ? i + 2 : i;
            i = relationAt(s, i, names);
            if (i < 0) {
                return false;
            }
            dropped.add(name(s.get(start)));
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
        return "relations " + relations + ", cursors " + cursors;
    }
}
