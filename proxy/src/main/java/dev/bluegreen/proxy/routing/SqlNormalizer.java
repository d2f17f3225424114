package dev.bluegreen.proxy.routing;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Turns a statement into the form divergence records and metrics carry (DESIGN §5): every literal becomes
 * {@code ?}, comments go, whitespace is canonical, and unquoted words are lower-cased (as the server folds
 * them), so the same statement with other values, other spacing or other keyword case reads the same and
 * has the same {@link #fingerprint}. Quoted identifiers and parameter markers ({@code $1}) stay as written.
 *
 * <p>No literal value survives: string constants of every quoting (including dollar-quoted bodies) and
 * numbers become {@code ?}; the value of a {@code SET} (and of {@code ALTER ... SET name TO value}) becomes
 * {@code ?} even when written as a bare word or a quoted name; text after an unclosed quote becomes a single {@code ?}.
 * {@code IN (?, ?, ?)} and {@code ARRAY[?, ?]} lists of literals collapse to one {@code ?}, so a list's
 * length does not split a fingerprint.
 */
public final class SqlNormalizer {

    /** Words after which an opening parenthesis reads better with a space; elsewhere {@code f(x)}. */
    private static final Set<String> SPACED_BEFORE_PAREN = Set.of(
            "in", "values", "as", "exists", "any", "all", "some", "on", "using", "from", "join", "where", "and",
            "or", "not", "select", "with", "into", "table", "over", "filter", "within", "returning", "set",
            "when", "then", "else", "lateral", "materialized", "by", "having", "union", "intersect", "except",
            "case", "is", "like", "ilike", "between", "default", "check", "references", "key", "recursive",
            "distinct", "limit", "offset", "do", "conflict", "update", "delete", "insert", "explain", "copy");

    private static final String PLACEHOLDER = "?";

    private SqlNormalizer() {
    }

    public static String normalize(String sql) {
        return normalize(Lexer.lex(sql).tokens(), sql.length());
    }

    /**
     * {@link #normalize(String)} as a session reads its text: with {@code backslashStrings}
     * ({@code standard_conforming_strings} off) a backslash escapes a quote in {@code '...'} too, and a literal
     * read the other way would leak its text into the record.
     */
    public static String normalize(String sql, boolean backslashStrings) {
        return normalize(Lexer.lex(sql, backslashStrings).tokens(), sql.length());
    }

    /** {@link #normalize(String)} of the text these tokens were lexed from, about {@code length} characters long. */
    static String normalize(List<Token> tokens, int length) {
        List<String> parts = render(tokens);
        StringBuilder out = new StringBuilder(length);
        String previous = null;
        for (String part : parts) {
            if (previous != null && spaced(previous, part)) {
                out.append(' ');
            }
            out.append(part);
            previous = part;
        }
        return out.toString();
    }

    /** A stable 64-bit hash of {@link #normalize}: the same statement with other literals has the same one. */
    public static long fingerprint(String sql) {
        return Hashing.text64(normalize(sql));
    }

    /** Where the renderer is in a statement, as far as masking {@code SET} values is concerned. */
    private enum Clause {
        /** Before the first token. */
        START,
        /** In an {@code ALTER} that may have a {@code SET name TO value} further on. */
        ALTER,
        /** After {@code SET}, before {@code TO} or {@code =}. */
        SET_NAME,
        /** After {@code SET name TO}: even bare words are values here. */
        SET_VALUE,
        OTHER
    }

    /** Each token as it will be printed: literals masked, words folded, lists collapsed, stray {@code ;} dropped. */
    private static List<String> render(List<Token> tokens) {
        List<String> parts = new ArrayList<>(tokens.size());
        Clause clause = Clause.START;
        for (int i = 0; i < tokens.size(); i++) {
            Token token = tokens.get(i);
            if (token.isPunct(";")) {
                if (clause != Clause.START && hasCodeAfter(tokens, i)) {
                    parts.add(";");
                }
                clause = Clause.START;
                continue;
            }
            clause = next(clause, token);
            String part = switch (token.type()) {
                case STRING, NUMBER, UNTERMINATED -> PLACEHOLDER;
                case WORD -> clause == Clause.SET_VALUE && !isSetKeyword(token) ? PLACEHOLDER : token.value();
                // SET name TO "value": the server takes a quoted name there for the value itself
                case QUOTED_IDENT, UNICODE_IDENT -> clause == Clause.SET_VALUE ? PLACEHOLDER : token.text();
                default -> token.text();
            };
            boolean continuesLiteral = token.type() == Token.Type.STRING && !parts.isEmpty()
                    && parts.get(parts.size() - 1).equals(PLACEHOLDER);
            if (!continuesLiteral) {
                // 'a' 'b' on separate lines is one constant to the server
                parts.add(part);
            }
            if (part.equals(")") || part.equals("]")) {
                collapseList(parts);
            }
        }
        return parts;
    }

    private static Clause next(Clause clause, Token token) {
        return switch (clause) {
            case START -> token.isWord("set") ? Clause.SET_NAME : token.isWord("alter") ? Clause.ALTER : Clause.OTHER;
            case ALTER -> token.isWord("set") ? Clause.SET_NAME : Clause.ALTER;
            case SET_NAME -> isSetKeyword(token) ? Clause.SET_VALUE : Clause.SET_NAME;
            case SET_VALUE, OTHER -> clause;
        };
    }

    /** The {@code TO} or {@code =} that separates a setting's name from its value (and stays visible). */
    private static boolean isSetKeyword(Token token) {
        return token.isWord("to") || token.isOperator("=");
    }

    private static boolean hasCodeAfter(List<Token> tokens, int i) {
        for (int j = i + 1; j < tokens.size(); j++) {
            if (!tokens.get(j).isPunct(";")) {
                return true;
            }
        }
        return false;
    }

    /**
     * When {@code parts} ends with {@code in ( ?, ?, ... )} or {@code array [ ?, ... ]} of literals only
     * (optionally signed), replaces the list with a single {@code ?}.
     */
    private static void collapseList(List<String> parts) {
        int close = parts.size() - 1;
        String opener = parts.get(close).equals(")") ? "(" : "[";
        String keyword = opener.equals("(") ? "in" : "array";
        int i = close - 1;
        int items = 0;
        while (i >= 0) {
            if (!parts.get(i).equals(PLACEHOLDER)) {
                return;
            }
            items++;
            i--;
            if (i >= 0 && (parts.get(i).equals("-") || parts.get(i).equals("+"))) {
                i--;
            }
            if (i >= 0 && parts.get(i).equals(",")) {
                i--;
                continue;
            }
            break;
        }
        if (items < 1 || i < 1 || !parts.get(i).equals(opener) || !parts.get(i - 1).equals(keyword)) {
            return;
        }
        parts.subList(i + 1, close).clear();
        parts.add(i + 1, PLACEHOLDER);
    }

    private static boolean spaced(String previous, String next) {
        if (previous.equals("(") || previous.equals("[") || previous.equals(".") || previous.equals("::")) {
            return false;
        }
        if (next.equals(")") || next.equals("]") || next.equals(",") || next.equals(".") || next.equals("::")
                || next.equals(";") || next.equals("[")) {
            return false;
        }
        if (next.equals("(")) {
            return !isName(previous) || SPACED_BEFORE_PAREN.contains(previous);
        }
        return true;
    }

    private static boolean isName(String part) {
        char c = part.charAt(0);
        return Character.isLetter(c) || c == '_' || c == '"';
    }
}
