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
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
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
            data.writeShort(0);
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
}
