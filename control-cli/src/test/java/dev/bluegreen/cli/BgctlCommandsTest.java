package dev.bluegreen.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** Every bgctl command against a fake admin API that plays the contract. */
class BgctlCommandsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path dir;

    private FakeAdminApi api;
    private Path tokenFile;
    private final Map<String, String> env = new HashMap<>();
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @BeforeEach
    void startTheFakeApi() throws IOException {
        api = new FakeAdminApi();
        tokenFile = Files.writeString(dir.resolve("token"), FakeAdminApi.TOKEN + "\n");
    }

    @AfterEach
    void stopTheFakeApi() {
        api.close();
    }

    /** bgctl exactly as given. */
    private int run(String... args) {
        CommandLine cmd = Bgctl.commandLine(new Bgctl(env, "alice"));
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return cmd.execute(args);
    }

    /** bgctl pointed at the fake API with the right token, options first. */
    private int bgctl(String... args) {
        List<String> all = new ArrayList<>(List.of("--url", api.url(), "--token-file", tokenFile.toString()));
        all.addAll(List.of(args));
        return run(all.toArray(String[]::new));
    }

    private static JsonNode json(String text) throws IOException {
        return JSON.readTree(text);
    }

    private static int weightSent(FakeAdminApi.Request request) {
        try {
            return json(request.body()).get("weight").asInt();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    // ---- the token

    /** The HTTP client would throw on such a header, with a stack trace that printed the token. */
    @Test
    void aTokenWithAByteOrderMarkIsAUsageErrorThatDoesNotShowTheToken() throws IOException {
        Files.writeString(tokenFile, "\uFEFF" + FakeAdminApi.TOKEN + "\n");

        int exit = bgctl("status");

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString().strip()).isEqualTo("bgctl: the admin token from --token-file " + tokenFile
                + " must be printable ASCII, but character 1 is a byte order mark (U+FEFF); save it without one");
        assertThat(api.requests()).isEmpty();
    }

    @Test
    void aTokenOutsideAsciiIsAUsageErrorThatDoesNotShowTheToken() {
        env.put("BLUEGREEN_ADMIN_TOKEN", "sec ret\u00e9\u2603");

        int exit = run("--url", api.url(), "rollback");

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString().strip()).isEqualTo("bgctl: the admin token from BLUEGREEN_ADMIN_TOKEN"
                + " must be printable ASCII, but character 8 is not ASCII");
        assertThat(api.requests()).isEmpty();
    }

    // ---- status

    @Test
    void statusPrintsTheStateAndTheFiguresAtAGlance() {
        int exit = bgctl("status");

        assertThat(exit).isZero();
        assertThat(api.requests()).extracting(FakeAdminApi.Request::method, FakeAdminApi.Request::path)
                .containsExactly(
                        tuple("GET", "/api/v1/state"),
                        tuple("GET", "/api/v1/stats"),
                        tuple("GET", "/api/v1/health"));
        assertThat(api.requests()).allSatisfy(r -> assertThat(r.authorization()).isEqualTo("Bearer " + FakeAdminApi.TOKEN));
        assertThat(out.toString())
                .containsPattern("phase\\s+dual \\(follower writes sync\\)")
                .containsPattern("leader\\s+blue")
                .containsPattern("weight\\s+25 % of reads to green")
                .containsPattern("follower in sync\\s+yes")
                .containsPattern("frozen\\s+no")
                .containsPattern("epoch\\s+7")
                .containsPattern("sessions\\s+12")
                .containsPattern("barrier holders\\s+none")
                .containsPattern("units served\\s+blue 12,000, green 3,000; green's share 20.0 %")
                .containsPattern("green errors\\s+2")
                .containsPattern("read retries\\s+5")
                .containsPattern("green reads overdue\\s+1")
                .containsPattern("divergences\\s+4")
                .containsPattern("mirror drops\\s+0")
                .containsPattern("twins remade\\s+2")
                .doesNotContain("finalized");
    }

    @Test
    void statusShowsFieldsItDoesNotKnowSuchAsLatencyWhenTheProxySendsThem() {
        int exit = bgctl("status");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .containsPattern("latency\\.green\\.p95\\s+3\\.5")
                .containsPattern("instance\\s+proxy-a");
    }

    @Test
    void statusSaysWhenAVerifyIsOwed() {
        api.answer("GET", "/api/v1/state", 200, """
                {"epoch": 9, "phase": "CUTOVER", "leader": "GREEN", "weight": 100, "followerInSync": true,
                 "frozen": false, "finalized": false, "unverifiedSince": 8, "sessions": 2, "barrierHolders": []}""");

        int exit = bgctl("status");

        assertThat(exit).isZero();
        assertThat(out.toString()).containsPattern("verify owed\\s+since epoch 8: a proxy stopped without shutting down")
                .doesNotContain("unverifiedSince");
    }

    @Test
    void statusNamesTheBarrierHoldersWhileABarrierWaits() {
        api.answer("GET", "/api/v1/state", 200, """
                {"epoch": 9, "phase": "CUTOVER", "leader": "GREEN", "weight": 100, "followerInSync": true,
                 "frozen": true, "finalized": true, "sessions": 2, "barrierHolders": ["s-1", {"session": "s-2"}]}""");

        int exit = bgctl("status");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .containsPattern("barrier holders\\s+2: s-1, \\{\"session\":\"s-2\"}")
                .containsPattern("frozen\\s+yes")
                .containsPattern("finalized\\s+yes: blue is retired");
    }

    @Test
    void statusJsonPrintsTheStateTheFiguresAndTheHealthAsTheProxySentThem() throws IOException {
        int exit = bgctl("status", "--json");

        assertThat(exit).isZero();
        JsonNode printed = json(out.toString());
        assertThat(printed.properties()).extracting(Map.Entry::getKey).containsExactly("state", "stats", "health");
        assertThat(printed.get("state")).isEqualTo(json(FakeAdminApi.STATE));
        assertThat(printed.get("stats")).isEqualTo(json(FakeAdminApi.STATS));
        assertThat(printed.get("health")).isEqualTo(json(FakeAdminApi.HEALTH));
    }

    @Test
    void statusShowsThePlanWithItsStepsBakeAndWhyItHolds() {
        int exit = bgctl("status");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .containsPattern("plan\\s+running, weight 25 \\(step 3/6\\): 5, 10, \\[25], 50, 75, 100\n")
                .containsPattern("plan bake\\s+baked 2m of 5m \\(40 %\\), since 2025-06-01T10:05:00Z\n")
                .containsPattern("plan holding\\s+inconclusive: error_rate > 0.05 has 40 of 100 samples\n")
                .doesNotContain("plan note");
    }

    @Test
    void statusShowsAnEndedPlanWithItsNoteAndWithoutItsBake() {
        api.answer("GET", "/api/v1/state", 200, FakeAdminApi.plannedState(10, "rolled_back", 1, 200, null,
                "rule error_rate > 0.10 fired: 0.12 over 400 units"));

        int exit = bgctl("status");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .containsPattern("plan\\s+rolled back, weight 10 \\(step 2/6\\)")
                .containsPattern("plan note\\s+rule error_rate > 0.10 fired: 0.12 over 400 units")
                .doesNotContain("plan bake", "plan holding");
    }

    @Test
    void statusShowsAnEndedPlanAfterCutoverAsTheLastOneWithoutItsNote() {
        api.answer("GET", "/api/v1/state", 200, FakeAdminApi.plannedState(100, "done", 5, 300, null,
                "weight 100 held its bake with every rule healthy; cutover is next")
                .replace("\"phase\": \"dual\", \"leader\": \"blue\"", "\"phase\": \"cutover\", \"leader\": \"green\""));

        int exit = bgctl("status");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .containsPattern("plan\\s+the last one done, weight 100 \\(step 6/6\\)\n")
                .doesNotContain("plan note", "cutover is next");
    }

    @Test
    void statusShowsADonePlanTheWeightHasLeftSinceAsTheLastOneWithoutItsNote() {
        api.answer("GET", "/api/v1/state", 200, FakeAdminApi.plannedState(100, "done", 5, 300, null,
                "weight 100 held its bake with every rule healthy; cutover is next")
                .replaceFirst("\"weight\": 100,\n", "\"weight\": 0,\n"));

        int exit = bgctl("status");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .containsPattern("weight\\s+0 % of reads to green")
                .containsPattern("plan\\s+the last one done, weight 100 \\(step 6/6\\)\n")
                .doesNotContain("plan note", "cutover is next");
    }

    @Test
    void statusSaysWhenNoPlanWasEverStarted() {
        api.answer("GET", "/api/v1/state", 200, FakeAdminApi.NEW_STATE.replace("}", ", \"plan\": null}"));

        int exit = bgctl("status");

        assertThat(exit).isZero();
        assertThat(out.toString()).containsPattern("plan\\s+none \\(bgctl rollout starts one\\)");
    }

    @Test
    void statusShowsEachClustersRateErrorsAndLatencyPercentilesAndEveryRule() {
        int exit = bgctl("status");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .contains("\nhealth: healthy (green over the last 60 s, evaluated 2025-06-01T10:07:00Z)\n")
                .containsPattern("CLUSTER\\s+UNITS/S\\s+ERROR RATE\\s+READ P50/P95/P99 MS\\s+WRITE P50/P95/P99 MS")
                .containsPattern("blue\\s+90\\.0\\s+0\\.06 % \\(3 of 5,400 answered\\)\\s+0\\.40 / 1\\.10 / 2\\.30\\s+"
                        + "1\\.90 / 4\\.00 / 7\\.50\n")
                .containsPattern("green\\s+22\\.5\\s+0\\.00 % \\(0 of 1,350 answered\\)\\s+0\\.50 / 1\\.20 / 2\\.00\\s+- / - / -\n")
                .containsPattern("green error rate \\(every kind\\)\\s+0\\.00 % \\(0 of 1,350 units green ran failed where blue did not\\)")
                .containsPattern("latency green/blue\\s+p95 1\\.09x, p99 0\\.87x \\(1,350 samples\\)")
                .containsPattern("divergences\\s+0 in the window")
                .containsPattern("healthy\\s+error_rate > 0\\.05\\s+pause\\s+0 \\(1,350 samples\\)")
                .doesNotContain("FIRING");
    }

    @Test
    void statusHighlightsFiringRulesWithTheirValueThresholdAndAction() {
        api.answer("GET", "/api/v1/health", 200, FakeAdminApi.HEALTH_FIRING);

        int exit = bgctl("status");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .contains("health: ROLLBACK: firing error_rate > 0.05, error_rate > 0.10 (green over the last 60 s")
                .containsPattern("!\\s+FIRING\\s+error_rate > 0\\.05\\s+PAUSE\\s+0\\.12 > 0\\.05 \\(400 samples\\)")
                .containsPattern("!\\s+FIRING\\s+error_rate > 0\\.10\\s+ROLLBACK\\s+0\\.12 > 0\\.1 \\(400 samples\\)")
                .containsPattern(" inconclusive\\s+latency_p95_ratio > 2\\s+warn\\s+40 of 100 samples needed")
                .containsPattern("green\\s+6\\.7\\s+12\\.00 % \\(48 of 400 units\\)\\s+0\\.90 / 14\\.2 / 120\\.5\\s")
                .containsPattern("latency green/blue\\s+p95 12\\.9x, p99 -");
    }

    @Test
    void statusFromAProxyWithoutHealthShowsTheRestAndJsonSaysNull() throws IOException {
        api.answer("GET", "/api/v1/health", 404, "{\"error\": \"no such resource\"}");

        int text = bgctl("status");
        int asJson = bgctl("status", "--json");

        assertThat(text).isZero();
        assertThat(asJson).isZero();
        String printed = out.toString();
        assertThat(printed.substring(0, printed.indexOf('{')))
                .containsPattern("phase\\s+dual")
                .containsPattern("plan\\s+running, weight 25")
                .containsPattern("units served\\s+blue 12,000")
                .doesNotContain("health", "CLUSTER");
        assertThat(json(printed.substring(printed.indexOf('{'))).get("health").isNull()).isTrue();
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void statusWatchShowsTheHealthInEachFrame() throws InterruptedException {
        AtomicInteger exit = new AtomicInteger(-1);
        Thread watcher = new Thread(() -> exit.set(bgctl("status", "--watch")));
        watcher.start();

        await().atMost(Duration.ofSeconds(10))
                .until(() -> out.toString().split("\033\\[H\033\\[2J", -1).length >= 3);
        watcher.interrupt();
        watcher.join(5_000);

        assertThat(exit.get()).isZero();
        List<String> frames = List.of(out.toString().split("\033\\[H\033\\[2J", -1));
        assertThat(frames.subList(1, frames.size()))
                .allSatisfy(frame -> assertThat(frame).contains("health: healthy").containsPattern("plan\\s+running"));
    }

    @Test
    void statusWatchRedrawsEverySecondUntilInterrupted() throws InterruptedException {
        AtomicInteger exit = new AtomicInteger(-1);
        Thread watcher = new Thread(() -> exit.set(bgctl("status", "--watch")));
        watcher.start();

        // A frame is printed once all its requests are answered: wait for the second frame itself,
        // not for its first request, or the interrupt can land between the two.
        await().atMost(Duration.ofSeconds(10))
                .until(() -> out.toString().split("\033\\[H\033\\[2J", -1).length >= 3);
        watcher.interrupt();
        watcher.join(5_000);

        assertThat(watcher.isAlive()).isFalse();
        assertThat(exit.get()).isZero();
        assertThat(api.requests("GET", "/api/v1/stats")).hasSizeGreaterThanOrEqualTo(2);
        assertThat(out.toString()).contains("bgctl status - " + api.url()).containsPattern("weight\\s+25 %");
    }

    @Test
    void statusWatchKeepsWatchingThroughAnUnreachableProxy() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        AtomicInteger exit = new AtomicInteger(-1);
        Thread watcher = new Thread(() -> exit.set(run("status", "--watch",
                "--url", "http://127.0.0.1:" + port, "--token-file", tokenFile.toString())));
        watcher.start();

        await().atMost(Duration.ofSeconds(10)).until(() -> out.toString().split("\\(retrying\\)", -1).length >= 3);
        watcher.interrupt();
        watcher.join(5_000);

        assertThat(exit.get()).isZero();
        assertThat(out.toString()).contains("cannot reach the proxy's admin API at http://127.0.0.1:" + port);
    }

    // ---- commands

    @Test
    void startPostsTheActorAndPrintsTheStateNowInForce() throws IOException {
        int exit = bgctl("start");

        assertThat(exit).isZero();
        List<FakeAdminApi.Request> posts = api.requests("POST", "/api/v1/commands/start");
        assertThat(posts).hasSize(1);
        assertThat(posts.getFirst().authorization()).isEqualTo("Bearer " + FakeAdminApi.TOKEN);
        assertThat(json(posts.getFirst().body())).isEqualTo(json("{\"actor\": \"bgctl:alice\"}"));
        assertThat(out.toString().strip()).isEqualTo(
                "start: done (epoch 8, phase dual, leader blue, weight 50, follower in sync)");
    }

    @Test
    void aWarningTheProxyGivesWithTheNewStateIsPrintedToStandardError() throws IOException {
        String started = FakeAdminApi.NEW_STATE.strip();
        api.answer("POST", "/api/v1/commands/start", 200, started.substring(0, started.length() - 1)
                + ", \"warnings\": [\"dual-write began without checking that blue and green share no database:"
                + " clusters.blue names no user to log in as (docs/configuration.md)\"]}");

        int exit = bgctl("start");

        assertThat(exit).isZero();
        assertThat(out.toString().strip()).isEqualTo(
                "start: done (epoch 8, phase dual, leader blue, weight 50, follower in sync)");
        assertThat(err.toString().strip()).isEqualTo("bgctl: warning: dual-write began without checking that blue"
                + " and green share no database: clusters.blue names no user to log in as (docs/configuration.md)");
    }

    @Test
    void startShadowPostsToTheShadowCommand() throws IOException {
        int exit = bgctl("start", "--shadow", "--reason", "try green first");

        assertThat(exit).isZero();
        assertThat(api.requests("POST", "/api/v1/commands/start")).isEmpty();
        List<FakeAdminApi.Request> posts = api.requests("POST", "/api/v1/commands/shadow");
        assertThat(json(posts.getFirst().body()))
                .isEqualTo(json("{\"actor\": \"bgctl:alice\", \"reason\": \"try green first\"}"));
    }

    @Test
    void setWeightPostsTheWeight() throws IOException {
        int exit = bgctl("set-weight", "25");

        assertThat(exit).isZero();
        assertThat(json(api.requests("POST", "/api/v1/commands/set-weight").getFirst().body()))
                .isEqualTo(json("{\"actor\": \"bgctl:alice\", \"weight\": 25}"));
        assertThat(out.toString()).startsWith("set-weight: done (epoch 8");
    }

    @Test
    void setWeightAboveAHundredIsAUsageErrorAndSendsNothing() {
        int exit = bgctl("set-weight", "150");

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("N must be between 0 and 100, was 150");
        assertThat(api.requests()).isEmpty();
    }

    @Test
    void setWeightWithoutANumberIsAUsageError() {
        int exit = bgctl("set-weight", "half");

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("'half' is not an int");
        assertThat(api.requests()).isEmpty();
    }

    @Test
    void setWeightWithoutAWeightIsAUsageError() {
        int exit = bgctl("set-weight");

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("Missing required parameter: 'N'");
    }

    @Test
    void stepSetsTheNextWeightAboveTheCurrentOne() throws IOException {
        // the fake state says weight 25
        int exit = bgctl("step");

        assertThat(exit).isZero();
        assertThat(api.requests()).extracting(FakeAdminApi.Request::path)
                .containsExactly("/api/v1/state", "/api/v1/commands/set-weight");
        assertThat(json(api.requests("POST", "/api/v1/commands/set-weight").getFirst().body()))
                .isEqualTo(json("{\"actor\": \"bgctl:alice\", \"weight\": 50, \"fromWeight\": 25}"));
        assertThat(err.toString()).contains("weight 25 -> 50");
        assertThat(out.toString()).startsWith("step: done (epoch 8");
    }

    @Test
    void stepAtAHundredIsRefusedWithoutAChange() {
        api.answer("GET", "/api/v1/state", 200, "{\"epoch\": 4, \"weight\": 100}");

        int exit = bgctl("step");

        assertThat(exit).isEqualTo(1);
        assertThat(err.toString()).contains("the weight is already 100; nothing to step");
        assertThat(api.requests("POST", "/api/v1/commands/set-weight")).isEmpty();
    }

    @Test
    void stepFollowsTheDefaultPlansWeights() {
        assertThat(List.of(0, 4, 5, 10, 30, 50, 75, 99, 100))
                .map(ChangeCommands.Step::next)
                .containsExactly(5, 5, 10, 25, 50, 75, 100, 100, -1);
    }

    @Test
    void rollbackSendsItsReasonAndForce() throws IOException {
        int exit = bgctl("rollback", "--reason", "p99 doubled", "--force");

        assertThat(exit).isZero();
        assertThat(json(api.requests("POST", "/api/v1/commands/rollback").getFirst().body()))
                .isEqualTo(json("{\"actor\": \"bgctl:alice\", \"reason\": \"p99 doubled\", \"force\": true}"));
        assertThat(out.toString()).startsWith("rollback: done (").doesNotContain("lacks");
    }

    @Test
    void aForcedRollbackAfterFinalizeSaysWhatBlueLacks() {
        api.answer("GET", "/api/v1/state", 200, FakeAdminApi.NEW_STATE.replace("\"phase\": \"dual\", \"leader\": \"blue\"",
                "\"phase\": \"green\", \"leader\": \"green\"").replace("\"finalized\": false", "\"finalized\": true"));

        int exit = bgctl("rollback", "--force");

        assertThat(exit).isZero();
        assertThat(out.toString()).startsWith("rollback: done (").contains("it lacks every write made since finalize");
    }

    @Test
    void aRollbackTheStateStoreCouldNotSaveSaysSoLoudly() {
        api.answer("POST", "/api/v1/commands/rollback", 200, """
                {"epoch": 8, "phase": "dual", "leader": "blue", "weight": 0, "followerInSync": true,
                 "unsaved": ["rollback by bgctl:alice at 2025-06-01T10:00:00Z"]}""");

        int exit = bgctl("rollback");

        assertThat(exit).isZero();
        assertThat(out.toString()).startsWith("rollback: done (epoch 8, phase dual, leader blue, weight 0")
                .contains("NOT SAVED: the state store failed; in force on this instance only");
    }

    @Test
    void statusShowsChangesTheStateStoreHasNotSaved() {
        api.answer("GET", "/api/v1/state", 200, """
                {"epoch": 8, "phase": "dual", "leader": "blue", "weight": 0,
                 "unsaved": ["rollback by bgctl:alice at 2025-06-01T10:00:00Z"]}""");

        int exit = bgctl("status");

        assertThat(exit).isZero();
        assertThat(out.toString()).containsPattern("unsaved\\s+rollback by bgctl:alice at 2025-06-01T10:00:00Z: NOT SAVED");
    }

    @Test
    void rollbackWithoutForceDoesNotSendForce() throws IOException {
        int exit = bgctl("rollback");

        assertThat(exit).isZero();
        assertThat(json(api.requests("POST", "/api/v1/commands/rollback").getFirst().body()))
                .isEqualTo(json("{\"actor\": \"bgctl:alice\"}"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"cutover", "finalize", "abort", "freeze", "unfreeze"})
    void eachCommandPostsToItsEndpoint(String command) throws IOException {
        int exit = bgctl(command);

        assertThat(exit).isZero();
        assertThat(api.requests()).extracting(FakeAdminApi.Request::method, FakeAdminApi.Request::path)
                .containsExactly(tuple("POST", "/api/v1/commands/" + command));
        assertThat(json(api.requests().getFirst().body())).isEqualTo(json("{\"actor\": \"bgctl:alice\"}"));
        assertThat(out.toString()).startsWith(command + ": done (epoch 8, phase dual");
    }

    @Test
    void finalizeSaysItCannotBeUndone() {
        assertThat(bgctl("finalize")).isZero();
        assertThat(out.toString()).contains("blue receives no more writes: this cannot be undone");
        out.getBuffer().setLength(0);
        assertThat(bgctl("cutover")).isZero();
        assertThat(out.toString()).doesNotContain("cannot be undone");
        out.getBuffer().setLength(0);
        assertThat(bgctl("finalize", "--help")).isZero();
        assertThat(out.toString()).contains("Irreversible");
    }

    @Test
    void aCommandThatWaitsOnTheProxySaysItIsWaitingThenReports() {
        // past AdminClient.PATIENCE (2 s) by a margin a stalled CI machine does not eat
        api.answer("POST", "/api/v1/commands/cutover", 200, FakeAdminApi.NEW_STATE, Duration.ofSeconds(5));

        int exit = bgctl("cutover");

        assertThat(exit).isZero();
        assertThat(err.toString()).contains("waiting for the proxy to apply cutover");
        assertThat(out.toString()).startsWith("cutover: done (epoch 8");
    }

    /**
     * A command has no time limit of its own (it may wait for a long write barrier), but a proxy that stops
     * answering altogether while it runs ends the wait: exit 3, saying the outcome is unknown.
     */
    @Test
    void aCommandWhoseProxyStopsAnsweringEndsWithExitThree() throws Exception {
        Duration interval = AdminClient.livenessInterval;
        Duration timeout = AdminClient.livenessTimeout;
        AdminClient.livenessInterval = Duration.ofMillis(200);
        AdminClient.livenessTimeout = Duration.ofSeconds(2); // (a health answer slower than that ends the wait early)
        try {
            api.answer("POST", "/api/v1/commands/cutover", 200, FakeAdminApi.NEW_STATE, Duration.ofSeconds(60));
            CompletableFuture<Integer> exit = new CompletableFuture<>();
            Thread.ofPlatform().start(() -> exit.complete(bgctl("cutover")));
            await().atMost(Duration.ofSeconds(10)).until(() -> api.requests("GET", "/health").size() >= 2);
            assertThat(exit).as("still waiting while the proxy answers").isNotDone();

            // the proxy stops answering (SIGSTOP, its machine gone) and its connections stay open
            api.answer("GET", "/health", 200, "{\"status\": \"up\"}", Duration.ofSeconds(30));

            assertThat(exit.get(20, TimeUnit.SECONDS)).isEqualTo(3);
            assertThat(err.toString()).contains("stopped answering while it ran cutover", "whether that took effect is unknown");
        } finally {
            AdminClient.livenessInterval = interval;
            AdminClient.livenessTimeout = timeout;
        }
    }

    @Test
    void aCommandWithJsonPrintsTheNewStateAsJson() throws IOException {
        int exit = bgctl("cutover", "--json");

        assertThat(exit).isZero();
        assertThat(json(out.toString())).isEqualTo(json(FakeAdminApi.NEW_STATE));
    }

    @Test
    void aRefusedCommandExitsOneWithTheProxysReason() {
        api.answer("POST", "/api/v1/commands/cutover", 409, "{\"error\": \"cutover needs weight 100 (now 25)\"}");

        int exit = bgctl("cutover");

        assertThat(exit).isEqualTo(1);
        assertThat(err.toString().strip()).isEqualTo("bgctl: refused: cutover needs weight 100 (now 25)");
        assertThat(out.toString()).isEmpty();
    }

    @Test
    void aRequestTheProxyFindsMalformedIsAUsageError() {
        api.answer("POST", "/api/v1/commands/set-weight", 400, "{\"error\": \"weight must be an integer\"}");

        int exit = bgctl("set-weight", "10");

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("the proxy rejected the request: weight must be an integer");
    }

    @Test
    void aFailingProxyExitsOneWithWhatItSaid() {
        api.answer("GET", "/api/v1/history", 500, "{\"error\": \"state store unavailable\"}");

        int exit = bgctl("history");

        assertThat(exit).isEqualTo(1);
        assertThat(err.toString()).contains("the proxy answered HTTP 500: state store unavailable");
    }

    @Test
    void anAnswerThatIsNotJsonIsReported() {
        api.answer("GET", "/api/v1/history", 200, "<html>hello</html>");

        int exit = bgctl("history");

        assertThat(exit).isEqualTo(1);
        assertThat(err.toString()).contains("answered /api/v1/history with something that is not JSON");
    }

    // ---- reaching the proxy and the token

    @Test
    void anUnreachableProxyExitsThreeNamingTheUrl() throws IOException {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }

        int exit = run("status", "--url", "http://127.0.0.1:" + port, "--token-file", tokenFile.toString());

        assertThat(exit).isEqualTo(3);
        assertThat(err.toString())
                .contains("cannot reach the proxy's admin API at http://127.0.0.1:" + port)
                .contains("connection refused");
    }

    @Test
    void aWrongTokenExitsOneSayingTheProxyRefusedItWithoutPrintingIt() throws IOException {
        Path wrong = Files.writeString(dir.resolve("wrong"), "not-the-token");

        int exit = run("freeze", "--url", api.url(), "--token-file", wrong.toString());

        assertThat(exit).isEqualTo(1);
        assertThat(api.requests().getFirst().authorization()).isEqualTo("Bearer not-the-token");
        assertThat(err.toString())
                .contains("the proxy refused the token (from --token-file " + wrong + ")")
                .doesNotContain("not-the-token");
    }

    @Test
    void theTokenTheProxyWroteIsFoundInTheStateDirectory() throws IOException {
        Path stateDir = Files.createDirectory(dir.resolve("state"));
        Files.writeString(stateDir.resolve("admin-token"), FakeAdminApi.TOKEN + "\n");

        int exit = run("status", "--url", api.url(), "--state-dir", stateDir.toString());

        assertThat(exit).isZero();
        assertThat(api.requests()).allSatisfy(r -> assertThat(r.authorization()).isEqualTo("Bearer " + FakeAdminApi.TOKEN));
    }

    @Test
    void withoutAnyTokenItIsAUsageErrorThatSaysWhereTokensComeFrom() {
        Path empty = dir.resolve("nothing-here");

        int exit = run("status", "--url", api.url(), "--state-dir", empty.toString());

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString())
                .contains("no admin token")
                .contains("--token-file", "BLUEGREEN_ADMIN_TOKEN", empty.resolve("admin-token").toString());
        assertThat(api.requests()).isEmpty();
    }

    @Test
    void aMissingTokenFileIsAUsageError() {
        int exit = run("status", "--url", api.url(), "--token-file", dir.resolve("absent").toString());

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("token file " + dir.resolve("absent") + " does not exist");
    }

    @Test
    void theEnvironmentGivesTheUrlAndTheToken() {
        env.put("BLUEGREEN_ADMIN_URL", api.url());
        env.put("BLUEGREEN_ADMIN_TOKEN", FakeAdminApi.TOKEN);

        int exit = run("abort", "--state-dir", dir.resolve("unused").toString());

        assertThat(exit).isZero();
        assertThat(api.requests("POST", "/api/v1/commands/abort")).singleElement()
                .satisfies(r -> assertThat(r.authorization()).isEqualTo("Bearer " + FakeAdminApi.TOKEN));
    }

    @Test
    void theCommandLineBeatsTheEnvironment() throws IOException {
        env.put("BLUEGREEN_ADMIN_URL", "http://127.0.0.1:1");
        env.put("BLUEGREEN_ADMIN_TOKEN", "stale");

        int exit = run("unfreeze", "--url", api.url(), "--token-file", tokenFile.toString());

        assertThat(exit).isZero();
        assertThat(api.requests().getFirst().authorization()).isEqualTo("Bearer " + FakeAdminApi.TOKEN);
    }

    @Test
    void connectionOptionsMayStandBeforeOrAfterTheCommand() throws IOException {
        String url = api.url().substring("http://".length()); // host:port is accepted too

        int before = run("--url", url, "--token-file", tokenFile.toString(), "set-weight", "5");
        int after = run("set-weight", "--token-file", tokenFile.toString(), "10", "--url", url);

        assertThat(before).isZero();
        assertThat(after).isZero();
        assertThat(api.requests("POST", "/api/v1/commands/set-weight"))
                .extracting(BgctlCommandsTest::weightSent)
                .containsExactly(5, 10);
    }

    @Test
    void aUrlThatIsNotHttpIsAUsageError() {
        int exit = run("status", "--url", "postgresql://127.0.0.1:6432", "--token-file", tokenFile.toString());

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("--url must be http://HOST:PORT");
    }

    // ---- history and divergences

    @Test
    void historyPrintsEveryChangeWithWhoWhatAndWhy() {
        int exit = bgctl("history");

        assertThat(exit).isZero();
        List<String> lines = out.toString().lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).startsWith("AT").contains("EPOCH", "ACTOR", "COMMAND", "RESULT", "REASON");
        assertThat(lines.get(1)).contains("2025-06-01T10:00:00Z", "bgctl:alice", "start",
                "phase dual, leader blue, weight 0, follower in sync");
        assertThat(lines.get(2)).contains("2025-06-01T10:01:00.500Z", "rule:error_rate", "rollback",
                "error_rate 0.12 > 0.10 over 400 units");
    }

    @Test
    void historyJsonPrintsTheEntriesAsTheProxySentThem() throws IOException {
        int exit = bgctl("history", "--json");

        assertThat(exit).isZero();
        assertThat(json(out.toString())).isEqualTo(json(FakeAdminApi.HISTORY));
        assertThat(api.requests()).extracting(FakeAdminApi.Request::path).containsExactly("/api/v1/history");
    }

    @Test
    void anEmptyHistorySaysSo() {
        api.answer("GET", "/api/v1/history", 200, "[]");

        int exit = bgctl("history");

        assertThat(exit).isZero();
        assertThat(out.toString()).isEqualTo("no changes of state recorded\n");
    }

    @Test
    void divergencesPrintsEachInFullAndTheNonDeterministicCounts() {
        int exit = bgctl("divergences");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .contains("1 divergence (oldest first)")
                .contains("2025-06-01T10:05:00Z  session s-42  leader blue")
                .containsPattern("statement\\s+UPDATE accounts SET balance = balance \\+ \\$1 WHERE id = \\$2")
                .containsPattern("leader did\\s+UPDATE 1")
                .containsPattern("follower did\\s+UPDATE 0")
                .containsPattern("difference\\s+row count 1 on the leader, 0 on the follower")
                .containsPattern("unit\\s+981")
                .contains("non-deterministic statements")
                .containsPattern("17\\s+SELECT now\\(\\)")
                .containsPattern("1,200\\s+INSERT INTO t VALUES \\(nextval\\(\\$1\\)\\)");
    }

    @Test
    void divergencesSaysWhenTheProxyKeptOnlyTheMostRecent() {
        api.answer("GET", "/api/v1/divergences", 200, """
                {"count": 1500, "divergences": [{"at": "2025-06-01T10:05:00Z", "statement": "DELETE FROM t"}],
                 "nonDeterministic": {}}""");

        int exit = bgctl("divergences");

        assertThat(exit).isZero();
        assertThat(out.toString()).startsWith("1 divergence, the most recent of 1,500 (oldest first)\n")
                .doesNotContain("non-deterministic");
    }

    /** A client's SQL reaches the operator's terminal: its control characters arrive escaped. */
    @Test
    void divergencesEscapeControlCharactersInTheClientsSql() {
        api.answer("GET", "/api/v1/divergences", 200, """
                {"count": 1, "divergences": [{"at": "2025-06-01T10:05:00Z",
                  "statement": "DELETE FROM \\"\\u001b]0;owned\\u0007\\u001b[2J\\"", "difference": "line\\nforged"}],
                 "nonDeterministic": {"INSERT INTO \\"\\u001b[31m\\" VALUES (now())": 3}}""");

        int exit = bgctl("divergences");

        assertThat(exit).isZero();
        assertThat(out.toString()).doesNotContain("\u001b").doesNotContain("\u0007")
                .contains("DELETE FROM \"\\x1b]0;owned\\x07\\x1b[2J\"").contains("line\\nforged")
                .contains("INSERT INTO \"\\x1b[31m\" VALUES (now())");
    }

    @Test
    void noDivergencesSaysSo() {
        api.answer("GET", "/api/v1/divergences", 200, "{\"divergences\": [], \"nonDeterministic\": {}}");

        int exit = bgctl("divergences");

        assertThat(exit).isZero();
        assertThat(out.toString()).isEqualTo("no divergences\n");
    }

    @Test
    void divergencesJsonPrintsTheAnswerAsTheProxySentIt() throws IOException {
        int exit = bgctl("divergences", "--json");

        assertThat(exit).isZero();
        assertThat(json(out.toString())).isEqualTo(json(FakeAdminApi.DIVERGENCES));
    }
}
