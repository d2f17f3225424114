package dev.bluegreen.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An {@code E} (ErrorResponse) or {@code N} (NoticeResponse) message: a list of (field code, value)
 * pairs. Decoded only when the proxy needs to look inside (startup errors, checking a server's error
 * carries a SQLSTATE); proxy-generated errors are built with {@link #of}.
 */
public record ErrorResponse(Map<Character, String> fields) {

    public static final char SEVERITY = 'S';
    public static final char SEVERITY_NON_LOCALIZED = 'V';
    public static final char CODE = 'C';
    public static final char MESSAGE = 'M';
    public static final char DETAIL = 'D';
    public static final char HINT = 'H';

    public ErrorResponse {
        fields = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    }

    public static ErrorResponse of(String severity, String sqlState, String message) {
        Map<Character, String> fields = new LinkedHashMap<>();
        fields.put(SEVERITY, severity);
        fields.put(SEVERITY_NON_LOCALIZED, severity);
        fields.put(CODE, sqlState);
        fields.put(MESSAGE, message);
        return new ErrorResponse(fields);
    }

    public static ErrorResponse fatal(String sqlState, String message) {
        return of("FATAL", sqlState, message);
    }

    public String sqlState() {
        return fields.get(CODE);
    }

    public String message() {
        return fields.get(MESSAGE);
    }

    public String severity() {
        return fields.getOrDefault(SEVERITY_NON_LOCALIZED, fields.get(SEVERITY));
    }

    /** A FATAL or PANIC error: the server ends the session after sending it. */
    public boolean endsSession() {
        String severity = severity();
        return "FATAL".equals(severity) || "PANIC".equals(severity);
    }

    public static ErrorResponse decode(Frame frame) {
        ByteBuf body = frame.body();
        Map<Character, String> fields = new LinkedHashMap<>();
        while (true) {
            Wire.expectReadable(body, 1, "error response");
            byte code = body.readByte();
            if (code == 0) {
                break;
            }
            fields.put((char) code, Wire.readCString(body));
        }
        Wire.expectConsumed(body, "error response");
        return new ErrorResponse(fields);
    }

    public ByteBuf encode(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(128);
        int at = Wire.beginMessage(out, 'E');
        fields.forEach((code, value) -> {
            out.writeByte(code);
            Wire.writeCString(out, value);
        });
        out.writeByte(0);
        return Wire.endMessage(out, at);
    }
}
