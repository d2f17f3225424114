package dev.bluegreen.proxy.routing;

import java.util.ArrayList;
import java.util.List;

/** The statements of a text, split where the server splits a simple-protocol {@code Query} ({@link Statements}). */
public final class StatementTexts {

    /** One statement: its text, from its first token to its last, and where that begins in the whole. */
    public record Slice(int start, String text) {
    }

    private StatementTexts() {
    }

    /**
     * The statements of {@code sql}, in order; empty where the text cannot be read to its end (an unclosed quote), or
     * where a semicolon the split cut at stands inside parentheses ({@code CREATE RULE … DO ALSO (NOTIFY x; INSERT …)},
     * one statement to the server), so that no statement is guessed at.
     */
    public static List<Slice> of(String sql, boolean backslashInPlainStrings) {
        Lexed lexed = Lexer.lex(sql, backslashInPlainStrings);
        if (!lexed.readable()) {
            return List.of();
        }
        List<List<Token>> statements = Statements.split(lexed.tokens());
        List<Slice> slices = new ArrayList<>(statements.size());
        for (List<Token> statement : statements) {
            int depth = 0;
            for (Token token : statement) {
                depth += token.isPunct("(") ? 1 : token.isPunct(")") ? -1 : 0;
            }
            if (depth != 0) {
                return List.of();
            }
            Token first = statement.getFirst();
            Token last = statement.getLast();
            slices.add(new Slice(first.start(), sql.substring(first.start(), last.start() + last.text().length())));
        }
        return slices;
    }
}
