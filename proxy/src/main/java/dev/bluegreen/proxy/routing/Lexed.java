package dev.bluegreen.proxy.routing;

import java.util.List;
import java.util.Optional;

/**
 * The tokens of a text, and why lexing stopped early if it did. After a problem the token list ends at
 * the unreadable part (an {@link Token.Type#UNTERMINATED} token stands for an unclosed literal), so a
 * caller that renders tokens never shows what follows an unclosed quote.
 */
record Lexed(List<Token> tokens, Optional<String> problem) {

    Lexed {
        tokens = List.copyOf(tokens);
    }

    boolean readable() {
        return problem.isEmpty();
    }
}
