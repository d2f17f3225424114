package dev.bluegreen.proxy.routing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The shape of one plain {@code INSERT}: the table it names, as written, and the columns it lists, so that the proxy
 * can tell which of the table's columns it leaves to their defaults. Read only where the answer is certain: a single
 * statement {@code INSERT INTO name [AS alias] (column, ...) {VALUES | SELECT | TABLE | WITH ...}} or {@code INSERT INTO
 * name DEFAULT VALUES}, with or without {@code ON CONFLICT}, without {@code OVERRIDING}. Anything else (a {@code WITH}
 * before the {@code INSERT}, no column list, a subscripted or dotted column, several statements, text that cannot be
 * lexed) has no shape.
 *
 * @param table         the table's name as the statement spells it ({@code public.orders}, {@code "Orders"}), for
 *                      {@code to_regclass} to resolve as the session does
 * @param columns       the listed columns as the server resolves their names (folded unless quoted); empty for
 *                      {@code DEFAULT VALUES}, which lists none and leaves every column to its default
 * @param upsert        whether it has an {@code ON CONFLICT} clause: a row it proposes may not be inserted (the row
 *                      there is updated, or left), though it drew its defaults, and what it returns may be the row
 *                      that was there; its places are those of its {@code VALUES} rows only, not of a query's
 */
public record InsertShape(String table, List<String> columns, Places places, boolean upsert) {

    /**
     * Where, in the statement's text, columns can be added or given values: the column list's closing parenthesis and
     * each {@code VALUES} row's, the end of the {@code SELECT} list, or the {@code DEFAULT VALUES} clause; null where
     * what follows its rows is more than a {@code RETURNING}, or its rows are a set operation's ({@code UNION}).
     *
     * @param rows      the {@code VALUES} rows, in order; empty for {@code DEFAULT VALUES} and a {@code SELECT}
     * @param selectEnd the end of the last item of the {@code SELECT} list whose rows it inserts; -1 for the others
     */
    public record Places(int columnsEnd, List<Row> rows, int selectEnd, int defaultValuesStart, int defaultValuesEnd) {
        public Places {
            rows = List.copyOf(rows);
        }
    }

    /**
     * One {@code VALUES} row: where its closing parenthesis is, per listed column where the row gives it a bare
     * {@code DEFAULT} (the keyword's offset) or -1, and per listed column the sequence it draws from where its value is
     * just {@code nextval('name')} (the name as written; null for any other value).
     */
    public record Row(int end, List<Integer> defaults, List<String> calls) {
        public Row {
            defaults = List.copyOf(defaults);
            calls = Collections.unmodifiableList(new ArrayList<>(calls));
        }
    }

    public InsertShape {
        columns = List.copyOf(columns);
    }

    public InsertShape(String table, List<String> columns) {
        this(table, columns, null, false);
    }

    /** The shape of {@code sql}, if it is one plain {@code INSERT} as above. */
    public static Optional<InsertShape> of(String sql, boolean backslashInPlainStrings) {
        List<Token> t = Lexer.statementTokens(sql, backslashInPlainStrings);
        if (t == null) {
            return Optional.empty();
        }
        int end = t.size();
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
            places = new Places(-1, List.of(), -1, t.get(i).start(), t.get(i + 1).start() + t.get(i + 1).text().length());
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
                    places = new Places(t.get(i).start(), List.of(), -1, -1, -1);
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
            places = rows(t, i, end, places.columnsEnd(), columns.size());
        }
        int depth = 0;
        int conflict = -1;
        for (int j = i; j < end; j++) {
            Token token = t.get(j);
            if (token.isPunct("(") || token.isPunct("[")) {
                depth++;
            } else if (token.isPunct(")") || token.isPunct("]")) {
                depth--;
            } else if (token.isPunct(";")) {
                return Optional.empty(); // another statement follows
            } else if (depth == 0 && conflict < 0 && token.isWord("on") && j + 1 < end && t.get(j + 1).isWord("conflict")) {
                conflict = j;
            }
        }
        if (conflict >= 0 && places != null && places.selectEnd() >= 0) {
            places = null; // (a query's list may run on into the clause where it has no FROM)
        }
        return Optional.of(new InsertShape(table, columns, places, conflict >= 0));
    }

    /**
     * Whether the {@code RETURNING} list of {@code sql} (its last at the statement's own depth) shows {@code column} as
     * the server names it: the list is {@code *} or bare column names, each perhaps qualified, one of them the column.
     * False for a list with an alias or an expression, whose rows may name or hold the column otherwise.
     */
    public static boolean returnsColumn(String sql, boolean backslashInPlainStrings, String column) {
        List<Token> t = Lexer.statementTokens(sql, backslashInPlainStrings);
        if (t == null) {
            return false;
        }
        int end = t.size();
        int depth = 0;
        int at = -1;
        for (int j = 0; j < end; j++) {
            Token token = t.get(j);
            if (token.isPunct("(") || token.isPunct("[")) {
                depth++;
            } else if (token.isPunct(")") || token.isPunct("]")) {
                depth--;
            } else if (depth == 0 && token.isWord("returning")) {
                at = j;
            }
        }
        boolean shown = false;
        for (int j = at + 1; at >= 0 && j < end; j++) {
            Token item = t.get(j);
            if (!(item.isIdentifier() || star(item))) {
                return false;
            }
            while (!star(item) && j + 2 < end && t.get(j + 1).isPunct(".")
                    && (t.get(j + 2).isIdentifier() || star(t.get(j + 2)))) {
                j += 2;
                item = t.get(j);
            }
            shown |= star(item) || item.value().equals(column);
            if (j + 1 == end) {
                return shown;
            }
            if (!t.get(++j).isPunct(",")) {
                return false; // an alias, or an expression
            }
        }
        return false;
    }

    private static boolean star(Token token) {
        return token.isOperator("*") || token.isPunct("*");
    }

    /**
     * The places of a column list of {@code width} columns ending at {@code columnsEnd} followed, at {@code i}, by
     * {@code VALUES} rows of as many values each, and by nothing but {@code RETURNING}; null otherwise.
     */
    private static Places rows(List<Token> t, int i, int end, int columnsEnd, int width) {
        if (i + 1 < end && (t.get(i).isWord("select") || t.get(i).isWord("with"))) {
            return selectList(t, i, end, columnsEnd);
        }
        if (i + 1 >= end || !t.get(i).isWord("values")) {
            return null;
        }
        List<Row> rows = new ArrayList<>(1);
        int j = i + 1;
        while (true) {
            if (j >= end || !t.get(j).isPunct("(")) {
                return null;
            }
            List<Integer> defaults = new ArrayList<>(width);
            List<String> calls = new ArrayList<>(width);
            int depth = 0;
            int valueStart = j + 1;
            int rowEnd = -1;
            for (j = j + 1; j < end && rowEnd < 0; j++) {
                Token token = t.get(j);
                if (token.isPunct("(") || token.isPunct("[")) {
                    depth++;
                } else if (depth > 0 && (token.isPunct(")") || token.isPunct("]"))) {
                    depth--;
                } else if (depth == 0 && (token.isPunct(",") || token.isPunct(")"))) {
                    boolean bare = j == valueStart + 1 && t.get(valueStart).isWord("default");
                    defaults.add(bare ? t.get(valueStart).start() : -1);
                    calls.add(calledSequence(t, valueStart, j));
                    valueStart = j + 1;
                    if (token.isPunct(")")) {
                        rowEnd = j;
                    }
                }
            }
            if (rowEnd < 0 || defaults.size() != width) {
                return null; // unclosed, or a row of another width (which the server refuses)
            }
            rows.add(new Row(t.get(rowEnd).start(), defaults, calls));
            if (j < end && t.get(j).isPunct(",")) {
                j++;
                continue;
            }
            // nothing but ON CONFLICT or RETURNING may follow the rows: not a UNION with rows of its own, nor an ORDER BY
            boolean clause = j < end && (t.get(j).isWord("returning")
                    || (t.get(j).isWord("on") && j + 1 < end && t.get(j + 1).isWord("conflict")));
            return j < end && !clause ? null : new Places(columnsEnd, rows, -1, -1, -1);
        }
    }

    /**
     * The sequence a value drawn with {@code nextval('name')} draws from (also {@code pg_catalog.nextval}, and the name
     * cast {@code ::regclass}), the tokens from {@code from} to before {@code to} being just that call; null otherwise.
     */
    private static String calledSequence(List<Token> t, int from, int to) {
        int i = from;
        if (i + 1 < to && t.get(i).isWord("pg_catalog") && t.get(i + 1).isPunct(".")) {
            i += 2;
        }
        if (i + 3 >= to || !t.get(i).isWord("nextval") || !t.get(i + 1).isPunct("(")) {
            return null;
        }
        Token name = t.get(i + 2);
        if (name.type() != Token.Type.STRING || !name.text().startsWith("'")) {
            return null; // (E'...', $$...$$: read as the server reads them, but no ORM writes them so)
        }
        int close = i + 3;
        if (close + 1 < to && t.get(close).isPunct("::") && t.get(close + 1).isWord("regclass")) {
            close += 2;
        }
        return close + 1 == to && t.get(close).isPunct(")") ? name.value() : null;
    }

    /** Words that end a {@code SELECT} list at its own depth. */
    private static final List<String> AFTER_SELECT_LIST = List.of("from", "where", "group", "having", "window", "order",
            "limit", "offset", "fetch", "for", "returning");

    /**
     * The places of an insert of a query's rows, {@code SELECT} (or {@code WITH … SELECT}) at {@code i}: where its
     * {@code SELECT} list ends. Null where the query is a set operation ({@code UNION}, {@code INTERSECT},
     * {@code EXCEPT}: every branch would need the column), {@code SELECT … INTO}, or no list can be found.
     */
    private static Places selectList(List<Token> t, int i, int end, int columnsEnd) {
        int depth = 0;
        int select = -1;
        int listEnd = -1;
        for (int j = i; j < end; j++) {
            Token token = t.get(j);
            if (token.isPunct("(") || token.isPunct("[")) {
                depth++;
            } else if (token.isPunct(")") || token.isPunct("]")) {
                depth--;
            } else if (depth == 0) {
                if (token.isWord("union") || token.isWord("intersect") || token.isWord("except") || token.isWord("into")) {
                    return null;
                }
                if (select < 0 && token.isWord("select")) {
                    select = j;
                } else if (select >= 0 && listEnd < 0 && AFTER_SELECT_LIST.stream().anyMatch(token::isWord)
                        && !t.get(j - 1).isPunct(".") && !t.get(j - 1).isWord("as")
                        && !(token.isWord("group") && t.get(j - 1).isWord("within"))) {
                    listEnd = j; // (not a label, a column after a dot, nor an ordered-set aggregate's WITHIN GROUP)
                }
            }
        }
        if (select < 0) {
            return null;
        }
        int last = (listEnd < 0 ? end : listEnd) - 1;
        if (last <= select || t.get(last).isWord("distinct") || t.get(last).isWord("all")) {
            return null; // an empty list
        }
        Token item = t.get(last);
        return new Places(columnsEnd, List.of(), item.start() + item.text().length(), -1, -1);
    }

    /**
     * The edits that make this insert give {@code columns} the values of {@code expressions} where it leaves them to
     * their defaults: a column it does not list is added to the list and to every row, and a listed one's bare
     * {@code DEFAULT} in a row is replaced. Null where an unlisted column cannot be added ({@link Places}).
     */
    public List<TransactionTime.Edit> supplying(List<String> columns, List<String> expressions) {
        if (places == null || columns.isEmpty()) {
            return null;
        }
        StringBuilder names = new StringBuilder();
        StringBuilder values = new StringBuilder();
        List<TransactionTime.Edit> edits = new ArrayList<>();
        for (int i = 0; i < columns.size(); i++) {
            int listed = this.columns.indexOf(columns.get(i));
            if (listed >= 0) {
                for (Row row : places.rows()) {
                    int at = row.defaults().get(listed);
                    if (at >= 0) {
                        edits.add(new TransactionTime.Edit(at, at + "default".length(), expressions.get(i)));
                    }
                }
                continue;
            }
            names.append(names.isEmpty() ? "" : ", ").append('"').append(columns.get(i).replace("\"", "\"\"")).append('"');
            values.append(values.isEmpty() ? "" : ", ").append(expressions.get(i));
        }
        if (!names.isEmpty()) {
            if (places.defaultValuesStart() >= 0) {
                return List.of(new TransactionTime.Edit(places.defaultValuesStart(), places.defaultValuesEnd(),
                        "(" + names + ") VALUES (" + values + ")"));
            }
            edits.add(new TransactionTime.Edit(places.columnsEnd(), places.columnsEnd(), ", " + names));
            if (places.selectEnd() >= 0) {
                edits.add(new TransactionTime.Edit(places.selectEnd(), places.selectEnd(), ", " + values));
            } else if (places.rows().isEmpty()) {
                return null;
            }
            for (Row row : places.rows()) {
                edits.add(new TransactionTime.Edit(row.end(), row.end(), ", " + values));
            }
        }
        edits.sort(Comparator.comparingInt(TransactionTime.Edit::start));
        return edits;
    }

    /**
     * The edits that make this insert of {@code VALUES} rows give {@code column}, which it leaves to its default in every
     * row, the value {@code values} holds for each row, in order, with {@code OVERRIDING SYSTEM VALUE} (which an
     * identity column needs, and others do not mind); null where its rows are not as many, or not {@code VALUES}.
     */
    public List<TransactionTime.Edit> givingRows(String column, List<String> values) {
        if (places == null || places.columnsEnd() < 0 || places.rows().size() != values.size()) {
            return null;
        }
        int listed = columns.indexOf(column);
        List<TransactionTime.Edit> edits = new ArrayList<>();
        if (listed < 0) {
            edits.add(new TransactionTime.Edit(places.columnsEnd(), places.columnsEnd(),
                    ", \"" + column.replace("\"", "\"\"") + "\""));
        }
        edits.add(new TransactionTime.Edit(places.columnsEnd() + 1, places.columnsEnd() + 1, " OVERRIDING SYSTEM VALUE "));
        for (int i = 0; i < values.size(); i++) {
            Row row = places.rows().get(i);
            if (listed < 0) {
                edits.add(new TransactionTime.Edit(row.end(), row.end(), ", " + values.get(i)));
            } else if (row.defaults().get(listed) >= 0) {
                int at = row.defaults().get(listed);
                edits.add(new TransactionTime.Edit(at, at + "default".length(), values.get(i)));
            } else {
                return null;
            }
        }
        return edits;
    }

    /**
     * Whether every row the statement inserts leaves {@code column} (as the catalog names it) to its default: it does
     * not list it, or gives it a bare {@code DEFAULT} in each of its {@code VALUES} rows.
     */
    public boolean leavesToDefault(String column) {
        int listed = columns.indexOf(column);
        if (listed < 0) {
            return true;
        }
        if (places == null || places.rows().isEmpty()) {
            return false;
        }
        return places.rows().stream().allMatch(row -> row.defaults().get(listed) >= 0);
    }

    /** Whether some row the statement inserts leaves {@code column} to its default. */
    public boolean mayLeaveToDefault(String column) {
        int listed = columns.indexOf(column);
        return listed < 0 || (places != null && places.rows().stream().anyMatch(row -> row.defaults().get(listed) >= 0));
    }

    /**
     * The listed columns that draw from a sequence named in the statement, {@code nextval('name')} being the value every
     * row gives them, each with that name as written; empty where there are none (and for an insert of a query's rows).
     */
    public Map<String, String> calledSequences() {
        if (places == null || places.rows().isEmpty()) {
            return Map.of();
        }
        Map<String, String> called = new LinkedHashMap<>(2);
        for (int i = 0; i < columns.size(); i++) {
            String first = places.rows().getFirst().calls().get(i);
            int column = i;
            if (first != null && places.rows().stream().allMatch(row -> first.equals(row.calls().get(column)))) {
                called.put(columns.get(i), first);
            }
        }
        return called;
    }

    /** The listed columns given a value in every row: those {@link #leavesToDefault} is false for. */
    public List<String> givenColumns() {
        return columns.stream().filter(column -> !leavesToDefault(column)).toList();
    }
}
