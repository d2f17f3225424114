package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.BgctlRun.bgctl;
import static dev.bluegreen.proxy.it.ClusterData.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.Routing;
import dev.bluegreen.config.StateStoreConfig;
import dev.bluegreen.config.TlsMode;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.admin.AdminToken;
import dev.bluegreen.proxy.control.RoutingControl;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.PGConnection;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;

/**
 * {@code bgctl verify} (DESIGN §5, §7) against real clusters: tables that are the same read the same, a
 * row changed on green only, a table on one side only and a column added on green only are each found,
 * and under dual-write traffic the snapshots taken together behind the write barrier read identical, the
 * sequences too. A sequence the check's role may not read is reported so, and the {@code postgres} state
 * store's tables are left out where the store keeps them and only there.
 * Each test compares a database of its own, since the shared clusters hold every other test's tables.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class VerifyIT {

    private static final String TOKEN = "verify-it-token";
    private static final ObjectMapper JSON = new ObjectMapper();

    private static PgCluster blue;
    private static PgCluster green;

    @BeforeAll
    static void clusters(TestClusters clusters) {
        blue = clusters.blue();
        green = clusters.green();
    }

    /** A new database of the same name on both clusters, with the same tables and rows. */
    private static String databaseOnBoth(String... statements) {
        String database = unique("verify");
        for (PgCluster cluster : new PgCluster[] {blue, green}) {
            cluster.execute("postgres", "create database " + database);
            cluster.execute(database, statements);
        }
        return database;
    }

    /** A connection straight to a database whose name a URL must encode. */
    private static Connection connectTo(PgCluster cluster, String database) throws SQLException {
        return cluster.connect(URLEncoder.encode(database, StandardCharsets.UTF_8).replace("+", "%20"));
    }

    /** A proxy whose clients' database {@code postgres} is {@code database} on both clusters. */
    private static TestProxy.Builder proxyOn(String database) {
        return TestProxy.in(blue).green(green).databases(Map.of("postgres", database))
                .backendLogin(blue.superuser(), blue.superuserPassword()).adminToken(AdminToken.of(TOKEN));
    }

    /** Whether a session of {@code applicationName} waits for a lock in {@code database}. */
    private static boolean waitsForALock(PgCluster cluster, String database, String applicationName)
            throws SQLException {
        try (Connection c = cluster.connect("postgres"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
                     + " and datname = '" + database + "' and application_name = '" + applicationName + "'")) {
            rs.next();
            return rs.getLong(1) > 0;
        }
    }

    private static long lastValue(PgCluster cluster, String database, String sequence) throws SQLException {
        try (Connection c = connectTo(cluster, database); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select last_value from " + sequence)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * Starts verify with blue's {@code a_gate} locked by {@code gate} (which it then holds in a transaction):
     * once this returns, the check has taken its snapshots and waits for that table, the first it reads.
     */
    private static CompletableFuture<BgctlRun.Result> verifyWaitingAtTheGate(TestProxy proxy, String database,
                                                                           Connection gate, ExecutorService background)
            throws SQLException {
        gate.setAutoCommit(false);
        try (Statement s = gate.createStatement()) {
            s.execute("lock table a_gate in access exclusive mode");
        }
        CompletableFuture<BgctlRun.Result> verifying = CompletableFuture.supplyAsync(() -> verify(proxy), background);
        await().atMost(Duration.ofSeconds(20)).until(() -> waitsForALock(blue, database, "bluegreen verify"));
        return verifying;
    }

    private static BgctlRun.Result verify(TestProxy proxy, String... args) {
        String[] command = new String[args.length + 1];
        command[0] = "verify";
        System.arraycopy(args, 0, command, 1, args.length);
        return bgctl(proxy.server().adminAddress(), TOKEN, command);
    }

    @Test
    void theSameTablesReadTheSameAndEachKindOfDifferenceIsFound() throws Exception {
        String database = databaseOnBoth(
                "create table accounts (id int primary key, owner text not null, balance numeric(12, 2) not null)",
                "insert into accounts select g, 'owner ' || g, g * 1.5 from generate_series(1, 2000) g",
                "create table events (id bigint primary key, at timestamptz not null, payload jsonb)",
                "insert into events select g, timestamptz '2026-11-30 12:00:00+00' + g * interval '1 minute',"
                        + " jsonb_build_object('n', g) from generate_series(1, 500) g",
                "create table notes (id int primary key, body text)",
                "insert into notes values (1, 'same on both')");
        try (TestProxy proxy = proxyOn(database).start()) {
            BgctlRun.Result same = verify(proxy);
            assertThat(same.exit()).as(same.out() + same.err()).isZero();
            assertThat(same.out()).contains("blue and green are the same: 3 tables")
                    .containsPattern("public\\.accounts +same +2,000 +2,000");

            // the same row count, one value different: only the digest can tell
            green.execute(database, "update accounts set balance = balance + 0.01 where id = 1234",
                    "create table green_only (id int)",
                    "alter table notes add column extra text");
            blue.execute(database, "create table blue_only (id int)", "insert into blue_only values (1), (2)");

            BgctlRun.Result different = verify(proxy);
            assertThat(different.exit()).as(different.out() + different.err()).isEqualTo(4);
            assertThat(different.out())
                    .containsPattern("public\\.accounts +rows differ +2,000 +2,000")
                    .containsPattern("public\\.events +same +500 +500")
                    .containsPattern("public\\.blue_only +only on blue +2 +-")
                    .containsPattern("public\\.green_only +only on green +- +0")
                    .containsPattern("public\\.notes +columns differ")
                    .contains("4 of 5 tables differ")
                    .contains("green  id integer, body text, extra text");

            BgctlRun.Result json = verify(proxy, "--json");
            JsonNode report = JSON.readTree(json.out());
            assertThat(report.path("consistent").asBoolean()).isFalse();
            assertThat(report.path("database").asText()).isEqualTo("postgres");
            JsonNode accounts = report.path("tables").get(0);
            assertThat(accounts.path("table").asText()).isEqualTo("public.accounts");
            assertThat(accounts.path("blue").path("digest").asText())
                    .isNotEqualTo(accounts.path("green").path("digest").asText());
        }
    }

    /**
     * A database, schema, table and columns whose names need quoting or encoding, one column named like
     * the check's row alias: every column still counts in the digest.
     */
    @Test
    void namesThatNeedQuotingAreReadAndEveryColumnIsDigested() throws Exception {
        String database = "Verify Odd&Name?" + Long.toHexString(System.nanoTime());
        for (PgCluster cluster : new PgCluster[] {blue, green}) {
            cluster.execute("postgres", "create database \"" + database + "\"");
            try (Connection c = connectTo(cluster, database); Statement s = c.createStatement()) {
                s.execute("create schema \"Odd.Schema\"");
                s.execute("create table \"Odd.Schema\".\"Mixed Case\" (verified_row int, t text)");
                s.execute("insert into \"Odd.Schema\".\"Mixed Case\" values (1, 'one'), (2, 'two')");
            }
        }
        try (TestProxy proxy = proxyOn("postgres").start()) {
            BgctlRun.Result same = verify(proxy, "--database", database);
            assertThat(same.exit()).as(same.out() + same.err()).isZero();
            assertThat(same.out()).containsPattern("\"Odd\\.Schema\"\\.\"Mixed Case\" +same +2 +2");

            try (Connection c = connectTo(green, database); Statement s = c.createStatement()) {
                s.execute("update \"Odd.Schema\".\"Mixed Case\" set t = 'TWO' where verified_row = 2");
            }
            BgctlRun.Result different = verify(proxy, "--database", database);
            assertThat(different.exit()).as(different.out() + different.err()).isEqualTo(4);
            assertThat(different.out()).containsPattern("\"Mixed Case\" +rows differ +2 +2");
        }
    }

    /**
     * A database whose strings take backslashes as escapes (standard_conforming_strings off) still has its
     * schemas that begin with "pg" compared: the check's own SQL says 'pg\_%' for the system schemas, which
     * such a session would read as pg_% (any schema named pg and one more character and more).
     */
    @Test
    void schemasNamedLikePgAreComparedWhereStringsTakeBackslashEscapes() throws Exception {
        String database = databaseOnBoth("create schema pgboss", "create table pgboss.job (id int)",
                "insert into pgboss.job values (1)");
        for (PgCluster cluster : new PgCluster[] {blue, green}) {
            cluster.execute("postgres", "alter database " + database + " set standard_conforming_strings = off");
        }
        green.execute(database, "insert into pgboss.job values (2)");
        try (TestProxy proxy = proxyOn(database).start()) {
            BgctlRun.Result different = verify(proxy);
            assertThat(different.exit()).as(different.out() + different.err()).isEqualTo(4);
            assertThat(different.out()).containsPattern("pgboss\\.job +rows differ +1 +2");
        }
    }

    /**
     * A table emptied or rewritten after the snapshots were taken, before the check read it, would read as
     * empty on both clusters, the same whatever it held (TRUNCATE and ALTER TABLE's rewrites are not MVCC-safe): the check
     * says it could not read it and is to be run again, rather than call two different tables the same.
     */
    @Test
    void aTableTruncatedAfterTheSnapshotsIsNotCalledTheSame() throws Exception {
        String database = databaseOnBoth("create table a_gate (id int)", "create table b_emptied (id int)",
                "insert into b_emptied values (1)");
        green.execute(database, "insert into b_emptied values (2)"); // they differ
        ExecutorService background = Executors.newCachedThreadPool();
        try (TestProxy proxy = proxyOn(database).routing(Routing.defaults().withWriteBarrierTimeout(Duration.ofSeconds(30))).start();
             Connection gate = connectTo(blue, database)) {
            CompletableFuture<BgctlRun.Result> verifying = verifyWaitingAtTheGate(proxy, database, gate, background);

            blue.execute(database, "truncate b_emptied");
            green.execute(database, "truncate b_emptied");
            gate.rollback();

            BgctlRun.Result result = verifying.get(60, TimeUnit.SECONDS);
            assertThat(result.exit()).as(result.out() + result.err()).isEqualTo(1);
            assertThat(result.err()).contains("\"public\".\"b_emptied\" was emptied or rewritten").contains("run verify again");
        } finally {
            background.shutdownNow();
        }
    }

    /**
     * VACUUM FULL gives a table a new file too, but keeps what an older snapshot sees: a table compacted after
     * the snapshots is still compared, not refused.
     */
    @Test
    void aTableVacuumedFullAfterTheSnapshotsIsStillCompared() throws Exception {
        String database = databaseOnBoth("create table a_gate (id int)", "create table b_compacted (id int)",
                "insert into b_compacted select generate_series(1, 100)", "delete from b_compacted where id > 50");
        ExecutorService background = Executors.newCachedThreadPool();
        try (TestProxy proxy = proxyOn(database).routing(Routing.defaults().withWriteBarrierTimeout(Duration.ofSeconds(30))).start();
             Connection gate = connectTo(blue, database)) {
            CompletableFuture<BgctlRun.Result> verifying = verifyWaitingAtTheGate(proxy, database, gate, background);

            blue.execute(database, "vacuum full b_compacted");
            green.execute(database, "vacuum full b_compacted");
            gate.rollback();

            BgctlRun.Result result = verifying.get(60, TimeUnit.SECONDS);
            assertThat(result.exit()).as(result.out() + result.err()).isZero();
            assertThat(result.out()).containsPattern("public\\.b_compacted +same +50 +50");
        } finally {
            background.shutdownNow();
        }
    }

    /**
     * A search_path set on one cluster's database only (pg_dump without --create leaves it behind) does not
     * change how a column's type or a value naming an object reads: the check reads both under the system
     * catalog's path alone, where every other schema's names are qualified.
     */
    @Test
    void aSearchPathSetOnOneClusterOnlyMakesNoDifference() throws Exception {
        String database = unique("verify_path");
        for (PgCluster cluster : new PgCluster[] {blue, green}) {
            cluster.execute("postgres", "create database " + database);
            cluster.execute(database, "create schema app", "create type app.mood as enum ('happy', 'sad')",
                    "create table app.feelings (id int primary key, m app.mood, t regclass)",
                    "insert into app.feelings values (1, 'sad', 'app.feelings')");
        }
        blue.execute("postgres", "alter database " + database + " set search_path = app, public");
        try (TestProxy proxy = proxyOn(database).start()) {
            BgctlRun.Result same = verify(proxy);
            assertThat(same.exit()).as(same.out() + same.err()).isZero();
            assertThat(same.out()).containsPattern("app\\.feelings +same +1 +1");
        }
    }

    /**
     * What differs between the clusters' versions or encodings but not in the data reads the same: names
     * PostgreSQL 18 quotes and 16 does not ({@code json}, {@code json_table}), text in a LATIN1 database
     * on blue and a UTF-8 one on green. Sequences are compared by their last value.
     */
    @Test
    void versionsAndEncodingsDoNotMakeDifferencesAndSequencesAreCompared() throws Exception {
        String database = unique("verify");
        blue.execute("postgres", "create database " + database + " encoding 'LATIN1' template template0"
                + " lc_collate 'C' lc_ctype 'C'");
        green.execute("postgres", "create database " + database);
        for (PgCluster cluster : new PgCluster[] {blue, green}) {
            cluster.execute(database, "create table json_table (id int primary key, json jsonb, name text)",
                    "insert into json_table values (1, '{\"a\": 1}', 'café')",
                    "create sequence ids", "select nextval('ids')", "create sequence unused");
        }
        try (TestProxy proxy = proxyOn(database).start()) {
            BgctlRun.Result same = verify(proxy);
            assertThat(same.exit()).as(same.out() + same.err()).isZero();
            assertThat(same.out()).containsPattern("public\\.json_table +same +1 +1")
                    .containsPattern("public\\.ids +same +1 +1")
                    .containsPattern("public\\.unused +same +0 +0")
                    .contains("blue and green are the same: 1 table and 2 sequences");
            JsonNode kinds = JSON.readTree(verify(proxy, "--json").out()).path("tables");
            assertThat(kinds).extracting(t -> t.path("table").asText() + " " + t.path("kind").asText())
                    .containsExactly("public.json_table table", "public.ids sequence", "public.unused sequence");

            green.execute(database, "select nextval('ids')", "select nextval('ids')");
            BgctlRun.Result different = verify(proxy);
            assertThat(different.exit()).as(different.out() + different.err()).isEqualTo(4);
            assertThat(different.out()).containsPattern("public\\.ids +value differs +1 +3")
                    .containsPattern("public\\.json_table +same +1 +1")
                    .contains("1 of 2 sequences differ").doesNotContain("tables differ").doesNotContain("table differs");
        }
    }

    /**
     * A database's large objects, one entry for them all: the same OIDs and, the check's role being a superuser on
     * both clusters, the same contents. Objects made through the proxy under dual-write read the same; one changed
     * or dropped on green alone is a difference. Before, verify did not read large objects.
     */
    @Test
    void largeObjectsAreComparedByOidAndContents() throws Exception {
        String database = databaseOnBoth("create table documents (id int primary key, body oid not null)");
        try (TestProxy proxy = proxyOn(database).start()) {
            BgctlRun.Result none = verify(proxy);
            assertThat(none.out()).as("no large objects, no entry").doesNotContain("large object");

            proxy.server().routing().start("test", null);
            long first;
            long second;
            try (Connection c = proxy.connect(blue.superuser())) {
                c.setAutoCommit(false);
                LargeObjectManager objects = c.unwrap(PGConnection.class).getLargeObjectAPI();
                first = written(objects, "the first document");
                second = written(objects, "the second document");
                try (Statement s = c.createStatement()) {
                    s.execute("insert into documents values (1, " + first + "), (2, " + second + ")");
                }
                c.commit();
            }
            await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);

            BgctlRun.Result same = verify(proxy);
            assertThat(same.exit()).as(same.out() + same.err()).isZero();
            assertThat(same.out()).containsPattern("large objects +same +2 +2")
                    .contains("blue and green are the same: 1 table and 2 large objects");

            green.execute(database, "select lo_put(" + first + ", 4, 'FIRST')"); // the same size, other bytes
            BgctlRun.Result changed = verify(proxy);
            assertThat(changed.exit()).as(changed.out() + changed.err()).isEqualTo(4);
            assertThat(changed.out()).containsPattern("large objects +rows differ +2 +2").contains("the large objects differ");

            green.execute(database, "select lo_put(" + first + ", 4, 'first')", "select lo_unlink(" + second + ")");
            BgctlRun.Result dropped = verify(proxy, "--json");
            JsonNode entry = JSON.readTree(dropped.out()).path("tables").get(1);
            assertThat(entry.path("kind").asText()).isEqualTo("large_objects");
            assertThat(entry.path("status").asText()).isEqualTo("rows differ");
            assertThat(entry.path("blue").path("rows").asLong()).isEqualTo(2);
            assertThat(entry.path("green").path("rows").asLong()).isEqualTo(1);
        }
    }

    /**
     * Contents are read a MiB at a time, by what they read: an object with a hole of 2.5 MiB before its last bytes on
     * blue (pages never written) is the same as one with those zeros written on green, and a byte changed in its last
     * MiB is found. An object longer than 1 GB (sparse here: its last bytes past a hole) is read too; before, each
     * object was read whole, which the server refuses beyond 1 GB, and the check failed.
     */
    @Test
    void largeObjectsAreComparedByWhatTheyReadAMibAtATime() throws Exception {
        String database = databaseOnBoth("create table t (id int)");
        long oid = 4123000001L;
        long far = 4123000002L;
        blue.execute(database, "select lo_create(" + oid + ")", "select lo_put(" + oid + ", 2621440, 'tail')");
        green.execute(database, "select lo_from_bytea(" + oid + ", decode(repeat('00', 2621440), 'hex') || 'tail'::bytea)");
        for (PgCluster cluster : new PgCluster[] {blue, green}) {
            cluster.execute(database, "select lo_create(" + far + ")", "select lo_put(" + far + ", 1073741829, 'far')");
        }
        try (TestProxy proxy = proxyOn(database).start()) {
            BgctlRun.Result same = verify(proxy);
            assertThat(same.exit()).as(same.out() + same.err()).isZero();
            assertThat(same.out()).containsPattern("large objects +same +2 +2");
            for (PgCluster cluster : new PgCluster[] {blue, green}) {
                cluster.execute(database, "select lo_unlink(" + far + ")"); // (read once: 1 GB of zeros on each)
            }

            green.execute(database, "select lo_put(" + oid + ", 2621442, 'I')"); // 'taIl'
            BgctlRun.Result changed = verify(proxy);
            assertThat(changed.exit()).as(changed.out() + changed.err()).isEqualTo(4);
            assertThat(changed.out()).containsPattern("large objects +rows differ +1 +1");

            green.execute(database, "select lo_put(" + oid + ", 2621442, 'il!')"); // one byte longer
            BgctlRun.Result longer = verify(proxy);
            assertThat(longer.exit()).as(longer.out() + longer.err()).isEqualTo(4);
        }
    }

    /**
     * A role that is not a superuser may not read every large object (its owner's grant decides), so verify compares
     * their OIDs only, and says so: the same OID holding other bytes on each cluster reads the same, a missing one
     * does not.
     */
    @Test
    void largeObjectsAreComparedByOidOnlyWhereVerifysRoleIsNoSuperuser() throws Exception {
        String role = unique("lo_verifier");
        for (PgCluster cluster : new PgCluster[] {blue, green}) {
            cluster.execute("postgres", "create role " + role + " login");
        }
        String database = databaseOnBoth("create table t (id int)", "grant select on t to " + role);
        blue.execute(database, "select lo_from_bytea(4123456789, 'blue''s bytes')");
        green.execute(database, "select lo_from_bytea(4123456789, 'green''s bytes')");
        try (TestProxy proxy = TestProxy.in(blue).green(green).databases(Map.of("postgres", database))
                .backendLogin(role, null).adminToken(AdminToken.of(TOKEN)).start()) {
            BgctlRun.Result same = verify(proxy);
            assertThat(same.exit()).as(same.out() + same.err()).isZero();
            assertThat(same.out()).containsPattern("large objects +same +1 +1")
                    .contains("blue and green are the same: 1 table and 1 large object (by OID only)");

            blue.execute(database, "select lo_from_bytea(4123456790, 'only on blue')");
            BgctlRun.Result missing = verify(proxy);
            assertThat(missing.exit()).as(missing.out() + missing.err()).isEqualTo(4);
            assertThat(missing.out()).containsPattern("large objects +rows differ +2 +1");
        }
    }

    private static long written(LargeObjectManager objects, String text) throws SQLException {
        long oid = objects.createLO();
        try (LargeObject object = objects.open(oid, LargeObjectManager.WRITE)) {
            object.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return oid;
    }

    @Test
    void underDualWriteTrafficTheSnapshotsTakenTogetherReadTheSame() throws Exception {
        String database = databaseOnBoth(
                "create table items (id bigint primary key, session int not null, v text not null)",
                "create table counters (id int primary key, n bigint not null)",
                "insert into counters select g, 0 from generate_series(1, 4) g");
        try (TestProxy proxy = proxyOn(database).start();
             MixedLoad load = new MixedLoad(proxy, blue.superuser(), "items", "counters", 6)) {
            proxy.server().routing().start("test", null);
            load.go();
            for (int round = 1; round <= 5; round++) {
                load.awaitProgress(30);
                long before = load.increments();
                BgctlRun.Result result = verify(proxy);
                assertThat(result.exit()).as("round " + round + ":\n" + result.out() + result.err()).isZero();
                assertThat(load.increments()).as("traffic ran on while verify read").isGreaterThan(before);
            }
            assertThat(load.errors()).isEmpty();
        }
    }

    /**
     * Row counts verify finds different under dual-write mean the follower lacks rows (here one written to blue
     * behind the proxy's back): bgctl says so loudly, with what to do, and the routing state is left as it is (the
     * check reads one database, where a table may be written to one cluster on purpose). Rows that differ only in
     * their values (a timestamp each cluster computes itself) are reported as any difference is, without that.
     */
    @Test
    void rowCountsFoundDifferentUnderDualWriteAreSaidLoudlyAndChangeNothing() throws Exception {
        String database = databaseOnBoth("create table kept (id int primary key)", "create table short (id int primary key)",
                "create table stamped (id int primary key, at timestamptz)", "insert into kept values (1)");
        try (Connection onBlue = connectTo(blue, database); Statement s = onBlue.createStatement();
             Connection onGreen = connectTo(green, database); Statement g = onGreen.createStatement()) {
            s.execute("insert into stamped values (1, '2026-01-01')");
            g.execute("insert into stamped values (1, '2026-01-02')"); // as now() would make it
        }
        try (TestProxy proxy = proxyOn(database).start()) {
            RoutingControl routing = proxy.server().routing();
            routing.start("test", null);
            routing.setWeight("test", 50, null);

            BgctlRun.Result values = verify(proxy);

            assertThat(values.out()).contains("1 of 3 tables differ").doesNotContain("ROW COUNTS DIFFER");

            try (Connection onBlue = connectTo(blue, database); Statement s = onBlue.createStatement()) {
                s.execute("insert into short values (1)"); // behind the proxy's back: green lacks it
            }
            int changes = routing.history().size();

            BgctlRun.Result rows = verify(proxy);

            assertThat(rows.exit()).isEqualTo(4);
            assertThat(rows.out()).contains("2 of 3 tables differ")
                    .contains("ROW COUNTS DIFFER in public.short: green, the follower, lacks rows blue has")
                    .contains("green must not serve reads (bgctl rollback)").doesNotContain("public.stamped:");
            assertThat(routing.current().followerInSync()).isTrue();
            assertThat(routing.current().weight()).isEqualTo(50);
            assertThat(routing.history()).hasSize(changes);
            JsonNode audited = new AdminHttp(proxy.server().adminAddress(), TOKEN).get("/api/v1/audit");
            assertThat(audited.get(audited.size() - 1).path("actor").asText()).startsWith("admin-api@");
            assertThat(audited.get(audited.size() - 1).path("outcome").asText()).contains("row counts differ in 1");
        }
    }

    /**
     * A write that starts once the snapshots are taken moves a sequence on blue while green has yet to run
     * it: the check reads the sequence as it was at the snapshots, the same on both. The check is held after
     * its snapshots by a lock on the first table it reads on blue; the write's statement waits on green for
     * a row lock, and calls nextval (in its RETURNING, after the row) on blue alone until that lock goes.
     */
    @Test
    void aSequenceAWriteMovesAfterTheSnapshotsReadsAsItWasAtThem() throws Exception {
        String database = databaseOnBoth(
                "create table a_gate (id int)",
                "create table items (id int primary key, v text not null)",
                "insert into items values (1, 'one')",
                "create sequence ids", "select nextval('ids')");
        // threads of the test's own: the common pool's one worker would be blocked by the write below, and the
        // HTTP client completes bgctl's request there
        ExecutorService background = Executors.newCachedThreadPool();
        try (TestProxy proxy = proxyOn(database).routing(Routing.defaults().withWriteBarrierTimeout(Duration.ofSeconds(30))).start();
             Connection client = proxy.connect(blue.superuser());
             Connection gate = connectTo(blue, database); Statement onGate = gate.createStatement();
             Connection rowLock = connectTo(green, database); Statement onRow = rowLock.createStatement()) {
            proxy.server().routing().start("test", null);
            gate.setAutoCommit(false);
            onGate.execute("lock table a_gate in access exclusive mode");
            rowLock.setAutoCommit(false);
            onRow.execute("select * from items where id = 1 for update");

            CompletableFuture<BgctlRun.Result> verifying =
                    CompletableFuture.supplyAsync(() -> verify(proxy), background);
            // the barrier is open again once the check waits for a table
            await().atMost(Duration.ofSeconds(20)).until(() -> waitsForALock(blue, database, "bluegreen verify"));
            CompletableFuture<Void> write = CompletableFuture.runAsync(() -> {
                try (Statement s = client.createStatement()) {
                    s.execute("update items set v = 'two' where id = 1 returning nextval('ids')");
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }, background);
            await().atMost(Duration.ofSeconds(20)).until(() -> lastValue(blue, database, "ids") == 2);
            gate.rollback();
            BgctlRun.Result result = verifying.get(60, TimeUnit.SECONDS);

            assertThat(lastValue(green, database, "ids")).as("green has not run the write yet").isEqualTo(1);
            assertThat(result.exit()).as(result.out() + result.err()).isZero();
            assertThat(result.out()).containsPattern("public\\.ids +same +1 +1")
                    .containsPattern("public\\.items +same +1 +1");
            rowLock.rollback();
            write.get(60, TimeUnit.SECONDS);
            assertThat(lastValue(green, database, "ids")).isEqualTo(2);
        } finally {
            background.shutdownNow();
        }
    }

    /**
     * Reading the sequences leaves no lock on them for the rest of the check. A {@code DROP TABLE} locks the
     * table, then the sequence it owns: were the check to hold that sequence until it ends, the drop would
     * wait for it while holding a table the check has yet to read, a deadlock the server breaks by failing
     * one of the two, often the client's statement.
     */
    @Test
    void aTableOwningASequenceCanBeDroppedWhileVerifyReads() throws Exception {
        String database = databaseOnBoth("create table a_gate (id int)", "create table owns_ids (id serial)");
        ExecutorService background = Executors.newCachedThreadPool();
        try (TestProxy proxy = proxyOn(database).routing(Routing.defaults().withWriteBarrierTimeout(Duration.ofSeconds(30))).start();
             Connection gate = connectTo(blue, database);
             Connection client = connectTo(blue, database); Statement ddl = client.createStatement()) {
            CompletableFuture<BgctlRun.Result> verifying = verifyWaitingAtTheGate(proxy, database, gate, background);

            ddl.execute("set lock_timeout = '5s'");
            ddl.execute("drop table owns_ids");
            gate.rollback();

            // a table dropped after the snapshots cannot be read: the check says so, and is run again
            BgctlRun.Result result = verifying.get(60, TimeUnit.SECONDS);
            assertThat(result.exit()).as(result.out() + result.err()).isEqualTo(1);
            assertThat(result.err()).contains("verify could not read the clusters").contains("owns_ids");
        } finally {
            background.shutdownNow();
        }
    }

    /**
     * A cluster that stops answering while verify reads it (every process of green stopped here, which
     * answers nothing, as a host gone or a network partition leaves it) ends the check within about twice
     * {@code timeouts.keepalive}, and blue's snapshot, with its share locks, goes with it: before, the check
     * waited for the kernel to give the connection up, hours.
     */
    @Test
    void aClusterThatStopsAnsweringMidCheckEndsItAndReleasesTheOtherSnapshot() throws Exception {
        String database = databaseOnBoth("create table a_gate (id int)", "create table b_rows (id int)");
        ExecutorService background = Executors.newCachedThreadPool();
        try (TestProxy proxy = proxyOn(database).routing(Routing.defaults().withWriteBarrierTimeout(Duration.ofSeconds(30)))
                .keepalive(Duration.ofSeconds(2)).start();
             Connection gate = connectTo(blue, database)) {
            // the snapshots are taken and blue's first table waits for the gate: green, next, is stopped
            CompletableFuture<BgctlRun.Result> verifying = verifyWaitingAtTheGate(proxy, database, gate, background);
            try (Frozen frozen = Frozen.cluster(green)) {
                gate.rollback();

                BgctlRun.Result result = verifying.get(60, TimeUnit.SECONDS);
                assertThat(result.exit()).as(result.out() + result.err()).isEqualTo(1);
                assertThat(result.err()).contains("verify could not read the clusters")
                        .contains("cluster green did not answer a query within 2 s while verify read it");
                await().atMost(Duration.ofSeconds(10)).until(() -> sessions(blue, database, "bluegreen verify") == 0);
            }
        } finally {
            background.shutdownNow();
        }
    }

    /** How many sessions of {@code applicationName} a cluster has in {@code database}. */
    private static long sessions(PgCluster cluster, String database, String applicationName) throws SQLException {
        try (Connection c = cluster.connect("postgres"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select count(*) from pg_stat_activity where datname = '" + database
                     + "' and application_name = '" + applicationName + "'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * A sequence reset with {@code setval(…, false)} hands out the value it was set to, though it reads as
     * never used: verify compares that next value, also with one that last handed out the value before it (the proxy
     * leaves a follower's sequence so when sessions' draws reached it out of order). And it compares what a sequence
     * hands out at each call: its increment, bounds and cycling.
     */
    @Test
    void aSequenceResetToADifferentNextValueOrDefinedDifferentlyIsADifference() throws Exception {
        String database = databaseOnBoth("create sequence reset_alike", "select nextval('reset_alike')",
                "select setval('reset_alike', 40, false)", "create sequence reset_apart", "select nextval('reset_apart')",
                "create sequence stepped", "select nextval('stepped')", "create sequence \"Odd Seq\"",
                "create sequence handed_alike");
        blue.execute(database, "select setval('reset_apart', 1, false)", "select setval('handed_alike', 3)");
        green.execute(database, "select setval('handed_alike', 4, false)");
        green.execute(database, "select setval('reset_apart', 50, false)", "alter sequence stepped increment by 2");
        try (TestProxy proxy = proxyOn(database).start()) {
            BgctlRun.Result result = verify(proxy);

            assertThat(result.exit()).as(result.out() + result.err()).isEqualTo(4);
            assertThat(result.out()).containsPattern("public\\.reset_alike +same +39 +39")
                    .containsPattern("public\\.reset_apart +value differs +0 +49")
                    .containsPattern("public\\.stepped +definition differs +1 +1")
                    .containsPattern("public\\.\"Odd Seq\" +same +0 +0")
                    .containsPattern("public\\.handed_alike +same +3 +3")
                    .contains("2 of 5 sequences differ")
                    .contains("public.reset_apart\n  blue   sequence, last value never used, next value 1\n"
                            + "  green  sequence, last value never used, next value 50\n")
                    .containsPattern("public\\.stepped\n  blue   sequence, last value 1; increment 1, .*\n"
                            + "  green  sequence, last value 1; increment 2, ");
            JsonNode tables = JSON.readTree(verify(proxy, "--json").out()).path("tables");
            Map<String, JsonNode> byName = new java.util.HashMap<>();
            tables.forEach(t -> byName.put(t.path("table").asText(), t));
            assertThat(byName.get("public.reset_apart").path("blue").path("columns").asText()).endsWith("next value 1");
            assertThat(byName.get("public.reset_apart").path("green").path("columns").asText()).endsWith("next value 50");
            assertThat(byName.get("public.stepped").path("green").path("columns").asText()).contains("increment 2");
            assertThat(byName.get("public.stepped").path("blue").path("columns").asText()).contains("increment 1");
        }
    }

    /**
     * A sequence the role verify logs in as may not read (no SELECT or USAGE) is reported as not readable,
     * which makes the report not consistent, even where pg_sequences shows it as never used on both sides. So is
     * one it may read in a schema it may not use, which has handed out no value (its next value is read by name):
     * before, that failed the whole check, every time.
     */
    @Test
    void aSequenceTheVerifyRoleMayNotReadIsNotReadableInsteadOfTheSame() throws Exception {
        String role = unique("verifier");
        for (PgCluster cluster : new PgCluster[] {blue, green}) {
            cluster.execute("postgres", "create role " + role + " login");
        }
        String database = databaseOnBoth(
                "create table t (id int)", "create sequence readable", "create sequence hidden",
                "select nextval('hidden')", "create sequence usage_only", "grant select on t, readable to " + role,
                "grant usage on usage_only to " + role, "create schema walled", "create sequence walled.fresh",
                "grant select on walled.fresh to " + role);
        blue.execute(database, "select nextval('hidden')");
        try (TestProxy proxy = TestProxy.in(blue).green(green).databases(Map.of("postgres", database))
                .backendLogin(role, null).adminToken(AdminToken.of(TOKEN)).start()) {
            BgctlRun.Result result = verify(proxy);

            assertThat(result.exit()).as(result.out() + result.err()).isEqualTo(4);
            assertThat(result.out()).containsPattern("public\\.hidden +not readable +\\? +\\?")
                    .containsPattern("public\\.readable +same +0 +0")
                    .containsPattern("public\\.t +same +0 +0")
                    .containsPattern("public\\.usage_only +not readable +\\? +\\?")
                    .containsPattern("walled\\.fresh +not readable +\\? +\\?")
                    .contains("3 of 4 sequences not compared: the role verify logs in as may not read them")
                    .doesNotContain("differ");
            JsonNode report = JSON.readTree(verify(proxy, "--json").out());
            assertThat(report.path("consistent").asBoolean()).isFalse();
            JsonNode hidden = report.path("tables").get(1);
            assertThat(hidden.path("table").asText()).isEqualTo("public.hidden");
            assertThat(hidden.path("blue").path("rows").isNull()).isTrue();
            assertThat(hidden.path("green").path("columns").asText()).contains("not readable");
        }
    }

    /**
     * The {@code postgres} state store keeps its tables where its login's search_path puts them, here a
     * schema of its role's in blue's database: verify leaves them out there, compares a user's table of the
     * same name in {@code public}, and reports green's copy of the store's tables (left by a restore, say)
     * since the store does not live on green.
     */
    @Test
    void theStateStoresTablesAreLeftOutWhereTheStoreKeepsThemAndNowhereElse() throws Exception {
        String role = unique("bg_store");
        blue.execute("postgres", "create role " + role + " login");
        String database = databaseOnBoth("create table bluegreen_state (id int)",
                "insert into bluegreen_state values (1)");
        blue.execute(database, "create schema bg_state authorization " + role,
                "alter role " + role + " in database " + database + " set search_path = bg_state");
        green.execute(database, "update bluegreen_state set id = 2",
                "create schema bg_state", "create table bg_state.bluegreen_barrier (id int)");
        // named otherwise than blue (127.0.0.1): the store is recognised by what the server says of itself
        Cluster storeAt = new Cluster("state_store", "localhost", blue.port(), database, Map.of(), TlsMode.DISABLE,
                null, role, null);
        try (TestProxy proxy = proxyOn(database).stateStore(StateStoreConfig.postgres(storeAt)).start()) {
            BgctlRun.Result result = verify(proxy);

            assertThat(result.exit()).as(result.out() + result.err()).isEqualTo(4);
            assertThat(result.out()).containsPattern("public\\.bluegreen_state +rows differ +1 +1")
                    .containsPattern("bg_state\\.bluegreen_barrier +only on green +- +0")
                    .doesNotContain("bg_state.bluegreen_state").doesNotContain("bg_state.bluegreen_history")
                    .doesNotContain("bg_state.bluegreen_instances")
                    .contains("2 of 2 tables differ");
        }
    }

    @Test
    void whatVerifyCannotDoIsRefusedWithTheReason() throws Exception {
        String database = databaseOnBoth("create table t (id int)");
        // verify waits for a lock as long as the write barrier does
        try (TestProxy proxy = proxyOn(database).routing(Routing.defaults().withWriteBarrierTimeout(Duration.ofSeconds(2)))
                .start()) {
            BgctlRun.Result missing = verify(proxy, "--database", "no_such_database");
            assertThat(missing.exit()).isEqualTo(1);
            assertThat(missing.err()).contains("verify could not log in to cluster blue")
                    .contains("database \"no_such_database\" does not exist");

            // a table locked on a cluster past the barrier timeout: verify gives up with the reason instead
            // of waiting with its own locks held on the other cluster (after cutover, a cycle no server sees)
            try (Connection locker = connectTo(green, database); Statement lock = locker.createStatement()) {
                locker.setAutoCommit(false);
                lock.execute("lock table t in access exclusive mode");
                BgctlRun.Result locked = verify(proxy);
                assertThat(locked.exit()).isEqualTo(1);
                assertThat(locked.err()).contains("verify could not read the clusters").contains("lock timeout");
                locker.rollback();
            }

            BgctlRun.Result tooLong = verify(proxy, "--database", "x".repeat(64));
            assertThat(tooLong.exit()).isEqualTo(2);
            assertThat(tooLong.err()).contains("\"database\" must be a database name of 1 to 63 characters, none of them a control character");
        }
        try (TestProxy proxy = TestProxy.in(blue).green(green).adminToken(AdminToken.of(TOKEN)).start()) {
            BgctlRun.Result noLogin = verify(proxy);
            assertThat(noLogin.exit()).isEqualTo(1);
            assertThat(noLogin.err()).contains("cluster blue names none (set clusters.blue.user");
        }
        try (TestProxy proxy = TestProxy.in(blue).backendLogin(blue.superuser(), blue.superuserPassword())
                .adminToken(AdminToken.of(TOKEN)).start()) {
            BgctlRun.Result noGreen = verify(proxy);
            assertThat(noGreen.exit()).isEqualTo(1);
            assertThat(noGreen.err()).contains("no green cluster is configured");
        }
    }
}
