package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Which Query strings are a transaction's statements followed by its end alone, where that end begins, and
 * whether the string opens the transaction itself ({@link Classifier#transactionTail}).
 */
class TransactionTailTest {

    private static final Classifier CLASSIFIER = new Classifier(100);

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "begin; update t set v = 1; commit|commit|true",
        "BEGIN; UPDATE t SET v = 1; COMMIT;|COMMIT;|true",
        "begin work; insert into t values (1); end|end|true",
        "start transaction isolation level serializable, read write; delete from t; commit work|commit work|true",
        "begin; update t set v = 1; commit and chain|commit and chain|true",
        "begin; update t set v = 1; commit and no chain;|commit and no chain;|true",
        "begin; update t set v = 1; rollback|rollback|true",
        "begin; update t set v = 1; abort transaction|abort transaction|true",
        "begin; update t set v = 1; commit; -- done|commit; -- done|true",
        "begin; update t set v = 'a;b'; /* ; */ commit /* c */|commit /* c */|true",
        "begin; select $$; commit$$; commit|commit|true",
        "update t set v = 1; commit|commit|false",
        "update t set v = 1; savepoint a; release savepoint a; commit|commit|false",
        "insert into t select * from u; notify ch; commit|commit|false",
        "lock t in share mode; update t set v = 1; commit|commit|false",
        "begin; savepoint a; update t set v = 1; rollback to savepoint a|rollback to savepoint a|true",
        "update t set v = 1; rollback work to a;|rollback work to a;|false",
        "update t set v = 1; ROLLBACK TRANSACTION TO \"A b\"|ROLLBACK TRANSACTION TO \"A b\"|false",
        "update t set v = 1; rollback to savepoint|rollback to savepoint|false",
    })
    void findsTheEndOfAStringThatHoldsATransaction(String sql, String end, boolean opens) {
        Classifier.TransactionTail tail = CLASSIFIER.transactionTail(sql, false);
        assertThat(tail).as(sql).isNotNull();
        assertThat(sql.substring(tail.endAt())).isEqualTo(end);
        assertThat(tail.opens()).isEqualTo(opens);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "commit",
        "begin; commit",
        "begin; update t set v = 1",
        "begin; update t set v = 1; commit; select 1",
        "begin; update t set v = 1; commit; begin; update t set v = 2; commit",
        "begin; update t set v = 1; commit prepared 'x'",
        "begin; update t set v = 1; prepare transaction 'x'",
        "begin; update t set v = 1; rollback to",
        "begin; update t set v = 1; rollback to savepoint a b",
        "begin; update t set v = 1; rollback to 'a'",
        "begin; update t set v = 1; rollback to user",
        "begin; update t set v = 1; rollback to savepoint left",
        "begin; update t set v = 1; rollback to \"\"",
        "begin; update t set v = 1; rollback to U&\"a\"",
        "begin; update t set v = 1; rollback to a234567890123456789012345678901234567890123456789012345678901234",
        "begin; rollback to a",
        "begin; update t set v = 1; rollback to a; rollback to b",
        "begin; update t set v = 1; commit and",
        "begin; update t set v = 1; commit work work",
        "begin; update t set v = 1; rollback to a; commit",
        "begin; begin; commit",
        "update t set v = 1; begin; commit",
        "begin; copy t from stdin; commit",
        "begin; copy t to stdout; commit",
        "begin; set transaction snapshot '00000003-1'; commit",
        "begin; listen ch; commit",
        "begin; call p(); commit",
        "begin; vacuum t; commit",
        "begin; frobnicate the table; commit",
        "begin; update t set v = 'unterminated; commit",
        "set local lock_timeout = '1s'; update t set v = 1; commit",
        "begin; set datestyle = german; update t set v = 1; commit",
        "begin; select set_config('datestyle', 'german', true); update t set v = 1; commit",
    })
    void findsNoneWhereTheStringIsNotAnEndAfterStatementsThatMayRunBeforeIt(String sql) {
        assertThat(CLASSIFIER.transactionTail(sql, false)).as(sql).isNull();
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void readsStringsAsTheSessionDoes(boolean backslashInPlainStrings) {
        String sql = "begin; update t set v = 'a\\'; commit'; commit";
        Classifier.TransactionTail tail = CLASSIFIER.transactionTail(sql, backslashInPlainStrings);
        if (backslashInPlainStrings) {
            assertThat(tail).isNotNull();
            assertThat(sql.substring(tail.endAt())).isEqualTo("commit");
        } else {
            // the standard reading ends the string at the backslash: "; commit'; commit" is unterminated
            assertThat(tail).isNull();
        }
    }
}
