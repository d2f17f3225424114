package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.admin.AdminToken;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.routing.ClusterRole;
import dev.bluegreen.proxy.server.ProxyServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin HTTP API of a running proxy in front of real clusters, driven as bgctl and scripts drive it:
 * java.net.http with a bearer token, JSON in and out, commands that change how real traffic is routed.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class AdminApiIT {

    private static final String TOKEN = "it-" + UUID.randomUUID();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static URI uri(TestProxy proxy, String path) {
        return uri(proxy.server().adminAddress().getPort(), path);
    }

    private static URI uri(int port, String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    private HttpResponse<String> get(URI uri, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET();
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(TestProxy proxy, String path) throws Exception {
        return get(uri(proxy, path), TOKEN);
    }

    private CompletableFuture<HttpResponse<String>> postAsync(TestProxy proxy, String command, String body) {
        HttpRequest request = HttpRequest.newBuilder(uri(proxy, "/api/v1/commands/" + command))
                .timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json")
                .POST(body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .build();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(TestProxy proxy, String command, String body) {
        return postAsync(proxy, command, body).join();
    }

    private static JsonNode json(HttpResponse<String> response) throws IOException {
        assertThat(response.headers().firstValue("content-type")).hasValue("application/json; charset=utf-8");
        return JSON.readTree(response.body());
    }

    private static TestProxy.Builder proxyWithGreen(TestClusters clusters) {
        return TestProxy.in(clusters.blue()).green(clusters.green()).adminToken(AdminToken.of(TOKEN));
    }

    private static long readThroughTheProxy(TestProxy proxy, String table) throws Exception {
        try (Connection c = proxy.connect("postgres"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select count(*) from " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void requestsWithoutOrWithAWrongTokenAreRefusedAndAudited(TestClusters clusters) throws Exception {
        try (TestProxy proxy = proxyWithGreen(clusters).start()) {
            HttpResponse<String> none = get(uri(proxy, "/api/v1/state"), null);
            HttpResponse<String> wrong = get(uri(proxy, "/api/v1/history"), "not-" + TOKEN);
            HttpResponse<String> wrongCommand = http.send(HttpRequest.newBuilder(uri(proxy, "/api/v1/commands/start"))
                    .header("Authorization", "Bearer guess").POST(HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.ofString());

            assertThat(none.statusCode()).isEqualTo(401);
            assertThat(json(none).get("error").asText()).isEqualTo("a valid bearer token is required");
            assertThat(none.headers().firstValue("www-authenticate")).hasValue("Bearer realm=\"bluegreen\"");
            assertThat(wrong.statusCode()).isEqualTo(401);
            assertThat(wrongCommand.statusCode()).isEqualTo(401);
            assertThat(proxy.server().routing().current().epoch()).isEqualTo(1);

            JsonNode audit = json(get(proxy, "/api/v1/audit"));
            assertThat(audit).hasSize(3);
            assertThat(audit.get(0).get("remote").asText()).isEqualTo("127.0.0.1");
            assertThat(audit.get(0).get("method").asText()).isEqualTo("GET");
            assertThat(audit.get(0).get("path").asText()).isEqualTo("/api/v1/state");
            assertThat(audit.get(0).get("status").asInt()).isEqualTo(401);
            assertThat(audit.get(0).get("outcome").asText()).isEqualTo("no bearer token");
            assertThat(audit.get(1).get("path").asText()).isEqualTo("/api/v1/history");
            assertThat(audit.get(1).get("outcome").asText()).isEqualTo("wrong bearer token");
            assertThat(audit.get(2).get("method").asText()).isEqualTo("POST");
            assertThat(audit.toString()).doesNotContain("guess", "not-" + TOKEN);
        }
    }

    @Test
    void healthIsOpenAndMetricsNeedTheToken(TestClusters clusters) throws Exception {
        String table = ClusterData.unique("admin_metrics");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + table + " (id int primary key)");
        try (TestProxy proxy = proxyWithGreen(clusters).start()) {
            readThroughTheProxy(proxy, table);

            HttpResponse<String> health = get(uri(proxy, "/health"), null);
            HttpResponse<String> refused = get(uri(proxy, "/metrics"), null);
            HttpResponse<String> metrics = get(proxy, "/metrics");

            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(json(health).get("status").asText()).isEqualTo("ok");
            assertThat(refused.statusCode()).isEqualTo(401);
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.headers().firstValue("content-type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
            assertThat(metrics.body()).contains("bluegreen_weight 0.0", "bluegreen_epoch 1.0",
                    "bluegreen_leader{cluster=\"blue\"} 1.0", "bluegreen_leader{cluster=\"green\"} 0.0",
                    "bluegreen_phase{phase=\"blue\"} 1.0", "bluegreen_follower_in_sync 0.0",
                    "bluegreen_units_served_total{cluster=\"green\"} 0.0", "bluegreen_divergences_total 0.0",
                    "bluegreen_client_sessions ");
        }
    }

    @Test
    void badBodiesUnknownPathsAndWrongMethodsAreRefusedWithJsonErrors(TestClusters clusters) throws Exception {
        try (TestProxy proxy = proxyWithGreen(clusters).start()) {
            HttpResponse<String> malformed = post(proxy, "start", "{\"actor\": ");
            HttpResponse<String> noWeight = post(proxy, "set-weight", "{}");
            HttpResponse<String> badWeight = post(proxy, "set-weight", "{\"weight\": 150}");
            HttpResponse<String> unknownField = post(proxy, "rollback", "{\"resaon\": \"typo\"}");
            HttpResponse<String> unknownPath = get(proxy, "/api/v1/everything");
            HttpResponse<String> unknownCommand = post(proxy, "launch", null);
            HttpResponse<String> wrongMethod = get(proxy, "/api/v1/commands/start");

            assertThat(malformed.statusCode()).isEqualTo(400);
            assertThat(json(malformed).get("error").asText()).startsWith("malformed JSON");
            assertThat(noWeight.statusCode()).isEqualTo(400);
            assertThat(json(noWeight).get("error").asText()).isEqualTo("set-weight needs \"weight\": 0-100");
            assertThat(badWeight.statusCode()).isEqualTo(400);
            assertThat(json(badWeight).get("error").asText()).isEqualTo("\"weight\" must be a whole number from 0 to 100");
            assertThat(unknownField.statusCode()).isEqualTo(400);
            assertThat(unknownPath.statusCode()).isEqualTo(404);
            assertThat(json(unknownPath).get("error").asText()).isEqualTo("no such resource: /api/v1/everything");
            assertThat(unknownCommand.statusCode()).isEqualTo(404);
            assertThat(wrongMethod.statusCode()).isEqualTo(405);
            assertThat(wrongMethod.headers().firstValue("allow")).hasValue("POST");
            assertThat(proxy.server().routing().history()).isEmpty();
        }
    }

    @Test
    void startSetWeightAndRollbackThroughTheApiRouteRealTraffic(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = ClusterData.unique("admin_journey");
        ClusterData.onBoth(blue, green, "create table " + table + " (id int primary key)");
        try (TestProxy proxy = proxyWithGreen(clusters).start();
             Connection app = proxy.connect("postgres")) {
            HttpResponse<String> started = post(proxy, "start", "{\"actor\": \"admin-it\"}");
            app.createStatement().execute("insert into " + table + " values (1)");
            // at weight 0 the client has its answer once blue commits; green commits just after
            await("the write reached green").atMost(Duration.ofSeconds(10))
                    .until(() -> ClusterData.number(green, "select count(*) from " + table) == 1);
            await("the session's write unit over").until(() -> proxy.server().routing().barrier().holders().isEmpty());
            HttpResponse<String> weighted = post(proxy, "set-weight", "{\"weight\": 50}");
            JsonNode state = json(get(proxy, "/api/v1/state"));

            assertThat(started.statusCode()).isEqualTo(200);
            assertThat(json(started).get("phase").asText()).isEqualTo("dual");
            assertThat(weighted.statusCode()).isEqualTo(200);
            assertThat(state.get("epoch").asLong()).isEqualTo(3);
            assertThat(state.get("phase").asText()).isEqualTo("dual");
            assertThat(state.get("leader").asText()).isEqualTo("blue");
            assertThat(state.get("followerWrites").asText()).isEqualTo("sync");
            assertThat(state.get("weight").asInt()).isEqualTo(50);
            assertThat(state.get("followerInSync").asBoolean()).isTrue();
            assertThat(state.get("frozen").asBoolean()).isFalse();
            assertThat(state.get("finalized").asBoolean()).isFalse();
            assertThat(state.get("sessions").asInt()).isGreaterThanOrEqualTo(1);
            assertThat(state.get("barrierHolders")).isEmpty();

            // at 100 green serves every read; after the rollback blue serves them all again
            post(proxy, "set-weight", "{\"weight\": 100}");
            long greenBefore = json(get(proxy, "/api/v1/stats")).get("unitsServedGreen").asLong();
            assertThat(readThroughTheProxy(proxy, table)).isEqualTo(1);
            long greenAfter = json(get(proxy, "/api/v1/stats")).get("unitsServedGreen").asLong();
            assertThat(greenAfter).isGreaterThan(greenBefore);

            HttpResponse<String> rolledBack = post(proxy, "rollback", "{\"reason\": \"latency on green\", \"actor\": \"admin-it\"}");
            readThroughTheProxy(proxy, table);

            assertThat(rolledBack.statusCode()).isEqualTo(200);
            assertThat(json(rolledBack).get("weight").asInt()).isZero();
            assertThat(json(get(proxy, "/api/v1/stats")).get("unitsServedGreen").asLong()).isEqualTo(greenAfter);
            JsonNode history = json(get(proxy, "/api/v1/history"));
            assertThat(history).hasSize(4);
            JsonNode last = history.get(3);
            assertThat(last.get("command").asText()).isEqualTo("rollback");
            assertThat(last.get("actor").asText()).isEqualTo("admin-it");
            assertThat(last.get("reason").asText()).isEqualTo("latency on green");
            assertThat(last.get("state").get("weight").asInt()).isZero();
            assertThat(get(proxy, "/metrics").body()).contains("bluegreen_weight 0.0", "bluegreen_epoch 5.0");
            JsonNode divergences = json(get(proxy, "/api/v1/divergences"));
            assertThat(divergences.get("divergences")).isEmpty();
            assertThat(divergences.get("nonDeterministic").isObject()).isTrue();
        }
    }

    @Test
    void aRefusedCommandIsAConflictWithTheProxysReason(TestClusters clusters) throws Exception {
        try (TestProxy proxy = proxyWithGreen(clusters).start()) {
            HttpResponse<String> beforeStart = post(proxy, "set-weight", "{\"weight\": 50}");
            post(proxy, "start", null);
            post(proxy, "set-weight", "{\"weight\": 50}");
            HttpResponse<String> cutoverAtFifty = post(proxy, "cutover", null);

            assertThat(beforeStart.statusCode()).isEqualTo(409);
            assertThat(json(beforeStart).get("error").asText())
                    .isEqualTo("green may serve reads only with sync dual-write on (start first)");
            assertThat(cutoverAtFifty.statusCode()).isEqualTo(409);
            assertThat(json(cutoverAtFifty).get("error").asText()).isEqualTo("cutover needs weight 100 (now 50)");
            assertThat(proxy.server().routing().current().leader().name()).isEqualTo("BLUE");
            JsonNode audit = json(get(proxy, "/api/v1/audit"));
            assertThat(audit.get(audit.size() - 1).get("outcome").asText())
                    .isEqualTo("refused: cutover needs weight 100 (now 50)");
        }
    }

    /**
     * A proxy with no green cluster refuses to start dual-write. Before, it accepted start (and then set-weight
     * and cutover), saved a state that needs green, and refused to start again on it.
     */
    @Test
    void startWithoutAGreenClusterIsRefused(TestClusters clusters) throws Exception {
        try (TestProxy proxy = TestProxy.in(clusters.blue()).adminToken(AdminToken.of(TOKEN)).start()) {
            for (String command : new String[] {"start", "shadow"}) {
                HttpResponse<String> refused = post(proxy, command, null);

                assertThat(refused.statusCode()).isEqualTo(409);
                assertThat(json(refused).get("error").asText()).endsWith("needs a green cluster, and this proxy has none"
                        + " configured (clusters.green or --green)");
            }
            assertThat(proxy.server().routing().current().dualWrite()).isFalse();
            assertThat(proxy.server().routing().current().epoch()).isEqualTo(1);
        }
    }

    /**
     * Green configured as blue reached another way (a port forward here; a pooler or a second DNS name alike),
     * which the configuration's own check cannot see: start and shadow are refused with the reason, the state
     * stays blue alone, and a write through the proxy is applied once.
     */
    @Test
    void startIsRefusedWhenGreenIsBlueReachedAnotherWay(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        String table = ClusterData.unique("admin_one_server");
        blue.execute("postgres", "create table " + table + " (id int)");
        try (InterceptingRelay forward = new InterceptingRelay(blue.port(), "select 'never sent'");
             TestProxy proxy = TestProxy.in(blue).green(blue).greenAt("127.0.0.1", forward.port())
                     .backendLogin(blue.superuser(), blue.superuserPassword()).adminToken(AdminToken.of(TOKEN)).start()) {
            for (String command : new String[] {"start", "shadow"}) {
                HttpResponse<String> refused = post(proxy, command, null);

                assertThat(refused.statusCode()).isEqualTo(409);
                assertThat(json(refused).get("error").asText())
                        .startsWith("blue (127.0.0.1:" + blue.port() + ") and green (127.0.0.1:" + forward.port()
                                + ") are one server (")
                        .endsWith("), and client database postgres reaches database postgres there through both;"
                                + " dual-write would apply writes twice to that database: point green (clusters.green or"
                                + " --green) at the new cluster, or give each side a database of its own"
                                + " (clusters.*.database, clusters.*.databases)");
            }
            try (Connection c = proxy.connect(blue.superuser(), blue.superuserPassword(), new Properties());
                 Statement s = c.createStatement()) {
                s.execute("insert into " + table + " values (1)");
            }

            assertThat(proxy.server().routing().current().dualWrite()).isFalse();
            assertThat(proxy.server().routing().current().epoch()).isEqualTo(1);
            assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)");
        }
    }

    /** One server holding both sides, each on a database of its own (a schema change tried out there): start goes ahead. */
    @Test
    void startGoesAheadOnOneServerWhenEachSideHasADatabaseOfItsOwn(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        String twin = ClusterData.unique("admin_twin_db");
        String table = ClusterData.unique("admin_two_dbs");
        blue.execute("postgres", "create database " + twin);
        try {
            blue.execute("postgres", "create table " + table + " (id int)");
            blue.execute(twin, "create table " + table + " (id int)");
            try (InterceptingRelay forward = new InterceptingRelay(blue.port(), "select 'never sent'");
                 TestProxy proxy = TestProxy.in(blue).green(blue).greenAt("127.0.0.1", forward.port())
                         .databasesOnEach("postgres", twin)
                         .backendLogin(blue.superuser(), blue.superuserPassword()).adminToken(AdminToken.of(TOKEN))
                         .start()) {
                HttpResponse<String> started = post(proxy, "start", null);
                try (Connection c = proxy.connect(blue.superuser(), blue.superuserPassword(), new Properties());
                     Statement s = c.createStatement()) {
                    s.execute("insert into " + table + " values (1)");
                }

                assertThat(started.statusCode()).isEqualTo(200);
                assertThat(ClusterData.contents(blue, table, "id")).isEqualTo("(1)");
                // at weight 0 the client has its answer at blue's commit; green commits right behind it
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    try (Connection onTwin = blue.connect(twin); Statement s = onTwin.createStatement();
                         ResultSet rs = s.executeQuery("select count(*) from " + table)) {
                        rs.next();
                        assertThat(rs.getLong(1)).isEqualTo(1);
                    }
                });
                proxy.stillAlike();
            }
        } finally {
            blue.execute("postgres", "drop database " + twin + " with (force)");
        }
    }

    /**
     * No cluster names a user, so start cannot log in to ask whether blue and green share a database: dual-write
     * begins, and bgctl tells the operator the check was not made.
     */
    @Test
    void aStartThatCouldNotCheckForOneDatabaseGoesAheadAndBgctlSaysSo(TestClusters clusters) throws Exception {
        String table = ClusterData.unique("admin_unchecked");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + table + " (id int primary key)");
        try (TestProxy proxy = proxyWithGreen(clusters).start()) {
            BgctlRun.Result started = BgctlRun.bgctl(proxy.server().adminAddress(), TOKEN, "start");
            try (Connection c = proxy.connect(clusters.blue().superuser()); Statement s = c.createStatement()) {
                s.execute("insert into " + table + " values (1)");
            }

            assertThat(started.exit()).isZero();
            assertThat(started.out()).startsWith("start: done (epoch 2, phase dual, leader blue, weight 0");
            assertThat(started.err().strip()).isEqualTo("bgctl: warning: dual-write began without checking that blue"
                    + " and green share no database: clusters.blue names no user to log in as (docs/configuration.md)");
            assertThat(ClusterData.contents(clusters.blue(), table, "id")).isEqualTo("(1)");
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(ClusterData.contents(clusters.green(), table, "id")).isEqualTo("(1)"));

            // at weight 0 with blue leading, a rollback has nothing to do: it says so, and records nothing
            BgctlRun.Result rollback = BgctlRun.bgctl(proxy.server().adminAddress(), TOKEN, "rollback", "--reason", "sure?");
            assertThat(rollback.exit()).as(rollback.err()).isZero();
            assertThat(rollback.out()).startsWith("rollback: done (epoch 2, phase dual, leader blue, weight 0");
            assertThat(rollback.err().strip()).isEqualTo("bgctl: warning: nothing to roll back: blue leads and green"
                    + " serves no reads (epoch 2 stays in force, nothing recorded)");
            assertThat(proxy.server().routing().history()).extracting(RoutingControl.HistoryEntry::command)
                    .containsExactly("start");
        }
    }

    @Test
    void aCommandWaitingOnTheWriteBarrierLeavesTheApiAnswering(TestClusters clusters) throws Exception {
        String table = ClusterData.unique("admin_barrier");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + table + " (id int primary key)");
        try (TestProxy proxy = proxyWithGreen(clusters).routing(Routing.defaults().withWriteBarrierTimeout(Duration.ofSeconds(3))).start();
             Connection app = proxy.connect("postgres")) {
            app.setAutoCommit(false);
            app.createStatement().execute("insert into " + table + " values (1)");

            // the open transaction holds the barrier: start waits for it, then gives up
            CompletableFuture<HttpResponse<String>> start = postAsync(proxy, "start", null);
            HttpResponse<String> state = get(proxy, "/api/v1/state");
            HttpResponse<String> health = get(uri(proxy, "/health"), null);
            boolean startStillWaiting = !start.isDone();
            HttpResponse<String> timedOut = start.join();

            assertThat(state.statusCode()).isEqualTo(200);
            assertThat(json(state).get("phase").asText()).isEqualTo("blue");
            assertThat(json(state).get("barrierHolders")).hasSize(1);
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(startStillWaiting).as("state and health answered while start waited").isTrue();
            assertThat(timedOut.statusCode()).isEqualTo(409);
            assertThat(json(timedOut).get("error").asText())
                    .startsWith("start did not happen: write barrier timed out after 3000 ms; held up by [");

            app.commit();
            HttpResponse<String> started = post(proxy, "start", null);

            assertThat(started.statusCode()).isEqualTo(200);
            assertThat(json(started).get("phase").asText()).isEqualTo("dual");
        }
    }

    /**
     * A rollback is instant even while a cutover waits for an open transaction to leave the write barrier:
     * it neither queues behind the cutover nor waits for the barrier; the cutover gives way and changes
     * nothing, and the transaction commits on both clusters.
     */
    @Test
    void aRollbackDoesNotWaitForACutoverWaitingOnTheWriteBarrier(TestClusters clusters) throws Exception {
        String table = ClusterData.unique("rollback_first");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + table + " (id int primary key)");
        try (TestProxy proxy = proxyWithGreen(clusters).routing(Routing.defaults().withWriteBarrierTimeout(Duration.ofSeconds(60))).start();
             Connection app = proxy.connect("postgres")) {
            assertThat(post(proxy, "start", null).statusCode()).isEqualTo(200);
            assertThat(post(proxy, "set-weight", "{\"weight\": 100}").statusCode()).isEqualTo(200);
            app.setAutoCommit(false);
            app.createStatement().execute("insert into " + table + " values (1)");

            CompletableFuture<HttpResponse<String>> cutover = postAsync(proxy, "cutover", null);
            await("the cutover waiting for the write barrier")
                    .until(() -> proxy.server().routing().barrier().closing());
            long asked = System.nanoTime();
            HttpResponse<String> rollback = post(proxy, "rollback", "{\"reason\": \"green is slow\"}");
            Duration took = Duration.ofNanos(System.nanoTime() - asked);
            HttpResponse<String> gaveWay = cutover.get(10, TimeUnit.SECONDS);

            assertThat(rollback.statusCode()).as(rollback.body()).isEqualTo(200);
            assertThat(json(rollback).get("weight").asInt()).isZero();
            assertThat(took).as("answered long before the 60 s barrier timeout").isLessThan(Duration.ofSeconds(10));
            assertThat(gaveWay.statusCode()).isEqualTo(409);
            assertThat(json(gaveWay).get("error").asText()).startsWith("cutover did not happen: it gave way to a rollback");
            assertThat(proxy.server().routing().current().leader()).isEqualTo(ClusterRole.BLUE);
            assertThat(proxy.server().routing().history()).extracting(RoutingControl.HistoryEntry::command)
                    .containsExactly("start", "set-weight 100", "rollback");

            app.commit();
            await("the write unit over").until(() -> proxy.server().routing().barrier().holders().isEmpty());
            assertThat(ClusterData.contents(clusters.blue(), table, "id")).isEqualTo("(1)");
            assertThat(ClusterData.contents(clusters.green(), table, "id")).isEqualTo("(1)");
        }
    }

    /**
     * Connections held open to the admin port (no token needed for that) are bounded, and cannot lock the
     * operator out: a new connection over the limit closes the one idle longest, and SQL sessions go on.
     * Before, it was answered 503 while the others were held, so 64 idle sockets kept bgctl rollback out.
     */
    @Test
    void adminConnectionsHeldOpenCannotLockTheOperatorOut(TestClusters clusters) throws Exception {
        try (TestProxy proxy = proxyWithGreen(clusters).start()) {
            InetSocketAddress admin = proxy.server().adminAddress();
            List<Socket> held = new ArrayList<>();
            try {
                for (int i = 0; i < 64; i++) {
                    Socket socket = new Socket(admin.getAddress(), admin.getPort());
                    socket.setSoTimeout(10_000);
                    held.add(socket);
                }
                assertThat(get(uri(proxy, "/api/v1/state"), TOKEN).statusCode()).isEqualTo(200);
                assertThat(held.getFirst().getInputStream().read()).as("the one idle longest was closed").isEqualTo(-1);
                try (Connection c = proxy.connect("postgres"); Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery("select 1")) {
                    assertThat(rs.next()).isTrue();
                }
            } finally {
                for (Socket socket : held) {
                    socket.close();
                }
            }
        }
    }

    /**
     * Requests pipelined on one admin connection are answered in order, one over the body limit too: its 413
     * waits for the start ahead of it, itself waiting for an open transaction to leave the write barrier.
     * Before, Netty's aggregator wrote its own 413 at once and closed the connection: the start went ahead,
     * and its answer was lost.
     */
    @Test
    void aBodyOverTheLimitPipelinedBehindAWaitingCommandIsAnsweredAfterIt(TestClusters clusters) throws Exception {
        String table = ClusterData.unique("admin_pipelined");
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + table + " (id int primary key)");
        try (TestProxy proxy = proxyWithGreen(clusters).start();
             Connection app = proxy.connect("postgres");
             Socket socket = new Socket(proxy.server().adminAddress().getAddress(), proxy.server().adminAddress().getPort())) {
            app.setAutoCommit(false);
            app.createStatement().execute("insert into " + table + " values (1)");
            socket.setSoTimeout(30_000);
            String start = "POST /api/v1/commands/start HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer " + TOKEN
                    + "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
            String oversized = "POST /api/v1/commands/set-weight HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer " + TOKEN
                    + "\r\nContent-Type: application/json\r\nContent-Length: 20000\r\n\r\n{\"weight\":";
            socket.getOutputStream().write((start + oversized).getBytes(StandardCharsets.US_ASCII));

            await("start waits for the open transaction").until(() -> proxy.server().routing().barrier().closing());
            app.commit();
            String answers = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);

            assertThat(answers).startsWith("HTTP/1.1 200 OK\r\n");
            int tooLarge = answers.indexOf("HTTP/1.1 413 Request Entity Too Large\r\n");
            assertThat(tooLarge).as(answers).isGreaterThan(answers.indexOf("\"phase\":\"dual\""));
            assertThat(answers.indexOf("\"phase\":\"dual\"")).as(answers).isPositive();
            assertThat(answers.substring(tooLarge)).contains("connection: close\r\n");
            assertThat(proxy.server().routing().current().weight()).isZero();
        }
    }

    /** A request without a valid token is answered, and its connection closed: only the token holds one open. */
    @Test
    void aConnectionWhoseRequestHadNoValidTokenIsClosedAfterTheAnswer(TestClusters clusters) throws Exception {
        try (TestProxy proxy = proxyWithGreen(clusters).start();
             Socket socket = new Socket(proxy.server().adminAddress().getAddress(), proxy.server().adminAddress().getPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write("GET /api/v1/state HTTP/1.1\r\nHost: proxy\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(answer).startsWith("HTTP/1.1 401").containsIgnoringCase("connection: close");
        }
    }

    @Test
    void withoutATokenTheProxyWritesAFreshOneOnlyItsOwnerCanRead(TestClusters clusters, @TempDir Path dir) throws Exception {
        assumeTrue(System.getenv(AdminToken.ENVIRONMENT_VARIABLE) == null, "a token in the environment wins");
        Path stateDir = dir.resolve("state");
        Cluster blue = new Cluster("blue", "127.0.0.1", clusters.blue().port(), null, Map.of(), TlsMode.DISABLE, null,
                null, null);
        BluegreenConfig config = new BluegreenConfig(new HostPort("127.0.0.1", 0), blue, null,
                new HostPort("127.0.0.1", 0), List.of(), null, Limits.defaults(), Timeouts.defaults(), stateDir,
                Routing.defaults(), Health.defaults(), StateStoreConfig.file());

        try (ProxyServer proxy = ProxyServer.start(config)) {
            Path file = stateDir.resolve(AdminToken.FILE_NAME);
            String token = Files.readString(file).strip();
            int port = proxy.adminAddress().getPort();

            assertThat(token).matches("[A-Za-z0-9_-]{43}");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
            assertThat(get(uri(port, "/api/v1/state"), token).statusCode()).isEqualTo(200);
            assertThat(get(uri(port, "/api/v1/state"), TOKEN).statusCode()).isEqualTo(401);
        }
    }
}
