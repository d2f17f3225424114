package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.BgctlRun.bgctl;
import static dev.bluegreen.proxy.it.ClusterData.onBoth;
import static dev.bluegreen.proxy.it.ClusterData.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bluegreen.config.Health;
import dev.bluegreen.config.HealthRule;
import dev.bluegreen.config.HealthRule.Action;
import dev.bluegreen.config.HealthRule.Comparison;
import dev.bluegreen.config.HealthRule.Metric;
import dev.bluegreen.config.Routing;
import dev.bluegreen.config.StickyKey;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.admin.AdminToken;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The proxy rolls back by itself (DESIGN §6): while a rollout plan holds green at half the reads, green
 * loses the application's SELECT privilege. Green's reads fail, blue answers them (no client sees an
 * error), the error-rate rule fires within its window and the proxy rolls back, leaving in the history
 * which rule fired with which figures. Below a rule's minimum samples the same failure rolls nothing
 * back and the plan holds. Green answering the same reads ten times slower than blue fires the latency
 * rule, which pauses the plan.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class AutomaticRollbackIT {

    private static final String TOKEN = "rollback-token";
    private static final Duration WINDOW = Duration.ofSeconds(5);

    private static PgCluster blue;
    private static PgCluster green;

    @BeforeAll
    static void clusters(TestClusters clusters) {
        blue = clusters.blue();
        green = clusters.green();
    }

    private static Health rules(int minSamples) {
        return new Health(WINDOW, List.of(
                new HealthRule("error_rate > 0.10", Metric.ERROR_RATE, Comparison.GREATER, 0.10, Action.ROLLBACK, minSamples),
                new HealthRule("divergences > 0", Metric.DIVERGENCES, Comparison.GREATER, 0, Action.ROLLBACK, 0)));
    }

    /** Reads spread by unit, not by session: every reader meets green at weight 50. */
    private static Routing perUnit() {
        Routing d = Routing.defaults();
        return new Routing(StickyKey.NONE, d.tenantParameter(), d.tenantPins(), d.writeBarrierTimeout(), d.writeFunctions(), d.readAfterWrite());
    }

    /** A role of the application's, not a superuser: privileges apply to it. */
    private static String[] schema(String role, String table) {
        return new String[] {
            "create role " + role + " login",
            "create table " + table + " (id int primary key, v text not null)",
            "insert into " + table + " select g, 'row ' || g from generate_series(1, 100) g",
            "grant select on " + table + " to " + role};
    }

    @Test
    void greenLosingAPrivilegeMidPlanIsRolledBackWithinTheWindowAndTheHistorySaysWhy() throws Exception {
        String role = unique("app");
        String table = unique("rb_items");
        onBoth(blue, green, schema(role, table));
        try (TestProxy proxy = TestProxy.in(blue).green(green).routing(perUnit()).health(rules(20))
                .adminToken(AdminToken.of(TOKEN)).start();
             Readers readers = new Readers(proxy, role, byId(table), 4)) {
            AdminHttp api = new AdminHttp(proxy.server().adminAddress(), TOKEN);
            api.command("start", null);
            assertThat(bgctl(proxy.server().adminAddress(), TOKEN, "rollout", "--steps", "50,100", "--bake", "10m").exit())
                    .isZero();
            long greenBefore = proxy.server().migration().unitsServedBy(ClusterRole.GREEN);
            readers.awaitReads(200);
            assertThat(proxy.server().migration().unitsServedBy(ClusterRole.GREEN))
                    .as("green serves reads at weight 50").isGreaterThan(greenBefore + 20);

            green.execute("postgres", "revoke select on " + table + " from " + role);
            Instant revoked = Instant.now();
            await().atMost(WINDOW.multipliedBy(4)).until(() -> api.state().path("weight").asInt() == 0);
            Duration took = Duration.between(revoked, Instant.now());
            System.out.printf("automatic rollback: %d ms after green lost the privilege (window %d s)%n",
                    took.toMillis(), WINDOW.toSeconds());
            readers.awaitReads(100);
            readers.stop();

            assertThat(readers.errors()).as("client-visible errors").isEmpty();
            JsonNode state = api.state();
            assertThat(state.path("leader").asText()).isEqualTo("blue");
            assertThat(state.path("plan").path("status").asText()).isEqualTo("rolled_back");
            assertThat(state.path("plan").path("note").asText()).startsWith("rolled back by rule error_rate > 0.10");
            // in force at once, the rollback reaches the history and its count once saved
            await("the rollback saved").untilAsserted(() -> assertThat(api.text("/metrics"))
                    .contains("bluegreen_rollbacks_total{trigger=\"rule\"} 1.0"));
            JsonNode rollback = lastEntry(api.get("/api/v1/history"), "rollback");
            assertThat(rollback.path("actor").asText()).isEqualTo("rule:error_rate > 0.10");
            assertThat(rollback.path("reason").asText())
                    .matches("error_rate > 0\\.10: error_rate \\d\\.\\d{4} > 0\\.1 \\(rollback, \\d+ samples\\); over 5 s green"
                            + " ran \\d+ units, failed \\d+ where blue did not.*");
            assertThat(api.text("/metrics")).contains("bluegreen_rollbacks_total{trigger=\"rule\"} 1.0")
                    .contains("bluegreen_rollbacks_total{trigger=\"operator\"} 0.0");
            BgctlRun.Result status = bgctl(proxy.server().adminAddress(), TOKEN, "status");
            assertThat(status.exit()).isZero();
            assertThat(status.out()).contains("rolled back").contains("rule error_rate > 0.10");
        } finally {
            green.execute("postgres", "grant select on " + table + " to " + role);
        }
    }

    /**
     * A rule rolls back while a {@code verify} holds the command lock (the write barrier cannot drain: a session
     * keeps a write transaction open) and the plan's next step, due meanwhile, waits for that lock. Before, the
     * thread that judged the rules also applied the step and waited with it: no rule was judged until the
     * verify's barrier timed out (a minute here), and the step then went through on the verdict from before green
     * failed. Now the rule rolls back within its window, the verify gives way to the rollback, and the step is
     * never taken.
     */
    @Test
    void aRuleRollsBackWhileAVerifyHoldsTheCommandLockAndThePlansStepWaitsForIt() throws Exception {
        String role = unique("app");
        String table = unique("rb_verify");
        String written = table + "_w";
        onBoth(blue, green, schema(role, table));
        onBoth(blue, green, "create table " + written + " (id int primary key)");
        Routing longBarrier = perUnit().withWriteBarrierTimeout(Duration.ofSeconds(60));
        // verify logs in as the role the clusters' configuration names, and so do the sessions then: green fails
        // the reads by a table renamed there, not by a privilege
        try (TestProxy proxy = TestProxy.in(blue).green(green).routing(longBarrier).health(rules(20))
                .backendLogin(blue.superuser(), blue.superuserPassword()).adminToken(AdminToken.of(TOKEN)).start();
             Readers readers = new Readers(proxy, role, byId(table), 4);
             Connection open = proxy.connect(blue.superuser())) {
            AdminHttp api = new AdminHttp(proxy.server().adminAddress(), TOKEN);
            api.command("start", null);
            api.command("rollout", "{\"steps\": [50, 100], \"bakeSeconds\": 2}");
            readers.awaitReads(200);
            open.setAutoCommit(false);
            try (Statement s = open.createStatement()) {
                s.executeUpdate("insert into " + written + " values (1)"); // the barrier waits for its transaction's end
            }
            CompletableFuture<AdminHttp.Answer> verify = CompletableFuture.supplyAsync(() -> api.verify("{}"));
            await("the verify closes the write barrier")
                    .until(() -> proxy.server().routing().barrier().closing() || verify.isDone());
            await("the plan's next step is due").atMost(Duration.ofSeconds(30))
                    .until(() -> proxy.server().autopilot().baked().compareTo(Duration.ofSeconds(3)) >= 0 || verify.isDone());
            assertThat(verify).as("the verify waits for the barrier: %s", verify.getNow(null)).isNotDone();

            green.execute("postgres", "alter table " + table + " rename to " + table + "_gone");
            Instant failing = Instant.now();
            await("the rule rolls back").atMost(WINDOW.multipliedBy(4))
                    .until(() -> proxy.server().routing().current().weight() == 0);
            System.out.printf("automatic rollback while a verify held the command lock: %d ms after green began failing%n",
                    Duration.between(failing, Instant.now()).toMillis());
            AdminHttp.Answer answer = verify.get(30, TimeUnit.SECONDS);
            assertThat(answer.status()).as("the verify gave way to the rollback: %s", answer.body()).isEqualTo(409);
            open.rollback();
            readers.stop();

            assertThat(readers.errors()).as("client-visible errors").isEmpty();
            // a rollback is in force at once, and saved (into the history) once the command lock is free: the verify's
            // answer may come first
            await("the rollback saved").untilAsserted(() -> assertThat(lastEntry(api.get("/api/v1/history"), "rollback")
                    .path("actor").asText()).isEqualTo("rule:error_rate > 0.10"));
            for (JsonNode entry : api.get("/api/v1/history")) {
                assertThat(entry.path("command").asText()).as("history entry %s", entry).isNotEqualTo("set-weight 100");
            }
            assertThat(api.state().path("plan").path("status").asText()).isEqualTo("rolled_back");
        } finally {
            green.execute("postgres", "alter table if exists " + table + "_gone rename to " + table);
        }
    }

    /**
     * Green's reads are compared with blue's reads of the same kind (DESIGN §6): those the weight sends to a
     * cluster. A read inside a read-write transaction runs on the leader whatever the weight, so it counts among
     * blue's units but not in the read sample green's error rate and latency are compared with.
     */
    @Test
    void readsInsideAWriteTransactionAreNotBluesReadSample() throws Exception {
        String table = unique("rb_kinds");
        onBoth(blue, green, "create table " + table + " (id int)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).adminToken(AdminToken.of(TOKEN)).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            AdminHttp api = new AdminHttp(proxy.server().adminAddress(), TOKEN);
            api.command("start", null); // weight 0: every read the weight routes goes to blue
            for (int i = 0; i < 10; i++) {
                client.send(RawClient.query("select count(*) from " + table)); // autocommit: routed
                client.readUntil('Z');
                for (String sql : List.of("begin", "insert into " + table + " values (" + i + ")",
                        "select count(*) from " + table, "select count(*) from " + table, "commit")) {
                    client.send(RawClient.query(sql));
                    client.readUntil('Z');
                }
            }

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                JsonNode blueFigures = api.get("/api/v1/health").path("figures").path("clusters").path("blue");
                assertThat(blueFigures.path("read").path("count").asLong()).as("the autocommit reads").isEqualTo(10);
                assertThat(blueFigures.path("units").asLong()).as("every unit blue answered").isEqualTo(60);
            });
        }
    }

    @Test
    void belowTheMinimumSamplesTheSameFailureHoldsThePlanAndRollsNothingBack() throws Exception {
        String role = unique("app");
        String table = unique("rb_quiet");
        onBoth(blue, green, schema(role, table));
        try (TestProxy proxy = TestProxy.in(blue).green(green).routing(perUnit()).health(rules(1_000_000))
                .adminToken(AdminToken.of(TOKEN)).start();
             Readers readers = new Readers(proxy, role, byId(table), 4)) {
            AdminHttp api = new AdminHttp(proxy.server().adminAddress(), TOKEN);
            api.command("start", null);
            api.command("rollout", "{\"steps\": [50, 100], \"bakeSeconds\": 1}");
            readers.awaitReads(100);

            green.execute("postgres", "revoke select on " + table + " from " + role);
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> proxy.server().migration().greenErrors() >= 50);
            Instant failing = Instant.now();
            // three verdicts taken while green failed
            await().atMost(Duration.ofSeconds(30)).until(() -> Instant.parse(api.get("/api/v1/health")
                    .path("evaluatedAt").asText()).isAfter(failing.plusSeconds(3)));
            readers.stop();

            JsonNode state = api.state();
            JsonNode health = api.get("/api/v1/health");
            assertThat(readers.errors()).as("client-visible errors").isEmpty();
            assertThat(state.path("weight").asInt()).isEqualTo(50);
            assertThat(state.path("plan").path("status").asText()).isEqualTo("running");
            assertThat(state.path("plan").path("holding").asText()).startsWith("inconclusive: error_rate > 0.10 has");
            assertThat(health.path("verdict").asText()).isEqualTo("inconclusive");
            assertThat(health.path("figures").path("errorRate").asDouble()).as("green is failing").isGreaterThan(0.10);
            List<String> actors = new ArrayList<>();
            api.get("/api/v1/history").forEach(entry -> actors.add(entry.path("actor").asText()));
            assertThat(actors).noneMatch(actor -> actor.startsWith("rule:"));
        } finally {
            green.execute("postgres", "grant select on " + table + " to " + role);
        }
    }

    @Test
    void greenMuchSlowerThanBlueForTheSameReadsPausesThePlanByTheLatencyRule() throws Exception {
        String role = unique("app");
        String table = unique("rb_slow");
        String lookup = unique("lookup");
        onBoth(blue, green, schema(role, table));
        blue.execute("postgres", "create function " + lookup + "(id int) returns text language plpgsql as"
                + " $$ begin return 'row ' || id; end $$");
        green.execute("postgres", "create function " + lookup + "(id int) returns text language plpgsql as"
                + " $$ begin perform pg_sleep(0.01); return 'row ' || id; end $$");
        Health latency = new Health(WINDOW, List.of(
                new HealthRule("latency_p95_ratio > 2", Metric.LATENCY_P95_RATIO, Comparison.GREATER, 2, Action.PAUSE, 20)));
        try (TestProxy proxy = TestProxy.in(blue).green(green).routing(perUnit()).health(latency)
                .adminToken(AdminToken.of(TOKEN)).start();
             Readers readers = new Readers(proxy, role, "select " + lookup + "(?)", 4)) {
            AdminHttp api = new AdminHttp(proxy.server().adminAddress(), TOKEN);
            api.command("start", null);
            api.command("rollout", "{\"steps\": [50, 100], \"bakeSeconds\": 600}");

            await().atMost(WINDOW.multipliedBy(4)).untilAsserted(() ->
                    assertThat(api.state().path("plan").path("status").asText()).isEqualTo("paused"));
            readers.stop();

            JsonNode state = api.state();
            assertThat(readers.errors()).as("client-visible errors").isEmpty();
            assertThat(state.path("weight").asInt()).as("a pause keeps the weight").isEqualTo(50);
            assertThat(state.path("plan").path("note").asText()).startsWith("paused by rule latency_p95_ratio > 2");
            // in force at once, the pause reaches the history once saved
            await("the pause saved").untilAsserted(() -> lastEntry(api.get("/api/v1/history"), "pause"));
            JsonNode pause = lastEntry(api.get("/api/v1/history"), "pause");
            assertThat(pause.path("actor").asText()).isEqualTo("rule:latency_p95_ratio > 2");
            assertThat(pause.path("reason").asText()).matches("latency_p95_ratio > 2: latency_p95_ratio \\d+\\.\\d{4} > 2 .*");
        }
    }

    private static String byId(String table) {
        return "select v from " + table + " where id = ?";
    }

    private static JsonNode lastEntry(JsonNode history, String command) {
        JsonNode found = null;
        for (JsonNode entry : history) {
            if (entry.path("command").asText().equals(command)) {
                found = entry;
            }
        }
        assertThat(found).as("a %s in %s", command, history).isNotNull();
        return found;
    }

    /** Sessions of the application's role reading single rows by key, in autocommit, as fast as they can. */
    private static final class Readers implements AutoCloseable {
        private final AtomicLong reads = new AtomicLong();
        private final ClientSessions sessions;

        /** Sessions running {@code query}, whose one parameter is a row's id, 1 to 100. */
        Readers(TestProxy proxy, String role, String query, int count) {
            sessions = new ClientSessions(count);
            sessions.start(session -> read(proxy, role, query));
        }

        private void read(TestProxy proxy, String role, String query) {
            try (Connection c = proxy.connect(role); PreparedStatement select = c.prepareStatement(query)) {
                for (int i = 0; !sessions.stopping(); i++) {
                    select.setInt(1, i % 100 + 1);
                    try (ResultSet rs = select.executeQuery()) {
                        if (!rs.next()) {
                            sessions.error("row " + (i % 100 + 1) + " missing");
                        }
                    } catch (SQLException e) {
                        sessions.error(e.getSQLState() + " " + e.getMessage());
                    }
                    reads.incrementAndGet();
                }
            } catch (SQLException e) {
                sessions.error("could not connect: " + e.getMessage());
            }
        }

        void awaitReads(long more) {
            long target = reads.get() + more;
            await().atMost(Duration.ofSeconds(60)).until(() -> reads.get() >= target || sessions.failed());
            assertThat(sessions.errors()).as("client-visible errors").isEmpty();
        }

        List<String> errors() {
            return sessions.errors();
        }

        void stop() throws Exception {
            sessions.stop();
        }

        @Override
        public void close() {
            sessions.close();
        }
    }
}
