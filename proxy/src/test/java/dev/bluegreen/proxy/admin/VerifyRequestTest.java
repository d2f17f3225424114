package dev.bluegreen.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The body of {@code POST /api/v1/verify}: a database name or nothing, everything else refused with the reason. */
class VerifyRequestTest {

    private static Optional<String> parse(String body) throws CommandRequest.BadRequest {
        return VerifyRequest.parse(body == null ? null : body.getBytes(StandardCharsets.UTF_8));
    }

    private static void refused(String body, String reason) {
        assertThatThrownBy(() -> parse(body)).isInstanceOf(CommandRequest.BadRequest.class).hasMessage(reason);
    }

    @Test
    void noBodyOrNoDatabaseLeavesTheDefault() throws Exception {
        assertThat(parse(null)).isEmpty();
        assertThat(parse(" ")).isEmpty();
        assertThat(parse("{}")).isEmpty();
        assertThat(parse("{\"database\": null}")).isEmpty();
    }

    @Test
    void aDatabaseIsTakenAsItIsSpelt() throws Exception {
        assertThat(parse("{\"database\": \"Shop\"}")).contains("Shop");
        assertThat(parse("{\"database\": \"" + "d".repeat(63) + "\"}")).contains("d".repeat(63));
    }

    @Test
    void anythingElseIsRefusedWithTheReason() {
        refused("{\"db\": \"shop\"}", "unknown field \"db\"; expected database");
        refused("{\"database\": 7}", "\"database\" must be a database name of 1 to 63 characters, none of them a control character");
        refused("{\"database\": \"\"}", "\"database\" must be a database name of 1 to 63 characters, none of them a control character");
        refused("{\"database\": \"" + "d".repeat(64) + "\"}", "\"database\" must be a database name of 1 to 63 characters, none of them a control character");
        refused("{\"database\": \"shop\\u0000x\"}",
                "\"database\" must be a database name of 1 to 63 characters, none of them a control character");
        refused("[\"shop\"]", "the body must be a JSON object");
        assertThatThrownBy(() -> parse("{\"database\": \"a\", \"database\": \"b\"}"))
                .isInstanceOf(CommandRequest.BadRequest.class).hasMessageStartingWith("malformed JSON");
    }
}
