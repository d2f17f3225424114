package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** The admin HTTP API as an operator's script uses it: bearer token, JSON in and out. */
final class AdminHttp {

    static final ObjectMapper JSON = new ObjectMapper();

    /** An answer: the HTTP status and the JSON body. */
    record Answer(int status, JsonNode body) {}

    private final HttpClient http = HttpClient.newHttpClient();
    private final String base;
    private final String token;

    AdminHttp(InetSocketAddress admin, String token) {
        this.base = "http://127.0.0.1:" + admin.getPort();
        this.token = token;
    }

    JsonNode get(String path) {
        Answer answer = send(HttpRequest.newBuilder(URI.create(base + path)).GET());
        assertThat(answer.status()).as("GET %s: %s", path, answer.body()).isEqualTo(200);
        return answer.body();
    }

    /** A text answer, such as {@code /metrics}. */
    String text(String path) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + token).GET().build();
        HttpResponse<String> response = http.sendAsync(request, HttpResponse.BodyHandlers.ofString()).join();
        assertThat(response.statusCode()).as("GET %s", path).isEqualTo(200);
        return response.body();
    }

    JsonNode state() {
        return get("/api/v1/state");
    }

    /** A command that must succeed; returns the state in force. */
    JsonNode command(String name, String body) {
        Answer answer = post(name, body);
        assertThat(answer.status()).as("%s %s: %s", name, body, answer.body()).isEqualTo(200);
        return answer.body();
    }

    /** {@code POST /api/v1/verify}: the check's report, or why it was refused. */
    Answer verify(String body) {
        return send(HttpRequest.newBuilder(URI.create(base + "/api/v1/verify")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    Answer post(String name, String body) {
        return postAsync(name, body).join();
    }

    CompletableFuture<Answer> postAsync(String name, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + "/api/v1/commands/" + name))
                .header("Content-Type", "application/json")
                .POST(body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return sendAsync(request);
    }

    private Answer send(HttpRequest.Builder request) {
        return sendAsync(request).join();
    }

    private CompletableFuture<Answer> sendAsync(HttpRequest.Builder request) {
        request.timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer " + token);
        return http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString()).thenApply(response -> {
            try {
                return new Answer(response.statusCode(), JSON.readTree(response.body()));
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + response.body(), e);
            }
        });
    }
}
