package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.routing.Classifier;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Which relayed SQL texts are worth parsing for a custom setting they may set by name. */
class SqlReadingTest {

    private static boolean maySet(String sql) {
        ByteBuf text = Unpooled.copiedBuffer(sql, StandardCharsets.UTF_8);
        try {
            return SqlReading.maySetByName(text, 0, text.readableBytes(), false);
        } finally {
            text.release();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "SET app.user_id = 42",
        "  set app.x to 'y'",
        "reset app.x",
        "select 1; SET app.x = 1",
        "-- the user\nSET app.x = 1",
        "/* a /* nested */ note */ SET app.x = 1",
        "select set_config('app.x', 'y', false)",
        "SELECT pg_catalog.SET_CONFIG('a.b', 'c', true)",
        "SET",
        "insert into audit values ('x; -- y'); set app.user_id = 42",
        "insert into audit values ($q$ a; /* $q$); SET app.x = 1",
        "insert into audit values (E'it\\'s; --'); SET app.x = 1",
        "select \"a;--\".b from t; SET app.x = 1",
        "select a$b$c from t; SET app.x = 1",
        "\u000BSET app.x = 1",
        "select \"set_config\"('app.x', '1', false)",
        "select 1 -- note\r; SET app.x = 1",
    })
    void aStatementThatBeginsWithSetOrResetOrCallsSetConfigMay(String sql) {
        assertThat(maySet(sql)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "update app.accounts set balance = 1.5 where id = 3",
        "select * from t offset 10",
        "insert into assets (name) values ('dataset.csv')",
        "settle.x",
        "select 1 -- SET app.x = 1",
        "/* SET app.x = 1 */ select 1",
        "setting",
        "select $$ ; SET app.x = 1 $$",
        "select 'x; SET app.x = 1'",
        "select $1; select 2.5",
    })
    void otherStatementsDoNot(String sql) {
        assertThat(maySet(sql)).isFalse();
    }

    /** A relayed Query, as the client sent it: its text in {@code charset}. */
    private static ByteBuf query(String sql, Charset charset) {
        byte[] text = sql.getBytes(charset);
        return Unpooled.buffer().writeByte('Q').writeInt(4 + text.length + 1).writeBytes(text).writeByte(0);
    }

    /**
     * In SJIS the second byte of a character may be a backslash: the scan cannot tell where an {@code E'...'}
     * string ends, so such a session's text is read in full, as the server reads it.
     */
    @Test
    void aSessionInAnEncodingWhoseCharactersMayHoldABackslashHasItsTextReadInFull() {
        SqlReading reading = new SqlReading();
        reading.reported("client_encoding", "SJIS");
        ByteBuf message = query("insert into t values (E'\u30bd'); SET app.x = '1'", Charset.forName("Shift_JIS"));
        try {
            reading.relayed(new Classifier(100), FrontendMessages.QUERY, message, 0, message.readableBytes());
        } finally {
            message.release();
        }

        assertThat(reading.customSettings()).containsExactly("app.x");
    }

    /** A name not in ASCII cannot be read by name in a session that has since left UTF-8: the session is pinned. */
    @Test
    void aNonAsciiNameInASessionNoLongerInUtf8IsNotFollowed() {
        SqlReading reading = new SqlReading();
        reading.reported("client_encoding", "UTF8");
        reading.classify(new Classifier(100), "SET \"app.\u00e9t\u00e9\" = 'x'");
        assertThat(reading.customSettingsUnfollowed()).isFalse();

        reading.reported("client_encoding", "LATIN1");

        assertThat(reading.customSettingsUnfollowed()).isTrue();
    }

    /**
     * A snapshot's text is carried in the session's own bytes outside UTF-8 (one character per byte), and what is
     * matched against the session's statements is read as they are read; a name the snapshot query cannot spell in
     * those bytes is not asked for.
     */
    @Test
    void outsideUtf8TheSnapshotCarriesTheSessionsBytesAndAsksOnlyForAsciiNames() {
        SqlReading reading = new SqlReading();
        reading.classify(new Classifier(100), "SET app.who = 'x'; SET \"app.\u00e9t\u00e9\" = 'y'");
        assertThat(reading.wire()).isEqualTo(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(reading.customSettingsToAsk()).containsExactlyInAnyOrder("app.who", "app.\u00e9t\u00e9");
        assertThat(reading.asRead("caf\u00e9")).isEqualTo("caf\u00e9");

        reading.reported("client_encoding", "LATIN1");

        assertThat(reading.wire()).isEqualTo(java.nio.charset.StandardCharsets.ISO_8859_1);
        assertThat(reading.customSettingsToAsk()).containsExactly("app.who");
        // the byte 0xE9, read as the proxy reads a LATIN1 session's SQL: not UTF-8, so a replacement character
        assertThat(reading.asRead("caf\u00e9")).isEqualTo("caf\uFFFD");
        // a name's bytes read as UTF-8, as the proxy reads the names of a client's statements
        assertThat(reading.nameAsRead("s\u00c3\u00a9")).isEqualTo("s\u00e9");

        reading.reported("client_encoding", "SJIS");

        assertThat(reading.asRead("\u0082\u00a0x")).isEqualTo("\u00e9x"); // one two-byte character, one stand-in
    }

    @Test
    void aParameterStatusGivesItsNameAndValueAndAMalformedOneNothing() {
        ByteBuf frame = Unpooled.buffer();
        frame.writeByte('S').writeInt(4 + "TimeZone".length() + 1 + "Pacific/Chatham".length() + 1);
        frame.writeCharSequence("TimeZone", StandardCharsets.US_ASCII);
        frame.writeByte(0);
        frame.writeCharSequence("Pacific/Chatham", StandardCharsets.US_ASCII);
        frame.writeByte(0);
        try {
            assertThat(SqlReading.parameterStatus(frame, 0, frame.readableBytes()))
                    .containsExactly("TimeZone", "Pacific/Chatham");
            assertThat(SqlReading.parameterStatus(frame, 0, frame.readableBytes() - 1)).as("no end to the value").isNull();
        } finally {
            frame.release();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"TimeZone", "timezone", "DateStyle", "IntervalStyle", "client_encoding", "standard_conforming_strings"})
    void theSettingsThatDecideWhatAValueReadsAsAreGivenToTwins(String name) {
        assertThat(SqlReading.decidesReading(name)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"application_name", "search_path", "server_version", "is_superuser", "integer_datetimes"})
    void otherReportedSettingsAreNot(String name) {
        assertThat(SqlReading.decidesReading(name)).isFalse();
    }
}
