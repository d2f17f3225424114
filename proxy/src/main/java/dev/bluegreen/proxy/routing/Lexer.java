package dev.bluegreen.proxy.routing;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * PostgreSQL's lexical rules, enough to know which words are code: {@code --} and nested
 * {@code /* *}{@code /} comments, {@code '...'} with {@code ''}, {@code E'...'} with backslash escapes,
 * {@code B'', X'', N'', U&''}, {@code "..."} and {@code U&"..."} identifiers, dollar quoting
 * ({@code $$...$$}, {@code $tag$...$tag$}) and {@code $1} parameters, identifiers containing {@code $},
 * and operators split as the server splits them.
 *
 * <p>{@link #lex(String)} reads text as a server with {@code standard_conforming_strings = on} does (the
 * default since PostgreSQL 9.1); {@link #lex(String, boolean)} can read it as one with the setting off,
 * where a backslash in a plain {@code '...'} string escapes, as in {@code E'...'}.
 */
final class Lexer {

    private static final String OPERATOR_CHARS = "~!@#^&|`?+-*/%<>=";
    /** An operator containing one of these may end in + or - (PostgreSQL's rule for "a-+b"). */
    private static final String KEEPS_TRAILING_SIGN = "~!@#^&|`?%";

    private final String sql;
    private final int length;
    private final boolean backslashInPlainStrings;
    private final List<Token> tokens = new ArrayList<>();
    private int pos;

    private Lexer(String sql, boolean backslashInPlainStrings) {
        this.sql = sql;
        this.length = sql.length();
        this.backslashInPlainStrings = backslashInPlainStrings;
    }

    static Lexed lex(String sql) {
        return lex(sql, false);
    }

    /** @param backslashInPlainStrings the session has {@code standard_conforming_strings = off} */
    static Lexed lex(String sql, boolean backslashInPlainStrings) {
        return new Lexer(sql, backslashInPlainStrings).run();
    }

    /**
     * The tokens of {@code sql} read as one statement: without the semicolons that end it (a view of them); null where
     * the text cannot be lexed.
     */
    static List<Token> statementTokens(String sql, boolean backslashInPlainStrings) {
        Lexed lexed = lex(sql, backslashInPlainStrings);
        if (!lexed.readable()) {
            return null;
        }
        List<Token> t = lexed.tokens();
        int end = t.size();
        while (end > 0 && t.get(end - 1).isPunct(";")) {
            end--;
        }
        return t.subList(0, end);
    }

    private Lexed run() {
        while (pos < length) {
            char c = sql.charAt(pos);
            if (isSpace(c)) {
                pos++;
            } else if (c == '-' && peek(1) == '-') {
                pos = lineCommentEnd(sql, pos);
            } else if (c == '/' && peek(1) == '*') {
                pos = blockCommentEnd(sql, pos);
                if (pos < 0) {
                    pos = length;
                    return failed("unterminated /* comment");
                }
            } else {
                Optional<String> problem = token(c);
                if (problem.isPresent()) {
                    return failed(problem.get());
                }
            }
        }
        return new Lexed(tokens, Optional.empty());
    }

    private Lexed failed(String problem) {
        return new Lexed(tokens, Optional.of(problem));
    }

    /** Reads one token starting at {@code c}; a present result is why it could not. */
    private Optional<String> token(char c) {
        int start = pos;
        if (c == '\'') {
            return quoted(start, pos, backslashInPlainStrings);
        }
        if (c == '"') {
            return identifier(start, pos, Token.Type.QUOTED_IDENT);
        }
        if ((c == 'e' || c == 'E') && peek(1) == '\'') {
            return quoted(start, pos + 1, true);
        }
        if ((c == 'n' || c == 'N') && peek(1) == '\'') {
            return quoted(start, pos + 1, backslashInPlainStrings); // a national string is a plain one
        }
        if ((c == 'b' || c == 'B' || c == 'x' || c == 'X') && peek(1) == '\'') {
            return quoted(start, pos + 1, false);
        }
        if ((c == 'u' || c == 'U') && peek(1) == '&' && peek(2) == '\'') {
            return quoted(start, pos + 2, false);
        }
        if ((c == 'u' || c == 'U') && peek(1) == '&' && peek(2) == '"') {
            return identifier(start, pos + 2, Token.Type.UNICODE_IDENT);
        }
        if (c == '$') {
            return dollar(start);
        }
        if (isIdentStart(c)) {
            pos++;
            while (pos < length && isIdentContinue(sql.charAt(pos))) {
                pos++;
            }
            String text = sql.substring(start, pos);
            add(Token.Type.WORD, text, asciiLower(text));
            return Optional.empty();
        }
        if (isDigit(c) || (c == '.' && isDigit(peek(1)))) {
            number();
            return Optional.empty();
        }
        if (c == ':') {
            pos += (peek(1) == ':' || peek(1) == '=') ? 2 : 1;
            String text = sql.substring(start, pos);
            add(Token.Type.PUNCT, text, text);
            return Optional.empty();
        }
        if (OPERATOR_CHARS.indexOf(c) >= 0) {
            operator();
            return Optional.empty();
        }
        pos++;
        String text = String.valueOf(c);
        add(Token.Type.PUNCT, text, text);
        return Optional.empty();
    }

    /** A string whose opening quote is at {@code quote}; {@code start} includes any prefix. */
    private Optional<String> quoted(int start, int quote, boolean backslashEscapes) {
        int i = quote + 1;
        StringBuilder value = new StringBuilder();
        while (i < length) {
            char c = sql.charAt(i);
            if (c == '\'') {
                if (i + 1 < length && sql.charAt(i + 1) == '\'') {
                    value.append('\'');
                    i += 2;
                    continue;
                }
                int continued = continuation(sql, i + 1);
                if (continued >= 0) {
                    i = continued + 1; // the same string goes on, read as it was: E'\n' keeps its escapes
                    continue;
                }
                pos = i + 1;
                add(Token.Type.STRING, sql.substring(start, pos), value.toString());
                return Optional.empty();
            }
            if (backslashEscapes && c == '\\' && i + 1 < length) {
                i = unescape(i, value);
                continue;
            }
            value.append(c);
            i++;
        }
        return unterminated(start, "unterminated quoted string");
    }

    /**
     * Where a string that closed just before {@code from} goes on: the index of the quote that continues it,
     * or -1. As in PostgreSQL, two string constants separated by whitespace holding at least one newline
     * are one string ({@code 'a'}, a newline, {@code 'b'} is {@code 'ab'}), and the second part is read in
     * the first one's mode: after {@code E'...'} a backslash still escapes, so a {@code \'} there does not
     * end it. Before the first newline come blanks and a {@code --} comment, which runs up to it; after it,
     * blanks, newlines and {@code --} comments, each ended by a newline (scan.l's
     * {@code whitespace_with_newline}). Block comments do not continue a string.
     */
    static int continuation(String sql, int from) {
        int i = from;
        while (i < sql.length()) {
            char c = sql.charAt(i);
            if (c == ' ' || c == '\t' || c == '\f' || c == '\u000B') {
                i++;
            } else if (c == '-' && i + 1 < sql.length() && sql.charAt(i + 1) == '-') {
                i = lineCommentEnd(sql, i); // at the newline that ends it, or the end of the text
            } else {
                break;
            }
        }
        if (i >= sql.length() || (sql.charAt(i) != '\n' && sql.charAt(i) != '\r')) {
            return -1;
        }
        while (i < sql.length()) {
            char c = sql.charAt(i);
            if (isSpace(c)) {
                i++;
            } else if (c == '-' && i + 1 < sql.length() && sql.charAt(i + 1) == '-') {
                i = lineCommentEnd(sql, i);
                if (i >= sql.length()) {
                    return -1; // a comment ends in a newline here, not at the end of the text
                }
            } else {
                break;
            }
        }
        return i < sql.length() && sql.charAt(i) == '\'' ? i : -1;
    }

    /** Decodes the escape at {@code i} (a backslash) of an {@code E''} string; returns the index after it. */
    private int unescape(int i, StringBuilder value) {
        char e = sql.charAt(i + 1);
        switch (e) {
            case 'b' -> value.append('\b');
            case 'f' -> value.append('\f');
            case 'n' -> value.append('\n');
            case 'r' -> value.append('\r');
            case 't' -> value.append('\t');
            case 'x' -> {
                int end = hexRun(i + 2, 2);
                if (end > i + 2) {
                    value.append((char) Integer.parseInt(sql.substring(i + 2, end), 16));
                    return end;
                }
                value.append('x');
            }
            case 'u', 'U' -> {
                int digits = e == 'u' ? 4 : 8;
                int end = hexRun(i + 2, digits);
                if (end == i + 2 + digits) {
                    long codePoint = Long.parseLong(sql.substring(i + 2, end), 16);
                    // the server rejects an invalid code point; we only need to keep reading
                    value.appendCodePoint(codePoint <= Character.MAX_CODE_POINT ? (int) codePoint : 0xFFFD);
                    return end;
                }
                value.append(e);
            }
            default -> {
                if (e >= '0' && e <= '7') {
                    int end = i + 1;
                    while (end < length && end < i + 4 && sql.charAt(end) >= '0' && sql.charAt(end) <= '7') {
                        end++;
                    }
                    value.append((char) Integer.parseInt(sql.substring(i + 1, end), 8));
                    return end;
                }
                value.append(e);
            }
        }
        return i + 2;
    }

    private int hexRun(int from, int max) {
        int end = from;
        while (end < length && end < from + max && Character.digit(sql.charAt(end), 16) >= 0) {
            end++;
        }
        return end;
    }

    private Optional<String> identifier(int start, int quote, Token.Type type) {
        int i = quote + 1;
        StringBuilder value = new StringBuilder();
        while (i < length) {
            char c = sql.charAt(i);
            if (c == '"') {
                if (i + 1 < length && sql.charAt(i + 1) == '"') {
                    value.append('"');
                    i += 2;
                    continue;
                }
                pos = i + 1;
                add(type, sql.substring(start, pos), value.toString());
                return Optional.empty();
            }
            value.append(c);
            i++;
        }
        return unterminated(start, "unterminated quoted identifier");
    }

    /** {@code $1}, {@code $tag$...$tag$}, or a lone {@code $} (which the server would reject). */
    private Optional<String> dollar(int start) {
        if (isDigit(peek(1))) {
            pos++;
            while (pos < length && isDigit(sql.charAt(pos))) {
                pos++;
            }
            String text = sql.substring(start, pos);
            add(Token.Type.PARAM, text, text);
            return Optional.empty();
        }
        int i = start + 1;
        if (i < length && isTagStart(sql.charAt(i))) {
            i++;
            while (i < length && isTagContinue(sql.charAt(i))) {
                i++;
            }
        }
        if (i < length && sql.charAt(i) == '$') {
            String tag = sql.substring(start, i + 1);
            int close = sql.indexOf(tag, i + 1);
            if (close < 0) {
                return unterminated(start, "unterminated dollar-quoted string");
            }
            pos = close + tag.length();
            add(Token.Type.STRING, sql.substring(start, pos), sql.substring(i + 1, close));
            return Optional.empty();
        }
        pos = start + 1;
        add(Token.Type.PUNCT, "$", "$");
        return Optional.empty();
    }

    private Optional<String> unterminated(int start, String problem) {
        pos = length;
        add(Token.Type.UNTERMINATED, sql.substring(start), "");
        return Optional.of(problem);
    }

    private void number() {
        int start = pos;
        if (sql.charAt(pos) == '0' && "xXoObB".indexOf(peek(1)) >= 0 && Character.digit(peek(2), 16) >= 0) {
            pos += 2;
            while (pos < length && (Character.digit(sql.charAt(pos), 16) >= 0 || sql.charAt(pos) == '_')) {
                pos++;
            }
        } else {
            digits();
            if (pos < length && sql.charAt(pos) == '.' && peek(1) != '.') {
                pos++;
                digits();
            }
            char e = pos < length ? sql.charAt(pos) : 0;
            if ((e == 'e' || e == 'E')
                    && (isDigit(peek(1)) || ((peek(1) == '+' || peek(1) == '-') && isDigit(peek(2))))) {
                pos += 2;
                digits();
            }
        }
        String text = sql.substring(start, pos);
        add(Token.Type.NUMBER, text, text);
    }

    private void digits() {
        while (pos < length && (isDigit(sql.charAt(pos)) || sql.charAt(pos) == '_')) {
            pos++;
        }
    }

    private void operator() {
        int start = pos;
        while (pos < length && OPERATOR_CHARS.indexOf(sql.charAt(pos)) >= 0) {
            if (pos > start && (sql.startsWith("--", pos) || sql.startsWith("/*", pos))) {
                break;
            }
            pos++;
        }
        int end = pos;
        if (end - start > 1 && isSign(sql.charAt(end - 1))) {
            boolean keeps = false;
            for (int i = start; i < end - 1 && !keeps; i++) {
                keeps = KEEPS_TRAILING_SIGN.indexOf(sql.charAt(i)) >= 0;
            }
            if (!keeps) {
                do {
                    end--;
                } while (end - start > 1 && isSign(sql.charAt(end - 1)));
            }
        }
        pos = end;
        String text = sql.substring(start, end);
        add(Token.Type.OPERATOR, text, text);
    }

    /** Index of the CR or LF that ends the line comment starting at {@code from}, or the text's end. */
    static int lineCommentEnd(String sql, int from) {
        int i = from;
        while (i < sql.length() && sql.charAt(i) != '\n' && sql.charAt(i) != '\r') {
            i++;
        }
        return i;
    }

    /** Index after the block comment opening at {@code open} (they nest, as PostgreSQL's do); -1 if it never ends. */
    static int blockCommentEnd(String sql, int open) {
        int depth = 0;
        int i = open;
        while (i < sql.length()) {
            if (sql.startsWith("/*", i)) {
                depth++;
                i += 2;
            } else if (sql.startsWith("*/", i)) {
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

    /** Adds the token that ends where the lexer stands. */
    private void add(Token.Type type, String text, String value) {
        tokens.add(new Token(type, text, value, pos - text.length()));
    }

    private char peek(int ahead) {
        int i = pos + ahead;
        return i < length ? sql.charAt(i) : 0;
    }

    private static boolean isSign(char c) {
        return c == '+' || c == '-';
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\u000B';
    }

    static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isIdentStart(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    }

    /** Whether {@code c} continues an identifier (or, beside a digit, joins it into a word or a number's letters). */
    static boolean isIdentContinue(char c) {
        return isIdentStart(c) || isDigit(c) || c == '$';
    }

    private static boolean isTagStart(char c) {
        return isIdentStart(c);
    }

    private static boolean isTagContinue(char c) {
        return isIdentStart(c) || isDigit(c);
    }

    /** PostgreSQL folds unquoted identifiers in ASCII only; a locale-aware lower case would not match it. */
    static String asciiLower(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                if (out == null) {
                    out = new StringBuilder(text);
                }
                out.setCharAt(i, (char) (c + ('a' - 'A')));
            }
        }
        return out == null ? text : out.toString();
    }
}
