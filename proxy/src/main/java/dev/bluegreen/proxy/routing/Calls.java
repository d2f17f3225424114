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
            if (catalog.nonDeterministic(name)) {
                verdict.add(Trait.NON_DETERMINISTIC);
            }
            if (name.equals("set_config")) {
                SettingSyntax.setConfig(s, i + 1, verdict);
            }
        }
        return writes;
    }

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
