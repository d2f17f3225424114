package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.dualwrite.StatementOutcome;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.routing.Classification;
import dev.bluegreen.proxy.routing.SqlNormalizer;
import dev.bluegreen.proxy.routing.Trait;
import java.util.List;

/**
 * What a unit's classification, its frames and the leader's answer to it say, for {@link Units}: where the unit ends or
 * begins a transaction, whether the leader committed in it, where its follower part runs, and whether two clusters'
 * outcomes of it differ. Functions of their arguments alone.
 */
final class UnitRules {

    private UnitRules() {}

    /**
     * What is split off a unit to wait for the follower: the end of the transaction (see {@link #endsInBlock}) or a
     * ROLLBACK TO a savepoint, either of which releases the row locks the statements before it took on the leader.
     */
    static boolean endsOrGoesBack(Classification c) {
        return endsInBlock(c) || c.has(Trait.ROLLBACK_TO);
    }

    /** A statement that ends the transaction, and may run inside a transaction block: COMMIT, ROLLBACK, END, ABORT. */
    static boolean endsInBlock(Classification c) {
        return c.has(Trait.TRANSACTION_END) && !c.has(Trait.NOT_IN_TRANSACTION_BLOCK); // (a ROLLBACK TO has no TRANSACTION_END)
    }

    /**
     * Whether a Query or FunctionCall ends the unit after extended-protocol requests without a Sync (Parse, Bind,
     * Describe, Execute, Close: each has a completion message, see {@link Unit#beforeQuery}).
     */
    static boolean endsWithQueryAfterRequests(List<Frame> frames) {
        byte last = frames.getLast().type();
        return frames.size() >= 2 && (last == FrontendMessages.QUERY || last == FrontendMessages.FUNCTION_CALL);
    }

    /** Parse, Bind, Describe, Execute and Close: the extended-protocol requests each answered by one completion. */
    static boolean isRequest(byte type) {
        return switch (type) {
            case 'P', 'B', 'D', 'E', 'C' -> true;
            default -> false;
        };
    }

    /**
     * ParseComplete, BindComplete, CloseComplete, NoData or RowDescription (a Describe), CommandComplete,
     * EmptyQueryResponse or PortalSuspended (an Execute): the message that completes one extended request.
     */
    static boolean completes(byte type) {
        return switch (type) {
            case '1', '2', '3', 'n', 'T', 'C', 'I', 's' -> true;
            default -> false;
        };
    }

    static boolean beginsAlone(Classification c) {
        return c.has(Trait.TRANSACTION_BEGIN) && c.statementCount() == 1 && !c.has(Trait.IMPORTS_SNAPSHOT);
    }

    /**
     * Whether a unit may commit on the leader: it ends a transaction, and not only by rolling it back. (A unit the
     * proxy cannot read may too, see {@link Units#unreadMayCommit}: the Bind of a statement name it has forgotten, such as
     * a driver's prepared COMMIT after a SQL PREPARE, DEALLOCATE or DISCARD.)
     */
    static boolean mayCommit(Classification c) {
        return c.has(Trait.TRANSACTION_END) && !(c.has(Trait.ROLLBACK) && c.statementCount() == 1);
    }

    /**
     * Whether a write classified {@code c} runs unwrapped at an idle boundary (rule 1 wraps the others): it begins or
     * ends a transaction or goes to a savepoint, cannot run inside one ({@code VACUUM}), needs the client's own
     * ({@code LOCK} alone), or may commit on its own ({@code CALL} or {@code DO} alone).
     */
    static boolean transactionShaped(Classification c) {
        return c.has(Trait.TRANSACTION_BEGIN) || c.has(Trait.TRANSACTION_END) || c.has(Trait.SAVEPOINT)
                || c.has(Trait.NOT_IN_TRANSACTION_BLOCK)
                || (c.has(Trait.TRANSACTION_BLOCK_ONLY) && !c.has(Trait.MULTI_STATEMENT))
                || (c.has(Trait.TRANSACTION_CONTROL) && !c.has(Trait.MULTI_STATEMENT));
    }

    /**
     * Whether the follower's part of {@code unit}, which the leader answered with {@code status}, failed or not, runs
     * in the lane (under sync dual-write): the unit left a transaction open, or ended the client's own there.
     */
    static boolean runsInLane(Unit unit, byte status, boolean failed) {
        return status != 'I' || (unit.statusBefore == 'T' && !failed && unit.classification.has(Trait.TRANSACTION_END));
    }

    /**
     * For a unit whose follower part runs in the lane: whether the leader committed in it, a commit that gets a number.
     * A COMMIT (not a ROLLBACK, nor a COMMIT or PREPARE TRANSACTION of a failed transaction, whose tag says ROLLBACK)
     * makes writes visible, also one the unit goes on after ({@code COMMIT; BEGIN}); the tags tell for a unit that
     * ends a transaction or that the proxy cannot read.
     */
    static boolean committedInLane(Classification c, List<StatementOutcome> outcomes) {
        return (c.has(Trait.TRANSACTION_END) || c.has(Trait.UNPARSEABLE)) && committedBefore(outcomes, outcomes.size());
    }

    /**
     * For a unit the follower runs after the leader: whether the leader committed in it, a commit that gets a number. A
     * COMMIT PREPARED makes rows visible as a COMMIT does: what reads them on the leader waits for the follower's; so
     * does a COMMIT the proxy could not read (a Bind of a statement name it forgot), known by its tag.
     */
    static boolean committedAfterLeader(Classification c, List<StatementOutcome> outcomes) {
        return committedPrepared(outcomes) || (c.has(Trait.UNPARSEABLE) && committedBefore(outcomes, outcomes.size()));
    }

    /** A unit that begins a read-only transaction ({@code BEGIN READ ONLY}, and reads after it in the same string). */
    static boolean beginsReadOnly(Classification c) {
        return c.isRead() && c.has(Trait.TRANSACTION_BEGIN) && c.has(Trait.READ_ONLY_TRANSACTION)
                && !c.has(Trait.SESSION_STATE);
    }

    /** {@code SET TRANSACTION ... READ ONLY} alone, which PostgreSQL lets a transaction run at any point. */
    static boolean makesReadOnly(Classification c) {
        return c.isRead() && c.has(Trait.READ_ONLY_TRANSACTION) && !c.has(Trait.TRANSACTION_BEGIN)
                && c.statementCount() == 1;
    }

    /**
     * In a read-only transaction that does not hold the write barrier: whether the unit may write, or make the
     * transaction writable ({@code SET TRANSACTION READ WRITE}, {@code SET transaction_read_only}, also through
     * {@code set_config}), and so must enter the barrier first. Reads, transaction control, savepoints, {@code LOCK}
     * and {@code SET TRANSACTION SNAPSHOT}, each alone, need not. (A write in a read-only transaction fails on the
     * server anyway; it enters the barrier only so that one after a made-writable transaction is ordered.) A unit a
     * {@code Flush} opened enters whatever it is: what follows it in the unit is not known yet.
     */
    static boolean mayMakeWritable(Classification c) {
        if (c.mayChangeData() || c.statementCount() != 1) {
            return true; // (a string's traits are its statements' together: SET TRANSACTION READ WRITE; INSERT ...)
        }
        if (c.has(Trait.READ_ONLY_TRANSACTION) || c.has(Trait.IMPORTS_SNAPSHOT)) {
            return false;
        }
        return c.has(Trait.SET_LOCAL) || c.has(Trait.SESSION_STATE);
    }

    /** Whether writes go to the same clusters in the same order under both states. */
    static boolean writesRoutedAlike(RoutingState a, RoutingState b) {
        return a.leader() == b.leader() && a.dualWrite() == b.dualWrite() && a.followerWrites() == b.followerWrites();
    }

    /**
     * A unit that only ends the transaction ({@code COMMIT}, {@code ROLLBACK}) or goes back to a savepoint (a
     * {@code ROLLBACK TO}, split off the writes before it or sent alone): it reads nothing of other sessions' commits.
     * Not a {@code COMMIT PREPARED} or {@code ROLLBACK PREPARED} sent outside a transaction block ({@code status}
     * {@code I}): it names a transaction another session may have prepared, whose follower
     * {@code PREPARE TRANSACTION} (a commit, numbered) it must find there. (Inside one it fails on the leader.)
     */
    static boolean endsOnly(Classification c, byte status) {
        return (c.has(Trait.TRANSACTION_END) || c.has(Trait.ROLLBACK_TO)) && c.statementCount() == 1
                && !(c.has(Trait.NOT_IN_TRANSACTION_BLOCK) && status == 'I');
    }

    /**
     * Whether the unit, run in a failed transaction, began by ending it: in that state only COMMIT, END,
     * ROLLBACK, ABORT and PREPARE TRANSACTION (each rolls back, AND CHAIN opening the next) and ROLLBACK TO
     * succeed. The follower's transaction, which skipped what failed, is healthy: it must roll back, never
     * commit. (A unit that ends the transaction with status I is known to have ended it without this.)
     */
    static boolean endsFailedTransaction(Unit unit, List<StatementOutcome> outcomes) {
        if (outcomes.isEmpty() || outcomes.get(0).failed()) {
            return false;
        }
        Classification c = unit.classification;
        if (c.statementCount() <= 1) {
            return c.has(Trait.TRANSACTION_END); // a prepared one too, whose text the unit does not carry
        }
        if (unit.frames.size() != 1 || unit.frames.get(0).type() != FrontendMessages.QUERY) {
            // in a batch of extended-protocol messages the first statement run may be a prepared one, whose text
            // the unit does not carry (a ROLLBACK TO SAVEPOINT, say): not known to end the transaction
            return false;
        }
        // in a failed transaction a first statement that succeeded ended it, unless it went back to a savepoint
        String sql = unit.sql == null ? "" : SqlNormalizer.normalize(unit.sql);
        return !sql.matches("(?s)rollback( work| transaction)? to\\b.*");
    }

    /**
     * What ends the follower's transaction where the leader's failed one ended with {@code status}: one that
     * failed alike ({@link Units#failFollowerAlike}) or, where the follower ran what the leader did before a failure
     * of the leader's own, a healthy one.
     */
    static String followerRollback(byte status) {
        return status == 'I' ? "ROLLBACK" : "ROLLBACK AND CHAIN";
    }

    /** Whether the unit's first statement is a ROLLBACK (or ABORT): its tag cannot say, a COMMIT that fails reads the same. */
    static boolean startsWithRollback(Unit unit) {
        if (unit.sqlBound) {
            return false; // a statement bound by name, whose text may not be the first that ran (an unknown name before it)
        }
        String sql = unit.sql == null ? "" : SqlNormalizer.normalize(unit.sql);
        return sql.startsWith("rollback") || sql.startsWith("abort");
    }

    /**
     * Whether a statement before {@code failedAt} committed (or prepared) a transaction on the leader, or settled a
     * prepared one (the first of a pipeline's {@code COMMIT PREPARED}s runs, the next fails).
     */
    static boolean committedBefore(List<StatementOutcome> outcomes, int failedAt) {
        for (int i = 0; i < failedAt; i++) {
            String tag = outcomes.get(i).commandTag();
            if ("COMMIT".equals(tag) || "PREPARE TRANSACTION".equals(tag) || "COMMIT PREPARED".equals(tag)
                    || "ROLLBACK PREPARED".equals(tag)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the leader committed a prepared transaction in the unit. */
    static boolean committedPrepared(List<StatementOutcome> outcomes) {
        for (StatementOutcome outcome : outcomes) {
            if ("COMMIT PREPARED".equals(outcome.commandTag())) {
                return true;
            }
        }
        return false;
    }

    static int firstFailed(List<StatementOutcome> outcomes) {
        for (int i = 0; i < outcomes.size(); i++) {
            if (outcomes.get(i).failed()) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Per statement: success or the same SQLSTATE; for writes also the command tag and, unless the
     * statement is non-deterministic, the digest of the rows it returned. Reads are compared on success
     * alone: without row locks, the two clusters may see other sessions' commits at different moments.
     */
    static String compareOutcomes(Unit unit, List<StatementOutcome> leader, List<StatementOutcome> follower) {
        if (leader.size() != follower.size()) {
            return "statements answered: leader " + leader.size() + ", follower " + follower.size();
        }
        boolean compareRows = !unit.classification.has(Trait.NON_DETERMINISTIC) && !unit.continuesPortal;
        // CREATE TABLE AS and SELECT INTO answer with a SELECT tag, but their rows are what they store
        boolean storesRows = unit.classification.has(Trait.DDL) && unit.classification.statementCount() == 1;
        for (int i = 0; i < leader.size(); i++) {
            StatementOutcome l = leader.get(i);
            StatementOutcome f = follower.get(i);
            String difference;
            if (l.failed() || f.failed() || storesRows || !isReadTag(l.commandTag())) {
                difference = f.differenceFrom(l, compareRows);
            } else {
                difference = null;
            }
            if (difference != null) {
                return leader.size() == 1 ? difference : "statement " + (i + 1) + ": " + difference;
            }
        }
        return null;
    }

    static boolean isReadTag(String tag) {
        return tag.startsWith("SELECT") || tag.startsWith("FETCH") || tag.startsWith("SHOW") || tag.startsWith("EXPLAIN")
                || tag.startsWith("MOVE") || tag.equals("EMPTY");
    }

    /**
     * Errors that say nothing about the data: the follower could well succeed where the leader was
     * cancelled, timed out or lost a deadlock, so it must not run what failed.
     */
    static boolean transientError(String sqlState) {
        return sqlState == null || sqlState.startsWith("40") || sqlState.startsWith("57") || sqlState.startsWith("08")
                || sqlState.startsWith("53") || sqlState.equals("55P03") || sqlState.equals("25P02");
    }

    /**
     * {@link #transientError} of the leader's own: not the 57014 with which a server ends a COPY the client
     * failed (CopyFail), which the unit holds, so the follower fails its copy the same way.
     */
    static boolean transientError(Unit unit, String sqlState) {
        return transientError(sqlState) && !("57014".equals(sqlState) && holdsCopyFail(unit));
    }

    /** CopyDone or CopyFail: the client's end of a COPY FROM STDIN. */
    static boolean endsCopy(byte type) {
        return type == FrontendMessages.COPY_DONE || type == FrontendMessages.COPY_FAIL;
    }

    static boolean holdsCopyFail(Unit unit) {
        for (Frame frame : unit.frames) {
            if (frame.type() == FrontendMessages.COPY_FAIL) {
                return true;
            }
        }
        return false;
    }

    static String describe(List<StatementOutcome> outcomes) {
        return outcomes.stream().map(StatementOutcome::describe).reduce((a, b) -> a + "; " + b).orElse("nothing");
    }

    /** A read blue runs again for green, none of whose answer has reached the client: green's failed one can be given. */
    static boolean greenAnswersInstead(Unit unit) {
        return unit.retrySink != null && !unit.retrySink.forwarded && !unit.failedAnswer.isEmpty();
    }

    /** A read that can still be run again on blue: no byte of its answer has reached the client. */
    static boolean retryable(Unit unit) {
        return unit.retry && (unit.primarySink == null || !unit.primarySink.forwarded);
    }

    /**
     * A unit that commits on its own outside any transaction block (a CALL or DO, VACUUM, CREATE INDEX
     * CONCURRENTLY): it may rightly run for long on the leader, with or without its client, so a closed
     * session gives it no deadline there; the follower's starts once it is sent the unit.
     */
    static boolean longOnItsOwn(Unit unit) {
        Classification c = unit.classification;
        return unit.statusBefore == 'I' && !unit.wrap && c.statementCount() == 1
                && (c.has(Trait.TRANSACTION_CONTROL) || c.has(Trait.NOT_IN_TRANSACTION_BLOCK));
    }

    /**
     * Whether {@code unit}, which ends a transaction, can only roll it back: a lone ROLLBACK, or whatever
     * ends a transaction that had already failed. Its outcome is known even when its answer is lost.
     */
    static boolean rollsBack(Unit unit) {
        Classification c = unit.classification;
        return !unit.wrap && c.statementCount() == 1 && c.has(Trait.TRANSACTION_END)
                && (unit.statusBefore == 'E' || c.has(Trait.ROLLBACK));
    }

    /**
     * An unwrapped CALL or DO alone in its string, which may have committed part of its work before it
     * failed: the follower runs it whether it succeeded or failed on the leader, and must end alike.
     */
    static boolean runsOnFollowerWhateverTheOutcome(Unit unit) {
        return unit.unordered && unit.statusBefore == 'I' && unit.classification.has(Trait.TRANSACTION_CONTROL);
    }

    /**
     * Whether the leader's failure of a CALL or DO means the follower runs it too: not for a failure of the
     * leader's own (cancelled, timed out, a deadlock, see {@link #transientError}), after which the follower
     * could succeed where the leader rolled back. A procedure that committed part of its work before such a
     * failure leaves that part on the leader alone, unseen (docs/dual-write.md).
     */
    static boolean followerRunsFailed(Unit unit, String sqlState) {
        return runsOnFollowerWhateverTheOutcome(unit) && !transientError(unit, sqlState);
    }

    /**
     * Whether the commit {@code answer}, the leader's to the client's own {@code unit}, reports gets a number, as
     * {@link Units#primaryDone} and {@link Units#runOnSecondary} give one: a unit that ended a transaction open before it, or
     * that goes on into a next one (ends with one open), where a {@code COMMIT} ran (also {@code COMMIT; BEGIN},
     * {@code BEGIN; …; COMMIT; BEGIN}); else a {@code COMMIT PREPARED}.
     */
    static boolean numberedWhenAnswered(Unit unit, Sink answer) {
        List<StatementOutcome> outcomes = answer.recorder == null ? List.of() : answer.recorder.outcomes();
        return runsInLane(unit, answer.status, answer.error) ? committedInLane(unit.classification, outcomes)
                : committedAfterLeader(unit.classification, outcomes);
    }
}
