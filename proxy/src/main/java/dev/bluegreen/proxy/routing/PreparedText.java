package dev.bluegreen.proxy.routing;

import java.util.List;
import java.util.Optional;

/**
 * The {@code PREPARE} statement of one SQL-level prepared statement, out of the query string it came in.
 * {@code pg_prepared_statements} gives the whole string the client sent, which may hold other
 * statements too ({@code PREPARE p AS INSERT ...; EXECUTE p}); replaying that string on a twin would
 * run them again.
 */
public final class PreparedText {

    private PreparedText() {
    }

    /**
     * The statement of {@code sql} that prepares {@code name} (as the server stores it: an unquoted name
     * folded to lower case), its tokens joined by spaces (comments left out), or empty when there is none, or
     * more than one (which one the name means then cannot be told from the text).
     */
    public static Optional<String> of(String sql, String name) {
        return of(sql, name, false);
    }

    /**
     * {@link #of(String, String)} for a session whose {@code standard_conforming_strings} is off when
     * {@code backslashInPlainStrings}: a backslash in a plain string then escapes, and a {@code \'} does not end it.
     */
    public static Optional<String> of(String sql, String name, boolean backslashInPlainStrings) {
        Lexed lexed = Lexer.lex(sql, backslashInPlainStrings);
        if (!lexed.readable()) {
            return Optional.empty();
        }
        Optional<String> found = Optional.empty();
        for (List<Token> statement : Statements.split(lexed.tokens())) {
            if (statement.size() > 2 && statement.get(0).isWord("prepare")
                    && (statement.get(1).type() == Token.Type.WORD || statement.get(1).type() == Token.Type.QUOTED_IDENT)
                    && statement.get(1).value().equals(name)) {
                if (found.isPresent()) {
                    // prepared, deallocated and prepared again in one string: which one stands depends on what
                    // failed or ran, which the text does not say
                    return Optional.empty();
                }
                found = Optional.of(String.join(" ", statement.stream().map(Token::text).toList()));
            }
        }
        return found;
    }
}
