package dev.bluegreen.proxy.routing;

/** {@code BEGIN}, {@code START TRANSACTION}, {@code COMMIT/END/ROLLBACK/ABORT}, savepoints, and transaction modes. */
final class TransactionSyntax {

    /** What a transaction mode list says about access; {@link #INVALID} when the list cannot be read. */
    enum Access { DEFAULT, READ_ONLY, READ_WRITE, INVALID }

    private TransactionSyntax() {
    }

    /** {@code BEGIN [WORK | TRANSACTION] [modes]} and {@code START TRANSACTION [modes]}. */
    static void begin(Statement s, Verdict verdict) {
        int i = 1;
        if (s.isWord(0, "start")) {
            if (!s.isWord(1, "transaction")) {
                verdict.unparseable();
                return;
            }
            i = 2;
        } else if (s.isWord(1, "work") || s.isWord(1, "transaction")) {
            i = 2;
        }
        verdict.add(Trait.TRANSACTION_BEGIN);
        if (modes(s, i) == Access.READ_ONLY) {
            verdict.read().add(Trait.READ_ONLY_TRANSACTION);
        }
    }

    /**
     * {@code COMMIT | END | ROLLBACK | ABORT [WORK | TRANSACTION] [AND [NO] CHAIN]}, {@code ROLLBACK TO},
     * {@code COMMIT PREPARED}, {@code ROLLBACK PREPARED}.
     */
    static void end(Statement s, Verdict verdict) {
        if (s.isWord(1, "prepared") && (s.isWord(0, "commit") || s.isWord(0, "rollback"))) {
            verdict.add(Trait.TRANSACTION_END).add(Trait.NOT_IN_TRANSACTION_BLOCK);
            return;
        }
        int i = s.isWord(1, "work") || s.isWord(1, "transaction") ? 2 : 1;
        if (s.isWord(0, "rollback") && s.isWord(i, "to")) {
            verdict.add(Trait.SAVEPOINT).add(Trait.ROLLBACK_TO);
            return;
        }
        verdict.add(Trait.TRANSACTION_END);
        if (s.isWord(0, "rollback") || s.isWord(0, "abort")) {
            verdict.add(Trait.ROLLBACK);
        }
        if (s.isWord(i, "and") && s.isWord(i + 1, "chain")) {
            verdict.add(Trait.TRANSACTION_BEGIN);
        }
    }

    /** {@code PREPARE TRANSACTION 'gid'} ends the transaction; {@code PREPARE name AS ...} is session state. */
    static void prepare(Statement s, Verdict verdict) {
        if (s.isWord(1, "transaction")) {
            verdict.add(Trait.TRANSACTION_END);
        } else {
            verdict.add(Trait.SESSION_STATE).add(Trait.NAMES_STATEMENTS);
        }
    }

    /**
     * Reads a mode list ({@code ISOLATION LEVEL ..., READ ONLY | READ WRITE, [NOT] DEFERRABLE}, separated by
     * commas or spaces) from {@code i} to the end. Read-only only when the whole list reads cleanly.
     */
    static Access modes(Statement s, int start) {
        boolean readOnly = false;
        boolean readWrite = false;
        int i = start;
        while (i < s.size()) {
            if (s.isPunct(i, ",") && i > start) {
                i++;
            } else if (s.isWord(i, "isolation") && s.isWord(i + 1, "level")) {
                int level = isolationLevel(s, i + 2);
                if (level == 0) {
                    return Access.INVALID;
                }
                i += 2 + level;
            } else if (s.isWord(i, "read") && s.isWord(i + 1, "only")) {
                readOnly = true;
                i += 2;
            } else if (s.isWord(i, "read") && s.isWord(i + 1, "write")) {
                readWrite = true;
                i += 2;
            } else if (s.isWord(i, "deferrable")) {
                i++;
            } else if (s.isWord(i, "not") && s.isWord(i + 1, "deferrable")) {
                i += 2;
            } else {
                return Access.INVALID;
            }
        }
        if (readOnly && readWrite) {
            return Access.INVALID;
        }
        return readOnly ? Access.READ_ONLY : readWrite ? Access.READ_WRITE : Access.DEFAULT;
    }

    /** The number of words in the isolation level at {@code i}, or 0. */
    private static int isolationLevel(Statement s, int i) {
        if (s.isWord(i, "serializable")) {
            return 1;
        }
        if (s.isWord(i, "repeatable") && s.isWord(i + 1, "read")) {
            return 2;
        }
        if (s.isWord(i, "read") && (s.isWord(i + 1, "committed") || s.isWord(i + 1, "uncommitted"))) {
            return 2;
        }
        return 0;
    }
}
