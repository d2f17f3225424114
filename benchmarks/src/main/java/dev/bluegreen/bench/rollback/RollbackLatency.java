package dev.bluegreen.bench.rollback;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bluegreen.config.BluegreenConfig;
import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.Health;
import dev.bluegreen.config.HostPort;
import dev.bluegreen.config.Limits;
import dev.bluegreen.config.Routing;
import dev.bluegreen.config.StateStoreConfig;
import dev.bluegreen.config.Timeouts;
import dev.bluegreen.config.TlsMode;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.proxy.admin.AdminToken;
import dev.bluegreen.proxy.server.ProxyServer;
import io.netty.util.ResourceLeakDetector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How fast a rollback takes effect (issue: control plane): two proxy instances share a {@code postgres}
 * state store; one session on each reads, as fast as it can, which cluster answers it. Each round moves
 * the weight to 100, waits until both sessions are served by green, sends {@code rollback} to the first
 * instance and measures, from the moment the command's HTTP answer arrived (when {@code bgctl rollback}
 * returns), how long until each session's first answer from blue. Prints the median, 90th percentile and
 * maximum over the rounds for the same instance and for the other one.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.bluegreen.bench.rollback.RollbackLatency [--rounds N]
 * </pre>
 */
public final class RollbackLatency {

    private static final String TOKEN = "rollback-latency";
    private static final ObjectMapper JSON = new ObjectMapper();

    private RollbackLatency() {}

    public static void main(String[] args) throws Exception {
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
        int rounds = args.length == 2 && args[0].equals("--rounds") ? Integer.parseInt(args[1]) : 30;
        Path work = Files.createDirectories(Path.of("benchmarks", "target", "rollback-latency").toAbsolutePath());
        try (PgCluster blue = cluster("blue", "16.9.0", work); PgCluster green = cluster("green", "18.1.0", work)) {
            blue.execute("postgres", "create database bluegreen_state");
            StateStoreConfig store = new StateStoreConfig(StateStoreConfig.Kind.POSTGRES,
                    new Cluster("state_store", "127.0.0.1", blue.port(), "bluegreen_state", Map.of(), TlsMode.DISABLE,
                            null, blue.superuser(), null),
                    StateStoreConfig.DEFAULT_HEARTBEAT, StateStoreConfig.DEFAULT_INSTANCE_TIMEOUT);
            try (ProxyServer first = proxy(blue, green, store, work.resolve("a"));
                 ProxyServer second = proxy(blue, green, store, work.resolve("b"));
                 Reader onFirst = new Reader(first, blue);
                 Reader onSecond = new Reader(second, blue)) {
                Admin admin = new Admin(first.adminAddress().getPort());
                admin.post("start", null);
                List<Long> same = new ArrayList<>();
                List<Long> other = new ArrayList<>();
                for (int round = 0; round < rounds; round++) {
                    admin.post("set-weight", "{\"weight\": 100}");
                    onFirst.awaitPort(green.port());
                    onSecond.awaitPort(green.port());
                    onFirst.watchFor(blue.port());
                    onSecond.watchFor(blue.port());
                    admin.post("rollback", "{\"reason\": \"measuring\"}");
                    long returned = System.nanoTime();
                    same.add(onFirst.sinceFirstAnswer(returned));
                    other.add(onSecond.sinceFirstAnswer(returned));
                }
                System.out.printf("rollback to the first unit served by blue, %d rounds, two instances on a postgres"
                        + " state store (heartbeat %d ms):%n", rounds, StateStoreConfig.DEFAULT_HEARTBEAT.toMillis());
                System.out.println(row("same instance", same));
                System.out.println(row("other instance", other));
            }
        }
    }

    private static String row(String label, List<Long> nanos) {
        List<Long> sorted = new ArrayList<>(nanos);
        Collections.sort(sorted);
        return String.format("  %-15s median %6.2f ms   p90 %6.2f ms   max %6.2f ms", label,
                sorted.get(sorted.size() / 2) / 1e6, sorted.get((int) Math.ceil(sorted.size() * 0.9) - 1) / 1e6,
                sorted.getLast() / 1e6);
    }

    private static PgCluster cluster(String name, String version, Path work) throws Exception {
        return PgCluster.builder().name(name).version(version).dataDir(work.resolve(name)).wipeDataDir()
                .setting("fsync", "off").start();
    }

    private static ProxyServer proxy(PgCluster blue, PgCluster green, StateStoreConfig store, Path stateDir)
            throws Exception {
        Cluster b = new Cluster("blue", "127.0.0.1", blue.port(), null, Map.of(), TlsMode.DISABLE, null, null, null);
        Cluster g = new Cluster("green", "127.0.0.1", green.port(), null, Map.of(), TlsMode.DISABLE, null, null, null);
        BluegreenConfig config = new BluegreenConfig(new HostPort("127.0.0.1", 0), b, g, new HostPort("127.0.0.1", 0),
                List.of(), null, Limits.defaults(), Timeouts.defaults(), Files.createDirectories(stateDir),
                Routing.defaults(), Health.defaults(), store);
        return ProxyServer.start(config, AdminToken.of(TOKEN));
    }

    /** The admin API, as bgctl calls it. */
    private record Admin(int port) {
        private static final HttpClient HTTP = HttpClient.newHttpClient();

        JsonNode post(String command, String body) throws Exception {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/commands/" + command))
                    .header("Authorization", "Bearer " + TOKEN)
                    .POST(body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                    .build();
            HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException(command + ": " + response.statusCode() + " " + response.body());
            }
            return JSON.readTree(response.body());
        }
    }

    /** One session asking which cluster answers it, in a loop, remembering when blue first answered. */
    private static final class Reader implements AutoCloseable {
        private final AtomicBoolean stopping = new AtomicBoolean();
        private final AtomicInteger lastPort = new AtomicInteger();
        private final AtomicLong firstAfter = new AtomicLong(-1);
        private final AtomicInteger watchedPort = new AtomicInteger();
        private final Thread thread;
        private volatile SQLException failure;

        Reader(ProxyServer proxy, PgCluster blue) {
            String url = "jdbc:postgresql://127.0.0.1:" + proxy.address().getPort() + "/postgres?user=" + blue.superuser();
            thread = Thread.ofPlatform().daemon().name("reader").start(() -> {
                try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                    while (!stopping.get()) {
                        try (ResultSet rs = s.executeQuery("select current_setting('port')")) {
                            rs.next();
                            int port = rs.getInt(1);
                            long now = System.nanoTime();
                            lastPort.set(port);
                            if (port == watchedPort.get()) {
                                firstAfter.compareAndSet(-1, now);
                            }
                        }
                    }
                } catch (SQLException e) {
                    failure = e;
                }
            });
        }

        void awaitPort(int port) throws Exception {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (lastPort.get() != port) {
                check(deadline);
                Thread.onSpinWait();
            }
        }

        /** From now on, remembers when {@code port} first answers. */
        void watchFor(int port) {
            firstAfter.set(-1);
            watchedPort.set(port);
        }

        /**
         * Nanoseconds from {@code since} to the watched port's first answer; 0 when it answered before
         * {@code since} (the change took effect before the command's answer arrived).
         */
        long sinceFirstAnswer(long since) throws Exception {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (firstAfter.get() < 0) {
                check(deadline);
                Thread.onSpinWait();
            }
            watchedPort.set(0);
            return Math.max(0, firstAfter.get() - since);
        }

        private void check(long deadline) throws Exception {
            if (failure != null) {
                throw failure;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no answer from the expected cluster within 10 s");
            }
        }

        @Override
        public void close() throws InterruptedException {
            stopping.set(true);
            thread.join(5000);
        }
    }
}
