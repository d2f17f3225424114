package dev.bluegreen.proxy.routing;

/**
 * One lexical token of SQL text.
 *
 * @param type  what it is
 * @param text  the exact source slice
 * @param value for a {@link Type#WORD} its ASCII-lower-cased spelling (as PostgreSQL folds it), for a
 *              quoted identifier or a string its decoded content, otherwise the text
 * @param start where {@code text} begins in the SQL
 */
record Token(Type type, String text, String value, int start) {

    enum Type {
        /** An unquoted keyword or identifier. */
        WORD,
        /** {@code "..."}. */
        QUOTED_IDENT,
        /** {@code U&"..."}: its escapes are not decoded, so its value is unreliable. */
        UNICODE_IDENT,
        /** Any quoted string constant: {@code '...'}, {@code E'...'}, {@code B'...'}, {@code X'...'}, {@code U&'...'}, {@code $tag$...$tag$}. */
        STRING,
        NUMBER,
        /** A parameter marker {@code $1}. */
        PARAM,
        /** A run of operator characters, split the way PostgreSQL splits it. */
        OPERATOR,
        /** {@code ( ) [ ] , ; . : ::} and any other single character. */
        PUNCT,
        /** A string, identifier or dollar-quoted body missing its closing quote: runs to the end of the text. */
        UNTERMINATED
    }

    boolean isWord(String lower) {
        return type == Type.WORD && value.equals(lower);
    }

    boolean isPunct(String punct) {
        return type == Type.PUNCT && text.equals(punct);
    }

    boolean isOperator(String op) {
        return type == Type.OPERATOR && text.equals(op);
    }

    /** A name as PostgreSQL resolves it: a folded word or a quoted identifier's content. */
    boolean isIdentifier() {
        return type == Type.WORD || type == Type.QUOTED_IDENT || type == Type.UNICODE_IDENT;
    }
}
