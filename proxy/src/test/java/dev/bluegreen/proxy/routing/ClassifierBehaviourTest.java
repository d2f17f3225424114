package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** What the table in {@link ClassifierTest} does not show: counts, tenant values, the cache, configuration. */
class ClassifierBehaviourTest {

    private final Classifier classifier = new Classifier(100);

    /** What may change data: a write that is not transaction control or session settings alone. */
    @Test
    void onlyStatementsThatMayChangeDataSaySo() {
        for (String control : List.of("begin", "commit", "rollback", "savepoint s", "rollback to s", "set work_mem = '8MB'",
                "set local statement_timeout = 0", "prepare p as insert into t values (1)", "deallocate p", "listen c",
                "begin read only", "select 1", "", "discard all", "vacuum t", "lock table t", "set constraints all deferred")) {
            assertThat(classifier.classify(control).mayChangeData()).as(control).isFalse();
        }
        for (String data : List.of("insert into t values (1)", "execute p", "select nextval('s')", "begin; insert into t values (1)",
                "commit; update t set v = 1", "create table t2 (id int)", "copy t from stdin", "notify c",
                "create index concurrently i on t (id)")) {
            assertThat(classifier.classify(data).mayChangeData()).as(data).isTrue();
        }
    }

    @Test
    void theTableCoversWellOverEightyStatements() {
        assertThat(ClassifierTest.allCases()).hasSizeGreaterThan(200);
    }

    @ParameterizedTest(name = "{0} → {1}")
    @CsvSource(delimiter = '|', value = {
        "select 1                                   | 1",
        "select 1;                                  | 1",
        "select 1; select 2                         | 2",
        "select 1;; ;select 2;                      | 2",
        "select ';'; select $$;$$                   | 2",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; COMMIT | 2",
        "create function f(x int) returns int return case when x > 0 then 1 else 0 end; select 1 | 2",
        "select case when true then 1 end; select 2 | 2",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 AS end; SELECT 2; END | 1",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; END; SELECT 3 | 2",
        "CREATE FUNCTION f(begin int) RETURNS int LANGUAGE sql AS 'select 1'; CREATE TEMP TABLE tt (a int) | 2",
        "''                                         | 0",
        "select 'open                               | 0",
    })
    void countsStatementsAsTheServerSplitsThem(String sql, int count) {
        assertThat(classifier.classify(sql).statementCount()).isEqualTo(count);
    }

    @Test
    void aParameterNamedBeginDoesNotHideTheNextStatement() {
        Classification result = classifier.classify(
                "CREATE FUNCTION f(begin int) RETURNS int LANGUAGE sql AS 'select 1'; CREATE TEMP TABLE tt (a int)");

        assertThat(result.has(Trait.PINS_SESSION)).isTrue();
    }

    @Test
    void aBodyEndIsNotATransactionEnd() {
        Classification result = classifier.classify(
                "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END");

        assertThat(result.has(Trait.TRANSACTION_END)).isFalse();
        assertThat(result.statementCount()).isEqualTo(1);
    }

    @ParameterizedTest(name = "{0} → [{1}]")
    @CsvSource(delimiter = '|', value = {
        "SET bluegreen.tenant = 'acme'                          | acme",
        "set bluegreen.tenant to acme                           | acme",
        "SET bluegreen.tenant TO Acme                           | acme",
        "SET bluegreen.tenant TO \"Acme\"                       | Acme",
        "SET SESSION bluegreen.tenant = 'it''s'                 | it's",
        "SET LOCAL bluegreen.tenant = 'acme'                    | acme",
        "set BlueGreen.Tenant = 42                              | 42",
        "set \"bluegreen\".\"tenant\" = 'acme'                  | acme",
        "set bluegreen.tenant = E'a\\x41'                       | aA",
        "SET bluegreen.tenant = $$acme$$                        | acme",
        "select set_config('bluegreen.tenant', 'acme', false)   | acme",
        "SET bluegreen.tenant = 'a'; SET bluegreen.tenant = 'b' | b",
        "SET bluegreen.tenant = 'a'; select 1                   | a",
    })
    void exposesTheTenantAClientSets(String sql, String tenant) {
        Classification result = classifier.classify(sql);

        assertThat(result.has(Trait.TENANT_SETTING)).isTrue();
        assertThat(result.tenant()).contains(tenant);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "SET bluegreen.tenant TO DEFAULT",
        "set bluegreen.tenant = ''",
        "RESET bluegreen.tenant",
        "RESET ALL",
        "DISCARD ALL",
        "SET bluegreen.tenant = 'a'; RESET bluegreen.tenant",
    })
    void clearingTheTenantIsASettingWithoutAValue(String sql) {
        Classification result = classifier.classify(sql);

        assertThat(result.has(Trait.TENANT_SETTING)).isTrue();
        assertThat(result.tenant()).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "SET bluegreen.other = 'acme'",
        "SET tenant = 'acme'",
        "select 'SET bluegreen.tenant = acme'",
        "select set_config('bluegreen.tenant', $1, false)",
        "RESET bluegreen",
    })
    void otherSettingsAreNotTheTenant(String sql) {
        Classification result = classifier.classify(sql);

        assertThat(result.has(Trait.TENANT_SETTING)).isFalse();
        assertThat(result.tenant()).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "SET app.user_id = 42                                          | app.user_id",
        "set session App.User_Id to 'x'                                | app.user_id",
        "SET LOCAL app.tenant = 'a'                                    | app.tenant",
        "RESET my.setting                                              | my.setting",
        "select set_config('App.Role', 'r', false)                     | app.role",
        "select set_config('app.role', 'r', true)                      | app.role",
        "SET a.b = 1; select 1; SELECT set_config('c.d.e', 'x', false) | a.b c.d.e",
        "SET \"Quoted\".name = 1                                       | quoted.name",
        "SET session.user_id = 42                                      | session.user_id",
        "SET local.user_id = 7                                         | local.user_id",
        "set transaction.x to 1                                        | transaction.x",
        "SET LOCAL local.user_id = 7                                   | local.user_id",
        "PREPARE setuid(text) AS SELECT set_config('app.user_id', $1, false) | app.user_id",
    })
    void namesTheCustomSettingsAStringSets(String sql, String names) {
        Classification result = classifier.classify(sql);

        assertThat(result.customSettings()).containsExactlyInAnyOrder(names.split(" "));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "SET session.user_id = 42          | SESSION_STATE",
        "SET local.user_id = 7             | SESSION_STATE",
        "SET transaction.isolation = 'x'   | SESSION_STATE",
        "SET constraints.all = 'x'         | SESSION_STATE",
        "SET SESSION local.user_id = 7     | SESSION_STATE",
        "SET LOCAL session.user_id = 7     | SET_LOCAL",
        "SET TRANSACTION READ ONLY         | SET_LOCAL",
        "SET CONSTRAINTS ALL DEFERRED      | SET_LOCAL",
    })
    void aKeywordFollowedByADotBeginsASettingName(String sql, Trait scope) {
        Classification result = classifier.classify(sql);

        assertThat(result.has(scope)).isTrue();
        assertThat(result.has(scope == Trait.SET_LOCAL ? Trait.SESSION_STATE : Trait.SET_LOCAL)).isFalse();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "SET search_path = app",
        "SET work_mem TO '64MB'",
        "select 'SET app.user_id = 1'",
        "update app.accounts set balance = 1.5",
        "RESET ALL",
    })
    void namesNoCustomSettingWhereNoneIsSetByName(String sql) {
        assertThat(classifier.classify(sql).customSettings()).isEmpty();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "select set_config($1, $2, false)",
        "select set_config('app' || '.x', 'y', false)",
    })
    void aSettingSetByANameTheTextDoesNotSpellOutIsNamedAsUnknown(String sql) {
        assertThat(classifier.classify(sql).customSettings()).containsExactly("");
    }

    @Test
    void aTextSeenTwiceIsCachedAndGetsTheSameAnswerAfter() {
        classifier.classify("select * from accounts where id = $1");
        Classification second = classifier.classify(new String("select * from accounts where id = $1"));

        Classification third = classifier.classify(new String("select * from accounts where id = $1"));

        assertThat(third).isSameAs(second);
        assertThat(classifier.cachedEntries()).isOne();
    }

    @Test
    void aTextSeenOnceIsAnsweredButNotCached() {
        IntStream.range(0, 50).forEach(i ->
                assertThat(classifier.classify("select * from t where name = 'n" + i + "'").isRead()).isTrue());

        assertThat(classifier.cachedEntries()).isZero();
    }

    @Test
    void textsThatDifferOnlyInTheirNumbersShareOneEntry() {
        classifier.classify("SELECT abalance FROM pgbench_accounts WHERE aid = 17;");
        Classification second = classifier.classify("SELECT abalance FROM pgbench_accounts WHERE aid = 902113;");

        IntStream.range(0, 50).forEach(i -> assertThat(
                classifier.classify("SELECT abalance FROM pgbench_accounts WHERE aid = " + i * 7919 + ";"))
                .isSameAs(second));
        assertThat(classifier.classify("update t set a = 1.5 where id = 3").isRead()).isFalse();
        assertThat(classifier.cachedEntries()).isOne();
    }

    @Test
    void aNonDeterministicStatementCarriesTheNameItIsCountedUnder() {
        for (int i = 0; i < 3; i++) {
            Classification c = classifier.classify("insert into t values (" + i + ", now(), 'x" + i + "')");

            assertThat(c.normalized()).isEqualTo(SqlNormalizer.normalize("insert into t values (7, now(), 'y')"))
                    .isEqualTo("insert into t values (?, now(), ?)");
        }
        assertThat(classifier.classify("insert into t values (1, 'x')").normalized()).isEmpty();
    }

    @Test
    void statementsWhoseNumbersCountAreNotSharedAcrossNumbers() {
        for (int round = 0; round < 3; round++) {
            assertThat(classifier.classify("explain (analyze 0) update t set a = 1").isRead()).isTrue();
            assertThat(classifier.classify("explain (analyze 1) update t set a = 1").isRead()).isFalse();
            assertThat(classifier.classify("set bluegreen.tenant = 42").tenant()).contains("42");
            assertThat(classifier.classify("set bluegreen.tenant = 7").tenant()).contains("7");
        }
    }

    /** Texts the quick scan once read differently from the lexer (a comment ended by CR, a string after a number). */
    @ParameterizedTest
    @ValueSource(strings = {
        "select set_config('bluegreen.tenant', --\r'\n  acme #', false) --'",
        "select 0e'\\'x', set_config('bluegreen.tenant', ' # ', false) --'",
        "select 0$$'x$$, set_config('bluegreen.tenant', ' # ', false) --'",
    })
    void aTenantInAStringIsNeverTakenForANumber(String template) {
        String one = template.replace("#", "1");
        String two = template.replace("#", "2");
        classifier.classify(one);
        classifier.classify(one);

        assertThat(classifier.classify(two)).isEqualTo(new Classifier(10).classify(two));
    }

    @Test
    void aFunctionNamedWithANumberThatWritesIsNeverTakenForOneThatReads() {
        Classifier configured = new Classifier(10, Set.of("audit-2"));
        configured.classify("select --\r'\n\"', \"audit-1\"() --\"");
        configured.classify("select --\r'\n\"', \"audit-1\"() --\"");

        assertThat(configured.classify("select --\r'\n\"', \"audit-2\"() --\"").isRead()).isFalse();
    }

    /** Every statement of the table, with its numbers changed after it was cached, gets the answer it would alone. */
    @Test
    void aCachedShapeNeverAnswersForATextItDoesNotFit() {
        for (var arguments : ClassifierTest.allCases()) {
            String sql = (String) arguments.get()[0];
            String renumbered = sql.replaceAll("(?<![\\w$])\\d+(?![\\w$])", "0");
            classifier.classify(sql);
            classifier.classify(sql);

            assertThat(classifier.classify(renumbered)).as(renumbered)
                    .isEqualTo(new Classifier(10).classify(renumbered));
        }
    }

    @Test
    void theCacheStaysBounded() {
        Classifier small = new Classifier(10);

        IntStream.range(0, 200).forEach(i -> {
            small.classify("select c" + i);
            small.classify("select c" + i);
        });

        assertThat(small.cachedEntries()).isLessThanOrEqualTo(10);
        assertThat(small.classify("select c199").isRead()).isTrue();
    }

    @Test
    void hugeTextsAreClassifiedButNotCached() {
        String huge = "select 1 /* " + "x".repeat(Classifier.MAX_CACHED_LENGTH) + " */";

        classifier.classify(huge);
        Classification result = classifier.classify(huge); // seen twice: a shorter text would be cached now

        assertThat(result.isRead()).isTrue();
        assertThat(classifier.cachedEntries()).isZero();
    }

    @Test
    void answersAgreeAcrossThreads() {
        List<String> texts = IntStream.range(0, 200)
                .mapToObj(i -> i % 2 == 0 ? "select " + (i % 20) : "update t set a = " + (i % 20)).toList();

        List<Kind> kinds = texts.parallelStream().map(sql -> classifier.classify(sql).kind()).toList();

        assertThat(kinds).containsExactlyElementsOf(
                texts.stream().map(sql -> sql.startsWith("select") ? Kind.READ : Kind.WRITE).toList());
    }

    @Test
    void applicationFunctionsThatWriteCanBeNamed() {
        Classifier configured = new Classifier(10, Set.of("app.audit_event", "Bump_Counter"));

        assertThat(configured.classify("select app.audit_event('login')").isRead()).isFalse();
        assertThat(configured.classify("select audit_event('login')").isRead()).isFalse();
        assertThat(configured.classify("select bump_counter()").isRead()).isFalse();
        assertThat(classifier.classify("select app.audit_event('login')").isRead()).isTrue();
    }

    @Test
    void aTenantValueNeedsTheTrait() {
        assertThatThrownBy(() -> new Classification(Kind.WRITE, EnumSet.noneOf(Trait.class), 1, Optional.of("acme")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void traitsCannotBeChangedAfterTheFact() {
        Classification result = classifier.classify("select 1");

        assertThatThrownBy(() -> result.traits().add(Trait.DDL)).isInstanceOf(UnsupportedOperationException.class);
    }
}
