package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.dualwrite.Divergence;
import java.nio.ByteBuffer;
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
}
