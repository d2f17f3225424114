package dev.bluegreen.proxy.admin;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The optional body of a command: {@code {"weight": N, "reason": "...", "force": true, "actor": "..."}},
 * {@code "fromWeight": N} for {@code set-weight}, and for {@code rollout} {@code {"steps": [5, 10, …], "bakeSeconds": 300}}.
 * Parsing is strict, because a typo in an operator's command must not be silently ignored: unknown
 * fields, wrong types, a weight out of 0–100 and fields the command does not take are all refused
 * with the reason.
 *
 * @param weight null unless given (required by {@code set-weight}, refused elsewhere)
 * @param reason null unless given
 * @param force  false unless given (taken by {@code rollback} only)
 * @param actor  null unless given; the API then names the caller by its address
 * @param steps  null unless given (taken by {@code rollout} only): the plan's weights
 * @param bakeSeconds null unless given (taken by {@code rollout} only)
 * @param fromWeight null unless given (taken by {@code set-weight} only): the weight the caller saw, the
 *                   change refused if another is in force by now (a rollback came in between)
 */
record CommandRequest(Integer weight, String reason, boolean force, String actor, List<Integer> steps,
                      Integer bakeSeconds, Integer fromWeight) {

    /** The body was not a command the API accepts; the message says why. */
    static final class BadRequest extends Exception {
        BadRequest(String message) {
            super(message, null, false, false);
        }
    }

    static final int MAX_REASON = 1000;
    static final int MAX_ACTOR = 200;

    /** The actors of the proxy's own actions (its rollout plan; its recovery after an unclean stop). */
    private static final Set<String> RESERVED_ACTORS = Set.of("plan", "startup", "heartbeat");
    private static final Set<String> FIELDS = Set.of("weight", "reason", "force", "actor", "steps", "bakeSeconds",
            "fromWeight");
    static final int MAX_STEPS = 100;
    static final int MAX_BAKE_SECONDS = 86_400;
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    static final CommandRequest EMPTY = new CommandRequest(null, null, false, null, null, null, null);

    /**
     * Reads and checks {@code body} for {@code command}; an empty body is no fields at all. A field the command
     * does not take is refused whatever its value, {@code false} and {@code null} too.
     */
    static CommandRequest parse(Command command, byte[] body) throws BadRequest {
        JsonNode root = readObject(body);
        CommandRequest request = root == null ? EMPTY : read(root);
        if (command.takesWeight() && request.weight() == null) {
            throw new BadRequest(command.path() + " needs \"weight\": 0-100");
        }
        if (root == null) {
            return request;
        }
        if (!command.takesWeight() && root.has("weight")) {
            throw new BadRequest("\"weight\" applies to set-weight only");
        }
        if (!command.takesWeight() && root.has("fromWeight")) {
            throw new BadRequest("\"fromWeight\" applies to set-weight only");
        }
        if (!command.takesForce() && root.has("force")) {
            throw new BadRequest("\"force\" applies to rollback only");
        }
        if (!command.takesPlan() && (root.has("steps") || root.has("bakeSeconds"))) {
            throw new BadRequest("\"steps\" and \"bakeSeconds\" apply to rollout only");
        }
        return request;
    }

    private static CommandRequest read(JsonNode root) throws BadRequest {
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String name = field.getKey();
            if (!FIELDS.contains(name)) {
                throw new BadRequest("unknown field \"" + AuditLog.printable(name)
                        + "\"; expected weight, reason, force, actor, steps, bakeSeconds, fromWeight");
            }
        }
        return new CommandRequest(weight(root.get("weight"), "weight"), text(root.get("reason"), "reason", MAX_REASON),
                force(root.get("force")), actor(root.get("actor")), steps(root.get("steps")),
                bakeSeconds(root.get("bakeSeconds")), weight(root.get("fromWeight"), "fromWeight"));
    }

    /**
     * Who the caller says it is. The names the proxy gives its own actions are refused: a caller naming
     * itself after a health rule would have its rollback counted and recorded as the rule's.
     */
    private static String actor(JsonNode node) throws BadRequest {
        String actor = text(node, "actor", MAX_ACTOR);
        if (actor != null && (actor.regionMatches(true, 0, "rule:", 0, 5)
                || RESERVED_ACTORS.contains(actor.toLowerCase(Locale.ROOT)))) {
            throw new BadRequest("\"actor\" must not be \"plan\", \"startup\" or \"heartbeat\", or start with \"rule:\":"
                    + " those name the proxy's own rollout plan, recovery after an unclean stop, and health rules");
        }
        return actor;
    }

    /** A request body as one JSON object, duplicates and trailing tokens refused; null for an empty body. */
    static JsonNode readObject(byte[] body) throws BadRequest {
        if (body == null || new String(body, StandardCharsets.UTF_8).isBlank()) {
            return null;
        }
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new BadRequest("malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new BadRequest("malformed JSON");
        }
        if (root == null || !root.isObject()) {
            throw new BadRequest("the body must be a JSON object");
        }
        return root;
    }

    private static Integer weight(JsonNode node, String field) throws BadRequest {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < 0 || node.intValue() > 100) {
            throw new BadRequest("\"" + field + "\" must be a whole number from 0 to 100");
        }
        return node.intValue();
    }

    /** Strictly increasing weights from 1 to 100. */
    private static List<Integer> steps(JsonNode node) throws BadRequest {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isArray() || node.isEmpty() || node.size() > MAX_STEPS) {
            throw new BadRequest("\"steps\" must be a list of 1 to " + MAX_STEPS + " weights");
        }
        List<Integer> steps = new ArrayList<>();
        int before = 0;
        for (JsonNode step : node) {
            if (!step.isIntegralNumber() || !step.canConvertToInt() || step.intValue() < 1 || step.intValue() > 100) {
                throw new BadRequest("\"steps\" must hold whole numbers from 1 to 100");
            }
            if (step.intValue() <= before) {
                throw new BadRequest("\"steps\" must increase");
            }
            before = step.intValue();
            steps.add(step.intValue());
        }
        return List.copyOf(steps);
    }

    private static Integer bakeSeconds(JsonNode node) throws BadRequest {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < 0
                || node.intValue() > MAX_BAKE_SECONDS) {
            throw new BadRequest("\"bakeSeconds\" must be a whole number from 0 to " + MAX_BAKE_SECONDS);
        }
        return node.intValue();
    }

    private static boolean force(JsonNode node) throws BadRequest {
        if (node == null || node.isNull()) {
            return false;
        }
        if (!node.isBoolean()) {
            throw new BadRequest("\"force\" must be true or false");
        }
        return node.booleanValue();
    }

    /** Text that goes into the history and the log: one line, bounded, not blank. */
    private static String text(JsonNode node, String field, int max) throws BadRequest {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw new BadRequest("\"" + field + "\" must be a string");
        }
        String value = node.textValue().strip();
        if (value.isEmpty()) {
            throw new BadRequest("\"" + field + "\" must not be blank");
        }
        if (value.length() > max) {
            throw new BadRequest("\"" + field + "\" is longer than " + max + " characters");
        }
        if (value.chars().anyMatch(Character::isISOControl)) {
            throw new BadRequest("\"" + field + "\" must not contain control characters");
        }
        return value;
    }
}
