package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TransactionTimeTest {

    private static final String START = TransactionTime.START;

    /** What a reading named {@code name} becomes, read as {@code type} (null: as it is). */
    private static String leaders(String name, String type) {
        return "(SELECT " + (type == null ? START : "(" + START + ")::" + type) + " AS \"" + name + "\")";
    }

    private static String rewritten(String sql) {
        List<TransactionTime.Edit> edits = TransactionTime.edits(sql, false);
        return edits == null ? null : TransactionTime.apply(sql, edits);
    }

    @Test
    void everySpellingOfTheTransactionsStartReadsTheLeadersInstead() {
        assertThat(rewritten("UPDATE t SET seen = now(), day = CURRENT_DATE WHERE id = $1"))
                .isEqualTo("UPDATE t SET seen = " + leaders("now", null) + ", day = " + leaders("current_date", "pg_catalog.date")
                        + " WHERE id = $1");
        assertThat(rewritten("insert into h (a, mtime) values (1, CURRENT_TIMESTAMP)"))
                .isEqualTo("insert into h (a, mtime) values (1, " + leaders("current_timestamp", "pg_catalog.timestamptz") + ")");
        assertThat(rewritten("select f(pg_catalog.now(), transaction_timestamp())"))
                .isEqualTo("select f(" + leaders("now", null) + ", " + leaders("transaction_timestamp", null) + ")");
        assertThat(rewritten("delete from t where at < localtimestamp(3) - interval '1 day' or t < localtime"))
                .isEqualTo("delete from t where at < " + leaders("localtimestamp", "pg_catalog.\"timestamp\"(3)")
                        + " - interval '1 day' or t < " + leaders("localtime", "pg_catalog.\"time\""));
        assertThat(rewritten("update t set x = current_time(2), y = current_timestamp(0)")).isEqualTo("update t set x = "
                + leaders("current_time", "pg_catalog.timetz(2)") + ", y = " + leaders("current_timestamp", "pg_catalog.timestamptz(0)"));
    }

    @Test
    void whatOnlyLooksLikeItIsLeftAlone() {
        assertThat(rewritten("insert into t (note, \"now\") values ('now() or never', 1)")).isEqualTo(
                "insert into t (note, \"now\") values ('now() or never', 1)");
        assertThat(rewritten("update t set a = app.now(), b = \"now\"(), c = clock_timestamp(), d = statement_timestamp()"))
                .doesNotContain(START);
        assertThat(rewritten("update t set a = now(1)")).doesNotContain(START);
        assertThat(rewritten("select now -- now()\n from t")).isEqualTo("select now -- now()\n from t");
        // a label, and a function in FROM (a table there): rewritten they would not parse, or read another column
        assertThat(rewritten("update t set a = 1 returning a as current_time, b AS localtime")).doesNotContain(START);
        assertThat(rewritten("insert into t (d) select x from now() x")).doesNotContain(START);
        assertThat(rewritten("insert into t (d) select 1 from t join lateral now() n on true")).doesNotContain(START);
        assertThat(rewritten("update t set a = (select 1 from now())")).doesNotContain(START);
        assertThat(rewritten("update t set a = substring('x' from 1) from now() n")).doesNotContain(START);
    }

    @Test
    void aFromThatTakesAValueIsNoTable() {
        assertThat(rewritten("update t set e = extract(epoch from now()), d = EXTRACT(DAY FROM (CURRENT_DATE))"))
                .isEqualTo("update t set e = extract(epoch from " + leaders("now", null) + "), d = EXTRACT(DAY FROM ("
                        + leaders("current_date", "pg_catalog.date") + "))");
        assertThat(rewritten("delete from t where at is distinct from now() or d is not distinct from current_date"))
                .isEqualTo("delete from t where at is distinct from " + leaders("now", null) + " or d is not distinct from "
                        + leaders("current_date", "pg_catalog.date"));
        assertThat(rewritten("update t set s = substring(now()::text from 1 for 4), y = trim(from localtime::text)"))
                .isEqualTo("update t set s = substring(" + leaders("now", null) + "::text from 1 for 4), y = trim(from "
                        + leaders("localtime", "pg_catalog.\"time\"") + "::text)");
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "create table t (at timestamptz default now())",
            "alter table t alter column at set default now()",
            "update t set a = now(); update t set b = now()",
            "explain analyze update t set a = now()",
            "call p(now())",
            "select now() into t2",
            "with x as (select 1) select now() into t2 from x",
            "update t set a = 'open",
    })
    void definitionsSeveralStatementsAndTextItCannotReadAreNotRewritten(String sql) {
        assertThat(TransactionTime.edits(sql, false)).as(sql).isNull();
    }

    @Test
    void aDefaultIsCarriedWhenTheStartAloneDecidesItsValue() {
        assertThat(TransactionTime.defaultExpression("now()")).isEqualTo(leaders("now", null));
        assertThat(TransactionTime.defaultExpression("CURRENT_TIMESTAMP"))
                .isEqualTo(leaders("current_timestamp", "pg_catalog.timestamptz"));
        assertThat(TransactionTime.defaultExpression("timezone('utc'::text, now())"))
                .isEqualTo("timezone('utc'::text, " + leaders("now", null) + ")");
        assertThat(TransactionTime.defaultExpression("(now() AT TIME ZONE 'utc'::text)")).contains(START);
        assertThat(TransactionTime.defaultExpression("(CURRENT_DATE + '30 days'::interval)")).contains(START);
        assertThat(TransactionTime.defaultExpression("date_trunc('second'::text, now())")).contains(START);

        assertThat(TransactionTime.defaultExpression("clock_timestamp()")).isNull();
        assertThat(TransactionTime.defaultExpression("(now() + ((random() * (10)::double precision))::integer)")).isNull();
        assertThat(TransactionTime.defaultExpression("make_label(now())")).isNull();
        assertThat(TransactionTime.defaultExpression("'2020-01-01'::date")).isNull();
        assertThat(TransactionTime.defaultExpression("timezone(E'a\\\\b'::text, now())")).as("a backslash").isNull();
    }

    @Test
    void aLookAtTheLettersSkipsTextsThatCannotReadTheStart() {
        assertThat(TransactionTime.mayRead("SELECT random()")).isFalse();
        assertThat(TransactionTime.mayRead("UPDATE t SET at = NOW()")).isTrue();
        assertThat(TransactionTime.mayRead("insert into t values (LOCALTIMESTAMP)")).isTrue();
    }
}
