package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.dualwrite.Divergence;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes that return arrays and records of user-defined types in binary format, as drivers with
 * binary transfer ask for them. Those values carry the type's OID, which each cluster assigns on its
 * own, so blue's and green's bytes differ where the rows do not; dual-write must not call that a
 * divergence, and must still see a row that really differs.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class BinaryResultsIT {

    /** An enum, a composite holding it, and a table with an array of the enum and the composite, on both clusters. */
    private record Schema(String mood, String pair, String table) {

        static Schema create(TestClusters clusters) throws SQLException {
            String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
            Schema schema = new Schema("mood_" + suffix, "pair_" + suffix, "moods_" + suffix);
            schema.createOn(clusters.blue());
            // the same types under other OIDs on green: an unrelated type first on green only moves its OIDs on,
            // unless the two clusters' OIDs were that far apart already (then once more)
            for (int attempt = 0; schema.sameOidOnBoth(clusters); attempt++) {
                assertThat(attempt).as("attempts to give green other OIDs").isLessThan(5);
                if (attempt > 0) {
                    clusters.green().execute("postgres", "drop table " + schema.table, "drop type " + schema.pair,
                            "drop type " + schema.mood);
                }
                clusters.green().execute("postgres", "create type unrelated_" + suffix + "_" + attempt + " as (x int)");
                schema.createOn(clusters.green());
            }
            return schema;
        }

        private void createOn(PgCluster cluster) {
            cluster.execute("postgres",
                    "create type " + mood + " as enum ('happy', 'sad', 'grumpy')",
                    "create type " + pair + " as (n int, m " + mood + ", ms " + mood + "[])",
                    "create table " + table + " (id int primary key, moods " + mood + "[], pair " + pair + ")");
        }

        /** True also before the types exist on green. */
        private boolean sameOidOnBoth(TestClusters clusters) throws SQLException {
            for (String type : types()) {
                String onGreen = single(clusters.green(), "select to_regtype('" + type + "')::oid");
                if (onGreen == null || Long.parseLong(onGreen) == oid(clusters.blue(), type)) {
                    return true;
                }
            }
            return false;
        }

        List<String> types() {
            return List.of(mood, mood + "[]", pair);
        }

        String insertReturning(int id) {
            return "insert into " + table + " values (" + id + ", array['happy', null, 'sad']::" + mood + "[], "
                    + "row(" + id + ", 'grumpy', array['sad']::" + mood + "[])::" + pair + ") returning id, moods, pair";
        }

        /**
         * pgjdbc asking for binary results from the first execution, for these types too: it knows
         * them by blue's OIDs, the leader's, whose RowDescription it reads.
         */
        Properties binaryTransfer(PgCluster leader) throws SQLException {
            StringBuilder oids = new StringBuilder();
            for (String type : types()) {
                oids.append(oids.isEmpty() ? "" : ",").append(oid(leader, type));
            }
            Properties properties = new Properties();
            properties.setProperty("binaryTransfer", "true");
            properties.setProperty("prepareThreshold", "-1");
            properties.setProperty("binaryTransferEnable", oids.toString());
            return properties;
        }

        /** Row {@code id}: an array of the enum, and the composite holding {@code n}. */
        String row(int id, int n) {
            return "insert into " + table + " values (" + id + ", array['happy', 'sad']::" + mood + "[], "
                    + "row(" + n + ", 'grumpy', array['sad']::" + mood + "[])::" + pair + ")";
        }

        String stored(PgCluster cluster) throws SQLException {
            return single(cluster, "select string_agg(format('%s %s %s', id, moods, pair), '; ' order by id) from " + table);
        }
    }

    private static long oid(PgCluster cluster, String type) throws SQLException {
        return Long.parseLong(single(cluster, "select '" + type + "'::regtype::oid"));
    }

    private static String single(PgCluster cluster, String sql) throws SQLException {
        try (Connection c = cluster.connect("postgres"); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Runs the insert and checks that the array and the record came in binary, as their leading words show. */
    private static void insertReturning(Connection c, String sql, int id) throws SQLException {
        try (PreparedStatement insert = c.prepareStatement(sql); ResultSet rs = insert.executeQuery()) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getInt(1)).isEqualTo(id);
            // array_send: one dimension, has nulls; record_send: three fields
            assertThat(ByteBuffer.wrap(rs.getBytes(2)).getLong()).as("moods").isEqualTo((1L << 32) | 1);
            assertThat(ByteBuffer.wrap(rs.getBytes(3)).getInt()).as("pair").isEqualTo(3);
        }
    }

    @Test
    void binaryArraysAndRecordsOfUserTypesAreNoDivergence(TestClusters clusters) throws Exception {
        Schema schema = Schema.create(clusters);
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (Connection c = proxy.connect(clusters.blue().superuser(), null, schema.binaryTransfer(clusters.blue()))) {
                // autocommit, then inside a transaction
                insertReturning(c, schema.insertReturning(1), 1);
                c.setAutoCommit(false);
                insertReturning(c, schema.insertReturning(2), 2);
                c.commit();
                c.setAutoCommit(true);
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select count(*) from " + schema.table())) {
                    rs.next();
                    assertThat(rs.getInt(1)).isEqualTo(2);
                }
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            assertThat(schema.stored(clusters.green())).isEqualTo(schema.stored(clusters.blue()))
                    .isEqualTo("1 {happy,NULL,sad} (1,grumpy,{sad}); 2 {happy,NULL,sad} (2,grumpy,{sad})");
        }
    }

    @Test
    void aBinaryRecordThatReallyDiffersOnGreenIsStillADivergence(TestClusters clusters) throws Exception {
        Schema schema = Schema.create(clusters);
        clusters.green().execute("postgres",
                "create function " + schema.table() + "_sulk() returns trigger language plpgsql as $$ begin"
                        + " new.pair := row((new.pair).n, (new.pair).m, array['grumpy']::" + schema.mood() + "[]);"
                        + " return new; end $$",
                "create trigger sulk before insert on " + schema.table() + " for each row execute function "
                        + schema.table() + "_sulk()");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (Connection c = proxy.connect(clusters.blue().superuser(), null, schema.binaryTransfer(clusters.blue()))) {
                insertReturning(c, schema.insertReturning(1), 1);
            }
            await("the divergence on record").until(() -> !proxy.server().migration().divergences().isEmpty());
            assertThat(proxy.server().migration().divergences()).extracting(Divergence::difference)
                    .containsExactly("row contents differ (1 row)");
            assertThat(proxy.server().routing().current().followerInSync()).isFalse();
        }
    }

    /** A binary array as {@code array_send} writes it: one dimension, from 1, of {@code element}'s values. */
    private static byte[] binaryArray(long element, byte[]... values) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataOutputStream data = new DataOutputStream(out);
        try {
            data.writeInt(1);
            data.writeInt(0);
            data.writeInt((int) element);
            data.writeInt(values.length);
            data.writeInt(1);
            for (byte[] value : values) {
                data.writeInt(value.length);
                data.write(value);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** A binary record as {@code record_send} writes it: each field's type and value. */
    private static byte[] binaryRecord(long[] types, byte[]... values) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataOutputStream data = new DataOutputStream(out);
        try {
            data.writeInt(values.length);
            for (int i = 0; i < values.length; i++) {
                data.writeInt((int) types[i]);
                data.writeInt(values[i].length);
                data.write(values[i]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * A Bind of {@code statement} with the values in {@code formats} (0 text, 1 binary), as a driver that encodes arrays
     * and records of user-defined types in binary sends it (asyncpg, Npgsql, Postgrex, r2dbc).
     */
    private static byte[] bindValues(String statement, short[] formats, byte[]... values) {
        return bindValues(statement, formats, new short[0], values);
    }

    /** The same, with the results' formats. */
    private static byte[] bindValues(String statement, short[] formats, short[] results, byte[]... values) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataOutputStream data = new DataOutputStream(out);
        try {
            data.write(RawClient.cstrings("", statement));
            data.writeShort(formats.length);
            for (short format : formats) {
                data.writeShort(format);
            }
            data.writeShort(values.length);
            for (byte[] value : values) {
                data.writeInt(value.length);
                data.write(value);
            }
            data.writeShort(results.length);
            for (short format : results) {
                data.writeShort(format);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return RawClient.message('B', out.toByteArray());
    }

    /**
     * A Parse naming a user-defined type by blue's OID: green is given its own OID for that type, where before it was
     * left to infer one from the statement, which can be another ({@code pg_typeof($1)}: {@code text}).
     */
    @Test
    void aParseNamingAUserTypeByBluesOidNamesTheSameTypeOnGreen(TestClusters clusters) throws Exception {
        Schema schema = Schema.create(clusters);
        String log = schema.table() + "_log";
        ClusterData.onBoth(clusters.blue(), clusters.green(), "create table " + log + " (t text)");
        long mood = oid(clusters.blue(), schema.mood());
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                byte[] strings = RawClient.cstrings("typed", "insert into " + log + " select pg_typeof($1)::text");
                client.send(RawClient.concat(RawClient.message('P', ByteBuffer.allocate(strings.length + 6).put(strings)
                                .putShort((short) 1).putInt((int) mood).array()),
                        bindValues("typed", new short[0], utf8("happy")), RawClient.execute(), RawClient.sync()));
                assertThat(client.commandTags()).isEqualTo("INSERT 0 1");

                // a type made through the proxy after the catalogs were read: they are read again for it
                String later = schema.mood() + "_later";
                client.send(RawClient.query("create type " + later + " as enum ('calm')"));
                assertThat(client.commandTags()).isEqualTo("CREATE TYPE");
                assertThat(oid(clusters.green(), later)).as("another OID on green").isNotEqualTo(oid(clusters.blue(), later));
                byte[] again = RawClient.cstrings("typed_later", "insert into " + log + " select pg_typeof($1)::text");
                client.send(RawClient.concat(RawClient.message('P', ByteBuffer.allocate(again.length + 6).put(again)
                                .putShort((short) 1).putInt((int) oid(clusters.blue(), later)).array()),
                        bindValues("typed_later", new short[0], utf8("calm")), RawClient.execute(), RawClient.sync()));
                assertThat(client.commandTags()).isEqualTo("INSERT 0 1");
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
            String both = "select string_agg(t, ',' order by t) from " + log;
            assertThat(single(clusters.green(), both)).isEqualTo(single(clusters.blue(), both))
                    .isEqualTo(schema.mood() + "," + schema.mood() + "_later");
        }
    }

    /**
     * Blue on PostgreSQL 13, which refuses a binary array or record whose OIDs are not its own types' (14 and later take
     * any OID of a type the database defined, and read the value as the column's type): after cutover blue follows, and
     * a session that began then learned its types from green. Blue's copy of its values is given blue's OIDs.
     */
    @Test
    void aFollowerOnPostgres13GetsItsOwnOidsInBinaryArraysAndRecords(TestClusters clusters, @TempDir Path dir) throws Exception {
        try (PgCluster old = BlueGreenClusters.fresh("blue13", "13.23.0", dir.resolve("blue13"))) {
            Schema schema = Schema.create(new TestClusters(old, clusters.green()));
            long mood = oid(clusters.green(), schema.mood());
            long moods = oid(clusters.green(), schema.mood() + "[]");
            byte[] sadAndHappy = binaryArray(mood, utf8("sad"), utf8("happy"));
            byte[] pair = binaryRecord(new long[] {23, mood, moods},
                    ByteBuffer.allocate(4).putInt(7).array(), utf8("grumpy"), binaryArray(mood, utf8("happy")));
            short[] formats = {0, 1, 1};
            try (TestProxy proxy = TestProxy.in(old).green(clusters.green()).start()) {
                proxy.server().routing().start("test", null);
                proxy.server().routing().setWeight("test", 100, null);
                proxy.server().routing().cutover("test", null);
                try (RawClient client = new RawClient(proxy.port()).loggedIn(old.superuser())) {
                    client.send(RawClient.concat(RawClient.parse("ins", "insert into " + schema.table() + " values ($1, $2, $3)"),
                            RawClient.describeStatement("ins"), RawClient.sync()));
                    assertThat(client.typesUntilReady()).isEqualTo("1tnZ");
                    client.send(RawClient.concat(bindValues("ins", formats, utf8("1"), sadAndHappy, pair),
                            RawClient.execute(), RawClient.sync()));
                    assertThat(client.commandTags()).isEqualTo("INSERT 0 1");
                    client.send(RawClient.query("begin"));
                    assertThat(client.commandTags()).isEqualTo("BEGIN");
                    client.send(RawClient.concat(bindValues("ins", formats, utf8("2"), sadAndHappy, pair),
                            RawClient.execute(), RawClient.sync()));
                    assertThat(client.commandTags()).isEqualTo("INSERT 0 1");
                    client.send(RawClient.query("commit"));
                    assertThat(client.commandTags()).isEqualTo("COMMIT");

                    // a read blue serves, the array bound as a parameter
                    proxy.server().routing().setWeight("test", 0, null);
                    client.send(RawClient.concat(RawClient.parse("sel", "select count(*) from " + schema.table()
                            + " where moods = $1"), RawClient.sync()));
                    assertThat(client.typesUntilReady()).isEqualTo("1Z");
                    client.send(RawClient.concat(bindValues("sel", new short[] {1}, sadAndHappy), RawClient.execute(),
                            RawClient.sync()));
                    assertThat(client.firstValue()).isEqualTo("2");
                }
                assertThat(proxy.server().migration().divergences()).isEmpty();
                assertThat(proxy.server().routing().current().followerInSync()).isTrue();
                assertThat(schema.stored(old)).isEqualTo(schema.stored(clusters.green()))
                        .isEqualTo("1 {sad,happy} (7,grumpy,{happy}); 2 {sad,happy} (7,grumpy,{happy})");
            }
        }
    }

    /** The types of a RowDescription's columns. */
    private static List<Long> columnTypes(RawClient.Message description) {
        assertThat(description.type()).isEqualTo('T');
        ByteBuffer body = ByteBuffer.wrap(description.body());
        List<Long> types = new ArrayList<>();
        for (int i = body.getShort(); i > 0; i--) {
            while (body.get() != 0) {
                // the column's name
            }
            body.position(body.position() + 6);
            types.add(body.getInt() & 0xFFFFFFFFL);
            body.position(body.position() + 8);
        }
        return types;
    }

    /** The types of a ParameterDescription's parameters. */
    private static List<Long> parameterTypes(RawClient.Message description) {
        assertThat(description.type()).isEqualTo('t');
        ByteBuffer body = ByteBuffer.wrap(description.body());
        List<Long> types = new ArrayList<>();
        for (int i = body.getShort(); i > 0; i--) {
            types.add(body.getInt() & 0xFFFFFFFFL);
        }
        return types;
    }

    /** The values of a DataRow (none null). */
    private static List<ByteBuffer> values(RawClient.Message row) {
        assertThat(row.type()).isEqualTo('D');
        ByteBuffer body = ByteBuffer.wrap(row.body());
        List<ByteBuffer> values = new ArrayList<>();
        for (int i = body.getShort(); i > 0; i--) {
            int length = body.getInt();
            values.add(body.slice(body.position(), length));
            body.position(body.position() + length);
        }
        return values;
    }

    private static String types(List<RawClient.Message> messages) {
        return messages.stream().map(m -> String.valueOf(m.type())).collect(Collectors.joining());
    }

    /**
     * What a binary array of the enum and a binary record of the composite say their types are, row {@code n} as
     * {@link Schema#row} made it: the array's element type; the record's n, and its fields' types and its array's
     * element type.
     */
    private static List<Long> typesInside(ByteBuffer moods, ByteBuffer pair, int n) {
        assertThat(pair.getInt(0)).as("fields").isEqualTo(3);
        assertThat(pair.getInt(4)).as("n is an int4").isEqualTo(23);
        assertThat(pair.getInt(12)).as("n, the row of the cluster that answered").isEqualTo(n);
        int second = 16;
        int third = second + 8 + pair.getInt(second + 4);
        return List.of(moods.getInt(8) & 0xFFFFFFFFL, pair.getInt(second) & 0xFFFFFFFFL, pair.getInt(third) & 0xFFFFFFFFL,
                pair.getInt(third + 8 + 8) & 0xFFFFFFFFL);
    }

    /**
     * A session that began on blue holds blue's OIDs for the types the database defined. Green serves its reads
     * (weight 100, blue still leads), and names those types by blue's OIDs too: in the parameter and column
     * descriptions, and inside the arrays and records it sends in binary. The session's read of the catalogs is served
     * by blue, whose OIDs it holds; where green served it, the same OID could name another type, or none. In a
     * read-only transaction green serves, the catalogs would be read on green: there green's answers are its own.
     */
    @Test
    void readsGreenServesNameTheTypesByBluesOids(TestClusters clusters) throws Exception {
        Schema schema = Schema.create(clusters);
        clusters.blue().execute("postgres", schema.row(1, 7));
        clusters.green().execute("postgres", schema.row(1, 8)); // so that which cluster answered shows
        long mood = oid(clusters.blue(), schema.mood());
        long moods = oid(clusters.blue(), schema.mood() + "[]");
        long pair = oid(clusters.blue(), schema.pair());
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                client.send(RawClient.query("select oid from pg_type where typname = '" + schema.mood() + "'"));
                assertThat(client.firstValue()).as("the catalog read, served by blue").isEqualTo(Long.toString(mood));

                // the catalogs are read in the background, once both clusters may serve the session's reads
                String select = "select moods, pair, $1::" + schema.mood() + " from " + schema.table() + " where id = 1";
                List<RawClient.Message> described = await("green's answer with blue's OIDs").until(() -> {
                    client.send(RawClient.concat(RawClient.parse(select), RawClient.describeStatement(""), RawClient.sync()));
                    return client.untilReady();
                }, messages -> columnTypes(messages.get(2)).equals(List.of(moods, pair, mood)));
                assertThat(types(described)).isEqualTo("1tTZ");
                assertThat(parameterTypes(described.get(1))).containsExactly(mood);

                client.send(RawClient.concat(bindValues("", new short[0], new short[] {1}, utf8("sad")),
                        RawClient.execute(), RawClient.sync()));
                List<RawClient.Message> answer = client.untilReady();
                assertThat(types(answer)).isEqualTo("2DCZ");
                List<ByteBuffer> row = values(answer.get(1));
                assertThat(typesInside(row.get(0), row.get(1), 8)).containsExactly(mood, mood, moods, mood);

                // in a transaction green serves, the catalogs are read on green too: its answers go as green sent them
                client.send(RawClient.query("begin read only"));
                assertThat(client.commandTags()).isEqualTo("BEGIN");
                client.send(RawClient.concat(RawClient.parse("in_transaction", select),
                        RawClient.describeStatement("in_transaction"), RawClient.sync()));
                assertThat(columnTypes(client.untilReady().get(2))).containsExactly(oid(clusters.green(),
                        schema.mood() + "[]"), oid(clusters.green(), schema.pair()), oid(clusters.green(), schema.mood()));
                client.send(RawClient.query("commit"));
                assertThat(client.commandTags()).isEqualTo("COMMIT");
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
    }

    /**
     * After cutover, a session that began then holds green's OIDs, and blue serves half the reads. A read green serves
     * and fails (its copy of the table was renamed) is run on blue (DESIGN 4.5), and blue's answer is given green's
     * OIDs, as the answers to the reads blue serves are: in the column descriptions, and inside the binary array and
     * record.
     */
    @Test
    void afterCutoverAReadRetriedOnBlueIsGivenGreensOids(TestClusters clusters) throws Exception {
        Schema schema = Schema.create(clusters);
        clusters.blue().execute("postgres", schema.row(1, 7));
        clusters.green().execute("postgres", schema.row(1, 8)); // so that which cluster answered shows
        long greenMood = oid(clusters.green(), schema.mood());
        long greenMoods = oid(clusters.green(), schema.mood() + "[]");
        long greenPair = oid(clusters.green(), schema.pair());
        String select = "select moods, pair from " + schema.table() + " where id = 1";
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            proxy.server().routing().cutover("test", null);
            proxy.server().routing().setWeight("test", 50, null);
            try (RawClient client = sessionServedByGreen(proxy, clusters.blue().superuser())) {
                clusters.green().execute("postgres", "alter table " + schema.table() + " rename to " + schema.table() + "_moved");
                long retries = proxy.server().migration().readRetries();
                // (the catalogs are read in the background, once both clusters may serve the session's reads)
                List<RawClient.Message> described = await("blue's answer with green's OIDs").until(() -> {
                    client.send(RawClient.concat(RawClient.parse(select), RawClient.describeStatement(""), RawClient.sync()));
                    return client.untilReady();
                }, messages -> types(messages).equals("1tTZ") && columnTypes(messages.get(2)).equals(List.of(greenMoods, greenPair)));
                assertThat(described).hasSize(4);
                client.send(RawClient.concat(RawClient.parse(select), bindValues("", new short[0], new short[] {1}),
                        RawClient.execute(), RawClient.sync()));
                List<RawClient.Message> answer = client.untilReady();
                assertThat(types(answer)).isEqualTo("12DCZ");
                List<ByteBuffer> row = values(answer.get(2));
                assertThat(typesInside(row.get(0), row.get(1), 7)).as("blue's row, with green's OIDs")
                        .containsExactly(greenMood, greenMood, greenMoods, greenMood);
                assertThat(proxy.server().migration().readRetries() - retries).as("reads retried on blue")
                        .isGreaterThanOrEqualTo(2);
            }
        }
    }

    /** A session, begun now, whose reads green serves: at weight 50 with sessions sticky, one of the first few. */
    private static RawClient sessionServedByGreen(TestProxy proxy, String user) throws IOException {
        List<RawClient> onBlue = new ArrayList<>();
        try {
            for (int attempt = 0; attempt < 64; attempt++) {
                RawClient client = new RawClient(proxy.port()).loggedIn(user);
                client.send(RawClient.query("select current_setting('server_version_num')::int / 10000"));
                if (client.firstValue().equals("18")) {
                    return client;
                }
                onBlue.add(client);
            }
            throw new AssertionError("64 sessions at weight 50, none served by green");
        } finally {
            for (RawClient client : onBlue) {
                client.close();
            }
        }
    }

    /**
     * A read green serves describes its columns by blue's table OIDs and column numbers, which pgjdbc looks up in blue's
     * catalog (where the session's reads of the catalogs go) for a column's table, base name, whether it may be null and
     * whether it is an identity. Green's copy of the table has another OID, and its columns other numbers: blue's had a
     * column dropped. Before, pgjdbc looked green's up in blue's catalog and found no such table, or another one.
     */
    @Test
    void readsGreenServesNameTheirColumnsByBluesTablesAndColumnNumbers(TestClusters clusters) throws Exception {
        String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        String table = "orders_" + suffix;
        tableWithAnotherOidOnGreen(clusters, table);
        String select = "select label, note, id, length(label) from " + table;
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            // (the catalogs are read in the background, once both clusters may serve a session's reads; pgjdbc keeps
            // what it looked up for the life of its connection, so each attempt opens one)
            await("pgjdbc finding the table of green's answer in blue's catalog").until(() -> {
                try (Connection c = proxy.connect(clusters.blue().superuser()); Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery(select)) {
                    return rs.getMetaData().getTableName(1);
                }
            }, table::equals);
            try (Connection c = proxy.connect(clusters.blue().superuser()); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery(select)) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).as("served by green").isEqualTo("green");
                var meta = rs.getMetaData().unwrap(org.postgresql.PGResultSetMetaData.class);
                assertThat(List.of(meta.getBaseColumnName(1), meta.getBaseColumnName(2), meta.getBaseColumnName(3)))
                        .containsExactly("label", "note", "id");
                assertThat(List.of(meta.getBaseTableName(1), meta.getBaseTableName(2), meta.getBaseTableName(4)))
                        .containsExactly(table, table, "");
                java.sql.ResultSetMetaData columns = rs.getMetaData();
                assertThat(columns.isNullable(1)).as("label").isEqualTo(java.sql.ResultSetMetaData.columnNoNulls);
                assertThat(columns.isNullable(2)).as("note").isEqualTo(java.sql.ResultSetMetaData.columnNullable);
                assertThat(columns.isAutoIncrement(3)).as("id").isTrue();
                assertThat(columns.isAutoIncrement(1)).as("label").isFalse();
            }

            // a table made on the clusters directly, not through the proxy, after their catalogs were read: the first
            // answer naming it has them read again (no sooner than five seconds after the last read)
            String later = "later_" + suffix;
            tableWithAnotherOidOnGreen(clusters, later);
            await("pgjdbc finding a table made since in blue's catalog").atMost(Duration.ofSeconds(30)).until(() -> {
                try (Connection c = proxy.connect(clusters.blue().superuser()); Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery("select label from " + later)) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getString(1)).as("served by green").isEqualTo("green");
                    return rs.getMetaData().getTableName(1);
                }
            }, later::equals);
        }
    }

    /**
     * A function call (pgjdbc's Fastpath, libpq's {@code PQfn}) names its function by OID, which the client learned from
     * blue's catalog; green's copy of the function has another OID. Green is sent the call with its own OID for the
     * function of the same schema, name and argument types. Before, green was sent blue's OID, which names no function
     * there (a divergence) or another one, which it then ran.
     */
    @Test
    @SuppressWarnings("deprecation") // (pgjdbc's Fastpath: what calls a function by its OID)
    void aFunctionCallIsSentToGreenWithGreensOidForTheFunction(TestClusters clusters) throws Exception {
        String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        String table = "bumps_" + suffix;
        String function = "bump_" + suffix;
        String create = "create function " + function + "(n int) returns int language sql as $$ insert into " + table
                + " values (n) returning n * 2 $$";
        clusters.blue().execute("postgres", "create table " + table + " (n int)", create);
        clusters.green().execute("postgres", "create table " + table + " (n int)");
        onGreenUnderAnotherOid(clusters, "select '" + function + "(int)'::regprocedure::oid",
                "drop function " + function + "(int)", create);
        Properties named = new Properties();
        named.setProperty("ApplicationName", function);
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             Connection c = proxy.connect(clusters.blue().superuser(), null, named)) {
            org.postgresql.fastpath.Fastpath fastpath = c.unwrap(org.postgresql.PGConnection.class).getFastpathAPI();
            fastpath.addFunction(function, (int) Long.parseLong(single(clusters.blue(),
                    "select '" + function + "(int)'::regprocedure::oid")));
            proxy.server().routing().start("test", null);
            assertThat(fastpath.getInteger(function, new org.postgresql.fastpath.FastpathArg[] {
                    new org.postgresql.fastpath.FastpathArg(21)})).isEqualTo(42);
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            assertThat(single(clusters.blue(), "select string_agg(n::text, ',') from " + table)).isEqualTo("21");
            assertThat(single(clusters.green(), "select string_agg(n::text, ',') from " + table)).isEqualTo("21");

            // the same session, relaying to green after finalize, still holds blue's OID: green is sent its own
            proxy.server().routing().setWeight("test", 100, null);
            proxy.server().routing().cutover("test", null);
            proxy.server().routing().finalizeMigration("test", null);
            String onBlue = "select count(*) from pg_stat_activity where application_name = '" + function + "'";
            await("the session relaying to green").until(() -> single(clusters.blue(), onBlue).equals("0"));
            assertThat(fastpath.getInteger(function, new org.postgresql.fastpath.FastpathArg[] {
                    new org.postgresql.fastpath.FastpathArg(22)})).isEqualTo(44);
        }
        assertThat(single(clusters.green(), "select string_agg(n::text, ',' order by n) from " + table)).isEqualTo("21,22");
    }

    /**
     * {@code table} on both clusters, its {@code label} 'blue' on blue and 'green' on green, and on green under another
     * OID and with other column numbers: blue's had a column dropped.
     */
    private static void tableWithAnotherOidOnGreen(TestClusters clusters, String table) throws SQLException {
        clusters.blue().execute("postgres",
                "create table " + table + " (id int generated always as identity primary key, gone int, label text not null,"
                        + " note text)",
                "alter table " + table + " drop column gone",
                "insert into " + table + " (label) values ('blue')");
        onGreenUnderAnotherOid(clusters, "select '" + table + "'::regclass::oid", "drop table " + table,
                "create table " + table + " (id int generated always as identity primary key, label text not null,"
                        + " note text)");
        clusters.green().execute("postgres", "insert into " + table + " (label) values ('green')");
    }

    /**
     * Runs {@code create} on green, where {@code oidQuery} then answers other than on blue, which has the object
     * already: an unrelated table made first on green moves its OIDs on, unless the two clusters' OIDs were that far
     * apart already (then once more, after {@code drop}).
     */
    private static void onGreenUnderAnotherOid(TestClusters clusters, String oidQuery, String drop, String create)
            throws SQLException {
        String onBlue = single(clusters.blue(), oidQuery);
        for (int attempt = 0; ; attempt++) {
            assertThat(attempt).as("attempts to give green another OID").isLessThan(5);
            clusters.green().execute("postgres", "create table unrelated_"
                    + Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE) + " (x int)", create);
            if (!single(clusters.green(), oidQuery).equals(onBlue)) {
                return;
            }
            clusters.green().execute("postgres", drop);
        }
    }

    /**
     * A session that began on blue, idle across cutover and finalize, relays to green: it is shown blue's OIDs, which
     * it holds, until it reads green's catalog, here with a query. From then on it may hold either cluster's, and sees
     * green's as they are.
     */
    @Test
    void aSessionRelayedToGreenAfterFinalizeIsShownBluesOidsUntilItReadsGreensCatalog(TestClusters clusters) throws Exception {
        relayedToGreenAfterFinalize(clusters, false);
    }

    /** The same, where it reads green's catalog with a statement it prepared on blue (as pgjdbc's type lookups are). */
    @Test
    void aSessionRelayedToGreenAfterFinalizeReadsGreensCatalogWithAStatementPreparedBefore(TestClusters clusters)
            throws Exception {
        relayedToGreenAfterFinalize(clusters, true);
    }

    private void relayedToGreenAfterFinalize(TestClusters clusters, boolean prepared) throws Exception {
        Schema schema = Schema.create(clusters);
        ClusterData.onBoth(clusters.blue(), clusters.green(), schema.row(1, 7));
        long blueMood = oid(clusters.blue(), schema.mood());
        long blueMoods = oid(clusters.blue(), schema.mood() + "[]");
        long greenMoods = oid(clusters.green(), schema.mood() + "[]");
        String describe = "select moods from " + schema.table() + " where id = 1";
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start();
             RawClient client = new RawClient(proxy.port())) {
            client.startup(java.util.Map.of("user", clusters.blue().superuser(), "database", "postgres",
                    "application_name", schema.table()));
            client.readUntil('Z');
            proxy.server().routing().start("test", null);
            if (prepared) {
                client.send(RawClient.concat(RawClient.parse("type_oid", "select $1::text::regtype::oid"), RawClient.sync()));
                assertThat(client.typesUntilReady()).isEqualTo("1Z");
            }
            proxy.server().routing().setWeight("test", 100, null);
            proxy.server().routing().cutover("test", null);
            proxy.server().routing().finalizeMigration("test", null);
            String onBlue = "select count(*) from pg_stat_activity where application_name = '" + schema.table() + "'";
            await("the session relaying to green").until(() -> single(clusters.blue(), onBlue).equals("0"));

            // the catalogs are read in the background as the session goes back to relaying
            RawClient.Message described = await("blue's OID from green's answer").until(() -> {
                client.send(RawClient.concat(RawClient.parse(describe), RawClient.describeStatement(""), RawClient.sync()));
                return client.untilReady().get(2);
            }, description -> columnTypes(description).equals(List.of(blueMoods)));
            // the client reads green's catalog: the column's table is named as green names it
            assertThat(ByteBuffer.wrap(described.body()).getInt(2 + "moods".length() + 1) & 0xFFFFFFFFL)
                    .as("the column's table").isEqualTo(Long.parseLong(single(clusters.green(),
                            "select '" + schema.table() + "'::regclass::oid")));
            client.send(RawClient.concat(bindValues("", new short[0], new short[] {1}), RawClient.execute(), RawClient.sync()));
            List<RawClient.Message> answer = client.untilReady();
            assertThat(types(answer)).isEqualTo("2DCZ");
            assertThat(values(answer.get(1)).get(0).getInt(8) & 0xFFFFFFFFL).as("the array's element type").isEqualTo(blueMood);

            if (prepared) {
                client.send(RawClient.concat(bindValues("type_oid", new short[0], utf8(schema.mood() + "[]")),
                        RawClient.execute(), RawClient.sync()));
            } else {
                client.send(RawClient.query("select '" + schema.mood() + "[]'::regtype::oid"));
            }
            assertThat(client.firstValue()).as("green's catalog").isEqualTo(Long.toString(greenMoods));
            client.send(RawClient.concat(RawClient.parse(describe), RawClient.describeStatement(""), RawClient.sync()));
            assertThat(columnTypes(client.untilReady().get(2))).containsExactly(greenMoods);
        }
    }

    /**
     * After cutover, a session that began before it learned blue's OIDs, and green leads: its writes and transactions
     * are green's, and answer with green's OIDs. Its reads of the catalogs then follow the weight, as its other reads do
     * (here to green), rather than go to blue, where green's OIDs could name other types; and green's answers go as
     * they are.
     */
    @Test
    void afterCutoverASessionThatBeganBeforeItReadsTheCatalogsWhereTheWeightSendsIt(TestClusters clusters) throws Exception {
        Schema schema = Schema.create(clusters);
        ClusterData.onBoth(clusters.blue(), clusters.green(), schema.row(1, 7));
        long greenMoods = oid(clusters.green(), schema.mood() + "[]");
        String describe = "select moods from " + schema.table() + " where id = 1";
        List<RawClient> clients = new ArrayList<>();
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            for (int i = 0; i < 16; i++) {
                clients.add(new RawClient(proxy.port()).loggedIn(clusters.blue().superuser()));
            }
            proxy.server().routing().setWeight("test", 100, null);
            proxy.server().routing().cutover("test", null);
            proxy.server().routing().setWeight("test", 50, null);
            RawClient onGreen = null;
            for (RawClient client : clients) {
                client.send(RawClient.query("select current_setting('server_version_num')::int / 10000"));
                if (client.firstValue().equals("18") && onGreen == null) {
                    onGreen = client;
                }
            }
            assertThat(onGreen).as("a session whose reads green serves, among 16 at weight 50").isNotNull();

            onGreen.send(RawClient.query("select '" + schema.mood() + "[]'::regtype::oid"));
            assertThat(onGreen.firstValue()).as("the catalog read, where the weight sends it").isEqualTo(Long.toString(greenMoods));
            onGreen.send(RawClient.concat(RawClient.parse(describe), RawClient.describeStatement(""), RawClient.sync()));
            assertThat(columnTypes(onGreen.untilReady().get(2))).containsExactly(greenMoods);
        } finally {
            for (RawClient client : clients) {
                client.close();
            }
        }
        assertThat(single(clusters.green(), "select count(*) from " + schema.table())).isEqualTo("1");
    }

    /**
     * Green's schema has a type blue lacks (a column that is text on blue is an enum on green). A read green serves
     * describes that column by a type the client can look up only in green's catalog: from then on the session may hold
     * green's OIDs, and its reads of the catalogs go where the weight sends them (before, they kept going to blue, where
     * the type does not exist).
     */
    @Test
    void aTypeOnlyGreenHasSendsTheSessionsCatalogReadsWhereTheWeightSendsThem(TestClusters clusters) throws Exception {
        String suffix = Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
        String table = "tickets_" + suffix;
        String type = "ticket_status_" + suffix;
        clusters.blue().execute("postgres", "create table " + table + " (id int primary key, status text)",
                "insert into " + table + " values (1, 'open')");
        clusters.green().execute("postgres", "create type " + type + " as enum ('open', 'closed')",
                "create table " + table + " (id int primary key, status " + type + ")",
                "insert into " + table + " values (1, 'open')");
        String greenStatus = single(clusters.green(), "select '" + type + "'::regtype::oid");
        try (TestProxy proxy = TestProxy.in(clusters.blue()).green(clusters.green()).start()) {
            proxy.server().routing().start("test", null);
            proxy.server().routing().setWeight("test", 100, null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(clusters.blue().superuser())) {
                // (the catalogs are read in the background, once both clusters may serve the session's reads)
                await("the session's catalog read served by green").until(() -> {
                    client.send(RawClient.concat(RawClient.parse("select status from " + table),
                            RawClient.describeStatement(""), RawClient.sync()));
                    assertThat(columnTypes(client.untilReady().get(2))).containsExactly(Long.parseLong(greenStatus));
                    client.send(RawClient.query("select '" + type + "'::regtype::oid"));
                    return client.firstValue();
                }, greenStatus::equals);
            }
        }
    }
}
