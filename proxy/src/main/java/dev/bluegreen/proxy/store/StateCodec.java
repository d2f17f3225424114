package dev.bluegreen.proxy.store;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bluegreen.proxy.control.FollowerWrites;
import dev.bluegreen.proxy.control.Plan;
import dev.bluegreen.proxy.control.RoutingControl.HistoryEntry;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The JSON the stores write. Built by hand on Jackson's tree model rather than by binding the records:
 * what is on disk or in a table outlives the code that wrote it, so the shape must not change when a
 * record gains a field, and a document that is not exactly right is refused with the path of what is
 * wrong (never a NullPointerException, never a silently defaulted field).
 *
 * <pre>
 * document  {"version":1,"state":STATE,"plan":PLAN|null}
 * STATE     {"epoch":3,"leader":"blue","followerWrites":"sync","weight":50,"followerInSync":true,
 *            "frozen":false,"finalized":false}
 * PLAN      {"steps":[5,10,25],"bake":"PT5M","position":1,"status":"running",
 *            "stepStartedAt":"2025-06-01T10:05:00Z","note":null}
 * entry     {"at":"2025-06-01T10:00:00.123Z","epoch":2,"actor":"alice","command":"start","reason":null,
 *            "state":STATE}
 * </pre>
 *
 * Enumerations are their names in lower case; instants ISO-8601 in UTC; the bake an ISO-8601 duration,
 * which keeps it exact. The phase is derived from the state, so it is not stored. Unknown fields are
 * ignored, so a later version may add one without a new {@code version}; anything else it changes needs
 * one, and this code refuses a version it does not know.
 */
final class StateCodec {

    /** The one document version this code writes and reads. */
    static final int VERSION = 1;

    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private static final int SHOWN_VALUE_LENGTH = 40;

    private StateCodec() {
    }

    /** What {@code state.json} holds. */
    record Document(RoutingState state, Plan plan) {}

    /** A document that cannot be read back; the message names the field and what was wrong with it. */
    static final class Malformed extends Exception {
        Malformed(String message) {
            super(message, null, false, false);
        }
    }

    static String writeDocument(RoutingState state, Plan plan) {
        ObjectNode document = JSON.createObjectNode();
        document.put("version", VERSION);
        document.set("state", stateNode(state));
        document.set("plan", plan == null ? document.nullNode() : planNode(plan));
        return write(document);
    }

    static Document readDocument(String json) throws Malformed {
        Fields document = Fields.of(parse(json), "");
        long version = document.longValue("version");
        if (version != VERSION) {
            throw new Malformed("version " + version + " is not supported (this proxy reads version " + VERSION
                    + "; was it written by a newer bluegreen?)");
        }
        RoutingState state = readState(document.object("state"));
        Plan plan = document.isNull("plan") ? null : readPlan(document.object("plan"));
        return new Document(state, plan);
    }

    static String writeState(RoutingState state) {
        return write(stateNode(state));
    }

    static RoutingState readState(String json) throws Malformed {
        return readState(Fields.of(parse(json), "state"));
    }

    static String writePlan(Plan plan) {
        return write(planNode(plan));
    }

    static Plan readPlan(String json) throws Malformed {
        return readPlan(Fields.of(parse(json), "plan"));
    }

    static String writeEntry(HistoryEntry entry) {
        ObjectNode json = JSON.createObjectNode();
        json.put("at", entry.at().toString());
        json.put("epoch", entry.epoch());
        json.put("actor", entry.actor());
        json.put("command", entry.command());
        json.put("reason", entry.reason());
        json.set("state", stateNode(entry.state()));
        return write(json);
    }

    static HistoryEntry readEntry(String json) throws Malformed {
        Fields entry = Fields.of(parse(json), "");
        Instant at = entry.instant("at");
        long epoch = entry.longValue("epoch");
        String actor = entry.text("actor");
        String command = entry.text("command");
        String reason = entry.isNull("reason") ? null : entry.text("reason");
        RoutingState state = readState(entry.object("state"));
        if (state.epoch() != epoch) {
            throw new Malformed("state.epoch: " + state.epoch() + " differs from the entry's epoch " + epoch);
        }
        return new HistoryEntry(at, epoch, actor, command, reason, state);
    }

    private static ObjectNode stateNode(RoutingState state) {
        ObjectNode json = JSON.createObjectNode();
        json.put("epoch", state.epoch());
        json.put("leader", lower(state.leader()));
        json.put("followerWrites", lower(state.followerWrites()));
        json.put("weight", state.weight());
        json.put("followerInSync", state.followerInSync());
        json.put("frozen", state.frozen());
        json.put("finalized", state.finalized());
        if (state.owesVerify()) {
            json.put("unverifiedSince", state.unverifiedSince()); // absent otherwise, as in files written before it
        }
        return json;
    }

    private static RoutingState readState(Fields state) throws Malformed {
        long epoch = state.longValue("epoch");
        ClusterRole leader = state.enumValue("leader", ClusterRole.class);
        FollowerWrites writes = state.enumValue("followerWrites", FollowerWrites.class);
        int weight = state.weight("weight");
        long unverifiedSince = state.has("unverifiedSince") ? state.longValue("unverifiedSince") : 0;
        if (unverifiedSince < 0 || unverifiedSince > epoch) {
            throw new Malformed(state.path("unverifiedSince") + ": expected an epoch from 0 to " + epoch + ", found "
                    + unverifiedSince);
        }
        return new RoutingState(epoch, leader, writes, weight, state.bool("followerInSync"), state.bool("frozen"),
                state.bool("finalized"), unverifiedSince);
    }

    private static ObjectNode planNode(Plan plan) {
        ObjectNode json = JSON.createObjectNode();
        ArrayNode steps = json.putArray("steps");
        plan.steps().forEach(steps::add);
        json.put("bake", plan.bake().toString());
        json.put("position", plan.position());
        json.put("status", lower(plan.status()));
        json.put("stepStartedAt", plan.stepStartedAt().toString());
        json.put("note", plan.note());
        return json;
    }

    private static Plan readPlan(Fields plan) throws Malformed {
        List<Integer> steps = plan.weights("steps");
        Duration bake = plan.duration("bake");
        int position = plan.intValue("position");
        Plan.Status status = plan.enumValue("status", Plan.Status.class);
        Instant stepStartedAt = plan.instant("stepStartedAt");
        String note = plan.isNull("note") ? null : plan.text("note");
        if (steps.isEmpty()) {
            throw new Malformed(plan.path("steps") + ": a plan needs at least one step");
        }
        if (position < 0 || position >= steps.size()) {
            throw new Malformed(plan.path("position") + ": " + position + " is outside the " + steps.size() + " steps");
        }
        return new Plan(steps, bake, position, status, stepStartedAt, note);
    }

    private static JsonNode parse(String json) throws Malformed {
        if (json == null || json.isBlank()) {
            throw new Malformed("empty document");
        }
        try {
            return JSON.readTree(json);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw new Malformed("not JSON: " + e.getOriginalMessage()
                    + (at == null ? "" : " at line " + at.getLineNr() + " column " + at.getColumnNr()));
        }
    }

    private static String write(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a tree of strings, numbers and booleans always serialises", e);
        }
    }

    private static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }

    /** One JSON object being read, with its path for messages ({@code plan.steps[2]}). */
    private record Fields(JsonNode node, String path) {

        static Fields of(JsonNode node, String path) throws Malformed {
            if (node == null || !node.isObject()) {
                throw new Malformed((path.isEmpty() ? "the document" : path) + ": expected an object, found "
                        + shown(node));
            }
            return new Fields(node, path);
        }

        String path(String field) {
            return path.isEmpty() ? field : path + "." + field;
        }

        private JsonNode required(String field) throws Malformed {
            JsonNode value = node.get(field);
            if (value == null) {
                throw new Malformed(path(field) + ": missing");
            }
            return value;
        }

        private Malformed wrong(String field, String expected, JsonNode found) {
            return new Malformed(path(field) + ": expected " + expected + ", found " + shown(found));
        }

        boolean has(String field) {
            return node.has(field);
        }

        boolean isNull(String field) throws Malformed {
            return required(field).isNull();
        }

        Fields object(String field) throws Malformed {
            return Fields.of(required(field), path(field));
        }

        long longValue(String field) throws Malformed {
            JsonNode value = required(field);
            if (!value.isIntegralNumber() || !value.canConvertToLong()) {
                throw wrong(field, "an integer", value);
            }
            return value.longValue();
        }

        int intValue(String field) throws Malformed {
            JsonNode value = required(field);
            if (!value.isIntegralNumber() || !value.canConvertToInt()) {
                throw wrong(field, "an integer", value);
            }
            return value.intValue();
        }

        int weight(String field) throws Malformed {
            int weight = intValue(field);
            if (weight < 0 || weight > 100) {
                throw wrong(field, "a weight 0..100", required(field));
            }
            return weight;
        }

        boolean bool(String field) throws Malformed {
            JsonNode value = required(field);
            if (!value.isBoolean()) {
                throw wrong(field, "true or false", value);
            }
            return value.booleanValue();
        }

        String text(String field) throws Malformed {
            JsonNode value = required(field);
            if (!value.isTextual()) {
                throw wrong(field, "a string", value);
            }
            return value.textValue();
        }

        <E extends Enum<E>> E enumValue(String field, Class<E> type) throws Malformed {
            String name = text(field);
            for (E constant : type.getEnumConstants()) {
                if (lower(constant).equals(name)) {
                    return constant;
                }
            }
            throw wrong(field, "one of " + Arrays.stream(type.getEnumConstants()).map(StateCodec::lower)
                    .collect(Collectors.joining(", ")), required(field));
        }

        Instant instant(String field) throws Malformed {
            String text = text(field);
            try {
                return Instant.parse(text);
            } catch (DateTimeParseException e) {
                throw wrong(field, "an ISO-8601 instant such as 2025-06-01T10:00:00Z", required(field));
            }
        }

        Duration duration(String field) throws Malformed {
            String text = text(field);
            try {
                Duration duration = Duration.parse(text);
                if (duration.isNegative()) {
                    throw wrong(field, "a duration of zero or more", required(field));
                }
                return duration;
            } catch (DateTimeParseException e) {
                throw wrong(field, "an ISO-8601 duration such as PT5M", required(field));
            }
        }

        List<Integer> weights(String field) throws Malformed {
            JsonNode value = required(field);
            if (!value.isArray()) {
                throw wrong(field, "an array of weights", value);
            }
            List<Integer> weights = new ArrayList<>(value.size());
            for (int i = 0; i < value.size(); i++) {
                JsonNode step = value.get(i);
                if (!step.isIntegralNumber() || !step.canConvertToInt() || step.intValue() < 0 || step.intValue() > 100) {
                    throw new Malformed(path(field) + "[" + i + "]: expected a weight 0..100, found " + shown(step));
                }
                weights.add(step.intValue());
            }
            return weights;
        }

        private static String shown(JsonNode value) {
            if (value == null || value.isMissingNode()) {
                return "nothing";
            }
            String text = value.toString();
            return text.length() <= SHOWN_VALUE_LENGTH ? text : text.substring(0, SHOWN_VALUE_LENGTH) + "…";
        }
    }
}
