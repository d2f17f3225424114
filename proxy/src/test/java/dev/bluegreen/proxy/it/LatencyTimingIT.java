package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The latencies the health rules judge green by (DESIGN §6) are the cluster's own: not the time a request
 * waited in the proxy before it was sent, nor another cluster's failed attempt. Each test makes that wait
 * 3 s on the server side and expects every latency recorded for the unit well under it.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class LatencyTimingIT {

    private static final Duration HELD = Duration.ofMillis(3000);
    private static final Duration WELL_UNDER = Duration.ofMillis(2000);

    /** What the proxy told its health windows: cluster, kind and nanoseconds of each latency. */
    private record Timed(ClusterRole cluster, String kind, long nanos) {}

    private static Queue<Timed> listen(MigrationStats stats) {
        Queue<Timed> seen = new ConcurrentLinkedQueue<>();
        stats.addListener(new MigrationStats.Listener() {
            @Override
            public void unitServed(ClusterRole cluster, boolean read, long nanos, String sqlState) {
                seen.add(new Timed(cluster, read ? "read" : "write", nanos));
            }

            @Override
            public void followerRan(ClusterRole cluster, long nanos) {
                seen.add(new Timed(cluster, "follower", nanos));
            }
        });
        return seen;
    }

    /**
     * In a transaction the follower's lane holds the session's writes back until the transaction ends;
     * an INSERT then 3 s of the leader's work (a pg_sleep blue serves) leave green's INSERT queued that
     * long, and green's latency for it is from when it was sent at COMMIT.
     */
    @Test
    void aWriteTheLaneHeldBackIsTimedFromWhenItWasSent(TestClusters clusters) throws Exception {
        String t = ClusterData.unique("lane_timing");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + t + " (id int)");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect("postgres"); Statement s = c.createStatement()) {
            proxy.server().routing().start("test", null);
            Queue<Timed> seen = listen(proxy.server().migration());
            c.setAutoCommit(false);
            s.execute("insert into " + t + " values (1)");
            s.execute("select pg_sleep(" + HELD.toMillis() / 1000.0 + ")");
            c.commit();
            await("green's answers to the transaction's units").until(() -> followerTimes(seen).size() >= 2);
            await("green's commit").until(() -> ClusterData.number(clusters.green(), "select count(*) from " + t) == 1);
            assertThat(followerTimes(seen)).as("green's latencies, in ns, for the INSERT held back %d ms",
                    HELD.toMillis()).allSatisfy(nanos -> assertThat(nanos).isLessThan(WELL_UNDER.toNanos()));
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * An autocommit read green fails after 3 s is retried on blue: blue's latency is the retry's alone.
     * Green has the table as a view whose function sleeps and then raises.
     */
    @Test
    void aReadRetriedOnBlueIsTimedFromTheRetry(TestClusters clusters) throws Exception {
        String t = ClusterData.unique("retry_timing");
        clusters.blue().execute("postgres", "create table " + t + " (id int)", "insert into " + t + " values (1), (2)");
        clusters.green().execute("postgres",
                "create function " + t + "_slow() returns setof int language plpgsql as $$ begin perform pg_sleep("
                        + HELD.toMillis() / 1000.0 + "); raise exception 'green is slow, then fails'; end $$",
                "create view " + t + " as select id from " + t + "_slow() as id");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            Queue<Timed> seen = listen(proxy.server().migration());
            long retriesBefore = proxy.server().migration().readRetries();
            try (Connection c = proxy.connect("postgres"); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("select count(*) from " + t)) {
                rs.next();
                assertThat(rs.getInt(1)).as("blue's answer").isEqualTo(2);
            }
            assertThat(proxy.server().migration().readRetries()).isEqualTo(retriesBefore + 1);
            List<Timed> blueReads = seen.stream().filter(x -> x.cluster() == ClusterRole.BLUE && x.kind().equals("read")).toList();
            assertThat(blueReads).as("blue's read latency, after green's attempt of %d ms", HELD.toMillis()).hasSize(1);
            assertThat(blueReads.getFirst().nanos()).isLessThan(WELL_UNDER.toNanos());
        }
    }

    private static List<Long> followerTimes(Queue<Timed> seen) {
        return seen.stream().filter(x -> x.cluster() == ClusterRole.GREEN && x.kind().equals("follower"))
                .map(Timed::nanos).toList();
    }
}
