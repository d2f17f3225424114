package dev.bluegreen.proxy.routing;

import java.util.List;
import java.util.Optional;

/**
 * A statement that sets, releases or goes back to a savepoint, and the savepoint's name as the server resolves it
 * (folded unless quoted): {@code SAVEPOINT name}, {@code RELEASE [SAVEPOINT] name}, {@code ROLLBACK [WORK | TRANSACTION]
 * TO [SAVEPOINT] name}. What the session set since a savepoint ({@code SET bluegreen.tenant}) a {@code ROLLBACK TO} it
 * undoes.
 *
 * @param action what the statement does
 * @param name   the savepoint's name
 */
public record SavepointCommand(Action action, String name) {

    /** What the statement does to the savepoint. */
    public enum Action { SET, RELEASE, ROLLBACK_TO }

    /** The command {@code sql} is, where it is one statement of these; read with {@code backslashInPlainStrings}. */
    public static Optional<SavepointCommand> of(String sql, boolean backslashInPlainStrings) {
        List<Token> t = Lexer.statementTokens(sql, backslashInPlainStrings);
        if (t == null) {
            return Optional.empty();
        }
        int end = t.size();
        Statement s = new Statement(t);
        int at;
        Action action;
        if (s.isWord(0, "savepoint")) {
            at = 1;
            action = Action.SET;
        } else if (s.isWord(0, "release")) {
            at = s.isWord(1, "savepoint") && end > 2 ? 2 : 1;
            action = Action.RELEASE;
        } else if (s.isWord(0, "rollback")) {
            int to = s.isWord(1, "work") || s.isWord(1, "transaction") ? 2 : 1;
            if (!s.isWord(to, "to")) {
                return Optional.empty();
            }
            at = s.isWord(to + 1, "savepoint") && end > to + 2 ? to + 2 : to + 1;
            action = Action.ROLLBACK_TO;
        } else {
            return Optional.empty();
        }
        if (at + 1 != end || !t.get(at).isIdentifier() || t.get(at).type() == Token.Type.UNICODE_IDENT) {
            return Optional.empty();
        }
        return Optional.of(new SavepointCommand(action, t.get(at).value()));
    }
}
