package dev.bluegreen.proxy.routing;

import java.util.ArrayList;
import java.util.List;

/** The tokens of one statement, with the small lookups the syntax readers share. Indexes past the end are safe. */
record Statement(List<Token> tokens) {

    int size() {
        return tokens.size();
    }

    Token get(int i) {
        return tokens.get(i);
    }

    /** The folded word at {@code i}, or {@code ""} when there is none (a quoted identifier is not a keyword). */
    String word(int i) {
        if (i < 0 || i >= tokens.size()) {
            return "";
        }
        Token token = tokens.get(i);
        return token.type() == Token.Type.WORD ? token.value() : "";
    }

    boolean isWord(int i, String lower) {
        return word(i).equals(lower);
    }

    boolean isPunct(int i, String punct) {
        return i >= 0 && i < tokens.size() && tokens.get(i).isPunct(punct);
    }

    boolean containsWord(String lower) {
        for (Token token : tokens) {
            if (token.isWord(lower)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the words appear in this order, next to each other, anywhere. */
    boolean containsWords(String... lower) {
        for (int i = 0; i + lower.length <= tokens.size(); i++) {
            int matched = 0;
            while (matched < lower.length && isWord(i + matched, lower[matched])) {
                matched++;
            }
            if (matched == lower.length) {
                return true;
            }
        }
        return false;
    }

    /** Parentheses close in order and none is left open. */
    boolean balanced() {
        int depth = 0;
        for (Token token : tokens) {
            if (token.isPunct("(")) {
                depth++;
            } else if (token.isPunct(")") && --depth < 0) {
                return false;
            }
        }
        return depth == 0;
    }

    /** The index of the {@code )} closing the {@code (} at {@code open}; the statement is known to be balanced. */
    int closing(int open) {
        int depth = 0;
        for (int i = open; i < tokens.size(); i++) {
            if (tokens.get(i).isPunct("(")) {
                depth++;
            } else if (tokens.get(i).isPunct(")") && --depth == 0) {
                return i;
            }
        }
        return tokens.size();
    }

    /**
     * The index of the {@code )} closing the {@code (} at {@code open} if it is at most {@code limit}
     * tokens on, else -1: for callers that only care about short parentheses and must not scan far each
     * time (a call nested in itself thousands of times would take quadratic time).
     */
    int closingWithin(int open, int limit) {
        int depth = 0;
        int end = Math.min(tokens.size(), open + limit + 1);
        for (int i = open; i < end; i++) {
            if (tokens.get(i).isPunct("(")) {
                depth++;
            } else if (tokens.get(i).isPunct(")") && --depth == 0) {
                return i;
            }
        }
        return -1;
    }

    Statement from(int start) {
        return slice(start, tokens.size());
    }

    Statement slice(int start, int end) {
        int from = Math.min(start, tokens.size());
        return new Statement(tokens.subList(from, Math.max(from, Math.min(end, tokens.size()))));
    }

    /** Splits the tokens between {@code open} and its closing parenthesis at top-level commas. */
    List<Statement> arguments(int open) {
        List<Statement> arguments = new ArrayList<>();
        int close = closing(open);
        int start = open + 1;
        int depth = 0;
        for (int i = open + 1; i < close; i++) {
            Token token = tokens.get(i);
            if (token.isPunct("(") || token.isPunct("[")) {
                depth++;
            } else if (token.isPunct(")") || token.isPunct("]")) {
                depth--;
            } else if (token.isPunct(",") && depth == 0) {
                arguments.add(slice(start, i));
                start = i + 1;
            }
        }
        if (close > start) {
            arguments.add(slice(start, close));
        }
        return arguments;
    }

    /** A single literal or word as its text value ({@code 'a'} → a, {@code On} → on), or {@code ""}. */
    String singleValue() {
        if (tokens.size() != 1) {
            return "";
        }
        Token token = tokens.get(0);
        return switch (token.type()) {
            case WORD, STRING, NUMBER, QUOTED_IDENT -> token.value();
            default -> "";
        };
    }
}
