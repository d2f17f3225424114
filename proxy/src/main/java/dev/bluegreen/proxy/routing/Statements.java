package dev.bluegreen.proxy.routing;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a token list into statements at top-level semicolons, as the server does. The one place a
 * semicolon does not end a statement is the body of {@code CREATE FUNCTION/PROCEDURE ... BEGIN ATOMIC ... END}:
 * the body opens at {@code BEGIN ATOMIC} outside parentheses and closes at the {@code END} that is not a
 * {@code CASE}'s, so neither a parameter named {@code begin} nor a column labelled {@code AS end} moves it.
 */
final class Statements {

    private Statements() {
    }

    /** The non-empty statements, in order. */
    static List<List<Token>> split(List<Token> tokens) {
        List<List<Token>> statements = new ArrayList<>();
        int start = 0;
        int parentheses = 0;
        boolean inBody = false;
        int cases = 0;
        for (int i = 0; i < tokens.size(); i++) {
            Token token = tokens.get(i);
            if (token.isPunct("(")) {
                parentheses++;
            } else if (token.isPunct(")")) {
                parentheses--;
            } else if (token.type() == Token.Type.WORD && !isLabel(tokens, i) && definesRoutine(tokens, start)) {
                if (!inBody && parentheses == 0 && token.isWord("begin") && at(tokens, i + 1, "atomic")) {
                    inBody = true;
                    cases = 0;
                } else if (inBody && token.isWord("case")) {
                    cases++;
                } else if (inBody && token.isWord("end")) {
                    if (cases > 0) {
                        cases--;
                    } else {
                        inBody = false;
                    }
                }
            }
            if (token.isPunct(";") && !inBody) {
                addIfNotEmpty(statements, tokens.subList(start, i));
                start = i + 1;
                parentheses = 0;
            }
        }
        addIfNotEmpty(statements, tokens.subList(start, tokens.size()));
        return statements;
    }

    /** A word after {@code AS} or {@code .} names something: {@code SELECT 1 AS end}, {@code t.case}. */
    private static boolean isLabel(List<Token> tokens, int i) {
        return i > 0 && (tokens.get(i - 1).isWord("as") || tokens.get(i - 1).isPunct("."));
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
