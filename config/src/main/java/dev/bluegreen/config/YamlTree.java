package dev.bluegreen.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * Builds a tree from a YAML parser in which every scalar is text exactly as written in the file.
 *
 * <p>Jackson's own tree applies YAML 1.1's typing, so that an unquoted {@code password: 0123} became the
 * octal number 83, {@code 1.50} became 1.5 and {@code yes} became true. Each key knows what type it wants
 * and parses the text itself; a string key keeps every character. Only YAML's nulls ({@code ~},
 * {@code null}, nothing) stay nulls, which mean "not given".
 */
final class YamlTree {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private YamlTree() {}

    /** The value whose first token the parser is on, and all that it holds. */
    static JsonNode read(JsonParser parser) throws IOException {
        JsonToken token = parser.currentToken();
        return switch (token) {
            case START_OBJECT -> {
                ObjectNode object = NODES.objectNode();
                // a key written twice is refused by the parser (STRICT_DUPLICATE_DETECTION)
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String key = parser.currentName();
                    parser.nextToken();
                    object.set(key, read(parser));
                }
                yield object;
            }
            case START_ARRAY -> {
                ArrayNode array = NODES.arrayNode();
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    array.add(read(parser));
                }
                yield array;
            }
            case VALUE_NULL -> NODES.nullNode();
            // getText() is the scalar as the file spells it, whatever type YAML 1.1 would give it
            case VALUE_STRING, VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT, VALUE_TRUE, VALUE_FALSE ->
                    NODES.textNode(parser.getText());
            default -> throw new IOException("unexpected " + token + " in a YAML document");
        };
    }
}
