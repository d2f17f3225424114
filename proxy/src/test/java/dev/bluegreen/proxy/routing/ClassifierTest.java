package dev.bluegreen.proxy.routing;

import static dev.bluegreen.proxy.routing.Trait.CATALOG;
import static dev.bluegreen.proxy.routing.Trait.COPY_FROM_STDIN;
import static dev.bluegreen.proxy.routing.Trait.COPY_TO_STDOUT;
import static dev.bluegreen.proxy.routing.Trait.CURSOR;
import static dev.bluegreen.proxy.routing.Trait.DDL;
import static dev.bluegreen.proxy.routing.Trait.IMPORTS_SNAPSHOT;
import static dev.bluegreen.proxy.routing.Trait.LISTEN;
import static dev.bluegreen.proxy.routing.Trait.MULTI_STATEMENT;
import static dev.bluegreen.proxy.routing.Trait.NAMES_STATEMENTS;
import static dev.bluegreen.proxy.routing.Trait.NON_DETERMINISTIC;
import static dev.bluegreen.proxy.routing.Trait.NOT_IN_TRANSACTION_BLOCK;
import static dev.bluegreen.proxy.routing.Trait.PINS_SESSION;
import static dev.bluegreen.proxy.routing.Trait.READ_ONLY_TRANSACTION;
import static dev.bluegreen.proxy.routing.Trait.TRANSACTION_BLOCK_ONLY;
import static dev.bluegreen.proxy.routing.Trait.TRANSACTION_CONTROL;
import static dev.bluegreen.proxy.routing.Trait.ROLLBACK;
import static dev.bluegreen.proxy.routing.Trait.ROLLBACK_TO;
import static dev.bluegreen.proxy.routing.Trait.SAVEPOINT;
import static dev.bluegreen.proxy.routing.Trait.SESSION_STATE;
import static dev.bluegreen.proxy.routing.Trait.SET_LOCAL;
import static dev.bluegreen.proxy.routing.Trait.TENANT_SETTING;
import static dev.bluegreen.proxy.routing.Trait.TRANSACTION_BEGIN;
import static dev.bluegreen.proxy.routing.Trait.TRANSACTION_END;
import static dev.bluegreen.proxy.routing.Trait.UNPARSEABLE;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The classifier's contract as a table: each statement with its expected kind and exact traits. */
class ClassifierTest {

    private static final Classifier CLASSIFIER = new Classifier(1_000);

    @ParameterizedTest(name = "{0}")
    @MethodSource("reads")
    void provenReadsAreReads(String sql, Set<Trait> traits) {
        Classification result = CLASSIFIER.classify(sql);

        assertThat(result.kind()).as("kind").isEqualTo(Kind.READ);
        assertThat(result.traits()).as("traits").isEqualTo(traits);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("writes")
    void everythingElseIsAWrite(String sql, Set<Trait> traits) {
        Classification result = CLASSIFIER.classify(sql);

        assertThat(result.kind()).as("kind").isEqualTo(Kind.WRITE);
        assertThat(result.traits()).as("traits").isEqualTo(traits);
    }

    /** Every case of both tables, for the count the brief asks about and for other tests to reuse. */
    static List<Arguments> allCases() {
        return Stream.concat(reads(), writes()).toList();
    }

    static Stream<Arguments> reads() {
        return Stream.of(
                // plain queries, case, whitespace, parentheses
                c("select 1"),
                c("SELECT * FROM accounts WHERE id = 42"),
                c("  \n\t select 1"),
                c("SeLeCt 1"),
                c("select 1;"),
                c("(select 1)"),
                c("((SELECT 1) UNION ALL (SELECT 2))"),
                c("TABLE accounts"),
                c("VALUES (1), (2)"),
                c("SHOW search_path"),
                c("show ALL"),
                c("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 10) SELECT sum(n) FROM t"),
                c("with x as materialized (select 1) select * from x"),
                c("with x as (select 'delete') select * from x"),
                c("select count(*) from orders o join lines l on l.order_id = o.id group by o.customer "
                        + "having count(*) > 2 order by 1 limit 10"),
                c("select pg_sleep(1)"),
                c("select current_setting('search_path')"),
                c("select t.update, t.delete from t"),
                c("select 1 as update"),
                c("select \"insert\", \"delete\" from audit"),
                c("select * from insert_log"),
                c("select nextval from counters"),
                c("select 1 from t where a = $1 and b = $2"),
                c("select $1::int"),
                // no statement at all: the server runs nothing (pgjdbc's isValid sends an empty query)
                c(""),
                c("   "),
                c("-- just a comment"),
                c("select skip, locked from t"), // not a locking clause: nothing to count
                c(";"),
                c("/* nothing */ ;;"),
                // comments never count
                c("/* insert */ select 1"),
                c("select * from t -- FOR UPDATE"),
                c("select * from t /* for update */"),
                c("/* outer /* nested delete */ still comment */ select 1"),
                c("-- delete from t\nselect 1"),
                // strings, identifiers and dollar quotes never count
                c("select 'insert into t values (1)'"),
                c("select 'it''s; delete from t'"),
                c("select 'one string '\n  'across lines; delete from t' from t"),
                c("select * from t where note = '; delete from t'"),
                c("select E'it\\'s; delete from t'"),
                c("select U&'d\\0061t\\+000061; update'"),
                c("select $$ insert into t values (1); $$"),
                c("select $body$ delete from t $body$"),
                c("select $a$ $b$ update $b$ $a$"),
                c("select x'1F', b'101', n'abc'"),
                c("select \"my\"\"col\" from \"Delete\""),
                // a name that is not followed by ( is no call; one starting with pg_ is taken for a catalog's
                c("select 'nextval(1)', \"pg_advisory_lock\" from t", CATALOG),
                // the system catalogs: the leader's OIDs and definitions
                c("SELECT t.oid, t.typname FROM pg_catalog.pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace", CATALOG),
                c("select count(*) from pg_stat_activity", CATALOG),
                c("select table_name from information_schema.tables", CATALOG),
                c("select 'mood'::regtype::oid", CATALOG),
                c("select pg_catalog.lower('A')"),
                c("select 1; select 2", MULTI_STATEMENT),
                c("select 1;;; select 2;", MULTI_STATEMENT),
                // EXPLAIN only plans
                c("explain select * from t"),
                c("explain verbose select 1"),
                c("EXPLAIN (COSTS OFF, FORMAT JSON) SELECT 1"),
                c("explain (analyze false, buffers) select 1"),
                c("explain (analyze off) select 1"),
                c("explain insert into t values (1)"),
                c("explain select nextval('s')"),
                // non-deterministic reads are still reads
                c("select now()", NON_DETERMINISTIC),
                c("select current_timestamp", NON_DETERMINISTIC),
                c("SELECT * FROM events WHERE at > CURRENT_DATE - 1", NON_DETERMINISTIC),
                c("select random()", NON_DETERMINISTIC),
                c("select gen_random_uuid()", NON_DETERMINISTIC),
                // read-only transactions
                c("BEGIN READ ONLY", TRANSACTION_BEGIN, READ_ONLY_TRANSACTION),
                c("begin transaction isolation level serializable, read only, deferrable",
                        TRANSACTION_BEGIN, READ_ONLY_TRANSACTION),
                c("START TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", TRANSACTION_BEGIN, READ_ONLY_TRANSACTION),
                c("SET TRANSACTION READ ONLY", SET_LOCAL, TRANSACTION_BLOCK_ONLY, READ_ONLY_TRANSACTION),
                // COPY to the client
                c("COPY t TO STDOUT", COPY_TO_STDOUT),
                c("copy (select * from t where a > 1) to stdout with csv header", COPY_TO_STDOUT),
                c("COPY binary t TO stdout", COPY_TO_STDOUT),
                c("copy t to stdin", COPY_TO_STDOUT)); // the server takes STDIN and STDOUT alike for the client
    }

    static Stream<Arguments> writes() {
        return Stream.of(
                // DML
                c("insert into t values (1)"),
                c("insert into t select * from s"),
                c("UPDATE t SET a = 1 WHERE id = 2"),
                c("delete from t"),
                c("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a"),
                // a string that ends earlier than it seems (standard_conforming_strings = on)
                c("select 'a\\'; delete from t; --'", MULTI_STATEMENT),
                c("select 1; delete from t", MULTI_STATEMENT),
                c("select $1, $2 from t; delete from t", MULTI_STATEMENT),
                c("BEGIN; INSERT INTO t VALUES (1); COMMIT;", TRANSACTION_BEGIN, TRANSACTION_END, MULTI_STATEMENT),
                // COMMIT is a write: transaction control is routed by traits, not kind
                c("begin read only; select 1; commit",
                        TRANSACTION_BEGIN, READ_ONLY_TRANSACTION, TRANSACTION_END, MULTI_STATEMENT),
                // data-modifying CTEs
                c("WITH moved AS (DELETE FROM queue WHERE id = 1 RETURNING *) SELECT * FROM moved"),
                c("with i as (insert into t values (1) returning id) select id from i"),
                c("with u as (update t set x = 1 returning *) select * from u"),
                c("WITH m AS (MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE RETURNING *) SELECT 1"),
                c("with x as (select 1) insert into t select * from x"),
                c("with x as (select 1) update t set a = 1"),
                c("with a as (select 1), b as not materialized (delete from t returning 1) select * from a, b"),
                // locking clauses
                c("select * from t for update"),
                c("SELECT * FROM t FOR NO KEY UPDATE"),
                c("select * from t for share"),
                c("select * from t for key share nowait"),
                c("select * from t for update of t skip locked", NON_DETERMINISTIC),
                c("update jobs set state = 'taken' where id = (select id from jobs where state = 'new'"
                        + " order by id for update skip locked limit 1)", NON_DETERMINISTIC),
                c("select * from (select * from t for update) s"),
                // SELECT ... INTO creates a table
                c("select * into backup from t", DDL),
                c("SELECT * INTO TEMP scratch FROM t", DDL, PINS_SESSION),
                // EXPLAIN ANALYZE runs the statement
                c("explain analyze select * from t"),
                c("explain analyse verbose select 1"),
                c("EXPLAIN (ANALYZE, BUFFERS) SELECT 1"),
                c("explain (analyze true) select 1"),
                c("explain (format json, analyze) select 1"),
                // the server takes an option's name as any identifier: a quoted one runs the statement too
                c("EXPLAIN (\"analyze\") DELETE FROM orders WHERE created < now() - interval '1 year'", NON_DETERMINISTIC),
                c("explain (\"analyse\" true, format json) update t set v = 1"),
                c("explain (U&\"\\0061nalyze\") delete from t"),
                c("explain analyze insert into t values (now())", NON_DETERMINISTIC),
                // functions that write or depend on the session, however they are spelled
                c("select nextval('order_seq')", NON_DETERMINISTIC),
                c("select setval('s', 10)"),
                c("select currval('s')", NON_DETERMINISTIC),
                c("select lastval()", NON_DETERMINISTIC),
                c("SELECT pg_catalog.nextval('s')", NON_DETERMINISTIC),
                c("select \"nextval\"('s')", NON_DETERMINISTIC),
                c("select pg_catalog.\"nextval\"('s')", NON_DETERMINISTIC),
                c("select NEXTVAL ( 's' )", NON_DETERMINISTIC),
                c("select id from t where id > nextval /* sneaky */ ('s')", NON_DETERMINISTIC),
                c("select U&\"\\0061\"(1)"),
                c("select pg_advisory_lock(42)", PINS_SESSION),
                c("select pg_try_advisory_lock_shared(1, 2)", PINS_SESSION),
                c("select pg_advisory_xact_lock(42)"),
                c("select pg_try_advisory_xact_lock(42)"),
                c("select pg_advisory_unlock(42)"),
                c("select pg_advisory_unlock_all()"),
                c("select pg_notify('ch', 'x')"),
                c("select lo_import('/tmp/x')", NON_DETERMINISTIC), // (the server picks the new object's OID)
                c("select lo_import('/tmp/x', 16500)"),
                c("select lo_creat(-1)", NON_DETERMINISTIC),
                c("insert into docs (blob) values (lo_create(0))", NON_DETERMINISTIC),
                c("select lo_from_bytea($1, $2)", NON_DETERMINISTIC),
                c("select lo_from_bytea(16500, 'x')"),
                c("select lo_create('0')", NON_DETERMINISTIC),
                c("select lo_import($1, $2)", NON_DETERMINISTIC),
                c("select lo_import('/tmp/x', 0)", NON_DETERMINISTIC),
                c("select \"lo_create\"(0)", NON_DETERMINISTIC),
                c("select \"lo_create\"(16500)"),
                c("select lo_unlink(123)"),
                c("select lowrite(0, 'x')"),
                c("select txid_current()", NON_DETERMINISTIC),
                c("select pg_current_xact_id()", NON_DETERMINISTIC),
                c("select * from dblink('conn', 'select 1') as t(a int)"),
                c("select dblink_exec('conn', 'delete from t')"),
                // extensions' functions that change the schema or schedule jobs
                c("SELECT AddGeometryColumn('roads', 'geom', 4326, 'LINESTRING', 2)"),
                c("SELECT create_hypertable('conditions', 'time')"),
                c("select public.drop_chunks('conditions', older_than => interval '3 months')"),
                c("SELECT cron.schedule('nightly', '0 3 * * *', 'VACUUM')"),
                c("select partman.create_parent('public.events', 'created_at', '1 day')"),
                // run a query given as text, which may call nextval or set_config; change rows by hand
                c("select * from ts_stat($$select setval('s', 1)::text::tsvector$$)"),
                c("select ts_rewrite('a & b'::tsquery, 'select t, s from aliases')"),
                c("select * from crosstab('select row_name, cat, value from ct order by 1') as ct(r text, a int)"),
                c("select * from connectby('(select nextval(''s'')::int as k, 1 as p) q', 'k', 'p', '1', 1)"
                        + " as c(k int, p int, lvl int)"),
                c("select * from xpath_table('id', 'doc', 'x', '/a', 'true; delete from t; select id, doc from x"
                        + " where true') as r(id int, a text)"),
                c("select pg_backend_pid()", NON_DETERMINISTIC),
                c("select heap_force_kill('t'::regclass, array['(0, 1)']::tid[])", CATALOG),
                c("select pg_nextoid('t'::regclass, 'id', 't_pkey'::regclass)", CATALOG),
                // a string goes on across a newline, read as it began: after E'', a \' does not end it
                c("SELECT E'x'\n'\\' , '; DELETE FROM t; SELECT ' -- '", MULTI_STATEMENT),
                // the same with a comment before the newline, which the server allows there too
                c("SELECT E'a' -- c\n'\\' , '; DELETE FROM t; --'", MULTI_STATEMENT),
                c("select e'a'\n  -- a comment on its own line\n\n  '\\', '; update t set v = 2; select ' -- '", MULTI_STATEMENT),
                c("select pg_terminate_backend(123)"),
                c("select pg_cancel_backend(123)"),
                c("select pg_reload_conf()"),
                c("select pg_switch_wal()"),
                c("select pg_create_logical_replication_slot('s', 'pgoutput')"),
                c("select pg_drop_replication_slot('s')"),
                c("select * from pg_logical_slot_get_changes('s', null, null)"),
                c("select pg_replication_origin_create('o')"),
                c("select setseed(0.5)"),
                c("select set_config('search_path', 'app', false)", SESSION_STATE),
                c("select set_config('app.user_id', '42', true)", SET_LOCAL),
                c("select set_config('app.x', $1, $2)", SESSION_STATE),
                c("select set_config('bluegreen.tenant', 'acme', false)", SESSION_STATE, TENANT_SETTING),
                // non-deterministic writes
                c("insert into t (id, at) values (gen_random_uuid(), clock_timestamp())", NON_DETERMINISTIC),
                c("update t set touched = localtimestamp", NON_DETERMINISTIC),
                c("ALTER TABLE t ADD COLUMN token uuid DEFAULT gen_random_uuid()", DDL, NON_DETERMINISTIC),
                // transactions
                c("BEGIN", TRANSACTION_BEGIN),
                c("begin work", TRANSACTION_BEGIN),
                c("start transaction read write", TRANSACTION_BEGIN),
                c("begin isolation level read committed", TRANSACTION_BEGIN),
                c("BEGIN READ ONLY, READ WRITE", TRANSACTION_BEGIN),
                c("set transaction isolation level serializable", SET_LOCAL, TRANSACTION_BLOCK_ONLY),
                c("SET TRANSACTION SNAPSHOT '00000003-0000001B-1'", SET_LOCAL, TRANSACTION_BLOCK_ONLY, IMPORTS_SNAPSHOT),
                c("COMMIT", TRANSACTION_END),
                c("end", TRANSACTION_END),
                c("rollback work", TRANSACTION_END, ROLLBACK),
                c("ABORT", TRANSACTION_END, ROLLBACK),
                c("commit and chain", TRANSACTION_END, TRANSACTION_BEGIN),
                c("rollback and chain", TRANSACTION_END, ROLLBACK, TRANSACTION_BEGIN),
                c("rollback and no chain", TRANSACTION_END, ROLLBACK),
                c("SAVEPOINT sp1", SAVEPOINT),
                c("release savepoint sp1", SAVEPOINT),
                c("ROLLBACK TO SAVEPOINT sp1", SAVEPOINT, ROLLBACK_TO),
                c("rollback transaction to sp1", SAVEPOINT, ROLLBACK_TO),
                c("PREPARE TRANSACTION 'tx1'", TRANSACTION_END),
                c("select pg_listening_channels()"),
                c("select gin_clean_pending_list('i'::regclass)", CATALOG),
                c("select * into local temp t2 from t", DDL, PINS_SESSION),
                c("select * into global temporary t2 from t", DDL, PINS_SESSION),
                c("COMMIT PREPARED 'tx1'", TRANSACTION_END, NOT_IN_TRANSACTION_BLOCK),
                c("rollback prepared 'tx1'", TRANSACTION_END, NOT_IN_TRANSACTION_BLOCK),
                // session state
                c("SET search_path TO app, public", SESSION_STATE),
                c("set statement_timeout = 5000", SESSION_STATE),
                c("SET SESSION work_mem = '64MB'", SESSION_STATE),
                c("SET LOCAL lock_timeout = '1s'", SET_LOCAL, TRANSACTION_BLOCK_ONLY),
                c("set time zone 'UTC'", SESSION_STATE),
                c("SET ROLE reporting", SESSION_STATE),
                c("SET SESSION AUTHORIZATION alice", SESSION_STATE),
                c("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", SESSION_STATE),
                c("set constraints all deferred", SET_LOCAL, TRANSACTION_BLOCK_ONLY),
                c("RESET ALL", SESSION_STATE, TENANT_SETTING),
                c("reset search_path", SESSION_STATE),
                c("PREPARE q(int) AS SELECT * FROM t WHERE id = $1", SESSION_STATE, NAMES_STATEMENTS),
                c("prepare ins as insert into t values (nextval('s'))", SESSION_STATE, NAMES_STATEMENTS),
                // EXECUTE: the classifier does not track prepared names, so it cannot know
                c("EXECUTE q(1)"),
                c("DEALLOCATE ALL", SESSION_STATE, NAMES_STATEMENTS),
                c("DISCARD ALL", SESSION_STATE, NOT_IN_TRANSACTION_BLOCK, NAMES_STATEMENTS, TENANT_SETTING),
                c("discard plans", SESSION_STATE),
                c("LOAD 'auto_explain'", SESSION_STATE),
                c("SET bluegreen.tenant = 'acme'", SESSION_STATE, TENANT_SETTING),
                c("set bluegreen.tenant to acme", SESSION_STATE, TENANT_SETTING),
                c("SET LOCAL bluegreen.tenant = 'acme'", SET_LOCAL, TRANSACTION_BLOCK_ONLY, TENANT_SETTING),
                c("RESET bluegreen.tenant", SESSION_STATE, TENANT_SETTING),
                // LISTEN lives on the leader
                c("LISTEN jobs", LISTEN),
                c("unlisten *", LISTEN),
                c("NOTIFY jobs, 'x'"),
                // cursors
                c("DECLARE c CURSOR FOR SELECT * FROM t", CURSOR, TRANSACTION_BLOCK_ONLY),
                c("declare c no scroll cursor with hold for select 1", CURSOR, PINS_SESSION),
                c("declare c cursor without hold for select now()", CURSOR, NON_DETERMINISTIC, TRANSACTION_BLOCK_ONLY),
                c("FETCH 10 FROM c", CURSOR),
                c("move next in c", CURSOR),
                c("CLOSE ALL", CURSOR),
                // COPY
                c("COPY t FROM STDIN", COPY_FROM_STDIN),
                c("copy public.t (a, b) from stdin with (format csv)", COPY_FROM_STDIN),
                c("COPY t FROM STDOUT", COPY_FROM_STDIN),
                c("COPY (SELECT nextval('s')) TO STDOUT", COPY_TO_STDOUT, NON_DETERMINISTIC),
                c("copy (delete from t returning *) to stdout", COPY_TO_STDOUT),
                c("COPY t TO '/tmp/t.csv'"),
                c("copy t from program 'cat x'"),
                // other writes
                c("CALL refresh_stats()", TRANSACTION_CONTROL),
                c("DO $$ BEGIN PERFORM 1; END $$", TRANSACTION_CONTROL),
                c("do language plpgsql $x$ begin end $x$", TRANSACTION_CONTROL),
                // a block that may re-make a prepared statement a Bind names
                c("do $$ begin execute 'DEALLOCATE p'; execute 'prepare p as delete from t'; end $$",
                        TRANSACTION_CONTROL, NAMES_STATEMENTS),
                c("DO 'BEGIN EXECUTE ''discard all''; END'", TRANSACTION_CONTROL, NAMES_STATEMENTS),
                c("LOCK TABLE t IN SHARE MODE", TRANSACTION_BLOCK_ONLY),
                c("ANALYZE t"),
                c("CHECKPOINT"),
                c("REFRESH MATERIALIZED VIEW CONCURRENTLY mv"),
                // DDL, temporary objects, statements outside transaction blocks
                c("CREATE TABLE t (id bigint primary key)", DDL),
                c("DROP TABLE t", DDL),
                c("TRUNCATE t", DDL),
                c("GRANT SELECT ON t TO bob", DDL),
                c("revoke all on t from bob", DDL),
                c("COMMENT ON TABLE t IS 'x'", DDL),
                c("CREATE TEMP TABLE scratch (id int)", DDL, PINS_SESSION),
                c("create temporary view v as select 1", DDL, PINS_SESSION),
                c("CREATE GLOBAL TEMPORARY TABLE g (id int)", DDL, PINS_SESSION),
                c("create temp sequence s", DDL, PINS_SESSION),
                c("create table pg_temp.x (id int)", DDL, PINS_SESSION),
                c("CREATE TEMP TABLE x ON COMMIT DROP AS SELECT 1", DDL),
                c("CREATE INDEX i ON t (a)", DDL),
                c("CREATE INDEX CONCURRENTLY i ON t (a)", DDL, NOT_IN_TRANSACTION_BLOCK),
                c("create unique index concurrently if not exists i on t (a)", DDL, NOT_IN_TRANSACTION_BLOCK),
                c("DROP INDEX CONCURRENTLY i", DDL, NOT_IN_TRANSACTION_BLOCK),
                c("REINDEX TABLE CONCURRENTLY t", NOT_IN_TRANSACTION_BLOCK),
                c("reindex (verbose) index i"),
                c("REINDEX DATABASE app", NOT_IN_TRANSACTION_BLOCK),
                c("VACUUM (ANALYZE) t", NOT_IN_TRANSACTION_BLOCK),
                c("vacuum", NOT_IN_TRANSACTION_BLOCK),
                c("CREATE DATABASE app2", DDL, NOT_IN_TRANSACTION_BLOCK),
                c("drop database if exists app2", DDL, NOT_IN_TRANSACTION_BLOCK),
                c("ALTER SYSTEM SET work_mem = '64MB'", DDL, NOT_IN_TRANSACTION_BLOCK),
                c("CREATE TABLESPACE fast LOCATION '/ssd'", DDL, NOT_IN_TRANSACTION_BLOCK),
                c("create subscription s connection 'host=x' publication p", DDL, NOT_IN_TRANSACTION_BLOCK),
                c("ALTER SUBSCRIPTION s REFRESH PUBLICATION", DDL, NOT_IN_TRANSACTION_BLOCK),
                c("alter subscription s disable", DDL),
                c("DROP SUBSCRIPTION s", DDL, NOT_IN_TRANSACTION_BLOCK),
                c("CLUSTER", NOT_IN_TRANSACTION_BLOCK),
                c("cluster verbose", NOT_IN_TRANSACTION_BLOCK),
                c("CLUSTER t USING t_pkey"),
                c("ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY", DDL, NOT_IN_TRANSACTION_BLOCK),
                c("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END", DDL),
                c("create or replace procedure p() language sql begin atomic insert into t values (1); end; select 1",
                        DDL, MULTI_STATEMENT),
                c("CREATE FUNCTION f() RETURNS int AS $$ select nextval('s') $$ LANGUAGE sql", DDL),
                // what the classifier cannot read
                c("frobnicate the database", UNPARSEABLE),
                c("42", UNPARSEABLE),
                c("select (1", UNPARSEABLE),
                c("select 1)", UNPARSEABLE),
                c("copy (copy t to stdout) to stdout", UNPARSEABLE),
                c("copy (explain analyze select 1) to stdout", UNPARSEABLE),
                c("explain analyze copy (select 1) to stdout", UNPARSEABLE),
                c("(delete from t)", UNPARSEABLE),
                c("explain", UNPARSEABLE),
                c("select 1; frobnicate", UNPARSEABLE, MULTI_STATEMENT),
                c("select 'unterminated", UNPARSEABLE),
                c("select \"unterminated", UNPARSEABLE),
                c("select $$ unterminated", UNPARSEABLE),
                c("select $tag$ body $other$", UNPARSEABLE),
                c("select 1 /* unterminated", UNPARSEABLE),
                c("/* a /* b */ select 1", UNPARSEABLE),
                c("select E'ends in an escaped quote\\'", UNPARSEABLE));
    }

    private static Arguments c(String sql, Trait... traits) {
        EnumSet<Trait> set = EnumSet.noneOf(Trait.class);
        set.addAll(List.of(traits));
        return Arguments.of(sql, set);
    }
}
