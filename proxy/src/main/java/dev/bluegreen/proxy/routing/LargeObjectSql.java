package dev.bluegreen.proxy.routing;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A statement that creates a large object in SQL with an OID the server picks, in the one shape whose answer is that
 * OID alone: {@code SELECT f(…) [[AS] name] [;]}, {@code f} one of
 * <ul>
 *   <li>{@code lo_creat(mode)}: the follower is given {@code lo_create(oid)} (the mode has been ignored since 8.1);</li>
 *   <li>{@code lo_create(0)}, {@code lo_from_bytea(0, data)}, the data a string or a parameter: the {@code 0} becomes
 *   the OID;</li>
 *   <li>{@code lo_import(path)}, the server reading the file: {@code lo_import(path, oid)}; {@code lo_import(path, 0)}:
 *   the {@code 0} becomes the OID.</li>
 * </ul>
 * perhaps qualified by {@code pg_catalog}. Each cluster's OID counter is its own, so run unchanged the follower's
 * object gets another OID, which the client never sees (the statement's rows are those of a {@code SELECT}, compared on
 * success alone), and the next statement naming the leader's OID fails there or reaches another object. Anything else
 * that creates one (inside an {@code INSERT}, several at once from a query, an OID given as a parameter) has no shape.
 *
 * @param start  where the text the follower's copy replaces begins
 * @param end    where it ends (equal to {@code start}: inserted there)
 * @param prefix written before the OID
 * @param suffix written after it
 */
public record LargeObjectSql(int start, int end, String prefix, String suffix) {

    private static final Set<String> CREATING = Set.of("lo_creat", "lo_create", "lo_from_bytea", "lo_import");

    /** The edit that gives the follower's copy of the text {@code oid}, the one the leader returned (unsigned decimal). */
    public TransactionTime.Edit given(String oid) {
        return new TransactionTime.Edit(start, end, prefix + oid + suffix);
    }

    /** The shape of {@code sql}, read with backslashes escaping in plain strings where {@code backslashInPlainStrings}. */
    public static Optional<LargeObjectSql> of(String sql, boolean backslashInPlainStrings) {
        if (!mayCreate(sql)) {
            return Optional.empty(); // (a look at the letters first: this runs for every one-statement write a follower takes)
        }
        List<Token> t = Lexer.statementTokens(sql, backslashInPlainStrings);
        if (t == null) {
            return Optional.empty();
        }
        int end = t.size();
        int at = 1;
        if (end < 4 || !t.getFirst().isWord("select")) {
            return Optional.empty();
        }
        if (t.get(at).isWord("pg_catalog") && t.get(at + 1).isPunct(".")) {
            at += 2;
        }
        Token function = t.get(at);
        if (function.type() != Token.Type.WORD || !CREATING.contains(function.value()) || at + 1 >= end
                || !t.get(at + 1).isPunct("(")) {
            return Optional.empty();
        }
        int open = at + 1;
        int close = closing(t, open, end);
        if (close < 0 || !aliasOnly(t, close + 1, end)) {
            return Optional.empty();
        }
        return switch (function.value()) {
            case "lo_creat" -> isInteger(t, open + 1, close)
                    ? Optional.of(new LargeObjectSql(function.start(), t.get(close).start() + 1, "lo_create(", ")"))
                    : Optional.empty();
            case "lo_create" -> zeroOid(t, open + 1) == close ? zero(t.get(open + 1)) : Optional.empty();
            case "lo_from_bytea" -> {
                int after = zeroOid(t, open + 1);
                yield after > 0 && t.get(after).isPunct(",") && valueOnly(t, after + 1, close) ? zero(t.get(open + 1))
                        : Optional.empty();
            }
            default -> { // lo_import(path), or lo_import(path, 0); one naming another OID names its own
                boolean path = t.get(open + 1).type() == Token.Type.STRING || t.get(open + 1).type() == Token.Type.PARAM;
                if (path && close == open + 2) {
                    yield Optional.of(new LargeObjectSql(t.get(close).start(), t.get(close).start(), ", ", ""));
                }
                yield path && t.get(open + 2).isPunct(",") && zeroOid(t, open + 3) == close ? zero(t.get(open + 3)) : Optional.empty();
            }
        };
    }

    /**
     * Whether the tokens {@code [from, end)} are a string or a parameter, perhaps cast: {@code lo_from_bytea}'s data
     * made by nothing that could differ between the clusters (a random value, another large object's creation), which
     * the follower would make its own with the leader's OID and no count.
     */
    private static boolean valueOnly(List<Token> t, int from, int end) {
        if (from >= end || (t.get(from).type() != Token.Type.STRING && t.get(from).type() != Token.Type.PARAM)) {
            return false;
        }
        return from + 1 == end || (from + 3 == end && t.get(from + 1).isPunct("::") && t.get(from + 2).type() == Token.Type.WORD);
    }

    /** Whether {@code sql} may hold one of the functions: a look that costs less than lexing it. */
    private static boolean mayCreate(String sql) {
        for (int i = sql.indexOf('_'); i >= 2; i = sql.indexOf('_', i + 1)) {
            if (sql.regionMatches(true, i - 2, "lo_", 0, 3)) {
                return true;
            }
        }
        return false;
    }

    /** The index of the parenthesis closing the one at {@code open}, before {@code end}; -1 where there is none. */
    private static int closing(List<Token> t, int open, int end) {
        int depth = 0;
        for (int i = open; i < end; i++) {
            Token token = t.get(i);
            if (token.isPunct("(") || token.isPunct("[")) {
                depth++;
            } else if ((token.isPunct(")") || token.isPunct("]")) && --depth == 0) {
                return token.isPunct(")") ? i : -1;
            }
        }
        return -1;
    }

    /** Whether the tokens {@code [from, end)} are nothing, a name, or {@code AS} and a name: the result column's. */
    private static boolean aliasOnly(List<Token> t, int from, int end) {
        if (from < end && t.get(from).isWord("as")) {
            from++;
            return from + 1 == end && t.get(from).isIdentifier();
        }
        // (a lone word after the call can only be its name: a clause, FROM or LIMIT, would need more)
        return from == end || (from + 1 == end && t.get(from).isIdentifier());
    }

    /** Whether the tokens {@code [from, end)} are an integer, perhaps signed: {@code lo_creat}'s mode. */
    private static boolean isInteger(List<Token> t, int from, int end) {
        if (from < end && (t.get(from).isOperator("-") || t.get(from).isOperator("+"))) {
            from++;
        }
        return from + 1 == end && t.get(from).type() == Token.Type.NUMBER && t.get(from).text().chars().allMatch(Character::isDigit);
    }

    /**
     * Where the OID argument at {@code at} ends, where it is {@code 0}, perhaps cast to {@code oid}: the index of the
     * token after it; -1 where it is something else.
     */
    private static int zeroOid(List<Token> t, int at) {
        if (at >= t.size() || t.get(at).type() != Token.Type.NUMBER || !t.get(at).text().equals("0")) {
            return -1;
        }
        return at + 2 < t.size() && t.get(at + 1).isPunct("::") && t.get(at + 2).isWord("oid") ? at + 3 : at + 1;
    }

    private static Optional<LargeObjectSql> zero(Token zero) {
        return Optional.of(new LargeObjectSql(zero.start(), zero.start() + zero.text().length(), "", ""));
    }
}
