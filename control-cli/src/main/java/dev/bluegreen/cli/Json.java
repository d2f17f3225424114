package dev.bluegreen.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;

/** JSON as bgctl prints it for scripts: every field the proxy sent, nothing added. */
final class Json {

    private Json() {}

    static String pretty(JsonNode node) {
        try {
            return AdminClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One document per line, for {@code status --watch --json}. */
    static String line(JsonNode node) {
        return node.toString();
    }
}
