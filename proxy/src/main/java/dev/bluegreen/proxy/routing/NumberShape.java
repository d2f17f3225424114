package dev.bluegreen.proxy.routing;

import java.util.List;

/**
 * A SQL text with its numeric constants masked, so that statements differing only in the numbers written
 * into them ({@code ... where aid = 5123}) share one entry of the {@link Classifier}'s cache. Clients of the
 * simple protocol (pgbench, ORMs that inline values) send a new text for nearly every query; without the
 * shape, each was lexed and classified afresh.
 *
 * <p>A run of digits is masked when it stands alone: neither side touches a character that continues an
 * identifier or a number's letters ({@code t1}, {@code $1}, {@code 0x1F}, {@code 1e5} and {@code 1_000}
 * keep theirs). Each masked run becomes {@code NUL}, which no text from the wire holds (NUL ends a protocol
 * string; a text holding one gets no shape), so a shape never equals a real text.
 *
 * <p>{@link #of(String)} is a quick scan that skips strings, quoted identifiers and comments, and gives up
 * (no shape) where telling those apart takes more: an {@code E'...'} string, a dollar quote, an unterminated
 * quote or comment. It is not the lexer, so the classifier trusts a shape only once {@link #of(String, List)}
 * has found, from the lexer's tokens of a text of that shape, that every masked run is a number. The lexer
 * reads a standalone run of digits the same way whatever its digits, so every text of that shape then has
 * the same tokens, but for the values of its numbers.
 */
final class NumberShape {

    static final char MASK = '\0';

    private NumberShape() {
    }

    /** The text with its standalone digit runs masked, or null when it has none or cannot be scanned simply. */
    static String of(String sql) {
        if (sql.indexOf(MASK) >= 0) {
            return null;
        }
        int length = sql.length();
        StringBuilder shape = null;
        int copied = 0;
        int i = 0;
        while (i < length) {
            char c = sql.charAt(i);
            if (c == '\'' || c == '"') {
                if (c == '\'' && i > 0 && (sql.charAt(i - 1) | 0x20) == 'e'
                        && (i == 1 || !Lexer.isIdentContinue(sql.charAt(i - 2)) || Lexer.isDigit(sql.charAt(i - 2)))) {
                    return null; // E'...' (also right after a number: 0e'...'), where backslashes escape
                }
                i = closingQuote(sql, i, c);
                if (i < 0) {
                    return null;
                }
            } else if (c == '-' && i + 1 < length && sql.charAt(i + 1) == '-') {
                i = Lexer.lineCommentEnd(sql, i);
            } else if (c == '/' && i + 1 < length && sql.charAt(i + 1) == '*') {
                i = Lexer.blockCommentEnd(sql, i);
                if (i < 0) {
                    return null;
                }
            } else if (c == '$'
                    && (i == 0 || !Lexer.isIdentContinue(sql.charAt(i - 1)) || Lexer.isDigit(sql.charAt(i - 1)))
                    && !(i + 1 < length && Lexer.isDigit(sql.charAt(i + 1)))) {
                return null; // a dollar quote, also right after a number (a lone $ is an error the server reports)
            } else if (Lexer.isDigit(c) && (i == 0 || !Lexer.isIdentContinue(sql.charAt(i - 1)))) {
                int end = i + 1;
                while (end < length && Lexer.isDigit(sql.charAt(end))) {
                    end++;
                }
                if (end == length || !Lexer.isIdentContinue(sql.charAt(end))) {
                    if (shape == null) {
                        shape = new StringBuilder(length);
                    }
                    shape.append(sql, copied, i).append(MASK); // 5 and 5123 alike
                    copied = end;
                }
                i = end;
            } else {
                i++;
            }
        }
        return shape == null ? null : shape.append(sql, copied, length).toString();
    }

    /**
     * The text with the standalone digit runs of its {@code NUMBER} tokens masked: what {@link #of(String)}
     * gives for it when the scan read it as the lexer did.
     */
    static String of(String sql, List<Token> tokens) {
        StringBuilder shape = new StringBuilder(sql.length());
        int copied = 0;
        for (Token token : tokens) {
            if (token.type() != Token.Type.NUMBER) {
                continue;
            }
            int end = token.start() + token.text().length();
            for (int i = token.start(); i < end; ) {
                if (!Lexer.isDigit(sql.charAt(i))) {
                    i++;
                    continue;
                }
                int run = i;
                while (i < end && Lexer.isDigit(sql.charAt(i))) {
                    i++;
                }
                boolean alone = (run == 0 || !Lexer.isIdentContinue(sql.charAt(run - 1)))
                        && (i == sql.length() || !Lexer.isIdentContinue(sql.charAt(i)));
                if (alone) {
                    shape.append(sql, copied, run).append(MASK);
                    copied = i;
                }
            }
        }
        return shape.append(sql, copied, sql.length()).toString();
    }

    /** Index after the quote closing the one at {@code open} ({@code ''} or {@code ""} inside is a quote), or -1. */
    private static int closingQuote(String sql, int open, char quote) {
        int i = open + 1;
        while (true) {
            int close = sql.indexOf(quote, i);
            if (close < 0) {
                return -1;
            }
            if (close + 1 < sql.length() && sql.charAt(close + 1) == quote) {
                i = close + 2;
            } else {
                return close + 1;
            }
        }
    }
}
