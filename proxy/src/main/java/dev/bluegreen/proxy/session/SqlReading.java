package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.protocol.ClientEncoding;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.routing.Classification;
import dev.bluegreen.proxy.routing.Classifier;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The two session settings that change how the server reads SQL text, so that the proxy reads it the
 * same way: {@code client_encoding} (which bytes belong to one character) and
 * {@code standard_conforming_strings} (whether a backslash in {@code '...'} escapes). Both are reported
 * by the server in ParameterStatus messages, at login and whenever they change, so the leader's reports
 * keep this current; a snapshot taken for a twin carries what a relayed session set.
 *
 * <p>It also keeps the names of the custom (dotted) settings the session's SQL sets, such as the
 * {@code app.user_id} a row-level security policy reads: the server does not list them in pg_settings, so a
 * snapshot for a twin can read their values only by name.
 */
final class SqlReading {

    /** Custom setting names kept per session; a session setting more is not followed beyond them. */
    static final int MAX_CUSTOM_SETTINGS = 64;

    private ClientEncoding encoding = ClientEncoding.ASCII_SAFE;
    private boolean backslashStrings;
    private Set<String> customSettings = Set.of();

    ClientEncoding encoding() {
        return encoding;
    }

    /** A setting's current value, from a ParameterStatus message or a session snapshot. */
    void reported(String name, String value) {
        if (name.equalsIgnoreCase("client_encoding")) {
            encoding = ClientEncoding.of(value);
        } else if (name.equalsIgnoreCase("standard_conforming_strings")) {
            backslashStrings = !value.toLowerCase(Locale.ROOT).equals("on");
        }
    }

    /** A ParameterStatus message ({@code 'S'}: name, value), given the whole frame. */
    void reported(ByteBuf all, int offset, int length) {
        int from = offset + Frame.HEADER_LENGTH;
        int end = offset + length;
        int nameEnd = all.indexOf(from, end, (byte) 0);
        int valueEnd = nameEnd < 0 ? -1 : all.indexOf(nameEnd + 1, end, (byte) 0);
        if (valueEnd < 0) {
            return; // malformed: the client gets it as it is, and the reading stays as it was
        }
        reported(all.toString(from, nameEnd - from, StandardCharsets.US_ASCII),
                all.toString(nameEnd + 1, valueEnd - nameEnd - 1, StandardCharsets.US_ASCII));
    }

    Classification classify(Classifier classifier, String sql) {
        Classification c = backslashStrings ? classifier.classifyWithBackslashStrings(sql) : classifier.classify(sql);
        if (!c.customSettings().isEmpty()) {
            noteCustomSettings(c.customSettings());
        }
        return c;
    }

    /**
     * A Query or Parse a relayed session sends: read only when it may set a custom setting by name, which
     * takes both a {@code set} ({@code SET}, {@code RESET}, {@code set_config}) and a dot; most statements
     * have no dot at all and cost one scan for it.
     */
    void relayed(Classifier classifier, byte type, ByteBuf all, int offset, int length) {
        int from = offset + Frame.HEADER_LENGTH;
        int end = offset + length;
        if (all.indexOf(from, end, (byte) '.') < 0 || !containsSet(all, from, end)) {
            return;
        }
        classify(classifier, type == FrontendMessages.QUERY
                ? FrontendMessages.querySql(all, offset, length, encoding)
                : FrontendMessages.parseSql(all, offset, length, encoding));
    }

    private static boolean containsSet(ByteBuf all, int from, int end) {
        for (int i = from; i + 2 < end; i++) {
            if ((all.getByte(i) | 0x20) == 's' && (all.getByte(i + 1) | 0x20) == 'e' && (all.getByte(i + 2) | 0x20) == 't') {
                return true;
            }
        }
        return false;
    }

    private void noteCustomSettings(Set<String> names) {
        if (customSettings.isEmpty()) {
            customSettings = new LinkedHashSet<>();
        }
        for (String name : names) {
            if (customSettings.size() < MAX_CUSTOM_SETTINGS || customSettings.contains(name)) {
                customSettings.add(name);
            }
        }
    }

    /** The custom settings the session has set or reset so far, by name as the server folds it. */
    Set<String> customSettings() {
        return Collections.unmodifiableSet(customSettings);
    }
}
