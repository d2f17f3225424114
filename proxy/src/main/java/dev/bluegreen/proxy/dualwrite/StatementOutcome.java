package dev.bluegreen.proxy.dualwrite;

/**
 * What one cluster answered to one statement: an error's SQLSTATE, or success with its command tag,
 * the number of rows returned and a digest of them. The digest is order-insensitive (a sum and an xor
 * of per-row hashes), because two clusters may return unordered rows in different orders.
 *
 * @param sqlState   null on success
 * @param commandTag null on error; {@code EMPTY} for an empty query
 */
public record StatementOutcome(String sqlState, String commandTag, long rows, long digestSum, long digestXor) {

    /**
     * The tag of an Execute that stopped at its row limit (PortalSuspended): more of the portal's rows may
     * follow. Its rows are those the cluster happened to find first, so their contents are not compared.
     */
    public static final String SUSPENDED = "SUSPENDED";
    /**
     * The outcome of a function call (FunctionCallResponse), which has no command tag: its value counts as one
     * returned row, a null value as none.
     */
    public static final String FUNCTION_CALL = "FUNCTION CALL";

    public boolean failed() {
        return sqlState != null;
    }

    /** How this outcome differs from the leader's, in words for a divergence record, or null when it does not. */
    public String differenceFrom(StatementOutcome leader) {
        return differenceFrom(leader, true);
    }

    /** As {@link #differenceFrom(StatementOutcome)}; without {@code compareRows} the returned rows' contents are not compared. */
    public String differenceFrom(StatementOutcome leader, boolean compareRows) {
        if (failed() || leader.failed()) {
            if (java.util.Objects.equals(sqlState, leader.sqlState())) {
                return null;
            }
            return "leader " + leader.describe() + ", follower " + describe();
        }
        if (!commandTag.equals(leader.commandTag())) {
            return "command tag: leader " + leader.commandTag() + ", follower " + commandTag;
        }
        boolean function = commandTag.equals(FUNCTION_CALL);
        if (rows != leader.rows()) {
            return function ? "function result: leader " + (leader.rows() == 0 ? "null" : "a value") + ", follower "
                    + (rows == 0 ? "null" : "a value") : "rows returned: leader " + leader.rows() + ", follower " + rows;
        }
        if (compareRows && !commandTag.equals(SUSPENDED) && (digestSum != leader.digestSum() || digestXor != leader.digestXor())) {
            return function ? "function results differ" : "row contents differ (" + rows(rows) + ")";
        }
        return null;
    }

    /**
     * The outcome for a divergence record: {@code error SQLSTATE} (not the message, which may quote a value), or
     * the command tag, with the rows the statement returned when it returned any.
     */
    public String describe() {
        if (failed()) {
            return "error " + sqlState;
        }
        if (commandTag.equals(FUNCTION_CALL)) {
            return rows == 0 ? "function call (null)" : "function call";
        }
        return rows == 0 ? commandTag : commandTag + " (" + rows(rows) + " returned)";
    }

    private static String rows(long rows) {
        return rows == 1 ? "1 row" : rows + " rows";
    }
}
