package dev.bluegreen.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bluegreen.config.Health;
import dev.bluegreen.proxy.control.Autopilot;
import dev.bluegreen.proxy.control.HealthWindows;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.control.StateStore;
import dev.bluegreen.proxy.control.RoutingControl.HistoryEntry;
import dev.bluegreen.proxy.control.Plan;
import dev.bluegreen.proxy.dualwrite.Divergence;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.metrics.ProxyMetrics;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The admin API's routes, authentication, bodies and answers, without a socket: commands and queries run in place. */
class AdminApiTest {

    private static final String TOKEN = "s3cret-token";
    private static final String BEARER = "Bearer " + TOKEN;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant NOW = Instant.parse("2025-06-01T10:00:00Z");

    private RoutingControl control;
    private MigrationStats stats;
    private AdminApi api;

    @BeforeEach
    void setUp() {
        control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(1));
        stats = new MigrationStats();
        api = new AdminApi(AdminToken.of(TOKEN), autopilot(control), stats, () -> 3, ProxyMetrics.prometheus(control, stats, () -> 3, cluster -> 0),
                Runnable::run, Runnable::run, Clock.fixed(NOW, ZoneOffset.UTC));
    }

    private AdminResponse call(String method, String path, String authorization, String body) {
        return api.handle(new AdminRequest(method, path, authorization,
                body == null ? null : body.getBytes(StandardCharsets.UTF_8), "127.0.0.1")).join();
    }

    private AdminResponse get(String path) {
        return call("GET", path, BEARER, null);
    }

    private AdminResponse post(String command, String body) {
        return call("POST", "/api/v1/commands/" + command, BEARER, body);
    }

    private static JsonNode json(AdminResponse response) throws Exception {
        assertThat(response.contentType()).isEqualTo(AdminResponse.JSON);
        return JSON.readTree(response.body());
    }

    @Test
    void healthAnswersWithoutAToken() throws Exception {
        AdminResponse response = call("GET", "/health", null, null);

        assertThat(response.status()).isEqualTo(200);
        assertThat(json(response).get("status").asText()).isEqualTo("ok");
    }

    @Test
    void aRequestWithoutATokenIsRefusedAndAudited() throws Exception {
        AdminResponse response = call("GET", "/api/v1/state", null, null);

        assertThat(response.status()).isEqualTo(401);
        assertThat(response.headers()).containsEntry("WWW-Authenticate", "Bearer realm=\"bluegreen\"");
        assertThat(json(response).get("error").asText()).contains("bearer token");
        JsonNode audit = json(get("/api/v1/audit"));
        assertThat(audit).hasSize(1);
        assertThat(audit.get(0).get("at").asText()).isEqualTo("2025-06-01T10:00:00Z");
        assertThat(audit.get(0).get("remote").asText()).isEqualTo("127.0.0.1");
        assertThat(audit.get(0).get("method").asText()).isEqualTo("GET");
        assertThat(audit.get(0).get("path").asText()).isEqualTo("/api/v1/state");
        assertThat(audit.get(0).get("status").asInt()).isEqualTo(401);
        assertThat(audit.get(0).get("outcome").asText()).isEqualTo("no bearer token");
    }

    @Test
    void aWrongTokenIsRefusedAndAuditedWithoutTheTokenItself() throws Exception {
        AdminResponse response = call("POST", "/api/v1/commands/start", "Bearer guess", "{}");

        assertThat(response.status()).isEqualTo(401);
        assertThat(control.current().epoch()).isEqualTo(1);
        String audit = get("/api/v1/audit").bodyText();
        assertThat(audit).contains("wrong bearer token").doesNotContain("guess");
    }

    @Test
    void anotherSchemeIsNotABearerToken() {
        assertThat(call("GET", "/api/v1/state", "Basic " + TOKEN, null).status()).isEqualTo(401);
    }

    @Test
    void withoutATokenEvenAnUnknownPathIsRefused() {
        assertThat(call("GET", "/api/v1/nothing-here", null, null).status()).isEqualTo(401);
    }

    @Test
    void anUnknownPathIsNotFound() throws Exception {
        AdminResponse response = get("/api/v1/nothing-here");

        assertThat(response.status()).isEqualTo(404);
        assertThat(json(response).get("error").asText()).isEqualTo("no such resource: /api/v1/nothing-here");
    }

    @Test
    void anUnknownCommandIsNotFound() throws Exception {
        AdminResponse response = post("launch", null);

        assertThat(response.status()).isEqualTo(404);
        assertThat(json(response).get("error").asText()).isEqualTo("no such command: launch");
    }

    @Test
    void theWrongMethodIsNotAllowedAndSaysWhichIs() {
        AdminResponse postToState = call("POST", "/api/v1/state", BEARER, null);
        AdminResponse getACommand = get("/api/v1/commands/start");
        AdminResponse postToHealth = call("POST", "/health", null, null);

        assertThat(postToState.status()).isEqualTo(405);
        assertThat(postToState.headers()).containsEntry("Allow", "GET, HEAD");
        assertThat(getACommand.status()).isEqualTo(405);
        assertThat(getACommand.headers()).containsEntry("Allow", "POST");
        assertThat(postToHealth.status()).isEqualTo(405);
        assertThat(control.current().epoch()).isEqualTo(1);
    }

    @Test
    void aStartWhoseCheckCouldNotBeMadeAnswersTheNewStateWithTheWarningAndAuditsIt() throws Exception {
        control.checkBeforeDualWrite(() -> RoutingControl.DualWriteCheck.Answer.unchecked("clusters.blue names no user"));

        JsonNode started = json(post("start", null));
        JsonNode weighted = json(post("set-weight", "{\"weight\": 50}"));

        assertThat(started.get("phase").asText()).isEqualTo("dual");
        assertThat(started.get("warnings")).extracting(JsonNode::asText).containsExactly("clusters.blue names no user");
        assertThat(weighted.has("warnings")).isFalse();
        JsonNode audit = json(get("/api/v1/audit"));
        assertThat(audit.get(0).get("outcome").asText()).isEqualTo("done, epoch 2; warning: clusters.blue names no user");
    }

    @Test
    void startThenSetWeightShowInTheState() throws Exception {
        JsonNode started = json(post("start", null));
        JsonNode weighted = json(post("set-weight", "{\"weight\": 50}"));

        JsonNode state = json(get("/api/v1/state"));

        assertThat(started.get("phase").asText()).isEqualTo("dual");
        assertThat(weighted.get("weight").asInt()).isEqualTo(50);
        assertThat(state.get("epoch").asLong()).isEqualTo(3);
        assertThat(state.get("phase").asText()).isEqualTo("dual");
        assertThat(state.get("leader").asText()).isEqualTo("blue");
        assertThat(state.get("followerWrites").asText()).isEqualTo("sync");
        assertThat(state.get("weight").asInt()).isEqualTo(50);
        assertThat(state.get("followerInSync").asBoolean()).isTrue();
        assertThat(state.get("frozen").asBoolean()).isFalse();
        assertThat(state.get("finalized").asBoolean()).isFalse();
        assertThat(state.get("sessions").asInt()).isEqualTo(3);
        assertThat(state.get("barrierHolders").isArray()).isTrue();
    }

    @Test
    void aRefusedCommandIsAConflictWithTheReason() throws Exception {
        AdminResponse response = post("set-weight", "{\"weight\": 50}");

        assertThat(response.status()).isEqualTo(409);
        assertThat(json(response).get("error").asText())
                .isEqualTo("green may serve reads only with sync dual-write on (start first)");
        assertThat(control.current().weight()).isZero();
        JsonNode audit = json(get("/api/v1/audit"));
        assertThat(audit.get(0).get("status").asInt()).isEqualTo(409);
        assertThat(audit.get(0).get("outcome").asText()).startsWith("refused: green may serve reads");
    }

    /** bgctl step names the weight it stepped from: a rollback that came in between is not undone. */
    @Test
    void aSetWeightFromAWeightNoLongerInForceIsRefused() throws Exception {
        control.start("alice", null);
        control.setWeight("alice", 25, null);
        control.rollback("rule:error_rate > 0.10", "green failed", false);

        AdminResponse stepped = post("set-weight", "{\"weight\": 50, \"fromWeight\": 25}");

        assertThat(stepped.status()).isEqualTo(409);
        assertThat(json(stepped).get("error").asText()).startsWith("the weight is 0 now, not 25 as when the step was computed");
        assertThat(control.current().weight()).isZero();
        assertThat(post("set-weight", "{\"weight\": 5, \"fromWeight\": 0}").status()).isEqualTo(200);
        assertThat(control.current().weight()).isEqualTo(5);
    }

    /** Requests without the token (which anyone who can connect may send) cannot push commands out of the audit. */
    @Test
    void refusedRequestsDoNotCrowdCommandsOutOfTheAudit() throws Exception {
        assertThat(post("freeze", "{\"reason\": \"before the flood\"}").status()).isEqualTo(200);
        for (int i = 0; i < 1_500; i++) {
            assertThat(call("GET", "/api/v1/state", null, null).status()).isEqualTo(401);
        }
        assertThat(post("unfreeze", null).status()).isEqualTo(200);

        JsonNode audit = json(get("/api/v1/audit"));
        List<String> paths = new ArrayList<>();
        audit.forEach(entry -> paths.add(entry.get("path").asText()));
        assertThat(paths).first().isEqualTo("/api/v1/commands/freeze");
        assertThat(paths).last().isEqualTo("/api/v1/commands/unfreeze");
        assertThat(paths).filteredOn("/api/v1/state"::equals).hasSize(100);
    }

    @Test
    void aMalformedBodyIsABadRequestAndChangesNothing() throws Exception {
        AdminResponse response = post("set-weight", "{\"weight\": ");

        assertThat(response.status()).isEqualTo(400);
        assertThat(json(response).get("error").asText()).startsWith("malformed JSON");
        assertThat(control.current().epoch()).isEqualTo(1);
    }

    @Test
    void aWeightOutOfRangeIsABadRequest() throws Exception {
        post("start", null);

        AdminResponse response = post("set-weight", "{\"weight\": 101}");

        assertThat(response.status()).isEqualTo(400);
        assertThat(json(response).get("error").asText()).isEqualTo("\"weight\" must be a whole number from 0 to 100");
        assertThat(control.current().weight()).isZero();
    }

    @Test
    void rollbackRecordsTheReasonAndTheCallerInTheHistory() throws Exception {
        post("start", "{\"actor\": \"bgctl:alice\"}");
        post("set-weight", "{\"weight\": 10}");

        post("rollback", "{\"reason\": \"p99 doubled\"}");

        JsonNode history = json(get("/api/v1/history"));
        assertThat(history).hasSize(3);
        assertThat(history.get(0).get("actor").asText()).isEqualTo("bgctl:alice");
        assertThat(history.get(0).get("command").asText()).isEqualTo("start");
        assertThat(history.get(0).get("reason").isNull()).isTrue();
        assertThat(history.get(2).get("actor").asText()).isEqualTo("admin-api@127.0.0.1");
        assertThat(history.get(2).get("command").asText()).isEqualTo("rollback");
        assertThat(history.get(2).get("reason").asText()).isEqualTo("p99 doubled");
        assertThat(history.get(2).get("epoch").asLong()).isEqualTo(4);
        assertThat(Instant.parse(history.get(2).get("at").asText())).isNotNull();
        assertThat(history.get(2).get("state").get("weight").asInt()).isZero();
        assertThat(history.get(2).get("state").get("phase").asText()).isEqualTo("dual");
    }

    @Test
    void aRollbackWithNothingToDoAnswersTheStateWithAWarningAndRecordsNothing() throws Exception {
        post("start", null);

        AdminResponse response = post("rollback", "{\"reason\": \"to be sure\"}");

        assertThat(response.status()).isEqualTo(200);
        JsonNode body = json(response);
        assertThat(body.get("epoch").asLong()).isEqualTo(2);
        assertThat(body.get("warnings")).singleElement().extracting(JsonNode::asText).asString()
                .startsWith("nothing to roll back: blue leads and green serves no reads");
        assertThat(json(get("/api/v1/history"))).extracting(entry -> entry.get("command").asText()).containsExactly("start");
    }

    @Test
    void everyCommandHasItsOwnEndpoint() throws Exception {
        assertThat(post("freeze", null).status()).isEqualTo(200);
        assertThat(post("unfreeze", null).status()).isEqualTo(200);
        assertThat(post("shadow", null).status()).isEqualTo(200);
        assertThat(json(get("/api/v1/state")).get("followerWrites").asText()).isEqualTo("async");
        assertThat(post("abort", null).status()).isEqualTo(200);
        assertThat(post("start", null).status()).isEqualTo(200);
        assertThat(post("set-weight", "{\"weight\": 100}").status()).isEqualTo(200);
        assertThat(post("cutover", null).status()).isEqualTo(200);
        assertThat(json(get("/api/v1/state")).get("phase").asText()).isEqualTo("cutover");
        assertThat(post("finalize", null).status()).isEqualTo(200);
        assertThat(post("rollback", null).status()).isEqualTo(409);
        AdminResponse forced = post("rollback", "{\"force\": true, \"reason\": \"green lost data\"}");

        assertThat(forced.status()).isEqualTo(200);
        assertThat(json(forced).get("leader").asText()).isEqualTo("blue");
        assertThat(control.history()).extracting(RoutingControl.HistoryEntry::command).containsExactly(
                "freeze", "unfreeze", "start --shadow", "abort", "start", "set-weight 100", "cutover", "finalize",
                "rollback --force");
    }

    @Test
    void commandsRunOnTheCommandExecutorNotTheCallersThread() {
        Queue<Runnable> commands = new ArrayDeque<>();
        AdminApi queued = new AdminApi(AdminToken.of(TOKEN), autopilot(control), stats, () -> 0,
                ProxyMetrics.prometheus(control, stats, () -> 0, cluster -> 0), commands::add, Runnable::run, Clock.systemUTC());

        CompletableFuture<AdminResponse> answer = queued.handle(new AdminRequest("POST", "/api/v1/commands/start", BEARER,
                null, "127.0.0.1"));

        assertThat(answer).isNotDone();
        assertThat(control.current().epoch()).isEqualTo(1);
        commands.remove().run();
        assertThat(answer.join().status()).isEqualTo(200);
        assertThat(control.current().epoch()).isEqualTo(2);
    }

    @Test
    void divergencesCarryTheRecordsAndTheNonDeterministicCounts() throws Exception {
        stats.diverged(new Divergence(NOW, "session-7", "BLUE", "update t set v = $1", "UPDATE 1", "UPDATE 0",
                "command tag"));
        stats.nonDeterministic("select now()");
        stats.nonDeterministic("select now()");

        JsonNode answer = json(get("/api/v1/divergences"));

        assertThat(answer.get("count").asLong()).isEqualTo(1);
        JsonNode divergence = answer.get("divergences").get(0);
        assertThat(divergence.get("at").asText()).isEqualTo("2025-06-01T10:00:00Z");
        assertThat(divergence.get("session").asText()).isEqualTo("session-7");
        assertThat(divergence.get("leaderCluster").asText()).isEqualTo("BLUE");
        assertThat(divergence.get("statement").asText()).isEqualTo("update t set v = $1");
        assertThat(divergence.get("leader").asText()).isEqualTo("UPDATE 1");
        assertThat(divergence.get("follower").asText()).isEqualTo("UPDATE 0");
        assertThat(divergence.get("difference").asText()).isEqualTo("command tag");
        assertThat(answer.get("nonDeterministic").get("select now()").asLong()).isEqualTo(2);
    }

    @Test
    void statsShowTheMigrationCounters() throws Exception {
        stats.unitServed(ClusterRole.BLUE, true, 1_000_000, null);
        stats.unitServed(ClusterRole.BLUE, true, 1_000_000, null);
        stats.unitServed(ClusterRole.GREEN, true, 1_000_000, null);
        stats.greenError();
        stats.readRetried();
        stats.mirrorDropped();
        stats.unordered();
        stats.writeHeldForCommits();
        stats.sessionPinned();
        stats.twinRemade();
        stats.twinRemade();

        JsonNode answer = json(get("/api/v1/stats"));

        assertThat(answer.get("unitsServedBlue").asLong()).isEqualTo(2);
        assertThat(answer.get("unitsServedGreen").asLong()).isEqualTo(1);
        assertThat(answer.get("greenErrors").asLong()).isEqualTo(1);
        assertThat(answer.get("readRetries").asLong()).isEqualTo(1);
        assertThat(answer.get("mirrorDrops").asLong()).isEqualTo(1);
        assertThat(answer.get("unorderedStatements").asLong()).isEqualTo(1);
        assertThat(answer.get("writesHeldForCommits").asLong()).isEqualTo(1);
        assertThat(answer.get("pinnedSessions").asLong()).isEqualTo(1);
        assertThat(answer.get("twinsRemade").asLong()).isEqualTo(2);
        assertThat(answer.get("divergences").asLong()).isZero();
    }

    @Test
    void metricsNeedTheTokenAndSpeakPrometheus() {
        post("start", null);
        post("set-weight", "{\"weight\": 25}");

        AdminResponse refused = call("GET", "/metrics", null, null);
        AdminResponse metrics = get("/metrics");

        assertThat(refused.status()).isEqualTo(401);
        assertThat(metrics.status()).isEqualTo(200);
        assertThat(metrics.contentType()).isEqualTo(AdminResponse.PROMETHEUS);
        assertThat(metrics.bodyText()).contains("bluegreen_weight 25.0", "bluegreen_epoch 3.0",
                "bluegreen_leader{cluster=\"blue\"} 1.0", "bluegreen_client_sessions 3.0");
    }

    /** Commands enter through an autopilot that is never started: no tick runs behind the test's back. */
    /**
     * A rollback that takes effect while a set-weight waits for a slow store (a state database that does not
     * answer) goes on top of it; the set-weight's answer is the state now in force, the rollback's, with a
     * warning, not the weight it saved, which no session saw in force. Before, it answered weight 60.
     */
    @Test
    void aCommandOvertakenByARollbackWhileSavingAnswersWithTheStateInForce() throws Exception {
        SlowStore store = new SlowStore(StateStore.inMemory(RoutingState.initial()));
        RoutingControl slow = RoutingControl.open(store, Duration.ofSeconds(1));
        AdminApi overtaken = new AdminApi(AdminToken.of(TOKEN), autopilot(slow), stats, () -> 0,
                ProxyMetrics.prometheus(slow, stats, () -> 0, cluster -> 0), Runnable::run, Runnable::run,
                Clock.fixed(NOW, ZoneOffset.UTC));
        assertThat(overtaken.handle(command("start", null)).join().status()).isEqualTo(200);
        assertThat(overtaken.handle(command("set-weight", "{\"weight\": 50}")).join().status()).isEqualTo(200);
        CountDownLatch release = new CountDownLatch(1);
        store.slow = release;
        ExecutorService threads = Executors.newCachedThreadPool(); // one each: the common pool may have a single thread

        CompletableFuture<AdminResponse> raise = CompletableFuture.supplyAsync(
                () -> overtaken.handle(command("set-weight", "{\"weight\": 60}")).join(), threads);
        await().atMost(Duration.ofSeconds(10)).until(() -> store.saving);
        CompletableFuture<AdminResponse> rollback = CompletableFuture.supplyAsync(
                () -> overtaken.handle(command("rollback", "{\"reason\": \"green is slow\"}")).join(), threads);
        await().atMost(Duration.ofSeconds(10)).until(() -> slow.current().weight() == 0 || rollback.isDone());
        assertThat(slow.current().weight()).as("in force at once: %s", rollback.getNow(null)).isZero();
        release.countDown();

        JsonNode answer = json(raise.get(10, TimeUnit.SECONDS));
        assertThat(answer.path("weight").asInt()).isZero();
        assertThat(answer.path("epoch").asLong()).isEqualTo(slow.current().epoch());
        assertThat(answer.path("warnings").get(0).asText()).contains("a later change is in force now");
        assertThat(json(rollback.get(10, TimeUnit.SECONDS)).path("weight").asInt()).isZero();
        overtaken.close();
        slow.close();
        threads.shutdown();
    }

    private static AdminRequest command(String name, String body) {
        return new AdminRequest("POST", "/api/v1/commands/" + name, BEARER,
                body == null ? null : body.getBytes(StandardCharsets.UTF_8), "127.0.0.1");
    }

    /** A store whose saves wait for {@link #slow} while it is set. */
    private static final class SlowStore implements StateStore {
        private final StateStore inner;
        volatile CountDownLatch slow;
        volatile boolean saving;

        SlowStore(StateStore inner) {
            this.inner = inner;
        }

        @Override
        public Snapshot open(Peer peer) throws Failure {
            return inner.open(peer);
        }

        @Override
        public SharedBarrier barrier(String command, long fromEpoch, Duration timeout) throws Conflict, Failure {
            return inner.barrier(command, fromEpoch, timeout);
        }

        @Override
        public void save(long expectedEpoch, HistoryEntry change, Plan plan, SharedBarrier barrier) throws Conflict, Failure {
            CountDownLatch wait = slow;
            if (wait != null) {
                slow = null; // the first save after it is set waits, not the rollback's after it
                saving = true;
                try {
                    wait.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new Failure("interrupted", e);
                }
            }
            inner.save(expectedEpoch, change, plan, barrier);
        }

        @Override
        public String instance() {
            return inner.instance();
        }

        @Override
        public String describe() {
            return "slow";
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    static Autopilot autopilot(RoutingControl control) {
        return new Autopilot(control, new HealthWindows(Duration.ofSeconds(60)), Health.defaults(), Clock.systemUTC(),
                Autopilot.DEFAULT_TICK);
    }
}
