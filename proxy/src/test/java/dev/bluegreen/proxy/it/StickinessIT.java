package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.config.ClusterName;
import dev.bluegreen.config.Routing;
import dev.bluegreen.config.StickyKey;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.routing.ClusterRole;
import dev.bluegreen.proxy.routing.RoutingPolicy;
import dev.bluegreen.proxy.routing.StickyKeys;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The {@code routing} section of the configuration, proven through the real proxy (DESIGN §4.1): what the
 * sticky key keeps together, that tenant pins and {@code SET bluegreen.tenant} decide where a tenant's reads
 * go, and that raising the weight only ever moves keys from blue to green. Which cluster answered a read is
 * told by {@code server_version_num}: blue runs PostgreSQL 16, green 18.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class StickinessIT {

    private static final String READ = "select current_setting('server_version_num')::int";

    private static Routing routing(StickyKey sticky, String tenantParameter, Map<String, ClusterName> pins) {
        Routing d = Routing.defaults();
        return new Routing(sticky, tenantParameter, pins, d.writeBarrierTimeout(), d.writeFunctions(), d.readAfterWrite());
    }

    /** Blue and green both behind the proxy, dual-write started, green serving {@code weight} % of read keys. */
    private static TestProxy started(TestClusters clusters, Routing routing, int weight) throws Exception {
        TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).routing(routing).start();
        try {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", weight, null);
            return proxy;
        } catch (Exception | AssertionError e) {
            proxy.close();
            throw e;
        }
    }

    private static Connection connect(TestProxy proxy, PgCluster blue, String applicationName) throws SQLException {
        Properties properties = new Properties();
        if (applicationName != null) {
            properties.setProperty("ApplicationName", applicationName);
            // otherwise pgjdbc sends it by SET after connecting, not as a startup parameter
            properties.setProperty("assumeMinServerVersion", "9.0");
        }
        return proxy.connect(blue.superuser(), null, properties);
    }

    /** Runs one autocommit read and tells which cluster answered it. */
    private static ClusterRole read(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(READ)) {
            rs.next();
            int version = rs.getInt(1);
            if (version / 10_000 == 16) {
                return ClusterRole.BLUE;
            }
            assertThat(version / 10_000).as("server_version_num %d is neither blue's nor green's", version)
                    .isEqualTo(18);
            return ClusterRole.GREEN;
        }
    }

    /** The cluster that served {@code reads} reads in a row, failing if they were not all served by one. */
    private static ClusterRole readsStayOnOne(Connection c, int reads) throws SQLException {
        Set<ClusterRole> served = EnumSet.noneOf(ClusterRole.class);
        for (int i = 0; i < reads; i++) {
            served.add(read(c));
        }
        assertThat(served).as("clusters that served one session's reads").hasSize(1);
        return served.iterator().next();
    }

    private static void closeAll(List<Connection> sessions) throws SQLException {
        for (Connection c : sessions) {
            c.close();
        }
    }

    /** The first of {@code stem-0}, {@code stem-1} … whose tenant key falls in a bucket of at least {@code bucket}. */
    private static String tenantInBucketFrom(String stem, int bucket) {
        for (int i = 0; ; i++) {
            String tenant = stem + "-" + i;
            if (RoutingPolicy.bucket(StickyKeys.ofTenant(tenant)) >= bucket) {
                return tenant;
            }
        }
    }

    @Test
    void withoutAStickyKeyGreenServesTheWeightsShareOfAllReads(TestClusters clusters) throws Exception {
        try (TestProxy proxy = started(clusters, routing(StickyKey.NONE, "bluegreen.tenant", Map.of()), 25)) {
            // connected first: pgjdbc's own queries at login are units too
            List<Connection> sessions = new ArrayList<>();
            List<Set<ClusterRole>> servedPerSession = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                sessions.add(connect(proxy, clusters.blue(), null));
                servedPerSession.add(EnumSet.noneOf(ClusterRole.class));
            }
            long greenBefore = proxy.server().migration().unitsServedBy(ClusterRole.GREEN);
            long blueBefore = proxy.server().migration().unitsServedBy(ClusterRole.BLUE);
            AtomicInteger greenServed = new AtomicInteger();

            // the four sessions read side by side, 2,500 reads each
            ClusterData.inSessions(sessions.size(), session -> {
                for (int i = 0; i < 2_500; i++) {
                    ClusterRole served = read(sessions.get(session));
                    servedPerSession.get(session).add(served);
                    if (served == ClusterRole.GREEN) {
                        greenServed.incrementAndGet();
                    }
                }
            });
            closeAll(sessions);

            int green = greenServed.get();
            assertThat(green / 10_000.0).as("green's share of 10,000 reads").isBetween(0.23, 0.27);
            assertThat(servedPerSession).as("each session's reads were spread over both clusters")
                    .allSatisfy(served -> assertThat(served).hasSize(2));
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                assertThat(proxy.server().migration().unitsServedBy(ClusterRole.GREEN) - greenBefore)
                        .isEqualTo(green);
                assertThat(proxy.server().migration().unitsServedBy(ClusterRole.BLUE) - blueBefore)
                        .isEqualTo(10_000 - green);
            });
        }
    }

    @Test
    void withTheSessionAsStickyKeyEachSessionsReadsStayOnOneCluster(TestClusters clusters) throws Exception {
        try (TestProxy proxy = started(clusters, routing(StickyKey.SESSION, "bluegreen.tenant", Map.of()), 50)) {
            List<Connection> sessions = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                sessions.add(connect(proxy, clusters.blue(), null));
            }
            List<Set<ClusterRole>> servedPerSession = new ArrayList<>();
            sessions.forEach(c -> servedPerSession.add(EnumSet.noneOf(ClusterRole.class)));

            for (int round = 0; round < 10; round++) {
                for (int i = 0; i < sessions.size(); i++) {
                    servedPerSession.get(i).add(read(sessions.get(i)));
                }
            }

            closeAll(sessions);
            assertThat(servedPerSession).as("clusters that served each session").allSatisfy(
                    served -> assertThat(served).hasSize(1));
            assertThat(servedPerSession).as("at weight 50 both clusters serve some sessions")
                    .contains(EnumSet.of(ClusterRole.BLUE), EnumSet.of(ClusterRole.GREEN));
        }
    }

    @Test
    void sessionsOfOneTenantFromApplicationNameLandOnTheClusterItsKeyChooses(TestClusters clusters)
            throws Exception {
        // tenants chosen so that weight 50 sends some to green and some to blue
        List<String> tenants = new ArrayList<>();
        Map<ClusterRole, Integer> expectedCounts = new EnumMap<>(ClusterRole.class);
        for (int i = 0; expectedCounts.getOrDefault(ClusterRole.BLUE, 0) < 3
                || expectedCounts.getOrDefault(ClusterRole.GREEN, 0) < 3; i++) {
            String tenant = "app-" + i;
            tenants.add(tenant);
            expectedCounts.merge(RoutingPolicy.serve(StickyKeys.ofTenant(tenant), 50), 1, Integer::sum);
        }
        try (TestProxy proxy = started(clusters, routing(StickyKey.TENANT, "application_name", Map.of()), 50)) {
            for (String tenant : tenants) {
                ClusterRole expected = RoutingPolicy.serve(StickyKeys.ofTenant(tenant), 50);
                try (Connection first = connect(proxy, clusters.blue(), tenant);
                     Connection second = connect(proxy, clusters.blue(), tenant)) {

                    ClusterRole firstServed = readsStayOnOne(first, 5);
                    ClusterRole secondServed = readsStayOnOne(second, 5);

                    assertThat(firstServed).as("first session of %s", tenant).isEqualTo(expected);
                    assertThat(secondServed).as("second session of %s", tenant).isEqualTo(expected);
                }
            }
        }
    }

    /**
     * A {@code SET bluegreen.tenant} made before dual-write began (a pool naming the tenant as it connects) goes on
     * steering the session's reads once green serves some: read with the rest of the session's state when its
     * twin is made. Before, the session was routed by its startup tenant, or by none.
     */
    @Test
    void aTenantSetBeforeDualWriteBeganStillSteersTheSessionsReads(TestClusters clusters) throws Exception {
        String pinned = tenantInBucketFrom("pinned-early", 1);
        String unpinned = tenantInBucketFrom("unpinned-early", 1);
        Routing routing = routing(StickyKey.TENANT, "application_name", Map.of(pinned, ClusterName.GREEN));
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).routing(routing).start();
             Connection toGreen = connect(proxy, clusters.blue(), unpinned);
             Connection setThenReset = connect(proxy, clusters.blue(), unpinned)) {
            toGreen.createStatement().execute("set bluegreen.tenant = '" + pinned + "'");
            setThenReset.createStatement().execute("set bluegreen.tenant = '" + pinned + "'");
            setThenReset.createStatement().execute("reset bluegreen.tenant");
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 1, null);

            assertThat(readsStayOnOne(toGreen, 5)).as("the tenant set before start, pinned to green")
                    .isEqualTo(ClusterRole.GREEN);
            assertThat(readsStayOnOne(setThenReset, 5)).as("a tenant set and reset before start: the startup tenant")
                    .isEqualTo(ClusterRole.BLUE);
            toGreen.createStatement().execute("set bluegreen.tenant = '" + unpinned + "'");
            assertThat(readsStayOnOne(toGreen, 5)).as("set again once twinned").isEqualTo(ClusterRole.BLUE);
        }
    }

    @Test
    void aTenantPinnedToGreenIsServedByGreenAtWeightOneAndSetTenantMovesASession(TestClusters clusters)
            throws Exception {
        // both in a bucket >= 1, so weight 1 alone would leave them on blue
        String pinned = tenantInBucketFrom("pinned", 1);
        String unpinned = tenantInBucketFrom("unpinned", 1);
        Routing routing = routing(StickyKey.TENANT, "application_name", Map.of(pinned, ClusterName.GREEN));
        try (TestProxy proxy = started(clusters, routing, 1);
             Connection pinnedSession = connect(proxy, clusters.blue(), pinned);
             Connection unpinnedSession = connect(proxy, clusters.blue(), unpinned)) {

            assertThat(readsStayOnOne(pinnedSession, 5)).as("the pinned tenant").isEqualTo(ClusterRole.GREEN);
            assertThat(readsStayOnOne(unpinnedSession, 5)).as("an unpinned tenant").isEqualTo(ClusterRole.BLUE);

            unpinnedSession.createStatement().execute("set bluegreen.tenant = '" + pinned + "'");
            assertThat(readsStayOnOne(unpinnedSession, 5)).as("after SET bluegreen.tenant to the pinned tenant")
                    .isEqualTo(ClusterRole.GREEN);

            unpinnedSession.createStatement().execute("reset bluegreen.tenant");
            assertThat(readsStayOnOne(unpinnedSession, 5)).as("after RESET, the startup tenant again")
                    .isEqualTo(ClusterRole.BLUE);

            // as in Postgres, SET LOCAL ends with its transaction, and a failed transaction sets nothing
            unpinnedSession.createStatement().execute("begin; set local bluegreen.tenant = '" + pinned + "'; commit");
            assertThat(readsStayOnOne(unpinnedSession, 5)).as("after a transaction with SET LOCAL")
                    .isEqualTo(ClusterRole.BLUE);
            try (java.sql.Statement s = unpinnedSession.createStatement()) {
                s.execute("begin");
                s.execute("set bluegreen.tenant = '" + pinned + "'");
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.execute("select 1/0"))
                        .isInstanceOf(java.sql.SQLException.class);
                s.execute("commit"); // of a failed transaction: a rollback
            }
            assertThat(readsStayOnOne(unpinnedSession, 5)).as("after a failed transaction that set the tenant")
                    .isEqualTo(ClusterRole.BLUE);
            unpinnedSession.createStatement().execute("begin; set bluegreen.tenant = '" + pinned + "'");
            unpinnedSession.createStatement().execute("rollback");
            assertThat(readsStayOnOne(unpinnedSession, 5)).as("after a transaction that set the tenant and rolled back")
                    .isEqualTo(ClusterRole.BLUE);

            pinnedSession.createStatement().execute("set bluegreen.tenant = '" + unpinned + "'");
            assertThat(readsStayOnOne(pinnedSession, 5)).as("a pinned session SET to an unpinned tenant")
                    .isEqualTo(ClusterRole.BLUE);
        }
    }

    /**
     * A {@code SET bluegreen.tenant} a {@code ROLLBACK TO SAVEPOINT} undoes stops steering the session's reads, as the
     * server drops the setting; one a {@code RELEASE} keeps goes on. Before, the proxy kept the tenant set after the
     * savepoint until the whole transaction ended, committed.
     */
    @Test
    void aTenantSetAfterASavepointIsUndoneByRollbackToIt(TestClusters clusters) throws Exception {
        String pinned = tenantInBucketFrom("pinned-savepoint", 1);
        String unpinned = tenantInBucketFrom("unpinned-savepoint", 1);
        Routing routing = routing(StickyKey.TENANT, "application_name", Map.of(pinned, ClusterName.GREEN));
        try (TestProxy proxy = started(clusters, routing, 1);
             Connection session = connect(proxy, clusters.blue(), unpinned);
             Statement s = session.createStatement()) {
            assertThat(readsStayOnOne(session, 5)).as("the startup tenant").isEqualTo(ClusterRole.BLUE);

            for (String sql : List.of("begin", "savepoint a", "set bluegreen.tenant = '" + pinned + "'",
                    "rollback to savepoint a", "commit")) {
                s.execute(sql);
            }
            assertThat(readsStayOnOne(session, 5)).as("after ROLLBACK TO the savepoint before the SET")
                    .isEqualTo(ClusterRole.BLUE);

            for (String sql : List.of("begin", "set bluegreen.tenant = '" + pinned + "'", "savepoint a",
                    "set bluegreen.tenant = '" + unpinned + "'", "savepoint b", "rollback to a", "release a", "commit")) {
                s.execute(sql);
            }
            assertThat(readsStayOnOne(session, 5)).as("back to the tenant set before the savepoint, then released")
                    .isEqualTo(ClusterRole.GREEN);

            for (String sql : List.of("begin", "savepoint a", "set bluegreen.tenant = '" + unpinned + "'",
                    "release savepoint a", "commit")) {
                s.execute(sql);
            }
            assertThat(readsStayOnOne(session, 5)).as("a SET kept by RELEASE").isEqualTo(ClusterRole.BLUE);

            // one name made twice in a row (pgjdbc's autosave makes PGJDBC_AUTOSAVE ahead of each statement): a RELEASE
            // releases the later, and ROLLBACK TO goes back to the earlier
            for (String sql : List.of("begin", "set bluegreen.tenant = '" + pinned + "'", "savepoint s", "savepoint s",
                    "set bluegreen.tenant = '" + unpinned + "'", "release s", "rollback to s", "commit")) {
                s.execute(sql);
            }
            assertThat(readsStayOnOne(session, 5)).as("back to the earlier savepoint of one name").isEqualTo(ClusterRole.GREEN);
        }
    }

    @Test
    void raisingTheWeightNeverMovesASessionFromGreenBackToBlue(TestClusters clusters) throws Exception {
        try (TestProxy proxy = started(clusters, routing(StickyKey.SESSION, "bluegreen.tenant", Map.of()), 25)) {
            List<Connection> sessions = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                sessions.add(connect(proxy, clusters.blue(), null));
            }
            Set<Integer> greenAt25 = onGreen(sessions);

            proxy.server().routing().setWeight("test", 50, null);
            Set<Integer> greenAt50 = onGreen(sessions);
            proxy.server().routing().setWeight("test", 75, null);
            Set<Integer> greenAt75 = onGreen(sessions);

            closeAll(sessions);
            assertThat(greenAt25).as("sessions on green at 25").isNotEmpty();
            assertThat(greenAt50).as("sessions on green at 50").containsAll(greenAt25);
            assertThat(greenAt75).as("sessions on green at 75").containsAll(greenAt50);
            assertThat(greenAt75.size()).as("raising the weight moved some sessions to green")
                    .isGreaterThan(greenAt25.size());
        }
    }

    /** The indices of the sessions whose reads green serves now (each session read three times). */
    private static Set<Integer> onGreen(List<Connection> sessions) throws SQLException {
        Set<Integer> green = new HashSet<>();
        for (int i = 0; i < sessions.size(); i++) {
            if (readsStayOnOne(sessions.get(i), 3) == ClusterRole.GREEN) {
                green.add(i);
            }
        }
        return green;
    }

    @Test
    void aConfiguredWriteFunctionRunsOnBothClustersEvenWhenGreenServesReads(TestClusters clusters)
            throws Exception {
        String table = "bumps_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        String function = "bump_" + table;
        for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
            cluster.execute("postgres",
                    "create table " + table + " (id int primary key)",
                    "create function " + function + "(n int) returns int language sql as "
                            + "$$ insert into " + table + " values (n) returning n $$");
        }
        Routing d = Routing.defaults();
        Routing routing = new Routing(StickyKey.NONE, d.tenantParameter(), Map.of(), d.writeBarrierTimeout(),
                Set.of("public." + function), d.readAfterWrite());
        try (TestProxy proxy = started(clusters, routing, 100);
             Connection c = connect(proxy, clusters.blue(), null)) {
            assertThat(read(c)).as("a plain read at weight 100").isEqualTo(ClusterRole.GREEN);

            for (int n = 1; n <= 10; n++) {
                c.createStatement().execute("select " + function + "(" + n + ")");
            }
        }
        for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
            try (Connection direct = cluster.connect("postgres"); Statement s = direct.createStatement();
                 ResultSet rs = s.executeQuery("select count(*) from " + table)) {
                rs.next();
                assertThat(rs.getLong(1)).as("rows the function wrote on %s", cluster.name()).isEqualTo(10);
            }
        }
    }

    @Test
    void theWriteBarrierGivesUpAfterTheConfiguredTimeout(TestClusters clusters) throws Exception {
        String table = "held_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        clusters.blue().execute("postgres", "create table " + table + " (id int)");
        Routing d = Routing.defaults();
        Routing routing = new Routing(d.stickyKey(), d.tenantParameter(), Map.of(), Duration.ofMillis(300),
                d.writeFunctions(), d.readAfterWrite());
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).routing(routing).start();
             Connection holder = connect(proxy, clusters.blue(), null)) {
            holder.setAutoCommit(false);
            holder.createStatement().execute("insert into " + table + " values (1)");

            long started = System.nanoTime();
            assertThatThrownBy(() -> proxy.server().routing().start("test", null))
                    .isInstanceOf(RoutingControl.Refused.class)
                    .hasMessageContaining("timed out after 300 ms");
            Duration waited = Duration.ofNanos(System.nanoTime() - started);

            assertThat(waited).as("the default timeout is 10 s").isLessThan(Duration.ofSeconds(5));
            holder.rollback();
        }
    }
}
