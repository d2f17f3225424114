package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.dualwrite.StatementOutcome;
import dev.bluegreen.proxy.routing.Classification;
import dev.bluegreen.proxy.routing.Classifier;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The rules over a unit's classification and the clusters' outcomes that units mode orders writes by. */
class UnitRulesTest {

    private static final Classifier CLASSIFIER = new Classifier(100);

    private static Classification c(String sql) {
        return CLASSIFIER.classify(sql);
    }

    private static StatementOutcome ok(String tag) {
        return new StatementOutcome(null, tag, 0, 0, 0);
    }

    private static StatementOutcome rows(String tag, long rows, long digest) {
        return new StatementOutcome(null, tag, rows, digest, digest);
    }

    private static StatementOutcome error(String sqlState) {
        return new StatementOutcome(sqlState, null, 0, 0, 0);
    }

    private static Unit unit(String sql) {
        Unit unit = new Unit(UnpooledByteBufAllocator.DEFAULT, Long.MAX_VALUE);
        unit.classification = c(sql);
        unit.sql = sql;
        return unit;
    }

    @ParameterizedTest(name = "{0}: may commit {1}")
    @CsvSource(delimiter = '|', value = {
        "COMMIT                                     | true",
        "end                                        | true",
        "BEGIN; UPDATE t SET v = 1; COMMIT          | true",
        "ROLLBACK                                   | false",
        "ABORT                                      | false",
        "ROLLBACK TO SAVEPOINT a                    | false",
        "UPDATE t SET v = 1                         | false",
        "SAVEPOINT a                                | false",
    })
    void onlyAnEndThatIsNotALoneRollbackMayCommit(String sql, boolean mayCommit) {
        assertThat(UnitRules.mayCommit(c(sql))).isEqualTo(mayCommit);
    }

    @ParameterizedTest(name = "{0}: unwrapped {1}")
    @CsvSource(delimiter = '|', value = {
        "BEGIN                                      | true",
        "COMMIT                                     | true",
        "SAVEPOINT a                                | true",
        "VACUUM t                                   | true",
        "CALL p()                                   | true",
        "LOCK TABLE t                               | true",
        "INSERT INTO t VALUES (1)                   | false",
        "UPDATE t SET v = 1; DELETE FROM u          | false",
        "LOCK TABLE t; UPDATE t SET v = 1           | false",
    })
    void writesThatBeginEndOrCannotRunInATransactionAreNotWrapped(String sql, boolean shaped) {
        assertThat(UnitRules.transactionShaped(c(sql))).isEqualTo(shaped);
    }

    @Test
    void aCommitPreparedOutsideATransactionReadsAnotherSessionsCommit() {
        assertThat(UnitRules.endsOnly(c("COMMIT"), (byte) 'T')).isTrue();
        assertThat(UnitRules.endsOnly(c("ROLLBACK TO SAVEPOINT a"), (byte) 'T')).isTrue();
        assertThat(UnitRules.endsOnly(c("COMMIT PREPARED 'tx1'"), (byte) 'I')).isFalse();
        assertThat(UnitRules.endsOnly(c("UPDATE t SET v = 1; COMMIT"), (byte) 'T')).isFalse();
    }

    @Test
    void theTagsTellWhetherTheLeaderCommitted() {
        assertThat(UnitRules.committedBefore(List.of(ok("UPDATE 1"), ok("COMMIT")), 2)).isTrue();
        assertThat(UnitRules.committedBefore(List.of(ok("UPDATE 1"), ok("COMMIT")), 1)).isFalse();
        // a COMMIT of a failed transaction answers ROLLBACK
        assertThat(UnitRules.committedBefore(List.of(ok("ROLLBACK")), 1)).isFalse();
        assertThat(UnitRules.committedBefore(List.of(ok("PREPARE TRANSACTION")), 1)).isTrue();
        assertThat(UnitRules.committedInLane(c("COMMIT"), List.of(ok("COMMIT")))).isTrue();
        assertThat(UnitRules.committedInLane(c("COMMIT"), List.of(ok("ROLLBACK")))).isFalse();
        assertThat(UnitRules.committedInLane(c("UPDATE t SET v = 1"), List.of(ok("COMMIT")))).isFalse();
        assertThat(UnitRules.committedAfterLeader(c("COMMIT PREPARED 'tx1'"), List.of(ok("COMMIT PREPARED")))).isTrue();
        assertThat(UnitRules.firstFailed(List.of(ok("UPDATE 1"), error("23505"), error("25P02")))).isEqualTo(1);
        assertThat(UnitRules.firstFailed(List.of(ok("UPDATE 1")))).isEqualTo(-1);
    }

    @Test
    void errorsOfTheLeaderOwnAreNotRunOnTheFollower() {
        assertThat(UnitRules.transientError("40001")).isTrue(); // serialization failure
        assertThat(UnitRules.transientError("40P01")).isTrue(); // deadlock
        assertThat(UnitRules.transientError("57014")).isTrue(); // cancelled
        assertThat(UnitRules.transientError("55P03")).isTrue(); // lock not available
        assertThat(UnitRules.transientError(null)).isTrue(); // the answer was lost
        assertThat(UnitRules.transientError("23505")).isFalse(); // a duplicate key: the data says so
        assertThat(UnitRules.transientError("42P01")).isFalse();
    }

    @Test
    void readOnlyTransactionsAndWhatMayMakeThemWritable() {
        assertThat(UnitRules.beginsReadOnly(c("BEGIN READ ONLY"))).isTrue();
        assertThat(UnitRules.beginsReadOnly(c("BEGIN"))).isFalse();
        assertThat(UnitRules.makesReadOnly(c("SET TRANSACTION READ ONLY"))).isTrue();
        assertThat(UnitRules.mayMakeWritable(c("SET TRANSACTION READ WRITE"))).isTrue();
        assertThat(UnitRules.mayMakeWritable(c("SET transaction_read_only = off"))).isTrue();
        assertThat(UnitRules.mayMakeWritable(c("INSERT INTO t VALUES (1)"))).isTrue();
        assertThat(UnitRules.mayMakeWritable(c("SELECT * FROM t"))).isFalse();
        assertThat(UnitRules.mayMakeWritable(c("COMMIT"))).isFalse();
    }

    @Test
    void writesAreComparedByTagAndRowsReadsBySuccessAlone() {
        Unit update = unit("UPDATE t SET v = v + 1 RETURNING v");
        assertThat(UnitRules.compareOutcomes(update, List.of(rows("UPDATE 1", 1, 7)), List.of(rows("UPDATE 1", 1, 7)))).isNull();
        assertThat(UnitRules.compareOutcomes(update, List.of(rows("UPDATE 1", 1, 7)), List.of(rows("UPDATE 0", 0, 0))))
                .contains("command tag");
        assertThat(UnitRules.compareOutcomes(update, List.of(rows("UPDATE 1", 1, 7)), List.of(rows("UPDATE 1", 1, 8))))
                .contains("row contents differ");
        assertThat(UnitRules.compareOutcomes(update, List.of(ok("UPDATE 1")), List.of(error("23505"))))
                .contains("error 23505");
        // other sessions' commits may reach the two clusters' reads at different moments
        Unit read = unit("SELECT v FROM t");
        assertThat(UnitRules.compareOutcomes(read, List.of(rows("SELECT 1", 1, 7)), List.of(rows("SELECT 2", 2, 9)))).isNull();
        assertThat(UnitRules.compareOutcomes(read, List.of(rows("SELECT 1", 1, 7)), List.of(error("42P01")))).isNotNull();
        // a non-deterministic write: the tag counts, not what it returned
        Unit stamped = unit("UPDATE t SET at = now() RETURNING at");
        assertThat(UnitRules.compareOutcomes(stamped, List.of(rows("UPDATE 1", 1, 7)), List.of(rows("UPDATE 1", 1, 8)))).isNull();
        assertThat(UnitRules.compareOutcomes(update, List.of(ok("UPDATE 1"), ok("COMMIT")), List.of(ok("UPDATE 1"))))
                .startsWith("statements answered");
    }

    @Test
    void aLoneRollbackOrAnyEndOfAFailedTransactionOnlyRollsBack() {
        Unit rollback = unit("ROLLBACK");
        rollback.statusBefore = 'T';
        assertThat(UnitRules.rollsBack(rollback)).isTrue();
        Unit commit = unit("COMMIT");
        commit.statusBefore = 'T';
        assertThat(UnitRules.rollsBack(commit)).isFalse();
        commit.statusBefore = 'E';
        assertThat(UnitRules.rollsBack(commit)).isTrue();
        assertThat(UnitRules.startsWithRollback(unit("rollback; begin"))).isTrue();
        assertThat(UnitRules.startsWithRollback(unit("/* app */ ABORT"))).isTrue();
        assertThat(UnitRules.startsWithRollback(unit("COMMIT"))).isFalse();
    }
}
