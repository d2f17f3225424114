package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class LargeObjectSqlTest {

    /** The follower's copy of {@code sql} given the OID 4294967295 (the largest: written unsigned); null where it has no shape. */
    private static String given(String sql) {
        return LargeObjectSql.of(sql, false)
                .map(created -> TransactionTime.apply(sql, List.of(created.given("4294967295"))))
                .orElse(null);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            select lo_creat(-1)                                  | select lo_create(4294967295)
            SELECT LO_CREAT(131072);                             | SELECT lo_create(4294967295);
            select pg_catalog.lo_creat( - 1 ) as blob            | select pg_catalog.lo_create(4294967295) as blob
            select lo_create(0)                                  | select lo_create(4294967295)
            select lo_create(0::oid) "Id"                        | select lo_create(4294967295::oid) "Id"
            select lo_from_bytea(0, 'a, (b)')                    | select lo_from_bytea(4294967295, 'a, (b)')
            /* ORM */ SELECT lo_from_bytea(0, $1) AS oid ;       | /* ORM */ SELECT lo_from_bytea(4294967295, $1) AS oid ;
            select lo_from_bytea(0, '\\x6162'::bytea)             | select lo_from_bytea(4294967295, '\\x6162'::bytea)
            select lo_import('/srv/in.bin')                      | select lo_import('/srv/in.bin', 4294967295)
            select lo_import($1) x                               | select lo_import($1, 4294967295) x
            select lo_import('/srv/in.bin', 0::oid)              | select lo_import('/srv/in.bin', 4294967295::oid)
            """)
    void aLargeObjectTheServerNumbersIsGivenTheLeadersOid(String sql, String follower) {
        assertThat(given(sql)).isEqualTo(follower);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "select lo_create(16500)", // the client names the OID: alike on both as it is
        "select lo_from_bytea(16500, 'x')",
        "select lo_from_bytea($1, 'x')", // (a parameter: not rewritten)
        "select lo_import('/srv/in.bin', 16500)",
        "select lo_creat(-1), lo_creat(-1)",
        "select lo_creat(-1) from generate_series(1, 3)",
        "select lo_creat(-1) + 0",
        "select lo_unlink(16500)",
        "select lo_get(16500)",
        "select public.lo_creat(-1)", // (an application's own function)
        "insert into docs (blob) values (lo_creat(-1))",
        "select 'lo_creat(-1)'",
        "select lo_create(0",
        "select lo_creat($1)",
        "select lo_from_bytea(0)",
        "update t set blob = lo_create(0)",
        // data made by something that may differ between the clusters, counted as non-deterministic instead
        "select lo_from_bytea(0, gen_random_bytes(16))",
        "select lo_from_bytea(0, lo_get(lo_import('/srv/f')))",
        "select lo_from_bytea(0, decode('6162', 'hex'))",
        "select \"lo_create\"(0)",
        "select lo_import('/srv/in.bin', $2)",
    })
    void anythingElseIsLeftAsItIs(String sql) {
        assertThat(LargeObjectSql.of(sql, false)).as(sql).isEmpty();
    }
}
