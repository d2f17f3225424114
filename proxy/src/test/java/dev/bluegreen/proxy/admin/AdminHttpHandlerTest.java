package dev.bluegreen.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.bluegreen.config.Health;
import dev.bluegreen.proxy.control.Autopilot;
import dev.bluegreen.proxy.control.HealthWindows;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.metrics.ProxyMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The admin pipeline on the wire: HTTP bytes in, HTTP bytes out, through the same handlers the server uses. */
class AdminHttpHandlerTest {

    private static final String TOKEN = "wire-token";
    /** A request answered 404, for a request pipelined behind it to wait on. */
    private static final String NOT_FOUND = "GET /api/v1/nope HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer " + TOKEN + "\r\n\r\n";

    private RoutingControl control;
    private EmbeddedChannel channel;

    @BeforeEach
    void setUp() {
        control = new RoutingControl(RoutingState.initial(), Duration.ofSeconds(1));
        MigrationStats stats = new MigrationStats();
        AdminApi api = new AdminApi(AdminToken.of(TOKEN), autopilot(control), stats, () -> 0,
                ProxyMetrics.prometheus(control, stats, () -> 0, cluster -> 0), Runnable::run, Runnable::run, Clock.systemUTC());
        channel = new EmbeddedChannel();
        AdminServer.pipeline(channel.pipeline(), api);
    }

    /** Sends raw request bytes, lets the answers be written, and returns everything written back. */
    private String exchange(String requests) {
        channel.writeInbound(Unpooled.copiedBuffer(requests, StandardCharsets.US_ASCII));
        for (int i = 0; i < 4; i++) {
            channel.runPendingTasks();
        }
        List<String> written = new ArrayList<>();
        ByteBuf out;
        while ((out = channel.readOutbound()) != null) {
            written.add(out.toString(StandardCharsets.UTF_8));
            out.release();
        }
        return String.join("", written);
    }

    private static String post(String path, String body, String... headers) {
        return "POST " + path + " HTTP/1.1\r\nHost: proxy\r\n" + String.join("", headers)
                + "Content-Type: application/json\r\nContent-Length: " + body.getBytes(StandardCharsets.UTF_8).length
                + "\r\n\r\n" + body;
    }

    /** A start whose headers announce a body one byte over the limit, with {@code headers} and the body's first byte. */
    private static String oversizedStart(String headers, String body) {
        return "POST /api/v1/commands/start HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer " + TOKEN + "\r\n" + headers
                + "Content-Length: " + (AdminServer.MAX_BODY_BYTES + 1) + "\r\n\r\n" + body;
    }

    /** A request trickled in is closed at its deadline, however recently its last byte came; a whole one is not. */
    @Test
    void aRequestNotWholeWithinItsDeadlineClosesTheConnection() {
        channel.freezeTime();
        assertThat(exchange("GET /health HTTP/1.1\r\nHost: proxy\r\n\r\n")).startsWith("HTTP/1.1 200 OK");
        channel.advanceTimeBy(AdminServer.REQUEST_SECONDS + 1, TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();
        assertThat(channel.isOpen()).as("a whole request answered: no clock").isTrue();

        for (int second = 0; second < AdminServer.REQUEST_SECONDS; second++) {
            exchange("X"); // a header trickled in, a byte a second: the idle timer would never fire
            channel.advanceTimeBy(1, TimeUnit.SECONDS);
            channel.runScheduledPendingTasks();
        }
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void healthAnswersAndTheConnectionStaysOpen() {
        String response = exchange("GET /health?verbose=1 HTTP/1.1\r\nHost: proxy\r\n\r\n");

        assertThat(response).startsWith("HTTP/1.1 200 OK\r\n")
                .contains("content-type: application/json; charset=utf-8\r\n", "content-length: 15\r\n",
                        "cache-control: no-store\r\n")
                .endsWith("\r\n\r\n{\"status\":\"ok\"}");
        assertThat(channel.isOpen()).isTrue();
        assertThat(channel.config().isAutoRead()).isTrue();
        assertFalse(channel.finish());
    }

    @Test
    void aCommandWithTheTokenRunsAndAnswersTheNewState() {
        String response = exchange(post("/api/v1/commands/start", "{\"actor\": \"wire-test\"}",
                "Authorization: Bearer " + TOKEN + "\r\n"));

        assertThat(response).startsWith("HTTP/1.1 200 OK\r\n").contains("\"phase\":\"dual\"");
        assertThat(control.history().getFirst().actor()).isEqualTo("wire-test");
        assertFalse(channel.finish());
    }

    @Test
    void withoutTheTokenTheAnswerIsUnauthorized() {
        String response = exchange(post("/api/v1/commands/start", "{}"));

        assertThat(response).startsWith("HTTP/1.1 401 Unauthorized\r\n")
                .contains("www-authenticate: Bearer realm=\"bluegreen\"\r\n")
                .endsWith("{\"error\":\"a valid bearer token is required\"}");
        assertThat(control.current().epoch()).isEqualTo(1);
        assertFalse(channel.finish());
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() {
        String response = exchange("GET /api/v1/nope HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer " + TOKEN + "\r\n\r\n"
                + "GET /health HTTP/1.1\r\nHost: proxy\r\n\r\n");

        assertThat(response.indexOf("HTTP/1.1 404 Not Found")).isZero();
        assertThat(response.indexOf("HTTP/1.1 200 OK")).isGreaterThan(0);
        assertFalse(channel.finish());
    }

    @Test
    void connectionCloseIsHonoured() {
        String response = exchange("GET /health HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n");

        assertThat(response).startsWith("HTTP/1.1 200 OK\r\n").contains("connection: close\r\n");
        assertThat(channel.isOpen()).isFalse();
        assertFalse(channel.finish());
    }

    @Test
    void aBodyOverTheLimitIsRefusedBeforeItIsBuffered() {
        String response = exchange(oversizedStart("", "{"));

        assertThat(response).startsWith("HTTP/1.1 413 Request Entity Too Large\r\n").contains("connection: close\r\n")
                .endsWith("{\"error\":\"request body over " + AdminServer.MAX_BODY_BYTES + " bytes\"}");
        assertThat(control.current().epoch()).isEqualTo(1);
        assertThat(channel.isOpen()).isFalse();
        channel.finishAndReleaseAll();
    }

    /** A 413 waits its turn like any answer: the request pipelined ahead of it is answered first. */
    @Test
    void aBodyOverTheLimitPipelinedBehindARequestIsAnsweredAfterIt() {
        String response = exchange(NOT_FOUND + oversizedStart("", "{"));

        assertThat(response).startsWith("HTTP/1.1 404 Not Found\r\n");
        assertThat(response.indexOf("HTTP/1.1 413 Request Entity Too Large\r\n")).isGreaterThan(0);
        assertThat(control.current().epoch()).isEqualTo(1);
        assertThat(channel.isOpen()).isFalse();
        channel.finishAndReleaseAll();
    }

    /** One that asks to be told to go on is refused in its turn too, and never told to send its body. */
    @Test
    void aBodyOverTheLimitExpectingContinueIsRefusedInItsTurn() {
        String response = exchange(NOT_FOUND + oversizedStart("Expect: 100-continue\r\n", ""));

        assertThat(response).startsWith("HTTP/1.1 404 Not Found\r\n").doesNotContain("100 Continue");
        assertThat(response.indexOf("HTTP/1.1 413 Request Entity Too Large\r\n")).isGreaterThan(0);
        assertThat(channel.isOpen()).isFalse();
        channel.finishAndReleaseAll();
    }

    @Test
    void garbageIsABadRequest() {
        String response = exchange("NOT HTTP AT ALL\r\n\r\n");

        assertThat(response).startsWith("HTTP/1.1 400 Bad Request\r\n");
        assertThat(channel.isOpen()).isFalse();
        assertFalse(channel.finish());
    }

    @ParameterizedTest
    @ValueSource(strings = {"/api/v1/state%", "/%zz", "/health%", "/api/v1/commands/start%2"})
    void aPathWithABrokenPercentEscapeIsABadRequestAndTheConnectionGoesOn(String path) {
        String response = exchange("GET " + path + " HTTP/1.1\r\nHost: proxy\r\nAuthorization: Bearer " + TOKEN
                + "\r\n\r\nGET /health HTTP/1.1\r\nHost: proxy\r\n\r\n");

        assertThat(response).startsWith("HTTP/1.1 400 Bad Request\r\n")
                .contains("content-type: application/json; charset=utf-8\r\n",
                        "{\"error\":\"malformed request path: invalid percent-encoding\"}HTTP/1.1 200 OK\r\n");
        assertThat(channel.isOpen()).isTrue();
        assertThat(control.current().epoch()).isEqualTo(1);
        assertFalse(channel.finish());
    }

    /** Commands enter through an autopilot that is never started: no tick runs behind the test's back. */
    static Autopilot autopilot(RoutingControl control) {
        return new Autopilot(control, new HealthWindows(Duration.ofSeconds(60)), Health.defaults(), Clock.systemUTC(),
                Autopilot.DEFAULT_TICK);
    }

    /** HEAD is answered wherever GET is, with the headers alone (HTTP asks it; load balancers' checks use it). */
    @Test
    void aHeadRequestGetsTheHeadersAlone() {
        String answer = exchange("HEAD /health HTTP/1.1\r\nHost: proxy\r\n\r\n");

        assertThat(answer).startsWith("HTTP/1.1 200 OK").contains("content-length: 15").endsWith("\r\n\r\n");
        assertThat(channel.isOpen()).isTrue();
    }
}
