package dev.bluegreen.proxy.routing;

/**
 * A SQL text with its numeric constants masked, so that statements differing only in the numbers written
 * into them ({@code ... where aid = 5123}) share one entry of the {@link Classifier}'s cache. Clients of the
 * simple protocol (pgbench, ORMs that inline values) send a new text for nearly every query; without the
 * shape, each was lexed and classified afresh.
 *
 * <p>A run of digits is masked when it stands alone: neither side touches a character that continues an
 * identifier or a number's letters ({@code t1}, {@code $1}, {@code 0x1F}, {@code 1e5} and {@code 1_000}
 * keep theirs). The lexer reads such a run the same way whatever its digits, so texts of one shape have the
 * same tokens but for the values of their {@code NUMBER}s. Each masked run becomes {@code NUL}, which no
 * text from the wire holds (NUL ends a protocol string), so a shape never equals a real text.
 *
 * <p>Digits inside strings, quoted identifiers and comments stay. The scan gives up (no shape) where
 * telling those apart takes more than quotes and comments: an {@code E'...'} string, a dollar quote, an
 * unterminated quote or comment. Texts with no number to mask have no shape either.
 */
final class NumberShape {

    static final char MASK = '\0';

    private NumberShape() {
    }

    /** The text with its standalone digit runs masked, or null when it has none or cannot be scanned simply. */
    static String of(String sql) {
        int length = sql.length();
        StringBuilder shape = null;
        int copied = 0;
        int i = 0;
        while (i < length) {
            char c = sql.charAt(i);
            if (c == '\'' || c == '"') {
                if (c == '\'' && i > 0 && (sql.charAt(i - 1) | 0x20) == 'e' && (i == 1 || !continuesWord(sql.charAt(i - 2)))) {
                    return null; // E'...': backslashes escape
                }
                i = closingQuote(sql, i, c);
                if (i < 0) {
                    return null;
                }
            } else if (c == '-' && i + 1 < length && sql.charAt(i + 1) == '-') {
                int newline = sql.indexOf('\n', i);
                i = newline < 0 ? length : newline + 1;
            } else if (c == '/' && i + 1 < length && sql.charAt(i + 1) == '*') {
                i = commentEnd(sql, i);
                if (i < 0) {
                    return null;
                }
            } else if (c == '$' && (i == 0 || !continuesWord(sql.charAt(i - 1)))
                    && !(i + 1 < length && isDigit(sql.charAt(i + 1)))) {
                return null; // a dollar quote (a lone $ is an error the server reports)
            } else if (isDigit(c) && (i == 0 || !continuesWord(sql.charAt(i - 1)))) {
                int end = i + 1;
                while (end < length && isDigit(sql.charAt(end))) {
                    end++;
                }
                if (end == length || !continuesWord(sql.charAt(end))) {
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

    /** Index after the comment opening at {@code open}, which nests as PostgreSQL's do, or -1. */
    private static int commentEnd(String sql, int open) {
        int depth = 0;
        int i = open;
        while (i + 1 < sql.length()) {
            if (sql.charAt(i) == '/' && sql.charAt(i + 1) == '*') {
                depth++;
                i += 2;
            } else if (sql.charAt(i) == '*' && sql.charAt(i + 1) == '/') {
                depth--;
                i += 2;
                if (depth == 0) {
                    return i;
                }
            } else {
                i++;
            }
        }
        return -1;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** Whether {@code c} continues an identifier or a number's letters: the lexer would join it to a digit beside it. */
    private static boolean continuesWord(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '_' || c == '$' || c >= 0x80;
    }
}
