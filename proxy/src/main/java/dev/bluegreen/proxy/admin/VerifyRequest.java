package dev.bluegreen.proxy.admin;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.Optional;

/**
 * The optional body of {@code POST /api/v1/verify}: {@code {"database": "name"}}, the client-side name of
 * the database to compare. Checked as strictly as a command's body.
 */
final class VerifyRequest {

    /** Postgres truncates longer identifiers; a longer name is a mistake, not a database. */
    static final int MAX_DATABASE = 63;

    private VerifyRequest() {}

    /** The database named, or empty when the body names none. */
    static Optional<String> parse(byte[] body) throws CommandRequest.BadRequest {
        JsonNode root = CommandRequest.readObject(body);
        if (root == null) {
            return Optional.empty();
        }
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (!field.getKey().equals("database")) {
                throw new CommandRequest.BadRequest("unknown field \"" + AuditLog.printable(field.getKey())
                        + "\"; expected database");
            }
        }
        JsonNode database = root.get("database");
        if (database == null || database.isNull()) {
            return Optional.empty();
        }
        if (!database.isTextual() || database.textValue().isEmpty() || database.textValue().length() > MAX_DATABASE
                || database.textValue().chars().anyMatch(Character::isISOControl)) {
            throw new CommandRequest.BadRequest("\"database\" must be a database name of 1 to " + MAX_DATABASE
                    + " characters, none of them a control character");
        }
        return Optional.of(database.textValue());
    }
}
