package dev.bluegreen.proxy.routing;

/** Finds function calls (a name followed by {@code (}) and clock keywords anywhere in a statement. */
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
            if (!token.isIdentifier() || !s.isPunct(i + 1, "(")) {
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
}
