package dev.bluegreen.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
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

    /**
     * The one document the parser holds, or null when it holds none. Empty documents (a lone {@code ---}
     * or {@code ...} marker) are passed over; a second document with content is refused, since reading
     * only the first would silently drop every key of the second.
     *
     * @throws JsonParseException at the second document, or at an alias
     */
    static JsonNode readDocument(JsonParser parser) throws IOException {
        JsonNode document = null;
        while (parser.nextToken() != null) {
            JsonLocation start = parser.currentTokenLocation();
            JsonNode next = read(parser);
            if (next.isNull() || (next.isTextual() && next.textValue().isEmpty())) {
                continue; // Jackson reads an empty document as null or as an empty string
            }
            if (document != null) {
                throw new JsonParseException(parser,
                        "a second YAML document (after ---) is not read; keep every key in one document", start);
            }
            document = next;
        }
        return document;
    }

    /** The value whose first token the parser is on, and all that it holds. */
    static JsonNode read(JsonParser parser) throws IOException {
        JsonToken token = parser.currentToken();
        if (parser instanceof YAMLParser yaml && yaml.isCurrentAlias()) {
            // Jackson hands an alias over as a string holding the anchor's name, which would pass for the value
            // the alias's name is not repeated: an unquoted password that starts with * reads as one
            throw new JsonParseException(parser, "YAML aliases (*name) are not supported; write the value out, "
                    + "and quote a value that starts with *", parser.currentTokenLocation());
        }
        if (token != JsonToken.VALUE_EMBEDDED_OBJECT && parser.getTypeId() instanceof String tag
                && !tag.startsWith("tag:yaml.org,2002:")) {
            // an unquoted value that starts with ! is a tag and the rest its value: "!ab cd" reads as "cd" (the
            // standard tags, !!str and the like, change nothing here: every scalar is read as it is spelled)
            throw new JsonParseException(parser, "YAML tags (!tag) are not supported; write the value as text, "
                    + "and quote a value that starts with !", parser.currentTokenLocation());
        }
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
            // !!binary is the one YAML value Jackson hands over as an embedded object
            case VALUE_EMBEDDED_OBJECT -> throw new JsonParseException(parser,
                    "!!binary values are not supported; write the value as text", parser.currentTokenLocation());
            default -> throw new JsonParseException(parser, "unexpected " + token, parser.currentTokenLocation());
        };
    }
}
