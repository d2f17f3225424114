package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.protocol.ClientEncoding;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.routing.Classification;
import dev.bluegreen.proxy.routing.Classifier;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The two session settings that change how the server reads SQL text, so that the proxy reads it the
 * same way: {@code client_encoding} (which bytes belong to one character) and
 * {@code standard_conforming_strings} (whether a backslash in {@code '...'} escapes). Both are reported
 * by the server in ParameterStatus messages, at login and whenever they change, so the leader's reports
 * keep this current; a snapshot taken for a twin carries what a relayed session set.
 */
final class SqlReading {

    private ClientEncoding encoding = ClientEncoding.ASCII_SAFE;
    private boolean backslashStrings;

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
        return backslashStrings ? classifier.classifyWithBackslashStrings(sql) : classifier.classify(sql);
    }
}
