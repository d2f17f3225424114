package dev.bluegreen.proxy.routing;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The shape of one plain {@code INSERT}: the table it names, as written, and the columns it lists, so that the proxy
 * can tell which of the table's columns it leaves to their defaults. Read only where the answer is certain: a single
 * statement {@code INSERT INTO name [AS alias] (column, ...) {VALUES | SELECT | TABLE | WITH ...}} or {@code INSERT INTO
 * name DEFAULT VALUES}, without {@code ON CONFLICT} or {@code OVERRIDING}. Anything else (a {@code WITH} before the
 * {@code INSERT}, no column list, a subscripted or dotted column, several statements, text that cannot be lexed) has
 * no shape.
 *
 * @param table         the table's name as the statement spells it ({@code public.orders}, {@code "Orders"}), for
 *                      {@code to_regclass} to resolve as the session does
 * @param columns       the listed columns as the server resolves their names (folded unless quoted); empty for
 *                      {@code DEFAULT VALUES}, which lists none and leaves every column to its default
 */
public record InsertShape(String table, List<String> columns, Places places) {

    /**
     * Where, in the statement's text, columns can be added to an insert of one row: the column list's closing
     * parenthesis and the single {@code VALUES} row's, or the {@code DEFAULT VALUES} clause; null where it inserts
     * {@code SELECT}'s rows or several {@code VALUES} rows.
     */
    public record Places(int columnsEnd, int rowEnd, int defaultValuesStart, int defaultValuesEnd) {
    }

    public InsertShape {
        columns = List.copyOf(columns);
    }

    public InsertShape(String table, List<String> columns) {
        this(table, columns, null);
    }

    /** The shape of {@code sql}, if it is one plain {@code INSERT} as above. */
    public static Optional<InsertShape> of(String sql, boolean backslashInPlainStrings) {
        Lexed lexed = Lexer.lex(sql, backslashInPlainStrings);
        if (!lexed.readable()) {
            return Optional.empty();
        }
        List<Token> t = lexed.tokens();
        int end = t.size();
        while (end > 0 && t.get(end - 1).isPunct(";")) {
            end--;
        }
        if (end < 4 || !t.get(0).isWord("insert") || !t.get(1).isWord("into")) {
            return Optional.empty();
        }
        int i = 2;
        int nameStart = i;
        if (!t.get(i).isIdentifier()) {
            return Optional.empty();
        }
        i++;
        while (i + 1 < end && t.get(i).isPunct(".") && t.get(i + 1).isIdentifier()) {
            i += 2;
        }
        Token last = t.get(i - 1);
        String table = sql.substring(t.get(nameStart).start(), last.start() + last.text().length());
        if (i + 1 < end && t.get(i).isWord("as") && t.get(i + 1).isIdentifier()) {
            i += 2;
        }
        List<String> columns = new ArrayList<>();
        Places places = null;
        if (i + 1 < end && t.get(i).isWord("default") && t.get(i + 1).isWord("values")) {
            places = new Places(-1, -1, t.get(i).start(), t.get(i + 1).start() + t.get(i + 1).text().length());
            i += 2;
        } else {
            if (i >= end || !t.get(i).isPunct("(") || i + 1 >= end || t.get(i + 1).isWord("select")
                    || t.get(i + 1).isWord("values") || t.get(i + 1).isWord("with") || t.get(i + 1).isPunct("(")) {
                return Optional.empty(); // no column list (or a parenthesised query in its place)
            }
            i++;
            while (true) {
                if (i + 1 >= end || !t.get(i).isIdentifier() || t.get(i).type() == Token.Type.UNICODE_IDENT) {
                    return Optional.empty();
                }
                columns.add(t.get(i).value());
                i++;
                if (t.get(i).isPunct(")")) {
                    places = new Places(t.get(i).start(), -1, -1, -1);
                    i++;
                    break;
                }
                if (!t.get(i).isPunct(",")) {
                    return Optional.empty(); // a subscript or a field of a composite column
                }
                i++;
            }
            if (i >= end || !(t.get(i).isWord("values") || t.get(i).isWord("select") || t.get(i).isWord("table")
                    || t.get(i).isWord("with") || t.get(i).isPunct("("))) {
                return Optional.empty(); // OVERRIDING, or what a later server version may add here
            }
        }
        if (places != null && places.columnsEnd() >= 0) {
            places = oneRow(t, i, end, places.columnsEnd());
        }
        int depth = 0;
        for (int j = i; j < end; j++) {
            Token token = t.get(j);
            if (token.isPunct("(") || token.isPunct("[")) {
                depth++;
            } else if (token.isPunct(")") || token.isPunct("]")) {
                depth--;
            } else if (token.isPunct(";")) {
                return Optional.empty(); // another statement follows
            } else if (depth == 0 && token.isWord("on") && j + 1 < end && t.get(j + 1).isWord("conflict")) {
                return Optional.empty(); // the row it returns may be one that was there, not the one it drew for
            }
        }
        return Optional.of(new InsertShape(table, columns, places));
    }

    /** The places of a column list ending at {@code columnsEnd} followed, at {@code i}, by {@code VALUES} of one row. */
    private static Places oneRow(List<Token> t, int i, int end, int columnsEnd) {
        if (i + 1 >= end || !t.get(i).isWord("values") || !t.get(i + 1).isPunct("(")) {
            return null;
        }
        int depth = 0;
        for (int j = i + 1; j < end; j++) {
            if (t.get(j).isPunct("(") || t.get(j).isPunct("[")) {
                depth++;
            } else if ((t.get(j).isPunct(")") || t.get(j).isPunct("]")) && --depth == 0) {
                // nothing but RETURNING may follow the row: not another row, nor a UNION with rows of its own
                return j + 1 < end && !t.get(j + 1).isWord("returning") ? null : new Places(columnsEnd, t.get(j).start(), -1, -1);
            }
        }
        return null;
    }

    /**
     * The edits that make this one-row insert give {@code columns} (which it leaves to their defaults) the values of
     * {@code expressions}; null where it inserts no such row ({@link Places}).
     */
    public List<TransactionTime.Edit> supplying(List<String> columns, List<String> expressions) {
        if (places == null || columns.isEmpty()) {
            return null;
        }
        StringBuilder names = new StringBuilder();
        StringBuilder values = new StringBuilder();
        for (int i = 0; i < columns.size(); i++) {
            names.append(i == 0 ? "" : ", ").append('"').append(columns.get(i).replace("\"", "\"\"")).append('"');
            values.append(i == 0 ? "" : ", ").append(expressions.get(i));
        }
        if (places.defaultValuesStart() >= 0) {
            return List.of(new TransactionTime.Edit(places.defaultValuesStart(), places.defaultValuesEnd(),
                    "(" + names + ") VALUES (" + values + ")"));
        }
        return List.of(new TransactionTime.Edit(places.columnsEnd(), places.columnsEnd(), ", " + names),
                new TransactionTime.Edit(places.rowEnd(), places.rowEnd(), ", " + values));
    }

    /** Whether the statement leaves {@code column} (as the catalog names it) to its default. */
    public boolean leavesToDefault(String column) {
        return !columns.contains(column);
    }
}
