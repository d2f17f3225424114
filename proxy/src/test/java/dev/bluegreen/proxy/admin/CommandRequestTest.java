package dev.bluegreen.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Command bodies: what is accepted, and the reason given for everything that is not. */
class CommandRequestTest {

    private static CommandRequest parse(Command command, String body) throws CommandRequest.BadRequest {
        return CommandRequest.parse(command, body == null ? null : body.getBytes(StandardCharsets.UTF_8));
    }

    private static void refused(Command command, String body, String reason) {
        assertThatThrownBy(() -> parse(command, body)).isInstanceOf(CommandRequest.BadRequest.class).hasMessage(reason);
    }

    private static void malformed(String body) {
        assertThatThrownBy(() -> parse(Command.START, body)).isInstanceOf(CommandRequest.BadRequest.class)
                .hasMessageStartingWith("malformed JSON");
    }

    @Test
    void anEmptyBodyIsACommandWithNoFields() throws Exception {
        assertThat(parse(Command.START, null)).isEqualTo(CommandRequest.EMPTY);
        assertThat(parse(Command.START, "  \n")).isEqualTo(CommandRequest.EMPTY);
        assertThat(parse(Command.START, "{}")).isEqualTo(CommandRequest.EMPTY);
    }

    @Test
    void everyFieldIsRead() throws Exception {
        CommandRequest request = parse(Command.ROLLBACK, "{\"reason\": \" latency \", \"force\": true, \"actor\": \"bgctl:bob\"}");

        assertThat(request).isEqualTo(new CommandRequest(null, "latency", true, "bgctl:bob", null, null, null));
    }

    @Test
    void setWeightNeedsAWholeWeightFromZeroToOneHundred() throws Exception {
        assertThat(parse(Command.SET_WEIGHT, "{\"weight\": 0}").weight()).isZero();
        assertThat(parse(Command.SET_WEIGHT, "{\"weight\": 100}").weight()).isEqualTo(100);
        refused(Command.SET_WEIGHT, null, "set-weight needs \"weight\": 0-100");
        refused(Command.SET_WEIGHT, "{\"weight\": null}", "set-weight needs \"weight\": 0-100");
        refused(Command.SET_WEIGHT, "{\"weight\": -1}", "\"weight\" must be a whole number from 0 to 100");
        refused(Command.SET_WEIGHT, "{\"weight\": 101}", "\"weight\" must be a whole number from 0 to 100");
        refused(Command.SET_WEIGHT, "{\"weight\": 50.5}", "\"weight\" must be a whole number from 0 to 100");
        refused(Command.SET_WEIGHT, "{\"weight\": \"50\"}", "\"weight\" must be a whole number from 0 to 100");
        refused(Command.SET_WEIGHT, "{\"weight\": 99999999999999999999}", "\"weight\" must be a whole number from 0 to 100");
    }

    @Test
    void fieldsACommandDoesNotTakeAreRefused() {
        refused(Command.START, "{\"weight\": 5}", "\"weight\" applies to set-weight only");
        refused(Command.CUTOVER, "{\"force\": true}", "\"force\" applies to rollback only");
        refused(Command.START, "{\"wieght\": 5}", "unknown field \"wieght\"; expected weight, reason, force, actor, steps,"
                + " bakeSeconds, fromWeight");
        refused(Command.ROLLBACK, "{\"fromWeight\": 5}", "\"fromWeight\" applies to set-weight only");
    }

    @Test
    void aFieldACommandDoesNotTakeIsRefusedWhateverItsValue() {
        refused(Command.START, "{\"force\": false}", "\"force\" applies to rollback only");
        refused(Command.CUTOVER, "{\"weight\": null}", "\"weight\" applies to set-weight only");
        refused(Command.SET_WEIGHT, "{\"weight\": 5, \"steps\": null}", "\"steps\" and \"bakeSeconds\" apply to rollout only");
        refused(Command.ROLLBACK, "{\"bakeSeconds\": null}", "\"steps\" and \"bakeSeconds\" apply to rollout only");
        refused(Command.START, "{\"fromWeight\": null}", "\"fromWeight\" applies to set-weight only");
    }

    @Test
    void setWeightMayNameTheWeightTheCallerSaw() throws Exception {
        assertThat(parse(Command.SET_WEIGHT, "{\"weight\": 50, \"fromWeight\": 25}").fromWeight()).isEqualTo(25);
        assertThat(parse(Command.SET_WEIGHT, "{\"weight\": 50}").fromWeight()).isNull();
        refused(Command.SET_WEIGHT, "{\"weight\": 50, \"fromWeight\": 101}", "\"fromWeight\" must be a whole number from 0 to 100");
    }

    @Test
    void malformedOrMistypedBodiesAreRefused() {
        malformed("{");
        refused(Command.START, "[1]", "the body must be a JSON object");
        refused(Command.START, "\"start\"", "the body must be a JSON object");
        malformed("{} {}");
        malformed("{\"actor\": \"a\", \"actor\": \"b\"}");
        refused(Command.ROLLBACK, "{\"force\": \"yes\"}", "\"force\" must be true or false");
        refused(Command.ROLLBACK, "{\"reason\": 5}", "\"reason\" must be a string");
        refused(Command.ROLLBACK, "{\"reason\": \"  \"}", "\"reason\" must not be blank");
        refused(Command.ROLLBACK, "{\"reason\": \"one\\ntwo\"}", "\"reason\" must not contain control characters");
        refused(Command.ROLLBACK, "{\"actor\": \"" + "a".repeat(201) + "\"}", "\"actor\" is longer than 200 characters");
        // the proxy's own names: a rollback by a caller calling itself a rule would count as the rule's
        for (String own : new String[] {"rule:error_rate > 0.10", "RULE:x", "plan", " Plan ", "startup", "Heartbeat"}) {
            refused(Command.ROLLBACK, "{\"actor\": \"" + own + "\"}",
                    "\"actor\" must not be \"plan\", \"startup\" or \"heartbeat\", or start with \"rule:\": those name"
                            + " the proxy's own rollout plan, recovery after an unclean stop, and health rules");
        }
    }
}
