package dev.bluegreen.proxy.routing;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a token list into statements at top-level semicolons, as the server does. The one place a
 * semicolon does not end a statement is the body of {@code CREATE FUNCTION/PROCEDURE ... BEGIN ATOMIC ... END};
 * like psql, we count {@code BEGIN}/{@code CASE} against {@code END} inside such a statement, so a body's
 * {@code END} is never mistaken for a {@code COMMIT}.
 */
final class Statements {

    private Statements() {
    }

    /** The non-empty statements, in order. */
    static List<List<Token>> split(List<Token> tokens) {
        List<List<Token>> statements = new ArrayList<>();
        int start = 0;
        int blockDepth = 0;
        for (int i = 0; i < tokens.size(); i++) {
            Token token = tokens.get(i);
            if (token.type() == Token.Type.WORD && definesRoutine(tokens, start)) {
                if (token.isWord("begin") || token.isWord("case")) {
                    blockDepth++;
                } else if (token.isWord("end") && blockDepth > 0) {
                    blockDepth--;
                }
            }
            if (token.isPunct(";") && blockDepth == 0) {
                addIfNotEmpty(statements, tokens.subList(start, i));
                start = i + 1;
            }
        }
        addIfNotEmpty(statements, tokens.subList(start, tokens.size()));
        return statements;
    }

    private static boolean definesRoutine(List<Token> tokens, int start) {
        int i = start;
        if (!at(tokens, i, "create")) {
            return false;
        }
        i++;
        if (at(tokens, i, "or") && at(tokens, i + 1, "replace")) {
            i += 2;
        }
        return at(tokens, i, "function") || at(tokens, i, "procedure");
    }

    private static boolean at(List<Token> tokens, int i, String word) {
        return i < tokens.size() && tokens.get(i).isWord(word);
    }

    private static void addIfNotEmpty(List<List<Token>> statements, List<Token> statement) {
        if (!statement.isEmpty()) {
            statements.add(List.copyOf(statement));
        }
    }
}
