package dev.bluegreen.embedded;

import java.sql.SQLException;
import java.util.regex.Pattern;

/**
 * A statement run by {@link PgCluster#execute} failed. The message names the statement (with any
 * {@code PASSWORD '...'} literal masked, since test output gets shared) and the server's SQLSTATE.
 */
public final class UncheckedSqlException extends RuntimeException {

    private static final long serialVersionUID = 1L;
    private static final Pattern PASSWORD_LITERAL = Pattern.compile("(?i)(password\\s+)'(?:[^']|'')*'");

    private final String statement;

    UncheckedSqlException(String statement, SQLException cause) {
        super(describe(statement, cause), cause);
        this.statement = masked(statement);
    }

    /** The failed statement, passwords masked; null when the connection itself failed. */
    public String statement() {
        return statement;
    }

    /** The server's SQLSTATE, e.g. 42P01 for a missing table. */
    public String sqlState() {
        return ((SQLException) getCause()).getSQLState();
    }

    static String masked(String statement) {
        return statement == null ? null : PASSWORD_LITERAL.matcher(statement).replaceAll("$1'***'");
    }

    private static String describe(String statement, SQLException cause) {
        String what = statement == null ? "connecting" : "statement [" + masked(statement) + "]";
        return what + " failed: SQLSTATE " + cause.getSQLState() + ": " + cause.getMessage();
    }
}
