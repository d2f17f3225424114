package dev.bluegreen.proxy.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.bluegreen.proxy.control.FollowerWrites;
import dev.bluegreen.proxy.control.Plan;
import dev.bluegreen.proxy.control.RoutingControl.HistoryEntry;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The stored JSON, byte for byte, and every way a stored document can be wrong. */
class StateCodecTest {

    private static final RoutingState DUAL = new RoutingState(3, ClusterRole.BLUE, FollowerWrites.SYNC, 50, true, false, false);
    private static final String DUAL_JSON = """
            {"epoch":3,"leader":"blue","followerWrites":"sync","weight":50,"followerInSync":true,"frozen":false,\
            "finalized":false}""";
    private static final Plan PLAN = new Plan(List.of(5, 10, 25), Duration.ofMinutes(5), 1, Plan.Status.ROLLED_BACK,
            Instant.parse("2025-06-01T10:05:00Z"), "error_rate 0.12 > 0.10");
    private static final String PLAN_JSON = """
            {"steps":[5,10,25],"bake":"PT5M","position":1,"status":"rolled_back","stepStartedAt":"2025-06-01T10:05:00Z",\
            "note":"error_rate 0.12 > 0.10"}""";

    @Test
    void aDocumentHoldsTheVersionTheStateAndThePlan() throws Exception {
        String json = StateCodec.writeDocument(DUAL, PLAN);

        assertThat(json).isEqualTo("{\"version\":1,\"state\":" + DUAL_JSON + ",\"plan\":" + PLAN_JSON + "}");
        assertThat(StateCodec.readDocument(json)).isEqualTo(new StateCodec.Document(DUAL, PLAN));
    }

    @Test
    void aDocumentWithoutAPlanSaysNull() throws Exception {
        String json = StateCodec.writeDocument(RoutingState.initial(), null);

        assertThat(json).isEqualTo("""
                {"version":1,"state":{"epoch":1,"leader":"blue","followerWrites":"off","weight":0,\
                "followerInSync":false,"frozen":false,"finalized":false},"plan":null}""");
        assertThat(StateCodec.readDocument(json)).isEqualTo(new StateCodec.Document(RoutingState.initial(), null));
    }

    @Test
    void aVerifyOwedIsWrittenOnlyWhenOwedAndReadBack() throws Exception {
        RoutingState owed = new RoutingState(3, ClusterRole.BLUE, FollowerWrites.SYNC, 0, true, false, false, 2);
        String json = StateCodec.writeDocument(owed, null);

        assertThat(json).contains(",\"unverifiedSince\":2}");
        assertThat(StateCodec.readDocument(json).state()).isEqualTo(owed);
        assertThat(StateCodec.writeDocument(DUAL, null)).doesNotContain("unverifiedSince");
    }

    @Test
    void aHistoryEntryIsOneObjectWithItsState() throws Exception {
        HistoryEntry entry = new HistoryEntry(Instant.parse("2025-06-01T10:00:00.123Z"), 3, "bgctl:alice", "set-weight 50",
                null, DUAL);

        String json = StateCodec.writeEntry(entry);

        assertThat(json).isEqualTo("{\"at\":\"2025-06-01T10:00:00.123Z\",\"epoch\":3,\"actor\":\"bgctl:alice\","
                + "\"command\":\"set-weight 50\",\"reason\":null,\"state\":" + DUAL_JSON + "}");
        assertThat(json).doesNotContain("\n");
        assertThat(StateCodec.readEntry(json)).isEqualTo(entry);
    }

    @Test
    void everyStatusAndAnExactBakeRoundTrip() throws Exception {
        for (Plan.Status status : Plan.Status.values()) {
            Plan plan = new Plan(List.of(100), Duration.ofMillis(90_500).plusNanos(7), 0, status,
                    Instant.parse("2025-06-01T10:05:00.000000001Z"), null);

            assertThat(StateCodec.readPlan(StateCodec.writePlan(plan))).isEqualTo(plan);
        }
    }

    @Test
    void unknownFieldsAreIgnoredSoALaterVersionMayAddOne() throws Exception {
        String json = DUAL_JSON.replace("}", ",\"phase\":\"dual\",\"owner\":{\"x\":1}}");

        assertThat(StateCodec.readState(json)).isEqualTo(DUAL);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            ``                                                                    | empty document
            {"version":1,"state":                                                 | not JSON: Unexpected end-of-input
            {"version":1} {}                                                      | not JSON: Trailing token
            [1,2]                                                                 | the document: expected an object, found [1,2]
            {"state":{},"plan":null}                                              | version: missing
            {"version":2,"state":{},"plan":null}                                  | version 2 is not supported (this proxy reads version 1
            {"version":"1","state":{},"plan":null}                                | version: expected an integer, found "1"
            {"version":1,"version":1,"state":{},"plan":null}                      | not JSON: Duplicate field 'version'
            {"version":1,"plan":null}                                             | state: missing
            {"version":1,"state":null,"plan":null}                                | state: expected an object, found null
            {"version":1,"state":{"epoch":3},"plan":null}                         | state.leader: missing
            {"version":1,"state":STATE}                                           | plan: missing
            {"version":1,"state":STATE,"plan":"soon"}                             | plan: expected an object, found "soon"
            """)
    void malformedDocumentsAreRefusedNamingWhatIsWrong(String json, String problem) {
        String document = json.replace("STATE", DUAL_JSON);

        assertThatThrownBy(() -> StateCodec.readDocument(document))
                .isInstanceOf(StateCodec.Malformed.class)
                .hasMessageStartingWith(problem);
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            "epoch":3                     | "epoch":3.5                 | state.epoch: expected an integer, found 3.5
            "epoch":3                     | "epoch":99999999999999999999 | state.epoch: expected an integer, found 99999999999999999999
            "leader":"blue"               | "leader":"BLUE"             | state.leader: expected one of blue, green, found "BLUE"
            "leader":"blue"               | "leader":null               | state.leader: expected a string, found null
            "followerWrites":"sync"       | "followerWrites":"both"     | state.followerWrites: expected one of off, sync, async, found "both"
            "weight":50                   | "weight":101                | state.weight: expected a weight 0..100, found 101
            "weight":50                   | "weight":"50"               | state.weight: expected an integer, found "50"
            "frozen":false                | "frozen":0                  | state.frozen: expected true or false, found 0
            "finalized":false             | "finalised":false           | state.finalized: missing
            "finalized":false             | "finalized":false,"unverifiedSince":4 | state.unverifiedSince: expected an epoch from 0 to 3, found 4
            "finalized":false             | "finalized":false,"unverifiedSince":"3" | state.unverifiedSince: expected an integer, found "3"
            """)
    void malformedStatesAreRefusedNamingTheField(String field, String replacement, String problem) {
        String document = "{\"version\":1,\"state\":" + DUAL_JSON.replace(field, replacement) + ",\"plan\":null}";

        assertThatThrownBy(() -> StateCodec.readDocument(document))
                .isInstanceOf(StateCodec.Malformed.class)
                .hasMessage(problem);
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            "steps":[5,10,25]    | "steps":[]                 | plan.steps: a plan needs at least one step
            "steps":[5,10,25]    | "steps":[5,"x",25]         | plan.steps[1]: expected a weight 0..100, found "x"
            "steps":[5,10,25]    | "steps":5                  | plan.steps: expected an array of weights, found 5
            "bake":"PT5M"        | "bake":"5 minutes"         | plan.bake: expected an ISO-8601 duration such as PT5M, found "5 minutes"
            "bake":"PT5M"        | "bake":"-PT5M"             | plan.bake: expected a duration of zero or more, found "-PT5M"
            "position":1         | "position":3               | plan.position: 3 is outside the 3 steps
            "status":"rolled_back" | "status":"finished"      | plan.status: expected one of running, paused, done, aborted, rolled_back, found "finished"
            "stepStartedAt":"2025-06-01T10:05:00Z" | "stepStartedAt":"yesterday" | plan.stepStartedAt: expected an ISO-8601 instant such as 2025-06-01T10:00:00Z, found "yesterday"
            "note":"error_rate 0.12 > 0.10" | "note":42       | plan.note: expected a string, found 42
            """)
    void malformedPlansAreRefusedNamingTheField(String field, String replacement, String problem) {
        String document = "{\"version\":1,\"state\":" + DUAL_JSON + ",\"plan\":" + PLAN_JSON.replace(field, replacement) + "}";

        assertThatThrownBy(() -> StateCodec.readDocument(document))
                .isInstanceOf(StateCodec.Malformed.class)
                .hasMessage(problem);
    }

    @Test
    void anEntryWhoseStateDisagreesWithItsEpochIsRefused() {
        String json = "{\"at\":\"2025-06-01T10:00:00Z\",\"epoch\":4,\"actor\":\"a\",\"command\":\"c\",\"reason\":null,"
                + "\"state\":" + DUAL_JSON + "}";

        assertThatThrownBy(() -> StateCodec.readEntry(json))
                .isInstanceOf(StateCodec.Malformed.class)
                .hasMessage("state.epoch: 3 differs from the entry's epoch 4");
    }

    @Test
    void anEntryWithoutAnActorIsRefused() {
        String json = "{\"at\":\"2025-06-01T10:00:00Z\",\"epoch\":3,\"command\":\"c\",\"reason\":null,\"state\":" + DUAL_JSON + "}";

        assertThatThrownBy(() -> StateCodec.readEntry(json))
                .isInstanceOf(StateCodec.Malformed.class)
                .hasMessage("actor: missing");
    }
}
