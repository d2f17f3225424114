package dev.bluegreen.proxy.session;

import dev.bluegreen.proxy.protocol.ClientEncoding;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.protocol.ProtocolViolation;
import dev.bluegreen.proxy.routing.Classification;
import dev.bluegreen.proxy.routing.Classifier;
import dev.bluegreen.proxy.routing.InsertShape;
import dev.bluegreen.proxy.routing.LargeObjectSql;
import dev.bluegreen.proxy.routing.LeaderOnlyObjects;
import dev.bluegreen.proxy.routing.SavepointCommand;
import dev.bluegreen.proxy.routing.SqlNormalizer;
import dev.bluegreen.proxy.routing.StatementTexts;
import dev.bluegreen.proxy.routing.TransactionTime;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
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

    /**
     * The reported settings that decide what the values a client sends mean, and how the server writes its
     * own, by lower-case name: the encoding of the text, whether a backslash escapes, how a date, a time
     * without an offset and an interval read. A twin must read the session's statements with the leader's.
     */
    private static final Set<String> READING_SETTINGS = Set.of("client_encoding", "standard_conforming_strings",
            "datestyle", "intervalstyle", "timezone");

    private ClientEncoding encoding = ClientEncoding.ASCII_SAFE;
    private boolean backslashStrings;
    private Set<String> customSettings = Set.of();
    private boolean customSettingsUnfollowed;
    /** The session's text is UTF-8. */
    private boolean utf8 = true;
    /**
     * The {@code application_name} its server last reported, or null before any report: pgjdbc sets it with a
     * {@code SET} after logging in, not in the startup packet. Read by other threads (a write barrier naming
     * the session).
     */
    private volatile String applicationName;

    /** See {@link #applicationName}. */
    String applicationName() {
        return applicationName;
    }

    ClientEncoding encoding() {
        return encoding;
    }

    /** A setting's current value, from a ParameterStatus message or a session snapshot. */
    void reported(String name, String value) {
        if (name.equalsIgnoreCase("client_encoding")) {
            encoding = ClientEncoding.of(value);
            utf8 = value.equalsIgnoreCase("UTF8") || value.equalsIgnoreCase("UTF-8") || value.equalsIgnoreCase("UNICODE");
        } else if (name.equalsIgnoreCase("standard_conforming_strings")) {
            backslashStrings = !value.toLowerCase(Locale.ROOT).equals("on");
        } else if (name.equalsIgnoreCase("application_name")) {
            applicationName = value;
        }
    }

    /**
     * A ParameterStatus message ({@code 'S'}: name, value), given the whole frame. A malformed one changes
     * nothing: the client gets it as it is.
     */
    void reported(ByteBuf all, int offset, int length) {
        String[] setting = parameterStatus(all, offset, length);
        if (setting != null) {
            reported(setting[0], setting[1]);
        }
    }

    /** A ParameterStatus message's name and value, or null when it is malformed. */
    static String[] parameterStatus(ByteBuf all, int offset, int length) {
        int from = offset + Frame.HEADER_LENGTH;
        int end = offset + length;
        int nameEnd = all.indexOf(from, end, (byte) 0);
        int valueEnd = nameEnd < 0 ? -1 : all.indexOf(nameEnd + 1, end, (byte) 0);
        if (valueEnd < 0) {
            return null;
        }
        return new String[] {all.toString(from, nameEnd - from, StandardCharsets.US_ASCII),
                all.toString(nameEnd + 1, valueEnd - nameEnd - 1, StandardCharsets.US_ASCII)};
    }

    /** Whether a reported setting decides what the values in the session's statements mean (see {@link #READING_SETTINGS}). */
    static boolean decidesReading(String name) {
        return READING_SETTINGS.contains(name.toLowerCase(Locale.ROOT));
    }

    /** See {@link Classifier#transactionTail}, read as the session reads its strings. */
    Classifier.TransactionTail transactionTail(Classifier classifier, String sql) {
        return classifier.transactionTail(sql, backslashStrings);
    }

    /** See {@link InsertShape#of}, read as the session reads its strings. */
    Optional<InsertShape> insertShape(String sql) {
        return InsertShape.of(sql, backslashStrings);
    }

    /** See {@link SavepointCommand#of}, read as the session reads its strings. */
    Optional<SavepointCommand> savepointCommand(String sql) {
        return SavepointCommand.of(sql, backslashStrings);
    }

    /** See {@link LargeObjectSql#of}, read as the session reads its strings. */
    Optional<LargeObjectSql> largeObjectCreation(String sql) {
        return LargeObjectSql.of(sql, backslashStrings);
    }

    /** See {@link StatementTexts#of}, read as the session reads its strings. */
    List<StatementTexts.Slice> statements(String sql) {
        return StatementTexts.of(sql, backslashStrings);
    }

    /** See {@link InsertShape#returnsColumn}, read as the session reads its strings. */
    boolean returnsColumn(String sql, String column) {
        return InsertShape.returnsColumn(sql, backslashStrings, column);
    }

    /** See {@link TransactionTime#edits}, read as the session reads its strings. */
    List<TransactionTime.Edit> startEdits(String sql) {
        return TransactionTime.edits(sql, backslashStrings);
    }

    /** See {@link SqlNormalizer#normalize(String, boolean)}, read as the session reads its strings. */
    String normalize(String sql) {
        return SqlNormalizer.normalize(sql, backslashStrings);
    }

    /** See {@link LeaderOnlyObjects#run}, read as the session reads its strings. */
    LeaderOnlyObjects.Run leaderOnly(LeaderOnlyObjects objects, List<String> texts) {
        return objects.run(texts, backslashStrings);
    }

    Classification classify(Classifier classifier, String sql) {
        Classification c = backslashStrings ? classifier.classifyWithBackslashStrings(sql) : classifier.classify(sql);
        if (!c.customSettings().isEmpty()) {
            noteCustomSettings(c.customSettings());
        }
        return c;
    }

    /**
     * A Query or Parse a relayed session sends: read only when it may set a custom setting, which takes a dot
     * (or a {@code $}, for a name given as a parameter) and either a statement that begins with {@code SET}
     * or {@code RESET} or a call of {@code set_config}. Most statements cost one scan or two for those
     * bytes; one with them, a third scan, not a parse.
     */
    void relayed(Classifier classifier, byte type, ByteBuf all, int offset, int length) {
        int from = offset + Frame.HEADER_LENGTH;
        int end = offset + length;
        if (type == FrontendMessages.PARSE) {
            from = all.indexOf(from, end, (byte) 0) + 1; // after the statement's name: its text
            if (from <= 0) {
                return; // malformed: the server will say so
            }
        }
        // a custom setting's name has a dot; one given as a parameter (set_config($1, ...)) a $
        if ((all.indexOf(from, end, (byte) '.') < 0 && all.indexOf(from, end, (byte) '$') < 0)
                || (encoding == ClientEncoding.ASCII_SAFE && !maySetByName(all, from, end, backslashStrings))) {
            return; // (in an encoding whose characters may hold a backslash byte the text is always read in full)
        }
        try {
            classify(classifier, type == FrontendMessages.QUERY
                    ? FrontendMessages.querySql(all, offset, length, encoding)
                    : FrontendMessages.parseSql(all, offset, length, encoding));
        } catch (ProtocolViolation malformed) {
            // relayed as it is: the server answers it with the error
        }
    }

    /**
     * A statement beginning with {@code SET} or {@code RESET} (after blanks and comments), or
     * {@code set_config} anywhere outside strings, quoted names and comments. {@code backslashStrings}: a
     * backslash escapes in every {@code '...'} ({@code standard_conforming_strings} off), not only in
     * {@code E'...'}.
     */
    static boolean maySetByName(ByteBuf all, int from, int end, boolean backslashStrings) {
        boolean statementStart = true;
        for (int i = from; i < end; i++) {
            byte b = all.getByte(i);
            if (b == '-' && i + 1 < end && all.getByte(i + 1) == '-') {
                while (i < end && all.getByte(i) != '\n' && all.getByte(i) != '\r') {
                    i++;
                }
                continue;
            }
            if (b == '/' && i + 1 < end && all.getByte(i + 1) == '*') {
                i = commentEnd(all, i + 2, end);
                continue;
            }
            if (statementStart) {
                if (b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == 0x0B) {
                    continue;
                }
                if (word(all, i, end, "set") || word(all, i, end, "reset")) {
                    return true;
                }
                statementStart = false;
            }
            switch (b) {
                case ';' -> statementStart = true;
                case '\'' -> i = quoteEnd(all, i, end, backslashStrings || escapeString(all, from, i));
                case '"' -> {
                    int close = all.indexOf(i + 1, end, (byte) '"');
                    close = close < 0 ? end : close;
                    for (int k = i + 1; k < close; k++) {
                        if (matches(all, k, close, "set_config")) {
                            return true; // "set_config"(...), as a query builder that quotes every name writes it
                        }
                    }
                    i = close;
                }
                case '$' -> {
                    if (i == from || !identifierByte(all.getByte(i - 1))) {
                        i = dollarQuoteEnd(all, i, end); // not a name's $ (a$b)
                    }
                }
                case 's', 'S' -> {
                    if (matches(all, i, end, "set_config")) {
                        return true;
                    }
                }
                default -> { }
            }
        }
        return false;
    }

    /** The quote opening at {@code at} is an {@code E'...'} string's: the {@code E} a word of its own. */
    private static boolean escapeString(ByteBuf all, int from, int at) {
        if (at - 1 < from || (all.getByte(at - 1) | 0x20) != 'e') {
            return false;
        }
        return at - 2 < from || !identifierByte(all.getByte(at - 2));
    }

    /** The closing quote of the string whose opening quote is at {@code at} ({@code ''} is two strings here: the same). */
    private static int quoteEnd(ByteBuf all, int at, int end, boolean backslashEscapes) {
        for (int i = at + 1; i < end; i++) {
            byte b = all.getByte(i);
            if (backslashEscapes && b == '\\') {
                i++;
            } else if (b == '\'') {
                return i;
            }
        }
        return end;
    }

    /** The last byte of the dollar-quoted string whose tag starts at {@code at}; {@code at} itself if none starts there ({@code $1}). */
    private static int dollarQuoteEnd(ByteBuf all, int at, int end) {
        int tagEnd = at + 1;
        if (tagEnd < end && all.getByte(tagEnd) != '$') {
            byte first = all.getByte(tagEnd);
            if (!(Character.isLetter(first) || first == '_' || first < 0)) {
                return at;
            }
            while (tagEnd < end && identifierByte(all.getByte(tagEnd)) && all.getByte(tagEnd) != '$') {
                tagEnd++;
            }
            if (tagEnd >= end || all.getByte(tagEnd) != '$') {
                return at;
            }
        }
        if (tagEnd >= end) {
            return end;
        }
        int tagLength = tagEnd - at + 1;
        for (int i = all.indexOf(tagEnd + 1, end, (byte) '$'); i >= 0; i = all.indexOf(i + 1, end, (byte) '$')) {
            if (i + tagLength <= end && ByteBufUtil.equals(all, at, all, i, tagLength)) {
                return i + tagLength - 1;
            }
        }
        return end;
    }

    private static boolean identifierByte(byte b) {
        return Character.isLetterOrDigit(b) || b == '_' || b == '$' || b < 0;
    }

    /** The last byte of a block comment whose text starts at {@code from} (comments nest, as PostgreSQL's do). */
    private static int commentEnd(ByteBuf all, int from, int end) {
        int depth = 1;
        for (int i = from; i + 1 < end; i++) {
            if (all.getByte(i) == '*' && all.getByte(i + 1) == '/') {
                if (--depth == 0) {
                    return i + 1;
                }
                i++;
            } else if (all.getByte(i) == '/' && all.getByte(i + 1) == '*') {
                depth++;
                i++;
            }
        }
        return end;
    }

    private static boolean word(ByteBuf all, int at, int end, String word) {
        if (!matches(all, at, end, word)) {
            return false;
        }
        int after = at + word.length();
        if (after >= end) {
            return true;
        }
        byte b = all.getByte(after);
        return !identifierByte(b);
    }

    /** {@code lower} (ASCII lower case) at {@code at}, in any case. */
    private static boolean matches(ByteBuf all, int at, int end, String lower) {
        if (at + lower.length() > end) {
            return false;
        }
        for (int k = 0; k < lower.length(); k++) {
            byte b = all.getByte(at + k);
            char c = lower.charAt(k);
            if (b != c && !(c >= 'a' && c <= 'z' && b == c - 32)) {
                return false;
            }
        }
        return true;
    }

    private void noteCustomSettings(Set<String> names) {
        if (customSettings.isEmpty()) {
            customSettings = new LinkedHashSet<>();
        }
        for (String name : names) {
            if (name.isEmpty()) {
                customSettingsUnfollowed = true; // set by a name the SQL does not spell out
            } else if (customSettings.size() < MAX_CUSTOM_SETTINGS || customSettings.contains(name)) {
                customSettings.add(name);
            } else {
                customSettingsUnfollowed = true;
            }
        }
    }

    /**
     * The session set a custom setting that is not followed: more than {@link #MAX_CUSTOM_SETTINGS}, one set by
     * a name its SQL does not spell out, or one whose name is not ASCII in a session whose encoding is not UTF-8.
     * A twin could not be given them all.
     */
    boolean customSettingsUnfollowed() {
        // a name not in ASCII, read here from the session's SQL as UTF-8 (or with stand-ins): in a session in
        // another encoding that reading loses its bytes, so a snapshot query could not spell it as the server knows it
        return customSettingsUnfollowed
                || (!utf8 && customSettings.stream().anyMatch(SqlReading::notAscii));
    }

    /** Text a session in another encoding than UTF-8 does not read as the proxy's UTF-8 queries spell it. */
    static boolean notAscii(String text) {
        return !text.chars().allMatch(c -> c < 0x80);
    }

    /** The session's text is UTF-8. */
    boolean utf8() {
        return utf8;
    }

    /**
     * The charset that carries the session's text byte for byte from what its server answers the proxy (a
     * snapshot of its settings and prepared statements) to what the proxy sends a twin (their replay): UTF-8 for
     * a UTF-8 session; otherwise ISO-8859-1, which reads each byte as one character and writes it back as that
     * byte, whatever the session's encoding makes of it. Whatever the proxy writes around such text must be ASCII,
     * which every client encoding writes as such (so no name read from the session's SQL outside ASCII: see
     * {@link #customSettingsToAsk}); a byte of a multibyte character is never a quote, a double quote or a dollar.
     */
    Charset wire() {
        return utf8 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1;
    }

    /** Text read in {@link #wire()}'s charset as the proxy reads the client's own text (see {@link ClientEncoding}). */
    String asRead(String wireText) {
        if (utf8) {
            return wireText;
        }
        ByteBuf bytes = Unpooled.wrappedBuffer(wireText.getBytes(StandardCharsets.ISO_8859_1));
        return encoding.decode(bytes, 0, bytes.readableBytes());
    }

    /** A name (of a prepared statement) read in {@link #wire()}'s charset as the proxy reads the client's names: UTF-8. */
    String nameAsRead(String wireText) {
        return utf8 ? wireText : new String(wireText.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }

    /**
     * {@link #customSettings} a snapshot query can name: all of them in a UTF-8 session; in another, those in
     * ASCII (a name outside it was read from the session's SQL without its bytes, which the query, written in the
     * session's own bytes, could not spell: the session is pinned for it instead, see
     * {@link #customSettingsUnfollowed}).
     */
    Set<String> customSettingsToAsk() {
        if (utf8) {
            return Collections.unmodifiableSet(customSettings);
        }
        Set<String> ascii = new LinkedHashSet<>();
        for (String name : customSettings) {
            if (!notAscii(name)) {
                ascii.add(name);
            }
        }
        return ascii;
    }

    /** The custom settings the session has set or reset so far, by name as the server folds it. */
    Set<String> customSettings() {
        return Collections.unmodifiableSet(customSettings);
    }
}
