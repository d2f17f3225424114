package dev.bluegreen.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The proxy's admin HTTP API as bgctl sees it: JSON in and out, every request with the bearer token.
 * Answers are read as trees, so fields this version does not know are kept (for {@code --json}) and
 * otherwise ignored. Each way a request can fail becomes a {@link BgctlException} with its exit code.
 */
final class AdminClient implements AutoCloseable {

    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    static final Duration READ_TIMEOUT = Duration.ofSeconds(15);
    /** How long a command may take before bgctl says it is still waiting. */
    static final Duration PATIENCE = Duration.ofSeconds(2);
    /**
     * While a command runs, how often bgctl makes sure the proxy still answers ({@code GET /health}, which
     * a command waiting on the write barrier does not hold up). Changed by tests only.
     */
    static volatile Duration livenessInterval = Duration.ofSeconds(30);
    /** Probes in a row that must go unanswered before bgctl gives up on a running command. */
    static final int LIVENESS_MISSES = 3;
    /** How long that {@code GET /health} may take. Changed by tests only. */
    static volatile Duration livenessTimeout = READ_TIMEOUT;

    /** Told once when a command is slow to return. */
    interface Waiting {
        void stillWaiting(String command);
    }

    static final ObjectMapper JSON = new ObjectMapper();

    private final AdminTarget target;
    private final HttpClient http;

    AdminClient(AdminTarget target) {
        this.target = target;
        // the admin API speaks HTTP/1.1; no h2c upgrade attempt
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    AdminTarget target() {
        return target;
    }

    /** {@code GET /api/v1/<resource>}. */
    JsonNode get(String resource) throws InterruptedException {
        HttpRequest request = getRequest(resource);
        return answer(request, await(send(request), null, null));
    }

    /**
     * {@code GET /api/v1/<resource>} for a resource an older proxy does not have: null when it answers
     * 404, so what it does have can still be shown.
     */
    JsonNode getIfServed(String resource) throws InterruptedException {
        HttpRequest request = getRequest(resource);
        HttpResponse<String> response = await(send(request), null, null);
        return response.statusCode() == 404 ? null : answer(request, response);
    }

    private HttpRequest getRequest(String resource) {
        return request("/api/v1/" + resource).timeout(READ_TIMEOUT).GET().build();
    }

    /**
     * {@code POST /api/v1/commands/<command>}: the proxy answers with the new state once it is in force. No time
     * limit here: a command may wait for the write barrier ({@code routing.write_barrier_timeout}, up to 24 h),
     * and the proxy bounds it; a limit of bgctl's own would report a command that then took effect as failed.
     * bgctl gives up only when the proxy stops answering altogether.
     */
    JsonNode command(String command, ObjectNode body, Waiting waiting) throws InterruptedException {
        return post("commands/" + command, body, null, command, waiting);
    }

    /** {@code POST /api/v1/verify}: reads every table of a database on both clusters, so no time limit. */
    JsonNode verify(ObjectNode body, Waiting waiting) throws InterruptedException {
        return post("verify", body, null, "verify", waiting);
    }

    private JsonNode post(String resource, ObjectNode body, Duration timeout, String what, Waiting waiting)
            throws InterruptedException {
        String json;
        try {
            json = JSON.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        HttpRequest.Builder request = request("/api/v1/" + resource)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8));
        if (timeout != null) {
            request.timeout(timeout);
        }
        HttpRequest built = request.build();
        return answer(built, await(send(built), what, waiting));
    }

    private CompletableFuture<HttpResponse<String>> send(HttpRequest request) {
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(target.url() + path))
                .header("Authorization", "Bearer " + target.token())
                .header("Accept", "application/json");
    }

    private HttpResponse<String> await(CompletableFuture<HttpResponse<String>> pending,
                                       String command, Waiting waiting) throws InterruptedException {
        HttpResponse<String> response;
        try {
            try {
                response = pending.get(PATIENCE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException slow) {
                if (waiting != null) {
                    waiting.stillWaiting(command);
                }
                response = awaitWhileAlive(pending, command);
            }
        } catch (InterruptedException e) {
            pending.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            throw unreachable(e.getCause());
        }
        return response;
    }

    /**
     * No time limit of its own (a command may wait for a long write barrier), but an end when the proxy stops
     * answering altogether (stopped, its machine gone): a command bgctl gave up on may still take effect.
     */
    private HttpResponse<String> awaitWhileAlive(CompletableFuture<HttpResponse<String>> pending, String command)
            throws InterruptedException, ExecutionException {
        int unanswered = 0;
        while (true) {
            try {
                return pending.get(livenessInterval.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException stillRunning) {
                unanswered = answersHealth() ? 0 : unanswered + 1;
                if (unanswered >= LIVENESS_MISSES) { // one miss may be a pause of the proxy's or the network's
                    pending.cancel(true);
                    throw BgctlException.unreachable("the proxy's admin API at " + target.url()
                            + " stopped answering while it ran " + command + "; whether that took effect is"
                            + " unknown: see bgctl status once the proxy answers again");
                }
            }
        }
    }

    private boolean answersHealth() throws InterruptedException {
        HttpRequest health = HttpRequest.newBuilder(URI.create(target.url() + "/health")).timeout(livenessTimeout).GET()
                .build();
        try {
            http.send(health, HttpResponse.BodyHandlers.discarding());
            return true; // any answer: the proxy is there
        } catch (IOException e) {
            return false;
        }
    }

    private JsonNode answer(HttpRequest request, HttpResponse<String> response) {
        int status = response.statusCode();
        String body = response.body();
        if (status == 200) {
            try {
                return JSON.readTree(body);
            } catch (JsonProcessingException e) {
                throw BgctlException.refused("the proxy at " + target.url() + " answered " + request.uri().getPath()
                        + " with something that is not JSON: " + abbreviate(body));
            }
        }
        String error = errorOf(body);
        throw switch (status) {
            case 401, 403 -> BgctlException.refused("the proxy refused the token (from " + target.tokenSource()
                    + "); give the one the proxy uses with --token-file or " + AdminTarget.TOKEN_VARIABLE);
            case 409 -> BgctlException.refused("refused: " + error);
            case 400 -> BgctlException.usage("the proxy rejected the request: " + error);
            case 404 -> BgctlException.refused("the proxy at " + target.url() + " has no " + request.uri().getPath()
                    + " (HTTP 404): is it a bluegreen admin API of this version?");
            default -> status >= 500 ? BgctlException.serverError("the proxy answered HTTP " + status + ": " + error)
                    : BgctlException.refused("the proxy answered HTTP " + status + ": " + error);
        };
    }

    private BgctlException unreachable(Throwable cause) {
        String why;
        if (cause instanceof HttpConnectTimeoutException) {
            why = "no connection within " + CONNECT_TIMEOUT.toSeconds() + " s";
        } else if (cause instanceof HttpTimeoutException) {
            why = "connected, but no answer in time";
        } else if (cause instanceof ConnectException) {
            why = cause.getCause() instanceof UnresolvedAddressException ? "unknown host" : "connection refused";
        } else if (cause instanceof IOException) {
            why = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        } else {
            throw new IllegalStateException("admin request failed", cause);
        }
        return BgctlException.unreachable("cannot reach the proxy's admin API at " + target.url() + " (" + why
                + "). Is the proxy running, and is --url (or " + AdminTarget.URL_VARIABLE + ") right?");
    }

    /** {@code {"error": "..."}} as the contract says, or the body itself from anything else. */
    private static String errorOf(String body) {
        try {
            JsonNode node = JSON.readTree(body);
            if (node != null && node.hasNonNull("error")) {
                return node.get("error").asText();
            }
        } catch (JsonProcessingException notJson) {
            // fall through: show what came
        }
        return body == null || body.isBlank() ? "(no reason given)" : abbreviate(body.strip());
    }

    private static String abbreviate(String text) {
        return text.length() <= 200 ? text : text.substring(0, 200) + "...";
    }

    @Override
    public void close() {
        http.close();
    }
}
