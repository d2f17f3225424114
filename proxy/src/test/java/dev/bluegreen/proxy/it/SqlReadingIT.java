package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.ClusterData.number;
import static dev.bluegreen.proxy.it.ClusterData.onBoth;
import static dev.bluegreen.proxy.it.ClusterData.unique;
import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The proxy reads a session's SQL as the server does: with its client encoding and its
 * {@code standard_conforming_strings}. Each text here is a harmless-looking read to a reader that
 * assumes UTF-8 and standard strings, and a read plus a DELETE to the server. At weight 100 a read goes
 * to green alone, so a misreading would delete the row on green only; both clusters must lose it.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class SqlReadingIT {

    private static PgCluster blue;
    private static PgCluster green;

    @BeforeAll
    static void clusters(TestClusters clusters) {
        blue = clusters.blue();
        green = clusters.green();
    }

    @Test
    void aBackslashInAPlainStringEscapesWhenTheSessionStartsWithoutStandardStrings() throws Exception {
        String table = tableWithOneRow();
        runAtWeight100(Map.of("options", "-c standard_conforming_strings=off"), List.of(),
                utf8("select '\\''; delete from " + table + "; --'"));
        assertRowGoneOnBoth(table);
    }

    @Test
    void aBackslashInAPlainStringEscapesOnceTheSessionTurnsStandardStringsOff() throws Exception {
        String table = tableWithOneRow();
        runAtWeight100(Map.of(), List.of(utf8("set standard_conforming_strings = off")),
                utf8("select '\\''; delete from " + table + "; --'"));
        assertRowGoneOnBoth(table);
    }

    /** In SJIS, ソ is 0x83 0x5C: its second byte is a backslash to a reader that does not know SJIS. */
    @Test
    void aCharacterWhoseSecondByteIsABackslashDoesNotEscapeInSjis() throws Exception {
        String table = tableWithOneRow();
        ByteArrayOutputStream sql = new ByteArrayOutputStream();
        sql.writeBytes("select E'".getBytes(StandardCharsets.US_ASCII));
        sql.writeBytes(new byte[] {(byte) 0x83, 0x5c});
        sql.writeBytes(("'; delete from " + table + "; --'").getBytes(StandardCharsets.US_ASCII));
        runAtWeight100(Map.of("client_encoding", "SJIS"), List.of(), sql.toByteArray());
        assertRowGoneOnBoth(table);
    }

    private static String tableWithOneRow() {
        String table = unique("reading");
        onBoth(blue, green, "create table " + table + " (id int primary key)", "insert into " + table + " values (1)");
        return table;
    }

    private static byte[] utf8(String sql) {
        return sql.getBytes(StandardCharsets.UTF_8);
    }

    /** Logs in after dual-write started at weight 100, runs {@code before}, then {@code sql}; each must succeed. */
    private static void runAtWeight100(Map<String, String> startup, List<byte[]> before, byte[] sql) throws Exception {
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            Map<String, String> parameters = new LinkedHashMap<>(Map.of("user", blue.superuser(), "database", "postgres"));
            parameters.putAll(startup);
            try (RawClient client = new RawClient(proxy.port())) {
                client.startup(parameters).readUntil('Z');
                for (byte[] statement : before) {
                    assertNoError(client, statement);
                }
                assertNoError(client, sql);
            }
        }
    }

    private static void assertNoError(RawClient client, byte[] sql) throws Exception {
        byte[] body = new byte[sql.length + 1];
        System.arraycopy(sql, 0, body, 0, sql.length);
        client.send(RawClient.message('Q', body));
        RawClient.Message message;
        while ((message = client.read()).type() != 'Z') {
            assertThat(message.type()).as("an error: %s", message.fields()).isNotEqualTo('E');
        }
    }

    private static void assertRowGoneOnBoth(String table) throws Exception {
        assertThat(number(blue, "select count(*) from " + table)).as("rows on blue").isZero();
        assertThat(number(green, "select count(*) from " + table)).as("rows on green").isZero();
    }
}
