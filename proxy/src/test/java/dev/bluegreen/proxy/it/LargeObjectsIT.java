package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.PGConnection;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;

/**
 * Large objects created through the function-call interface (pgjdbc's {@code LargeObjectManager}, libpq's
 * {@code lo_creat}) under dual-write: the follower makes each with the OID the leader picked, so that a later call
 * naming it finds it there too. Before, each cluster picked the next OID of its own counter, and the first
 * {@code lo_open} of the leader's OID on the follower failed: a divergence.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class LargeObjectsIT {

    @Test
    void aLargeObjectCreatedThroughAFunctionCallHasTheLeadersOidOnTheFollower(TestClusters clusters) throws Exception {
        twoObjectsAndAWriteInALaterTransaction(clusters, false);
    }

    /** Shadow mode sends the follower its copy of each write once the leader has answered it, the OID with it. */
    @Test
    void inShadowModeTooTheFollowerMakesTheObjectWithTheLeadersOid(TestClusters clusters) throws Exception {
        twoObjectsAndAWriteInALaterTransaction(clusters, true);
    }

    private static void twoObjectsAndAWriteInALaterTransaction(TestClusters clusters, boolean shadow) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        byte[] first = "written as the object was created".getBytes(StandardCharsets.UTF_8);
        byte[] second = "a second object, after green drew an OID of its own".getBytes(StandardCharsets.UTF_8);
        byte[] more = ", and more in a later transaction".getBytes(StandardCharsets.UTF_8);
        long one;
        long two;
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection c = proxy.connect(blue.superuser())) {
            if (shadow) {
                proxy.server().routing().startShadow("test", null);
            } else {
                proxy.server().routing().start("test", null);
            }
            c.setAutoCommit(false);
            LargeObjectManager objects = c.unwrap(PGConnection.class).getLargeObjectAPI();
            one = created(objects, first);
            c.commit();
            // green's OID counter moves on its own (anything green does alone draws OIDs): where each cluster picked
            // its own, the first object's OIDs differ or, where the counters matched, the second's do
            green.execute("postgres", "select lo_unlink(lo_creat(-1))");
            two = created(objects, second);
            c.commit();
            try (LargeObject object = objects.open(one, LargeObjectManager.READWRITE)) {
                object.seek(first.length);
                object.write(more);
            }
            c.commit();

            await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);
            if (shadow) {
                String written = new String(first, StandardCharsets.UTF_8) + new String(more, StandardCharsets.UTF_8);
                await("the last shadow write reached green, or a divergence").until(() ->
                        written.equals(contents(green, one)) || !proxy.server().migration().divergences().isEmpty());
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
            // (shadow mode never counts green in sync: its writes may lag or be dropped)
            assertThat(proxy.server().routing().current().followerInSync()).isEqualTo(!shadow);
        }
        for (PgCluster cluster : new PgCluster[] {blue, green}) {
            assertThat(contents(cluster, one)).as("object %d on %s", one, cluster.name())
                    .isEqualTo(new String(first, StandardCharsets.UTF_8) + new String(more, StandardCharsets.UTF_8));
            assertThat(contents(cluster, two)).as("object %d on %s", two, cluster.name())
                    .isEqualTo(new String(second, StandardCharsets.UTF_8));
        }
    }

    /** psql's {@code \lo_import}: libpq's {@code lo_import} creates the object by {@code lo_creat} and writes it by {@code lowrite}. */
    @Test
    void psqlsLoImportMakesTheSameObjectOnBothClusters(TestClusters clusters, @TempDir Path dir) throws Exception {
        CommandLineClientsIT.requireTool("psql");
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        Path file = Files.writeString(dir.resolve("notes.txt"), "imported by psql through the proxy\n");
        green.execute("postgres", "select lo_unlink(lo_creat(-1))"); // (green's OID counter moves on its own)
        long oid;
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            Process psql = new ProcessBuilder("psql", "-X", "-h", "127.0.0.1", "-p", String.valueOf(proxy.port()),
                    "-U", blue.superuser(), "-d", "postgres", "-c", "\\lo_import " + file)
                    .redirectErrorStream(true).start();
            String out = new String(psql.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(psql.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(psql.exitValue()).as(out).isZero();
            Matcher imported = Pattern.compile("lo_import (\\d+)").matcher(out);
            assertThat(imported.find()).as(out).isTrue();
            oid = Long.parseLong(imported.group(1));
            await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        assertThat(contents(blue, oid)).isEqualTo("imported by psql through the proxy\n");
        assertThat(contents(green, oid)).isEqualTo(contents(blue, oid));
    }

    /**
     * A function call's value is compared as a statement's returned rows are: a large object whose contents differ on
     * green (changed there alone) is a divergence once the client reads it through the function-call interface, and
     * the client reads blue's. Before, only a call's success was compared, and {@code bgctl verify} does not read large
     * objects.
     */
    @Test
    void aLargeObjectReadThroughAFunctionCallIsComparedBetweenTheClusters(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        byte[] written = "the same on both clusters".getBytes(StandardCharsets.UTF_8);
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection c = proxy.connect(blue.superuser())) {
            proxy.server().routing().start("test", null);
            c.setAutoCommit(false);
            LargeObjectManager objects = c.unwrap(PGConnection.class).getLargeObjectAPI();
            long oid = created(objects, written);
            c.commit();
            await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);
            try (LargeObject object = objects.open(oid, LargeObjectManager.READ)) {
                assertThat(object.read(written.length)).as("read while both hold the same").isEqualTo(written);
            }
            c.commit();
            assertThat(proxy.server().migration().divergences()).isEmpty();

            green.execute("postgres", "select lo_put(" + oid + ", 0, 'THE')"); // green alone

            byte[] read;
            try (LargeObject object = objects.open(oid, LargeObjectManager.READ)) {
                read = object.read(written.length);
            }
            c.commit();
            assertThat(read).as("the client reads blue's").isEqualTo(written);
            await("the difference recorded").until(() -> !proxy.server().migration().divergences().isEmpty());
            assertThat(proxy.server().migration().divergences().getFirst().difference()).isEqualTo("function results differ");
            assertThat(proxy.server().routing().current().followerInSync()).isFalse();
        }
    }

    /**
     * Large objects created in SQL with an OID the server picks ({@code lo_creat(-1)}, {@code lo_create(0)},
     * {@code lo_from_bytea(0, …)}, the server-side {@code lo_import(path)}): the follower is sent the statement with the
     * OID the leader returned, as a simple Query, as the unnamed statement and as a statement pgjdbc prepared by name
     * (its fifth run on), green's OID counter moving on its own between them. Before, each cluster picked its own: the
     * returned OIDs differed (a divergence), and the objects sat under other OIDs on green.
     */
    @Test
    void largeObjectsCreatedInSqlHaveTheLeadersOidOnTheFollower(TestClusters clusters, @TempDir Path dir) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        Path file = Files.writeString(dir.resolve("imported.txt"), "read by the server from a file");
        // (the clusters may run as another user, who reads the file on both)
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        Map<Long, String> made = new LinkedHashMap<>();
        Properties simple = ClusterData.properties("preferQueryMode", "simple");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection c = proxy.connect(blue.superuser());
             Connection q = proxy.connect(blue.superuser(), null, simple)) {
            proxy.server().routing().start("test", null);
            try (Statement s = q.createStatement()) {
                made.put(oneOid(s, "select lo_creat(-1)"), null);
                green.execute("postgres", "select lo_unlink(lo_creat(-1))"); // (green's OID counter moves on its own)
                made.put(oneOid(s, "SELECT pg_catalog.lo_from_bytea(0, 'sent as a simple query') AS blob;"),
                        "sent as a simple query");
            }
            green.execute("postgres", "select lo_unlink(lo_creat(-1))");
            try (Statement s = c.createStatement()) {
                made.put(oneOid(s, "select lo_create(0)"), null);
                green.execute("postgres", "select lo_unlink(lo_creat(-1))");
                made.put(oneOid(s, "select lo_import('" + file + "')"), "read by the server from a file");
                green.execute("postgres", "select lo_unlink(lo_creat(-1))");
                made.put(oneOid(s, "select lo_import('" + file + "', 0)"), "read by the server from a file");
            }
            // in a transaction, and again with pgjdbc's autosave, which sends a SAVEPOINT ahead of each statement
            try (Connection a = proxy.connect(blue.superuser(), null, ClusterData.properties("autosave", "always"))) {
                for (Connection connection : List.of(c, a)) {
                    String how = connection == c ? "prepared" : "autosaved";
                    connection.setAutoCommit(false);
                    try (PreparedStatement p = connection.prepareStatement("select lo_from_bytea(0, ?)")) {
                        for (int i = 0; i < 7; i++) { // (pgjdbc prepares it by name from the fifth run)
                            green.execute("postgres", "select lo_unlink(lo_creat(-1))");
                            String text = how + ", run " + i;
                            p.setBytes(1, text.getBytes(StandardCharsets.UTF_8));
                            try (ResultSet rs = p.executeQuery()) {
                                assertThat(rs.next()).isTrue();
                                made.put(rs.getLong(1), text);
                            }
                        }
                    }
                    connection.commit();
                }
            }
            await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        assertThat(made).hasSize(19);
        for (var object : made.entrySet()) {
            long oid = object.getKey();
            String expected = object.getValue() == null ? "" : object.getValue();
            assertThat(contents(blue, oid)).as("object %d on blue", oid).isEqualTo(expected);
            assertThat(contents(green, oid)).as("object %d on green", oid).isEqualTo(expected);
        }
    }

    /**
     * In shadow mode too, for a creation sent as a simple Query or as the unnamed statement (pgjdbc's first runs): the
     * follower's copy, queued once the leader has answered, names the leader's OID. Before, each cluster picked its own
     * (counted as non-deterministic), and green's objects sat under other OIDs.
     */
    @Test
    void inShadowModeALargeObjectCreatedInSqlHasTheLeadersOidToo(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        Map<Long, String> made = new LinkedHashMap<>();
        Properties simple = ClusterData.properties("preferQueryMode", "simple");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection c = proxy.connect(blue.superuser());
             Connection q = proxy.connect(blue.superuser(), null, simple)) {
            proxy.server().routing().startShadow("test", null);
            try (Statement s = q.createStatement()) {
                made.put(oneOid(s, "select lo_creat(-1)"), "");
                green.execute("postgres", "select lo_unlink(lo_creat(-1))"); // (green's OID counter moves on its own)
                made.put(oneOid(s, "select lo_from_bytea(0, 'a simple query in shadow mode')"), "a simple query in shadow mode");
            }
            green.execute("postgres", "select lo_unlink(lo_creat(-1))");
            try (PreparedStatement p = c.prepareStatement("select lo_from_bytea(0, ?)")) {
                for (int i = 0; i < 2; i++) { // (the unnamed statement: pgjdbc names it from the fifth run)
                    String text = "unnamed in shadow mode, run " + i;
                    p.setBytes(1, text.getBytes(StandardCharsets.UTF_8));
                    try (ResultSet rs = p.executeQuery()) {
                        assertThat(rs.next()).isTrue();
                        made.put(rs.getLong(1), text);
                    }
                    green.execute("postgres", "select lo_unlink(lo_creat(-1))");
                }
            }
            long last = made.keySet().stream().reduce((a, b) -> b).orElseThrow();
            await("the last shadow write reached green, or a divergence").until(() ->
                    made.get(last).equals(contents(green, last)) || !proxy.server().migration().divergences().isEmpty());
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().migration().nonDeterministicStatements()).as("carried, not counted").isEmpty();
        }
        assertThat(made).hasSize(4);
        for (var object : made.entrySet()) {
            assertThat(contents(blue, object.getKey())).as("object %d on blue", object.getKey()).isEqualTo(object.getValue());
            assertThat(contents(green, object.getKey())).as("object %d on green", object.getKey()).isEqualTo(object.getValue());
        }
    }

    /**
     * Where green already holds an object under the OID blue picks (one it made alone), green refuses the follower's
     * copy: a divergence naming the statement, green out of sync, and the client has blue's answer, its object there.
     */
    @Test
    void anOidGreenAlreadyHoldsIsADivergenceAndTheClientHasBluesAnswer(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        long next;
        try (Connection direct = blue.connect("postgres"); Statement s = direct.createStatement()) {
            next = oneOid(s, "select lo_creat(-1)") + 1; // blue's counter, learned (the object goes again)
            s.execute("select lo_unlink(" + (next - 1) + ")");
        }
        for (long oid = next; oid < next + 20; oid++) {
            green.execute("postgres", "select lo_create(" + oid + ")"); // green alone: whatever blue picks next
        }
        long made;
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection c = proxy.connect(blue.superuser());
             Statement s = c.createStatement()) {
            proxy.server().routing().start("test", null);
            made = oneOid(s, "select lo_from_bytea(0, 'blue''s object')");
            assertThat(made).isBetween(next, next + 19);
            await("the refusal recorded").until(() -> !proxy.server().migration().divergences().isEmpty());
            assertThat(proxy.server().migration().divergences()).singleElement().satisfies(d -> {
                assertThat(d.statement()).isEqualTo("select lo_from_bytea(?, ?)");
                assertThat(d.follower()).contains("23505");
            });
            assertThat(proxy.server().routing().current().followerInSync()).isFalse();
            assertThat(proxy.server().routing().current().weight()).isZero();
        } finally {
            for (long oid = next; oid < next + 20; oid++) {
                green.execute("postgres", "select lo_unlink(" + oid + ")");
            }
        }
        assertThat(contents(blue, made)).isEqualTo("blue's object");
        try (Connection direct = blue.connect("postgres"); Statement s = direct.createStatement()) {
            s.execute("select lo_unlink(" + made + ")");
        }
    }

    /**
     * A large object created in SQL otherwise (here inside an INSERT) still gets an OID of each cluster's own: the
     * statement is counted as non-deterministic, as a random default left to each cluster is. One the proxy gives the
     * leader's OID is not counted.
     */
    @Test
    void aLargeObjectCreatedInSqlOtherwiseIsCountedAsNonDeterministic(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        ClusterData.onBoth(blue, green, "create table large_object_refs (id int primary key, blob oid)");
        String insert = "insert into large_object_refs values (1, lo_creat(-1))";
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection c = proxy.connect(blue.superuser());
             Statement s = c.createStatement()) {
            proxy.server().routing().start("test", null);
            oneOid(s, "select lo_creat(-1)");
            assertThat(s.executeUpdate(insert)).isOne();
            await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);
            assertThat(proxy.server().migration().nonDeterministicStatements().keySet())
                    .singleElement().satisfies(counted -> assertThat(counted).startsWith("insert into large_object_refs"));
            assertThat(proxy.server().migration().divergences()).isEmpty();
        } finally {
            // each cluster's own object goes too: one left on green alone could hold an OID blue picks in a later test
            ClusterData.onBoth(blue, green, "select lo_unlink(blob) from large_object_refs", "drop table large_object_refs");
        }
    }

    private static long oneOid(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            assertThat(rs.next()).isTrue();
            return rs.getLong(1);
        }
    }

    /** A new large object (pgjdbc calls {@code lo_creat} by OID), opened and written in the same transaction. */
    private static long created(LargeObjectManager objects, byte[] data) throws SQLException {
        long oid = objects.createLO();
        try (LargeObject object = objects.open(oid, LargeObjectManager.WRITE)) {
            object.write(data);
        }
        return oid;
    }

    private static String contents(PgCluster cluster, long oid) throws SQLException {
        try (Connection direct = cluster.connect("postgres"); Statement s = direct.createStatement();
             ResultSet rs = s.executeQuery("select convert_from(lo_get(" + oid + "), 'UTF8') from pg_largeobject_metadata"
                     + " where oid = " + oid)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }
}
