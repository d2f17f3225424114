package dev.bluegreen.proxy.admin;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * What the admin API answers: a status, a body and the headers beyond {@code Content-Type} and
 * {@code Content-Length}.
 */
record AdminResponse(int status, String contentType, byte[] body, Map<String, String> headers) {

    static final String JSON = "application/json; charset=utf-8";
    static final String PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8";

    AdminResponse {
        headers = Map.copyOf(headers);
    }

    static AdminResponse json(int status, Object document) {
        return new AdminResponse(status, JSON, Json.write(document), Map.of());
    }

    static AdminResponse error(int status, String message) {
        return json(status, Json.error(message));
    }

    static AdminResponse text(int status, String contentType, String text) {
        return new AdminResponse(status, contentType, text.getBytes(StandardCharsets.UTF_8), Map.of());
    }

    AdminResponse withHeader(String name, String value) {
        Map<String, String> more = new HashMap<>(headers);
        more.put(name, value);
        return new AdminResponse(status, contentType, body, more);
    }

    /** The body as text, for tests and logs. */
    String bodyText() {
        return new String(body, StandardCharsets.UTF_8);
    }
}
