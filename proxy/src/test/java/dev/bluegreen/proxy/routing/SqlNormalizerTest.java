package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class SqlNormalizerTest {

    static Stream<Arguments> statements() {
        return Stream.of(
                Arguments.of("SELECT * FROM accounts WHERE id = 42", "select * from accounts where id = ?"),
                Arguments.of("select  *\n\tfrom accounts -- by id\n where id=42", "select * from accounts where id = ?"),
                Arguments.of("/* app:web */ select 1", "select ?"),
                Arguments.of("select 'a', E'b\\'c', $$d$$, $t$e$t$, U&'f', x'1F'", "select ?, ?, ?, ?, ?, ?"),
                Arguments.of("select 1.5, .5, 1e10, 0x1F, -7", "select ?, ?, ?, ?, - ?"),
                Arguments.of("select * from t where id = $1 and b = $2", "select * from t where id = $1 and b = $2"),
                Arguments.of("select * from t where id IN (1, 2, 3)", "select * from t where id in (?)"),
                Arguments.of("select * from t where id in ('a','b')", "select * from t where id in (?)"),
                Arguments.of("select * from t where id in (-1, +2)", "select * from t where id in (?)"),
                Arguments.of("select * from t where id in ($1, $2)", "select * from t where id in ($1, $2)"),
                Arguments.of("select * from t where id in (select id from u)", "select * from t where id in (select id from u)"),
                Arguments.of("select * from t where id = any(ARRAY[1,2,3])", "select * from t where id = any (array[?])"),
                Arguments.of("SELECT count(*), now() FROM \"Orders\" o", "select count(*), now() from \"Orders\" o"),
                Arguments.of("select x::int, t.a from t", "select x::int, t.a from t"),
                Arguments.of("insert into t (a, b) values (1, 'x')", "insert into t(a, b) values (?, ?)"),
                Arguments.of("select 1; select 2;;", "select ?; select ?"),
                Arguments.of("set search_path to app, public", "set search_path to ?, ?"),
                Arguments.of("SET bluegreen.tenant = acme", "set bluegreen.tenant = ?"),
                Arguments.of("ALTER ROLE app SET search_path TO app, public", "alter role app set search_path to ?, ?"),
                Arguments.of("update t set a = b where c = 'x'", "update t set a = b where c = ?"),
                Arguments.of("select 'one'\n'string'", "select ?"),
                Arguments.of("select interval '1 day'", "select interval ?"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("statements")
    void replacesLiteralsDropsCommentsAndCanonicalisesSpacing(String sql, String normalized) {
        assertThat(SqlNormalizer.normalize(sql)).isEqualTo(normalized);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "ALTER ROLE app PASSWORD 'hunter2'",
        "select * from users where password = 'hunter2'",
        "select * from users where password = E'hunter2\\''",
        "select * from users where password = $q$hunter2$q$",
        "select * from users where password = U&'hunter2'",
        "select * from users where card = 4111111111111111 and pin = 1234",
        "select * from users where password = 'hunter2",
        "select * from users where password = $$hunter2",
        "select \"hunter2 /* unterminated",
        "select 1 /* hunter2 unterminated",
        "set app.password to hunter2",
        "ALTER ROLE app SET app.password = hunter2",
        "alter database shop set app.password to hunter2",
        "set app.password to \"hunter2\"",
        "ALTER ROLE app SET app.secret = \"hunter2\"",
        "set app.password = U&\"hunter2\"",
        "select set_config('app.password', 'hunter2', false)",
    })
    void neverLeavesALiteralInTheOutput(String sql) {
        String normalized = SqlNormalizer.normalize(sql);

        assertThat(normalized).doesNotContain("hunter2").doesNotContain("4111").doesNotContain("1234");
    }

    /**
     * A session with {@code standard_conforming_strings} off, where a backslash escapes a quote in {@code '...'}:
     * read the standard way, the rest of the first literal and the second one would be left as words.
     */
    @Test
    void aSessionsBackslashStringsAreReadAsItReadsThem() {
        String sql = "insert into notes values ('O\\'Brien', 'pin is hunter2')";

        assertThat(SqlNormalizer.normalize(sql, true)).isEqualTo("insert into notes values (?, ?)");
        assertThat(SqlNormalizer.normalize(sql, false)).as("read the standard way").contains("hunter2");
    }

    @Test
    void theSameStatementWithOtherLiteralsHasTheSameFingerprint() {
        long first = SqlNormalizer.fingerprint("SELECT * FROM t WHERE id = 1 AND name = 'alice' AND x IN (1, 2)");

        long second = SqlNormalizer.fingerprint("select *\nfrom t where id = 99 and name = 'bob' and x in (7, 8, 9, 10)");

        assertThat(second).isEqualTo(first);
    }

    @Test
    void differentStatementsHaveDifferentFingerprints() {
        assertThat(SqlNormalizer.fingerprint("select * from t where id = 1"))
                .isNotEqualTo(SqlNormalizer.fingerprint("select * from u where id = 1"))
                .isNotEqualTo(SqlNormalizer.fingerprint("select * from t where id = $1"))
                .isNotEqualTo(SqlNormalizer.fingerprint("select * from \"T\" where id = 1"));
    }

    @Test
    void theFingerprintIsFixedAcrossRunsAndInstances() {
        // divergence records and metrics from different proxies and releases must agree; the constant is
        // FNV-1a 64 of "select ?" then MurmurHash3's fmix64, computed independently in Python
        assertThat(SqlNormalizer.fingerprint("select 1")).isEqualTo(0x1cab9ada31915ed1L);
    }
}
