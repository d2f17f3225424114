package dev.bluegreen.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The proxy's admin HTTP API as the contract describes it, played by a JDK HTTP server on a free
 * loopback port: it checks the bearer token like the proxy (401 without it, except on
 * {@code /health}), records every request and answers from a table a test can change.
 * The canned answers carry fields bgctl does not know, as a newer proxy's would.
 */
final class FakeAdminApi implements AutoCloseable {

    static final String TOKEN = "tok-7f3a9c";

    record Request(String method, String path, String authorization, String body) {}

    private record Answer(int status, String json, Duration delay) {}

    static final String STATE = """
            {"epoch": 7, "phase": "dual", "leader": "blue", "followerWrites": "sync", "weight": 25,
             "followerInSync": true, "frozen": false, "finalized": false, "sessions": 12,
             "barrierHolders": [], "instance": "proxy-a"}""";

    static final String STATS = """
            {"unitsServedBlue": 12000, "unitsServedGreen": 3000, "greenErrors": 2, "readRetries": 5,
             "mirrorDrops": 0, "unorderedStatements": 1, "pinnedSessions": 3, "divergences": 4,
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

    static final List<String> COMMANDS = List.of(
            "start", "shadow", "set-weight", "rollback", "cutover", "finalize", "abort", "freeze", "unfreeze");

    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final Map<String, Answer> answers = new ConcurrentHashMap<>();
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
        for (String command : COMMANDS) {
            answer("POST", "/api/v1/commands/" + command, 200, NEW_STATE);
        }
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
        answers.put(method + " " + path, new Answer(status, json, delay));
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
                answer = answers.getOrDefault(exchange.getRequestMethod() + " " + path,
                        new Answer(404, "{\"error\": \"no such resource\"}", Duration.ZERO));
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
