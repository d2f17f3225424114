package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.BgctlRun.bgctl;
import static dev.bluegreen.proxy.it.ClusterData.onBoth;
import static dev.bluegreen.proxy.it.ClusterData.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.HostPort;
import dev.bluegreen.config.Peering;
import dev.bluegreen.config.Routing;
import dev.bluegreen.config.StateStoreConfig;
import dev.bluegreen.config.TlsMode;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.admin.AdminToken;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Several proxy instances share one {@code postgres} state store (DESIGN §7): a rollback sent to one
 * reaches the other's sessions within moments, and a change of writer waits for the write units of
 * both — or gives up naming the instance and session that held it.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class TwoInstancesIT {

    private static final String TOKEN = "two-instances";

    private static StateStoreConfig sharedStore(PgCluster host, String database) {
        Cluster cluster = new Cluster("state_store", "127.0.0.1", host.port(), database, Map.of(), TlsMode.DISABLE, null,
                host.superuser(), null);
        // neither instance stops while the other counts on it: an instance timeout well past a stalled heartbeat on
        // a loaded machine, or the barrier would pass over an instance that is alive
        return new StateStoreConfig(StateStoreConfig.Kind.POSTGRES, cluster, Duration.ofMillis(200),
                Duration.ofSeconds(15));
    }

    private static TestProxy instance(PgCluster blue, PgCluster green, StateStoreConfig store) throws Exception {
        // the second cutover waits 1.5 to 2 s for a held transaction, then both instances drain and the change is
        // saved in the postgres store before the barrier's deadline: 5 s leaves room on a loaded machine
        return TestProxy.in(blue).green(green).stateStore(store).routing(Routing.defaults().withWriteBarrierTimeout(Duration.ofSeconds(5)))
                .adminToken(AdminToken.of(TOKEN)).start();
    }

    /**
     * An instance without green that shares the store with one that has it cannot carry out dual-write: the
     * writes made through it would never reach green. When the other starts, it reports green out of sync
     * (weight 0, no cutover) instead of relaying to blue alone while green passes for in sync.
     */
    @Test
    void anInstanceWithoutGreenReportsGreenOutOfSyncWhenAnotherStartsDualWrite(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        String database = unique("bg_state");
        blue.execute("postgres", "create database " + database);
        StateStoreConfig store = sharedStore(blue, database);
        try (TestProxy withGreen = instance(blue, clusters.green(), store);
             TestProxy blueOnly = TestProxy.in(blue).stateStore(store).adminToken(AdminToken.of(TOKEN)).start()) {
            withGreen.server().routing().start("test", null);

            await().atMost(Duration.ofSeconds(10)).until(() -> !withGreen.server().routing().current().followerInSync());
            assertThat(withGreen.server().routing().history().getLast().reason())
                    .contains("this instance has no green cluster configured");
            assertThat(blueOnly.server().routing().current().followerInSync()).isFalse();
        }
    }

    @Test
    void aRollbackSentToOneInstanceReachesTheOthersSessionsAndAChangeOfWriterWaitsForBoth(TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String database = unique("bg_state");
        blue.execute("postgres", "create database " + database);
        String table = unique("two_items");
        onBoth(blue, green, "create table " + table + " (id int primary key)");
        StateStoreConfig store = sharedStore(blue, database);
        try (TestProxy a = instance(blue, green, store); TestProxy b = instance(blue, green, store);
             PortReader onA = new PortReader(a, blue); PortReader onB = new PortReader(b, blue)) {
            AdminHttp apiA = new AdminHttp(a.server().adminAddress(), TOKEN);
            AdminHttp apiB = new AdminHttp(b.server().adminAddress(), TOKEN);

            apiA.command("start", null);
            apiA.command("set-weight", "{\"weight\": 100}");
            await().atMost(Duration.ofSeconds(5)).until(() -> apiB.state().path("weight").asInt() == 100);
            await().atMost(Duration.ofSeconds(10)).until(() -> onA.lastPort() == green.port() && onB.lastPort() == green.port());

            BgctlRun.Result rollback = bgctl(a.server().adminAddress(), TOKEN, "rollback", "--reason", "two instances");
            long returned = System.nanoTime();
            assertThat(rollback.exit()).as(rollback.err()).isZero();
            long sameInstance = onA.firstBlueAfter(returned);
            long otherInstance = onB.firstBlueAfter(returned);
            System.out.printf("after bgctl rollback returned: first unit served by blue on the same instance after %.2f ms,"
                    + " on the other instance after %.2f ms%n", sameInstance / 1e6, otherInstance / 1e6);
            assertThat(Duration.ofNanos(otherInstance)).isLessThan(Duration.ofSeconds(5)); // the change is polled for
            assertThat(apiB.state().path("epoch")).isEqualTo(apiA.state().path("epoch"));

            apiA.command("set-weight", "{\"weight\": 100}");
            await().atMost(Duration.ofSeconds(5)).until(() -> apiB.state().path("weight").asInt() == 100);
            try (Connection held = b.connect(blue.superuser()); Statement s = held.createStatement()) {
                held.setAutoCommit(false);
                s.execute("insert into " + table + " values (1)");

                AdminHttp.Answer timedOut = apiA.post("cutover", null);

                assertThat(timedOut.status()).isEqualTo(409);
                assertThat(timedOut.body().path("error").asText()).contains("write barrier timed out")
                        .contains(b.server().routing().instance()).contains("session");
                assertThat(apiA.state().path("leader").asText()).isEqualTo("blue");
                assertThat(apiB.state().path("leader").asText()).isEqualTo("blue");

                CompletableFuture<AdminHttp.Answer> cutover = apiA.postAsync("cutover", null);
                await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> !cutover.isDone());
                held.commit(); // B's write unit ends: both instances have drained, the cutover goes ahead
                assertThat(cutover.get().status()).as("%s", cutover.get().body()).isEqualTo(200);
            }
            assertThat(apiA.state().path("leader").asText()).isEqualTo("green");
            await().atMost(Duration.ofSeconds(5)).until(() -> apiB.state().path("leader").asText().equals("green"));
            assertThat(ClusterData.number(blue, "select count(*) from " + table)).isEqualTo(1);
            assertThat(ClusterData.number(green, "select count(*) from " + table)).isEqualTo(1);
            assertThat(onA.errors()).isEmpty();
            assertThat(onB.errors()).isEmpty();
        }
    }

    /**
     * One session reading, as fast as it can, which cluster answers it ({@code current_setting('port')}):
     * when each answer completed, and from which port.
     */
    private static final class PortReader implements AutoCloseable {
        private record Answer(long completedNanos, int port) {}

        private final ConcurrentLinkedQueue<Answer> answers = new ConcurrentLinkedQueue<>();
        private final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean stopping = new AtomicBoolean();
        private final CompletableFuture<Void> done;
        private final int bluePort;
        private volatile int lastPort;

        PortReader(TestProxy proxy, PgCluster blue) {
            this.bluePort = blue.port();
            // a thread of its own: the common pool may have one worker, which the HTTP client needs too
            done = new CompletableFuture<>();
            Thread.ofPlatform().daemon().name("port-reader").start(() -> {
                try (Connection c = proxy.connect(blue.superuser()); Statement s = c.createStatement()) {
                    while (!stopping.get()) {
                        try (ResultSet rs = s.executeQuery("select current_setting('port')")) {
                            rs.next();
                            lastPort = rs.getInt(1);
                            answers.add(new Answer(System.nanoTime(), lastPort));
                        }
                    }
                } catch (SQLException e) {
                    errors.add(e.getMessage());
                } finally {
                    done.complete(null);
                }
            });
        }

        int lastPort() {
            return lastPort;
        }

        /** Nanoseconds from {@code since} to the first answer blue gave after it. */
        long firstBlueAfter(long since) {
            await().atMost(Duration.ofSeconds(10)).until(() -> answers.stream()
                    .anyMatch(a -> a.completedNanos() >= since && a.port() == bluePort));
            return answers.stream().filter(a -> a.completedNanos() >= since && a.port() == bluePort)
                    .mapToLong(Answer::completedNanos).min().orElseThrow() - since;
        }

        List<String> errors() {
            return List.copyOf(errors);
        }

        @Override
        public void close() throws Exception {
            stopping.set(true);
            done.get();
        }
    }

    /**
     * A cancel opens a connection of its own, which a load balancer may hand to another instance than the
     * session's: with peering, that instance forwards it to the one whose key it is. Before, it was dropped
     * without a word, so behind a balancer most cancels (pgjdbc's query timeout, psql's Ctrl-C) did nothing.
     */
    @Test
    void aCancelSentToAnotherInstanceReachesTheSessionItsKeyNames(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        int portA = FreePorts.next();
        int portB = FreePorts.next();
        try (TestProxy a = TestProxy.in(blue).listenPort(portA)
                     .peering(new Peering(1, Map.of(2, new HostPort("127.0.0.1", portB)))).start();
             TestProxy b = TestProxy.in(blue).listenPort(portB)
                     .peering(new Peering(2, Map.of(1, new HostPort("127.0.0.1", portA)))).start();
             RawClient client = new RawClient(a.port())) {
            client.startup(Map.of("user", blue.superuser(), "database", "postgres"));
            byte[] key = client.readUntil('K').body();
            client.readUntil('Z');
            String sleep = "select pg_sleep(60) /* " + unique("forwarded_cancel") + " */"; // not another test's sleep
            client.send(RawClient.query(sleep));
            await().until(() -> ClusterData.number(blue, "select count(*) from pg_stat_activity where state = 'active'"
                    + " and query = '" + sleep + "'") == 1);

            RawClient.cancel(b.port(), key);

            RawClient.Message error = client.readUntil('E');
            assertThat(error.sqlState()).isEqualTo("57014");
            assertThat(client.readUntil('Z').type()).isEqualTo('Z');
        }
    }
}
