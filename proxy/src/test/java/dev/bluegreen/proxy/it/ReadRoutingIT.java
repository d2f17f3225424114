package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.ClusterData.contents;
import static dev.bluegreen.proxy.it.ClusterData.major;
import static dev.bluegreen.proxy.it.ClusterData.onBoth;
import static dev.bluegreen.proxy.it.ClusterData.unique;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Reads are served by the cluster that the weight and the session's sticky key choose (DESIGN §4), and
 * the client cannot tell: a session that green serves reads its own writes at once; at weight 50 both
 * clusters serve while each session stays on one; pgjdbc's server-side prepared statements and batches
 * keep working while a session's units move between clusters, including in a session that existed
 * before dual-write started. Which cluster answered is told by {@code server_version_num}: blue runs
 * PostgreSQL 16, green 18.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class ReadRoutingIT {

    private static final int BLUE_MAJOR = 16;
    private static final int GREEN_MAJOR = 18;

    private static PgCluster blue;
    private static PgCluster green;

    @BeforeAll
    static void clusters(TestClusters clusters) {
        blue = clusters.blue();
        green = clusters.green();
        assertThat(blue.majorVersion()).isEqualTo(BLUE_MAJOR);
        assertThat(green.majorVersion()).isEqualTo(GREEN_MAJOR);
    }

    private static Connection viaProxy(TestProxy proxy, String... properties) throws SQLException {
        return proxy.connect(blue.superuser(), null, ClusterData.properties(properties));
    }

    /** The major version of the cluster that served this read. */
    private static int servedBy(Statement s) throws SQLException {
        try (ResultSet rs = s.executeQuery("show server_version_num")) {
            rs.next();
            return major(Integer.parseInt(rs.getString(1)));
        }
    }

    /** Runs {@code select v, n, server_version_num ... where id = ?} and renders the row as {@code v/n@major}. */
    private static String readRow(PreparedStatement read, int id) throws SQLException {
        read.setInt(1, id);
        try (ResultSet rs = read.executeQuery()) {
            if (!rs.next()) {
                return "no row " + id;
            }
            return rs.getString(1) + "/" + rs.getInt(2) + "@" + major(rs.getInt(3));
        }
    }

    @Test
    void aSessionThatGreenServesReadsItsOwnWritesAtOnce() throws Exception {
        String table = unique("ryw");
        onBoth(blue, green, "create table " + table + " (id int primary key, v text not null, n int not null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            long servedByGreen = proxy.server().migration().unitsServedBy(ClusterRole.GREEN);

            List<String> seen = new ArrayList<>();
            List<String> expected = new ArrayList<>();
            try (Connection c = viaProxy(proxy);
                 PreparedStatement insert = c.prepareStatement("insert into " + table + " values (?, ?, 0)");
                 PreparedStatement bump = c.prepareStatement("update " + table + " set n = n + 1 where id = ?");
                 PreparedStatement read = c.prepareStatement(
                         "select v, n, current_setting('server_version_num')::int from " + table + " where id = ?")) {
                for (int id = 1; id <= 150; id++) {
                    insert.setInt(1, id);
                    insert.setString(2, "value " + id);
                    insert.executeUpdate();
                    seen.add(readRow(read, id));
                    bump.setInt(1, id);
                    bump.executeUpdate();
                    seen.add(readRow(read, id));
                    expected.add("value " + id + "/0@" + GREEN_MAJOR);
                    expected.add("value " + id + "/1@" + GREEN_MAJOR);
                }
                // inside a transaction, its own uncommitted write is visible to whichever cluster serves the read
                c.setAutoCommit(false);
                insert.setInt(1, 1000);
                insert.setString(2, "in a transaction");
                insert.executeUpdate();
                read.setInt(1, 1000);
                try (ResultSet rs = read.executeQuery()) {
                    assertThat(rs.next()).as("own uncommitted row visible").isTrue();
                    assertThat(rs.getString(1)).isEqualTo("in a transaction");
                }
                c.commit();
            }

            assertThat(seen).containsExactlyElementsOf(expected);
            assertThat(proxy.server().migration().unitsServedBy(ClusterRole.GREEN) - servedByGreen)
                    .isGreaterThanOrEqualTo(300);
            assertThat(contents(green, table, "id")).isEqualTo(contents(blue, table, "id"));
            assertThat(ClusterData.number(blue, "select count(*) from " + table)).isEqualTo(151);
        }
    }

    @Test
    void atWeightFiftyBothClustersServeReadsAndEachSessionStaysOnOne() throws Exception {
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 50, null);
            long servedByBlue = proxy.server().migration().unitsServedBy(ClusterRole.BLUE);
            long servedByGreen = proxy.server().migration().unitsServedBy(ClusterRole.GREEN);

            Map<Integer, Set<Integer>> majorsBySession = new LinkedHashMap<>();
            for (int session = 0; session < 24; session++) {
                Set<Integer> majors = new TreeSet<>();
                try (Connection c = viaProxy(proxy); Statement s = c.createStatement();
                     PreparedStatement prepared = c.prepareStatement("select current_setting('server_version_num')::int")) {
                    for (int i = 0; i < 6; i++) {
                        majors.add(servedBy(s));
                        try (ResultSet rs = prepared.executeQuery()) {
                            rs.next();
                            majors.add(major(rs.getInt(1)));
                        }
                    }
                }
                majorsBySession.put(session, majors);
            }

            assertThat(majorsBySession.values()).as("clusters that served each session").allSatisfy(majors ->
                    assertThat(majors).hasSize(1));
            Set<Integer> all = new HashSet<>();
            majorsBySession.values().forEach(all::addAll);
            assertThat(all).as("clusters that served any session").containsExactlyInAnyOrder(BLUE_MAJOR, GREEN_MAJOR);
            assertThat(proxy.server().migration().unitsServedBy(ClusterRole.BLUE)).isGreaterThan(servedByBlue);
            assertThat(proxy.server().migration().unitsServedBy(ClusterRole.GREEN)).isGreaterThan(servedByGreen);
        }
    }

    @Test
    void preparedStatementsAndBatchesKeepWorkingAsASessionsUnitsMoveBetweenClusters() throws Exception {
        String rows = unique("ps_rows");
        String batch = unique("ps_batch");
        onBoth(blue, green,
                "create table " + rows + " (id int primary key, v text not null)",
                "insert into " + rows + " select g, 'value ' || g from generate_series(1, 100) g",
                "create table " + batch + " (id int primary key, session int not null, v text not null)");
        int sessions = 12;
        int perBatch = 25;
        int[] weights = {0, 50, 100, 0};
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            List<Connection> connections = new ArrayList<>();
            List<PreparedStatement> reads = new ArrayList<>();
            List<PreparedStatement> inserts = new ArrayList<>();
            try {
                for (int session = 0; session < sessions; session++) {
                    // half use server-side statements from the first execution, half from pgjdbc's default fifth
                    Connection c = session % 2 == 0 ? viaProxy(proxy, "prepareThreshold", "1") : viaProxy(proxy);
                    connections.add(c);
                    reads.add(c.prepareStatement("select v, 0, current_setting('server_version_num')::int from "
                            + rows + " where id = ?"));
                    inserts.add(c.prepareStatement("insert into " + batch + " values (?, ?, ?)"));
                }
                Map<Integer, List<Set<Integer>>> majorsByWeightStep = new LinkedHashMap<>();
                for (int step = 0; step < weights.length; step++) {
                    proxy.server().routing().setWeight("test", weights[step], null);
                    List<Set<Integer>> majorsBySession = new ArrayList<>();
                    for (int session = 0; session < sessions; session++) {
                        Set<Integer> majors = new TreeSet<>();
                        for (int i = 0; i < 8; i++) {
                            int id = 1 + (session * 7 + step * 13 + i) % 100;
                            String row = readRow(reads.get(session), id);
                            assertThat(row).as("session %d at weight %d", session, weights[step])
                                    .startsWith("value " + id + "/0@");
                            majors.add(Integer.parseInt(row.substring(row.indexOf('@') + 1)));
                        }
                        majorsBySession.add(majors);
                        PreparedStatement insert = inserts.get(session);
                        for (int i = 0; i < perBatch; i++) {
                            insert.setInt(1, session * 10_000 + step * 1_000 + i);
                            insert.setInt(2, session);
                            insert.setString(3, "weight " + weights[step]);
                            insert.addBatch();
                        }
                        assertThat(insert.executeBatch()).hasSize(perBatch);
                    }
                    majorsByWeightStep.put(step, majorsBySession);
                }

                assertThat(majorsByWeightStep.get(0)).as("weight 0").allSatisfy(m -> assertThat(m).containsExactly(BLUE_MAJOR));
                assertThat(majorsByWeightStep.get(1)).as("weight 50: one cluster per session").allSatisfy(m -> assertThat(m).hasSize(1));
                assertThat(majorsByWeightStep.get(1).stream().flatMap(Set::stream).distinct())
                        .as("weight 50: both clusters").containsExactlyInAnyOrder(BLUE_MAJOR, GREEN_MAJOR);
                assertThat(majorsByWeightStep.get(2)).as("weight 100").allSatisfy(m -> assertThat(m).containsExactly(GREEN_MAJOR));
                assertThat(majorsByWeightStep.get(3)).as("back to 0").allSatisfy(m -> assertThat(m).containsExactly(BLUE_MAJOR));
                // the statement pgjdbc named on blue at weight 0 exists on the green twin too (read in a read-only
                // transaction, which green serves: an autocommit read of the catalogs goes to blue, whose OIDs the session
                // holds)
                proxy.server().routing().setWeight("test", 100, null);
                connections.get(0).setAutoCommit(false);
                connections.get(0).setReadOnly(true);
                try (Statement s = connections.get(0).createStatement();
                     ResultSet rs = s.executeQuery("select count(*), current_setting('server_version_num')::int"
                             + " from pg_prepared_statements where statement like 'select v, 0, current_setting%'")) {
                    rs.next();
                    assertThat(rs.getInt(1)).as("named statements on the twin").isEqualTo(1);
                    assertThat(major(rs.getInt(2))).isEqualTo(GREEN_MAJOR);
                }
            } finally {
                for (Connection c : connections) {
                    c.close();
                }
            }
        }
        long expected = (long) sessions * weights.length * perBatch;
        assertThat(ClusterData.number(blue, "select count(*) from " + batch)).isEqualTo(expected);
        assertThat(ClusterData.number(green, "select count(*) from " + batch)).isEqualTo(expected);
        assertThat(contents(green, batch, "id")).isEqualTo(contents(blue, batch, "id"));
    }

    @Test
    void aSessionOpenedBeforeStartTakesItsSettingsAndPreparedStatementsToGreen() throws Exception {
        String table = unique("before_start");
        onBoth(blue, green,
                "create table " + table + " (id int primary key, v text not null)",
                "insert into " + table + " select g, 'value ' || g from generate_series(1, 10) g");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection c = viaProxy(proxy, "prepareThreshold", "1");
             Statement s = c.createStatement();
             PreparedStatement read = c.prepareStatement(
                     "select v, 0, current_setting('server_version_num')::int from " + table + " where id = ?")) {
            s.execute("set work_mem = '7MB'");
            assertThat(readRow(read, 1)).isEqualTo("value 1/0@" + BLUE_MAJOR);
            assertThat(readRow(read, 2)).isEqualTo("value 2/0@" + BLUE_MAJOR);

            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);

            assertThat(readRow(read, 3)).isEqualTo("value 3/0@" + GREEN_MAJOR);
            assertThat(readRow(read, 4)).isEqualTo("value 4/0@" + GREEN_MAJOR);
            try (ResultSet rs = s.executeQuery("select current_setting('work_mem'), current_setting('server_version_num')::int")) {
                rs.next();
                assertThat(rs.getString(1) + "@" + major(rs.getInt(2))).isEqualTo("7MB@" + GREEN_MAJOR);
            }
            s.executeUpdate("insert into " + table + " values (11, 'after start')");
        }
        assertThat(contents(green, table, "id")).isEqualTo(contents(blue, table, "id"));
        assertThat(ClusterData.text(green, "select v from " + table + " where id = 11")).isEqualTo("after start");
    }
}
