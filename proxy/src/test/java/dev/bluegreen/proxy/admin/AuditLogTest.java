package dev.bluegreen.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.bluegreen.proxy.control.TickingClock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class AuditLogTest {

    private final TickingClock clock = new TickingClock();
    private final AuditLog audit = new AuditLog(clock);
    private final Logger logger = (Logger) LoggerFactory.getLogger(AuditLog.class);
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();

    @BeforeEach
    void capture() {
        lines.start();
        logger.addAppender(lines);
    }

    @AfterEach
    void release() {
        logger.detachAppender(lines);
    }

    private List<String> warnings() {
        return lines.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
    }

    /** Anyone who can connect may send requests without a token as fast as they like: they must not flood the log. */
    @Test
    void aFloodOfRefusedRequestsIsOneLineEveryTenSecondsThatCountsTheRest() {
        for (int i = 0; i < 1_000; i++) { // 5 s of them
            audit.denied("10.0.0." + (i % 7), "GET", "/api/v1/state", "no bearer token");
            clock.advance(Duration.ofMillis(5));
        }
        assertThat(warnings()).containsExactly(
                "admin request denied remote=10.0.0.0 method=GET path=/api/v1/state reason=no bearer token");

        clock.advance(AuditLog.DENIALS_LOGGED_EVERY.minus(Duration.ofSeconds(5))); // 10 s after the first
        audit.denied("10.0.0.9", "POST", "/api/v1/commands/rollback", "wrong bearer token");
        assertThat(warnings()).hasSize(2).last().isEqualTo("admin request denied remote=10.0.0.9 method=POST"
                + " path=/api/v1/commands/rollback reason=wrong bearer token deniedSinceLastLine=999");

        clock.advance(AuditLog.DENIALS_LOGGED_EVERY.plusMillis(1));
        audit.denied("10.0.0.9", "GET", "/api/v1/state", "no bearer token");
        assertThat(warnings()).hasSize(3).last().asString().doesNotContain("deniedSinceLastLine");

        // the audit keeps each of the most recent ones, logged or not
        assertThat(audit.entries()).hasSize(AuditLog.DENIALS_KEPT).allMatch(e -> e.status() == 401);
    }

    /** A command's reason may be up to 1000 characters, and the audit keeps it whole, in one line. */
    @Test
    void aCommandsWholeReasonIsKeptOnOneLine() {
        String reason = "x".repeat(CommandRequest.MAX_REASON - 1) + "\n";
        audit.command("127.0.0.1", "POST", "/api/v1/commands/rollback", "bgctl:alice", 200, "done, epoch 9 (reason: " + reason + ")");

        assertThat(audit.entries().getLast().outcome()).contains("x".repeat(CommandRequest.MAX_REASON - 1) + "?)")
                .doesNotContain("\n");
        audit.denied("10.0.0.1", "GET", "/" + "p".repeat(1000), "no bearer token");
        assertThat(audit.entries().getLast().path()).as("what anyone may send stays short").hasSize(201);
    }
}
