package dev.bluegreen.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The proxy's admin HTTP API as the contract describes it, played by a JDK HTTP server on a free
 * loopback port: it checks the bearer token like the proxy (401 without it, except on
 * {@code /health}), records every request and answers from a table a test can change. An answer can
 * also be a script, one answer per request in turn, so a rollout plan can move on between polls.
 * The canned answers carry fields bgctl does not know, as a newer proxy's would; the plan and the
 * health figures are shaped as docs/admin-api.md shows them.
 */
final class FakeAdminApi implements AutoCloseable {

    static final String TOKEN = "tok-7f3a9c";

    record Request(String method, String path, String authorization, String body) {}

    private record Answer(int status, String json, Duration delay) {}

    /** Answers served one per request in turn; the last one stays. */
    private record Script(List<Answer> answers, AtomicInteger served) {
        Answer next() {
            return answers.get(Math.min(served.getAndIncrement(), answers.size() - 1));
        }
    }

    /** The plan of the contract's example: running, at its third step, holding for samples. */
    static final String PLAN = """
            {"status": "running", "steps": [5, 10, 25, 50, 75, 100], "position": 2, "weight": 25,
             "bakeSeconds": 300, "stepStartedAt": "2025-06-01T10:05:00Z", "bakedSeconds": 120,
             "holding": "inconclusive: error_rate > 0.05 has 40 of 100 samples", "note": null}""";

    static final String STATE = """
            {"epoch": 7, "phase": "dual", "leader": "blue", "followerWrites": "sync", "weight": 25,
             "followerInSync": true, "frozen": false, "finalized": false, "sessions": 12,
             "barrierHolders": [], "instance": "proxy-a", "plan": %s}""".formatted(PLAN);

    /** The contract's example: every rule healthy. */
    static final String HEALTH = """
            {"verdict": "healthy", "windowSeconds": 60, "evaluatedAt": "2025-06-01T10:07:00Z",
             "figures": {
               "clusters": {
                 "blue":  {"units": 5400, "unitsPerSecond": 90.0, "served": 5400, "followed": 0, "errors": 3, "errorRate": 0.0006,
                           "read":  {"count": 4000, "p50Ms": 0.4, "p95Ms": 1.1, "p99Ms": 2.3},
                           "write": {"count": 1400, "p50Ms": 1.9, "p95Ms": 4.0, "p99Ms": 7.5}},
                 "green": {"units": 1350, "unitsPerSecond": 22.5, "served": 1350, "followed": 0, "errors": 0, "errorRate": 0.0,
                           "read":  {"count": 1350, "p50Ms": 0.5, "p95Ms": 1.2, "p99Ms": 2.0},
                           "write": {"count": 0, "p50Ms": null, "p95Ms": null, "p99Ms": null}}},
               "errorRate": 0.0, "greenSamples": 1350, "greenBlamed": 0,
               "latencyP95Ratio": 1.09, "latencyP99Ratio": 0.87, "latencySamples": 1350,
               "divergences": 0},
             "rules": [
               {"name": "error_rate > 0.05", "metric": "error_rate", "op": ">", "threshold": 0.05, "action": "pause",
                "minSamples": 100, "value": 0.0, "samples": 1350, "verdict": "healthy"}]}""";

    /** Green failing: two error-rate rules fire, one latency rule lacks samples. */
    static final String HEALTH_FIRING = """
            {"verdict": "rollback", "windowSeconds": 60, "evaluatedAt": "2025-06-01T10:08:00Z",
             "figures": {
               "clusters": {
                 "blue":  {"units": 5400, "unitsPerSecond": 90.0, "served": 5400, "followed": 0, "errors": 3, "errorRate": 0.0006,
                           "read":  {"count": 4000, "p50Ms": 0.4, "p95Ms": 1.1, "p99Ms": 2.3},
                           "write": {"count": 1400, "p50Ms": 1.9, "p95Ms": 4.0, "p99Ms": 7.5}},
                 "green": {"units": 400, "unitsPerSecond": 6.7, "errors": 48, "errorRate": 0.12,
                           "read":  {"count": 400, "p50Ms": 0.9, "p95Ms": 14.2, "p99Ms": 120.5},
                           "write": {"count": 0, "p50Ms": null, "p95Ms": null, "p99Ms": null}}},
               "errorRate": 0.12, "greenSamples": 400, "greenBlamed": 48,
               "latencyP95Ratio": 12.9, "latencyP99Ratio": null, "latencySamples": 40,
               "divergences": 0},
             "rules": [
               {"name": "error_rate > 0.05", "metric": "error_rate", "op": ">", "threshold": 0.05, "action": "pause",
                "minSamples": 100, "value": 0.12, "samples": 400, "verdict": "firing"},
               {"name": "error_rate > 0.10", "metric": "error_rate", "op": ">", "threshold": 0.10, "action": "rollback",
                "minSamples": 100, "value": 0.12, "samples": 400, "verdict": "firing"},
               {"name": "latency_p95_ratio > 2", "metric": "latency_p95_ratio", "op": ">", "threshold": 2,
                "action": "warn", "minSamples": 100, "value": 12.9, "samples": 40, "verdict": "inconclusive"}]}""";

    static final String STATS = """
            {"unitsServedBlue": 12000, "unitsServedGreen": 3000, "greenErrors": 2, "readRetries": 5,
             "greenReadsOverdue": 1, "mirrorDrops": 0, "unorderedStatements": 1, "pinnedSessions": 3, "twinsRemade": 2,
             "divergences": 4,
             "latency": {"green": {"p95": 3.5}}}""";

    static final String HISTORY = """
            [{"at": "2025-06-01T10:00:00Z", "epoch": 2, "actor": "bgctl:alice", "command": "start", "reason": null,
              "state": {"epoch": 2, "phase": "DUAL", "leader": "BLUE", "weight": 0, "followerInSync": true,
                        "frozen": false, "finalized": false}},
             {"at": 1748772060.5, "epoch": 3, "actor": "rule:error_rate", "command": "rollback",
              "reason": "error_rate 0.12 > 0.10 over 400 units",
              "state": {"epoch": 3, "phase": "DUAL", "leader": "BLUE", "weight": 0, "followerInSync": true,
                        "frozen": false, "finalized": false}}]""";

    static final String DIVERGENCES = """
            {"count": 1, "divergences": [{"at": "2025-06-01T10:05:00Z", "session": "s-42", "leaderCluster": "blue",
                              "statement": "UPDATE accounts SET balance = balance + $1 WHERE id = $2",
                              "leader": "UPDATE 1", "follower": "UPDATE 0",
                              "difference": "row count 1 on the leader, 0 on the follower", "unit": 981}],
             "nonDeterministic": {"SELECT now()": 17, "INSERT INTO t VALUES (nextval($1))": 1200}}""";

    /** The state the commands answer with unless a test says otherwise. */
    static final String NEW_STATE = """
            {"epoch": 8, "phase": "dual", "leader": "blue", "followerWrites": "sync", "weight": 50,
             "followerInSync": true, "frozen": false, "finalized": false, "sessions": 12, "barrierHolders": []}""";

    /** What {@code rollout} answers unless a test says otherwise: the default plan, just started. */
    static final String STARTED = plannedState(5, "running", 0, 0, null, null);

    static final List<String> COMMANDS = List.of("start", "shadow", "set-weight", "rollback", "cutover", "finalize",
            "abort", "freeze", "unfreeze", "pause", "resume");

    /** A state whose plan steps through the default weights, at the step {@code weight}, 5-minute bakes. */
    static String plannedState(int weight, String status, int position, int bakedSeconds, String holding, String note) {
        return """
                {"epoch": %d, "phase": "dual", "leader": "blue", "followerWrites": "sync", "weight": %d,
                 "followerInSync": true, "frozen": false, "finalized": false, "sessions": 12, "barrierHolders": [],
                 "instance": "local",
                 "plan": {"status": "%s", "steps": [5, 10, 25, 50, 75, 100], "position": %d, "weight": %d,
                          "bakeSeconds": 300, "stepStartedAt": "2025-06-01T10:05:00Z", "bakedSeconds": %d,
                          "holding": %s, "note": %s}}""".formatted(10 + position, weight, status, position, weight,
                bakedSeconds, quoted(holding), quoted(note));
    }

    private static String quoted(String text) {
        return text == null ? "null" : "\"" + text + "\"";
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final Map<String, Script> answers = new ConcurrentHashMap<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();

    FakeAdminApi() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(executor);
        answer("GET", "/health", 200, "{\"status\": \"up\"}");
        answer("GET", "/api/v1/state", 200, STATE);
        answer("GET", "/api/v1/stats", 200, STATS);
        answer("GET", "/api/v1/history", 200, HISTORY);
        answer("GET", "/api/v1/divergences", 200, DIVERGENCES);
        answer("GET", "/api/v1/health", 200, HEALTH);
        for (String command : COMMANDS) {
            answer("POST", "/api/v1/commands/" + command, 200, NEW_STATE);
        }
        answer("POST", "/api/v1/commands/rollout", 200, STARTED);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    void answer(String method, String path, int status, String json) {
        answer(method, path, status, json, Duration.ZERO);
    }

    /** Answers only after {@code delay}, as a command waiting on the write barrier does. */
    void answer(String method, String path, int status, String json, Duration delay) {
        answers.put(method + " " + path, new Script(List.of(new Answer(status, json, delay)), new AtomicInteger()));
    }

    /** 200 with each of {@code jsons} in turn, one per request, then the last one for good. */
    void answerInTurn(String method, String path, String... jsons) {
        List<Answer> inTurn = Arrays.stream(jsons).map(json -> new Answer(200, json, Duration.ZERO)).toList();
        answers.put(method + " " + path, new Script(inTurn, new AtomicInteger()));
    }

    /** {@code status} with {@code first} once, then 200 with each of {@code then} in turn, the last for good. */
    void answerInTurnAfter(String method, String path, int status, String first, String... then) {
        List<Answer> inTurn = new ArrayList<>();
        inTurn.add(new Answer(status, first, Duration.ZERO));
        Arrays.stream(then).map(json -> new Answer(200, json, Duration.ZERO)).forEach(inTurn::add);
        answers.put(method + " " + path, new Script(List.copyOf(inTurn), new AtomicInteger()));
    }

    List<Request> requests() {
        return List.copyOf(requests);
    }

    List<Request> requests(String method, String path) {
        return requests.stream().filter(r -> r.method().equals(method) && r.path().equals(path)).toList();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String path = exchange.getRequestURI().getPath();
            String authorization = exchange.getRequestHeaders().getFirst("Authorization");
            requests.add(new Request(exchange.getRequestMethod(), path, authorization, body));
            Answer answer;
            if (!path.equals("/health") && !("Bearer " + TOKEN).equals(authorization)) {
                answer = new Answer(401, "{\"error\": \"a valid bearer token is required\"}", Duration.ZERO);
            } else {
                Script script = answers.get(exchange.getRequestMethod() + " " + path);
                answer = script != null ? script.next()
                        : new Answer(404, "{\"error\": \"no such resource\"}", Duration.ZERO);
            }
            try {
                Thread.sleep(answer.delay());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] bytes = answer.json().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(answer.status(), bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
