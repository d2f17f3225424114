package dev.bluegreen.cli;

import static org.assertj.core.api.Assertions.assertThat;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code rollout}, {@code pause} and {@code resume} against the fake admin API, run through
 * {@link Bgctl#execute}, the entry point other modules embed. A plan that moves is a script of states
 * the fake serves one per poll.
 */
class RolloutCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ROLLOUT = "/api/v1/commands/rollout";
    private static final String HOLDING = "inconclusive: error_rate > 0.05 has 40 of 100 samples";

    @TempDir Path dir;

    private FakeAdminApi api;
    private Path tokenFile;
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

    /** bgctl pointed at the fake API with the right token. */
    private int bgctl(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--url", api.url(), "--token-file", tokenFile.toString()));
        return Bgctl.execute(Map.of(), "alice", new PrintWriter(out, true), new PrintWriter(err, true),
                all.toArray(String[]::new));
    }

    private static JsonNode json(String text) throws IOException {
        return JSON.readTree(text);
    }

    private JsonNode rolloutBody() throws IOException {
        assertThat(api.requests("POST", ROLLOUT)).hasSize(1);
        return json(api.requests("POST", ROLLOUT).getFirst().body());
    }

    // ---- starting a plan

    @Test
    void rolloutSendsTheStepsAndTheBakeInSeconds() throws IOException {
        int exit = bgctl("rollout", "--steps", "5,20,100", "--bake", "1m30s", "--reason", "green looks fine");

        assertThat(exit).isZero();
        assertThat(rolloutBody()).isEqualTo(json("""
                {"actor": "bgctl:alice", "reason": "green looks fine", "steps": [5, 20, 100], "bakeSeconds": 90}"""));
    }

    /** A warning the proxy answers with (a rollback overtook the rollout before it answered) goes to standard error. */
    @Test
    void aWarningTheProxyGivesWithTheRolloutIsPrintedToStandardError() throws IOException {
        String state = FakeAdminApi.NEW_STATE.strip();
        api.answer("POST", ROLLOUT, 200, state.substring(0, state.length() - 1)
                + ", \"warnings\": [\"done as epoch 8, but a later change is in force now: epoch 9, weight 0\"]}");

        int exit = bgctl("rollout", "--steps", "50,100");

        assertThat(exit).isZero();
        assertThat(err.toString().strip())
                .isEqualTo("bgctl: warning: done as epoch 8, but a later change is in force now: epoch 9, weight 0");
    }

    @Test
    void rolloutWithoutOptionsLeavesTheStepsAndTheBakeToTheProxy() throws IOException {
        int exit = bgctl("rollout");

        assertThat(exit).isZero();
        assertThat(rolloutBody()).isEqualTo(json("{\"actor\": \"bgctl:alice\"}"));
    }

    @ParameterizedTest
    @CsvSource({"600, 600", "90s, 90", "5m, 300", "1h, 3600", "0, 0", "24h, 86400", "1h0m1s, 3601"})
    void rolloutTakesTheBakeAsADurationOrSeconds(String bake, long seconds) throws IOException {
        int exit = bgctl("rollout", "--bake", bake);

        assertThat(exit).isZero();
        assertThat(rolloutBody().get("bakeSeconds").asLong()).isEqualTo(seconds);
    }

    @Test
    void rolloutPrintsThePlanItStarted() {
        int exit = bgctl("rollout");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .startsWith("rollout: started (epoch 10, phase dual, leader blue, weight 5, follower in sync, "
                        + "plan running at step 1/6)\n")
                .containsPattern("plan\\s+running, weight 5 \\(step 1/6\\): \\[5], 10, 25, 50, 75, 100\n")
                .containsPattern("plan bake\\s+baked 0s of 5m \\(0 %\\)");
        assertThat(api.requests()).hasSize(1);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "--steps|5,5,10|steps must be strictly increasing, 5 follows 5",
            "--steps|25,10|steps must be strictly increasing, 10 follows 25",
            "--steps|0,50,100|each step is a weight from 1 to 100, 0 is not",
            "--steps|50,101|each step is a weight from 1 to 100, 101 is not",
            "--steps|5,ten|'ten' is not a whole number",
            "--steps|5,12.5,50|'12.5' is not a whole number",
            "--steps|5,,50|a step is empty",
            "--bake|five minutes|'five minutes' is not a duration: write it like 90s, 5m, 1h, 1m30s",
            "--bake|1m30|'1m30' is not a duration",
            "--bake|-5|'-5' is not a duration",
            "--bake|25h|'25h' is longer than the proxy allows (24h at most)",
            "--bake|86401|'86401' is longer than the proxy allows",
            "--bake|99999999999999999999s|is longer than the proxy allows",
    })
    void aBadStepOrBakeIsAUsageErrorAndSendsNothing(String option, String value, String problem) {
        int exit = bgctl("rollout", option, value);

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains(problem).contains("Usage: bgctl rollout");
        assertThat(api.requests()).isEmpty();
    }

    @Test
    void followingAsJsonIsAUsageError() {
        int exit = bgctl("rollout", "--follow", "--json");

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).contains("--json and --follow do not go together");
        assertThat(api.requests()).isEmpty();
    }

    @Test
    void aRefusedRolloutExitsOneWithTheProxysReason() {
        api.answer("POST", ROLLOUT, 409, "{\"error\": \"a plan is already running\"}");

        int exit = bgctl("rollout", "--follow");

        assertThat(exit).isEqualTo(1);
        assertThat(err.toString().strip()).isEqualTo("bgctl: refused: a plan is already running");
        assertThat(out.toString()).isEmpty();
        assertThat(api.requests("GET", "/api/v1/state")).isEmpty();
    }

    @Test
    void anUnreachableProxyExitsThree() throws IOException {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }

        int exit = Bgctl.execute(Map.of(), "alice", new PrintWriter(out, true), new PrintWriter(err, true),
                "rollout", "--url", "http://127.0.0.1:" + port, "--token-file", tokenFile.toString());

        assertThat(exit).isEqualTo(3);
        assertThat(err.toString()).contains("cannot reach the proxy's admin API at http://127.0.0.1:" + port);
    }

    // ---- following it

    @Test
    void followPrintsEachStepAndTheBakeUntilThePlanIsDone() {
        api.answerInTurn("GET", "/api/v1/state",
                FakeAdminApi.plannedState(5, "running", 0, 120, HOLDING, null),
                FakeAdminApi.plannedState(10, "running", 1, 0, null, null),
                FakeAdminApi.plannedState(100, "done", 5, 300, null, null));

        int exit = bgctl("rollout", "--follow");

        assertThat(exit).isZero();
        assertThat(out.toString())
                .contains("following the plan every 1s; Ctrl-C stops following, not the plan")
                .containsPattern("\\d\\d:\\d\\d:\\d\\d  weight 5 \\(step 1/6\\): running, baked 0s of 5m\n")
                .contains("weight 5 (step 1/6): baked 2m of 5m, holding: " + HOLDING + "\n")
                .contains("weight 10 (step 2/6): running, baked 0s of 5m\n")
                .contains("weight 100 (step 6/6): done; every step baked, cutover is yours to run (bgctl cutover)\n");
        assertThat(api.requests("GET", "/api/v1/state")).hasSize(3);
        assertThat(api.requests("GET", "/api/v1/health")).hasSize(3);
        assertThat(err.toString()).isEmpty();
    }

    /** The bake's own holding reason ("baking: …") is the bake the line shows already: not repeated, nor a new line each second. */
    @Test
    void followShowsTheBakeOnceWithoutItsHoldingReason() {
        api.answerInTurn("GET", "/api/v1/state",
                FakeAdminApi.plannedState(5, "running", 0, 120, "baking: 120 s of 300 s", null),
                FakeAdminApi.plannedState(5, "running", 0, 121, "baking: 121 s of 300 s", null),
                FakeAdminApi.plannedState(100, "done", 5, 300, null, null));

        int exit = bgctl("rollout", "--follow");

        assertThat(exit).isZero();
        assertThat(out.toString()).contains("weight 5 (step 1/6): baked 2m of 5m\n").doesNotContain("baking:")
                .doesNotContain("baked 2m1s");
    }

    /** A holding reason whose count moves on each second is one line until the reason itself changes. */
    @Test
    void followPrintsAHoldingReasonOnceWhileOnlyItsCountMoves() {
        api.answerInTurn("GET", "/api/v1/state",
                FakeAdminApi.plannedState(5, "running", 0, 0, "inconclusive: error_rate > 0.05 has 40 of 100 samples", null),
                FakeAdminApi.plannedState(5, "running", 0, 0, "inconclusive: error_rate > 0.05 has 41 of 100 samples", null),
                FakeAdminApi.plannedState(5, "running", 0, 0, "frozen", null),
                FakeAdminApi.plannedState(100, "done", 5, 300, null, null));

        int exit = bgctl("rollout", "--follow");

        assertThat(exit).isZero();
        assertThat(out.toString()).contains("holding: inconclusive: error_rate > 0.05 has 40 of 100 samples\n")
                .doesNotContain("41 of 100").contains("holding: frozen\n");
    }

    /** A proxy failing for a moment (a 503) is waited out as an unreachable one is: the plan runs in the proxy. */
    @Test
    void followTriesAgainAfterAServerError() {
        api.answerInTurnAfter("GET", "/api/v1/state", 503, "{\"error\": \"the proxy is busy\"}",
                FakeAdminApi.plannedState(100, "done", 5, 300, null, null));

        int exit = bgctl("rollout", "--follow");

        assertThat(exit).isZero();
        assertThat(out.toString()).contains("weight 100 (step 6/6): done");
        assertThat(err.toString()).contains("the proxy answered HTTP 503: the proxy is busy").contains("answers again");
    }

    @Test
    void followEndsWithExitOneAndTheNoteWhenThePlanIsRolledBack() {
        String note = "rule error_rate > 0.10 fired: 0.12 over 400 units";
        api.answer("GET", "/api/v1/health", 200, FakeAdminApi.HEALTH_FIRING);
        api.answerInTurn("GET", "/api/v1/state",
                FakeAdminApi.plannedState(5, "running", 0, 0, "bake restarted: error_rate > 0.05 fires", null),
                FakeAdminApi.plannedState(0, "rolled_back", 0, 0, null, note));

        int exit = bgctl("rollout", "--follow");

        assertThat(exit).isEqualTo(1);
        assertThat(out.toString())
                .contains("weight 5 (step 1/6): baked 0s of 5m, holding: bake restarted: error_rate > 0.05 fires; "
                        + "firing: error_rate > 0.05 (0.12, pause), error_rate > 0.10 (0.12, rollback)\n")
                .contains("weight 0 (step 1/6): rolled back: " + note + "\n");
        assertThat(err.toString().strip())
                .isEqualTo("bgctl: the rollout is rolled back at weight 0 (step 1/6): " + note);
    }

    @Test
    void followEndsWithExitOneAndWhoPausedIt() {
        api.answerInTurn("GET", "/api/v1/state",
                FakeAdminApi.plannedState(25, "paused", 2, 40, null, "paused by bgctl:bob: checking a dashboard"));

        int exit = bgctl("rollout", "--follow");

        assertThat(exit).isEqualTo(1);
        assertThat(err.toString()).contains("the rollout is paused at weight 25 (step 3/6): paused by bgctl:bob");
    }

    @Test
    void interruptingTheFollowingLeavesThePlanRunning() throws InterruptedException {
        AtomicInteger exit = new AtomicInteger(-1);
        Thread follower = new Thread(() -> exit.set(bgctl("rollout", "--follow")));
        follower.start();

        await().atMost(Duration.ofSeconds(10)).until(() -> api.requests("GET", "/api/v1/state").size() >= 1);
        follower.interrupt();
        follower.join(5_000);

        assertThat(follower.isAlive()).isFalse();
        assertThat(exit.get()).isZero();
        assertThat(err.toString()).contains("stopped following; the plan keeps running in the proxy");
        assertThat(api.requests()).extracting(FakeAdminApi.Request::path).doesNotContain(
                "/api/v1/commands/pause", "/api/v1/commands/abort");
    }

    // ---- pause and resume

    @ParameterizedTest
    @ValueSource(strings = {"pause", "resume"})
    void pauseAndResumePostTheActorAndTheReason(String command) throws IOException {
        int exit = bgctl(command, "--reason", "watching a dashboard");

        assertThat(exit).isZero();
        assertThat(api.requests("POST", "/api/v1/commands/" + command)).singleElement()
                .satisfies(r -> assertThat(json(r.body())).isEqualTo(
                        json("{\"actor\": \"bgctl:alice\", \"reason\": \"watching a dashboard\"}")));
        assertThat(out.toString()).startsWith(command + ": done (epoch 8");
    }

    @Test
    void pauseSaysWhereThePlanHolds() {
        api.answer("POST", "/api/v1/commands/pause", 200,
                FakeAdminApi.plannedState(25, "paused", 2, 40, null, "paused by bgctl:alice"));

        int exit = bgctl("pause");

        assertThat(exit).isZero();
        assertThat(out.toString().strip()).isEqualTo("pause: done (epoch 12, phase dual, leader blue, weight 25, "
                + "follower in sync, plan paused at step 3/6)");
    }

    @Test
    void resumeWithoutAPausedPlanIsRefusedWithTheProxysReason() {
        api.answer("POST", "/api/v1/commands/resume", 409, "{\"error\": \"no paused plan to resume\"}");

        int exit = bgctl("resume");

        assertThat(exit).isEqualTo(1);
        assertThat(err.toString().strip()).isEqualTo("bgctl: refused: no paused plan to resume");
    }
}
