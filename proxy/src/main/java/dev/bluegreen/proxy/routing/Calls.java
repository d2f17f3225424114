package dev.bluegreen.proxy.routing;

import java.util.Set;

/**
 * Finds function calls (a name followed by {@code (}), clock keywords and names of the system catalogs
 * anywhere in a statement.
 */
final class Calls {

    private Calls() {
    }

    /**
     * Adds the traits the statement's calls imply.
     *
     * @return whether some call may write or depend on the session, which rules out a read
     */
    static boolean scan(Statement s, FunctionCatalog catalog, Verdict verdict) {
        boolean writes = false;
        for (int i = 0; i < s.size(); i++) {
            Token token = s.get(i);
            if (token.type() == Token.Type.WORD && catalog.nonDeterministicKeyword(token.value())
                    && !s.isPunct(i - 1, ".")) {
                verdict.add(Trait.NON_DETERMINISTIC);
            }
            if (s.isWord(i, "skip") && s.isWord(i + 1, "locked")) {
                // which rows it takes depends on which rows other sessions hold at that moment, which the
                // ordering rule does not reproduce on the follower (a job queue's claim differs there)
                verdict.add(Trait.NON_DETERMINISTIC);
            }
            if (!token.isIdentifier()) {
                continue;
            }
            if (!s.isPunct(i + 1, "(")) {
                if (token.type() != Token.Type.UNICODE_IDENT
                        && namesCatalog(Lexer.asciiLower(token.value()), s.isPunct(i + 1, "."))) {
                    verdict.add(Trait.CATALOG);
                }
                continue;
            }
            if (token.type() == Token.Type.UNICODE_IDENT) {
                // a name spelled in escapes could be any function: assume the worst
                writes = true;
                continue;
            }
            String name = Lexer.asciiLower(token.value());
            writes |= catalog.writes(name);
            if (catalog.pinsSession(name)) {
                verdict.add(Trait.PINS_SESSION);
            }
            if (catalog.nonDeterministic(name) || picksLargeObjectOid(s, i, name)) {
                verdict.add(Trait.NON_DETERMINISTIC);
            }
            if (name.equals("set_config")) {
                SettingSyntax.setConfig(s, i + 1, verdict);
            }
        }
        return writes;
    }

    /**
     * A call at {@code i} creating a large object whose OID the server picks, from its own counter, which each cluster
     * has: {@code lo_creat(mode)}, {@code lo_create(0)}, {@code lo_from_bytea(0, …)}, {@code lo_import(path)} and
     * {@code lo_import(path, 0)}, the {@code 0} perhaps a parameter or {@code '0'}. (The proxy gives the follower the
     * leader's OID where the statement is that call alone, {@link LargeObjectSql}.)
     */
    private static boolean picksLargeObjectOid(Statement s, int i, String name) {
        return switch (name) {
            case "lo_creat" -> true;
            case "lo_create", "lo_from_bytea" -> mayBeZero(s, i + 2);
            case "lo_import" -> s.isPunct(i + 3, ")") || (s.isPunct(i + 3, ",") && mayBeZero(s, i + 4) && s.isPunct(i + 5, ")"));
            default -> false;
        };
    }

    /** Whether the token at {@code i} is an OID argument that may be 0: {@code 0}, {@code '0'} or a parameter. */
    private static boolean mayBeZero(Statement s, int i) {
        if (i >= s.size()) {
            return false;
        }
        Token token = s.get(i);
        return token.type() == Token.Type.PARAM || (token.type() == Token.Type.NUMBER && token.text().equals("0"))
                || (token.type() == Token.Type.STRING && token.value().equals("0"));
    }

    /**
     * Whether the statement calls a function whose traits depend on the value of a number written in it
     * ({@code lo_create(0)} against {@code lo_create(16500)}, {@link #picksLargeObjectOid}): texts differing only in
     * their numbers do not share its classification. Names are read as {@link #scan} reads them.
     */
    static boolean readsANumbersValue(Statement s) {
        for (int i = 0; i + 1 < s.size(); i++) {
            Token token = s.get(i);
            if (token.isIdentifier() && token.type() != Token.Type.UNICODE_IDENT && s.isPunct(i + 1, "(")
                    && NUMBERED_OIDS.contains(Lexer.asciiLower(token.value()))) {
                return true;
            }
        }
        return false;
    }

    /** The functions {@link #picksLargeObjectOid} reads a number of. */
    private static final Set<String> NUMBERED_OIDS = Set.of("lo_create", "lo_from_bytea", "lo_import");

    private static final Set<String> OID_ALIASES = Set.of("regclass", "regcollation", "regconfig",
            "regdictionary", "regnamespace", "regoper", "regoperator", "regproc", "regprocedure", "regrole", "regtype");

    /**
     * A name that is not a call: a system catalog or view, {@code information_schema}, an OID alias type.
     * {@code pg_catalog.} qualifying a function is not a read of the catalogs; qualifying a relation, the
     * relation's own name says so.
     */
    private static boolean namesCatalog(String name, boolean qualifies) {
        return name.equals("information_schema")
                || (!qualifies && (name.startsWith("pg_") || OID_ALIASES.contains(name)));
    }
}
