package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.ClusterData.contents;
import static dev.bluegreen.proxy.it.RawClient.concat;
import static dev.bluegreen.proxy.it.RawClient.describeStatement;
import static dev.bluegreen.proxy.it.RawClient.execute;
import static dev.bluegreen.proxy.it.RawClient.parse;
import static dev.bluegreen.proxy.it.RawClient.sync;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ids a {@code serial} or identity column draws for an insert that leaves it to its default are the same on green as
 * on blue, also when sessions insert concurrently (docs/dual-write.md, <i>Values generated on the server</i>). Before,
 * green drew in the order the inserts reached it, and eight sessions inserting with {@code RETURNING id} took it out of
 * sync within a second; without {@code RETURNING} the ids came out swapped among the rows, unreported. A session's
 * {@code currval} on the follower is the value it drew there, as on the leader.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class SequenceDrawsIT {

    private static final int SESSIONS = 8;
    private static final int ROUNDS = 24;

    @ParameterizedTest
    @ValueSource(strings = {"extended", "simple", "autosave"})
    void concurrentInsertsDrawTheSameIdsOnBothClusters(String queryMode, TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String orders = ClusterData.unique("orders");
        String lines = ClusterData.unique("lines");
        String custom = ClusterData.unique("custom");
        ClusterData.onBoth(blue, green,
                "create table " + orders + " (id bigserial primary key, v int not null, note text)",
                "create table " + lines + " (id int generated always as identity primary key, v int not null)",
                "create sequence " + custom + "_seq",
                "create table " + custom + " (n bigint not null default nextval('" + custom + "_seq'), v int)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            ClusterData.inSessions(SESSIONS, session -> insertAsAnApplicationDoes(proxy, blue, queryMode, session, orders, lines, custom));
            greenKeptUp(proxy);
        }
        assertThat(contents(green, orders, "id")).isEqualTo(contents(blue, orders, "id"));
        assertThat(contents(green, lines, "id")).isEqualTo(contents(blue, lines, "id"));
        assertThat(contents(green, custom, "n")).isEqualTo(contents(blue, custom, "n"));
        assertThat(ClusterData.number(blue, "select count(*) from " + orders)).isEqualTo(2L * SESSIONS * ROUNDS);
        // each sequence hands out next what blue's does, not whatever follows the draw the follower ran last: once green
        // leads, it must not hand out a value again (a sequence raised back after draws that reached green out of order
        // stands at its next value, not called)
        for (String sequence : List.of(ClusterData.text(blue, "select pg_get_serial_sequence('" + orders + "', 'id')"),
                ClusterData.text(blue, "select pg_get_serial_sequence('" + lines + "', 'id')"), custom + "_seq")) {
            assertThat(handsOutNext(green, sequence)).as(sequence).isEqualTo(handsOutNext(blue, sequence));
        }
    }

    /**
     * One-row inserts into tables of their own, each returning its id, under one {@code Sync}: what EF Core's
     * {@code SaveChanges} of new entities of several types sends through Npgsql (one batch), and what pgjdbc sends for
     * a string of several statements in the extended protocol. Each draws once from its own table's sequence (one of
     * them also stamps its row with the transaction's start); the follower draws what the leader drew for each. Before,
     * eight sessions so took green out of sync at once: the ids they returned differed. Also beside an insert into a
     * table that makes up nothing, reading what the first drew ({@code currval}), which the session reads no further once
     * it knows the table; and with a second insert into the first table (EF Core's {@code SaveChanges} of two new
     * entities of one type and one of another, in autocommit or in the transaction EF Core opens around it), whose
     * rows draw one after the other on the leader. And the same string
     * as one simple-protocol {@code Query} (libpq's {@code PQexec}, psycopg2),
     * which took green out of sync at once too before its statements were read one by one.
     */
    @ParameterizedTest
    @ValueSource(strings = {"autocommit", "transaction", "beside a table making up nothing", "a table twice",
            "a table twice in a transaction", "a table twice as Npgsql sends it", "simple", "simple in a transaction"})
    void insertsIntoSeveralTablesUnderOneSyncDrawTheSameIdsOnBothClusters(String how, TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String blogs = ClusterData.unique("blogs");
        String tags = ClusterData.unique("tags");
        String notes = ClusterData.unique("notes");
        ClusterData.onBoth(blue, green,
                "create table " + blogs + " (id bigserial primary key, name text not null)",
                "create table " + tags + " (id int generated by default as identity primary key, label text not null,"
                        + " made timestamptz not null default now())",
                "create table " + notes + " (blog bigint not null, note text not null)");
        boolean beside = how.startsWith("beside");
        boolean twice = how.contains("twice");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            ClusterData.inSessions(SESSIONS, session -> {
                if (how.startsWith("simple")) {
                    insertAsOneQuery(proxy, blue, session, blogs, tags, how.endsWith("transaction"));
                    return;
                }
                if (how.endsWith("Npgsql sends it")) {
                    insertAsNpgsqlBatch(proxy, blue, blogs, tags);
                    return;
                }
                try (Connection c = proxy.connect(blue.superuser());
                     PreparedStatement both = c.prepareStatement("insert into " + blogs + " (name) values (?) returning id;"
                             + " insert into " + tags + " (label) values (?) returning id" + (beside ? "; insert into " + notes
                             + " (blog, note) values (currval(pg_get_serial_sequence('" + blogs + "', 'id')), ?)" : "")
                             + (twice ? "; insert into " + blogs + " (name) values (?) returning id" : ""))) {
                    c.setAutoCommit(how.equals("autocommit") || (twice && !how.endsWith("transaction")));
                    for (int round = 0; round < ROUNDS; round++) {
                        both.setString(1, "blog " + session + "/" + round);
                        both.setString(2, "tag " + session + "/" + round);
                        if (beside || twice) {
                            both.setString(3, (beside ? "note " : "second blog ") + session + "/" + round);
                        }
                        assertThat(both.execute()).isTrue();
                        for (int returned = 0; returned < (twice ? 3 : 2); returned++) {
                            assertThat(returned == 0 || both.getMoreResults()).as("result %d", returned).isTrue();
                            try (ResultSet id = both.getResultSet()) {
                                assertThat(id.next()).isTrue();
                            }
                        }
                        if (!c.getAutoCommit()) {
                            c.commit();
                        }
                    }
                }
            });
            greenKeptUp(proxy);
        }
        assertThat(ClusterData.number(blue, "select count(*) from " + tags)).isEqualTo((long) SESSIONS * ROUNDS);
        assertThat(ClusterData.number(blue, "select count(*) from " + blogs)).isEqualTo((twice ? 2L : 1L) * SESSIONS * ROUNDS);
        assertThat(contents(green, blogs, "id")).isEqualTo(contents(blue, blogs, "id"));
        assertThat(contents(green, tags, "id")).isEqualTo(contents(blue, tags, "id"));
        assertThat(contents(green, notes, "note")).isEqualTo(contents(blue, notes, "note"));
        for (String sequence : List.of(ClusterData.text(blue, "select pg_get_serial_sequence('" + blogs + "', 'id')"),
                ClusterData.text(blue, "select pg_get_serial_sequence('" + tags + "', 'id')"))) {
            assertThat(handsOutNext(green, sequence)).as(sequence).isEqualTo(handsOutNext(blue, sequence));
        }
    }

    /**
     * Both inserts as one simple-protocol {@code Query}, as libpq's {@code PQexec}, psycopg2 and node-postgres send a
     * string of several statements (pgjdbc sends each of them as a {@code Query} of its own).
     */
    private static void insertAsOneQuery(TestProxy proxy, PgCluster blue, int session, String blogs, String tags,
                                         boolean inTransaction) throws Exception {
        try (RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            for (int round = 0; round < ROUNDS; round++) {
                if (inTransaction) {
                    assertThat(answerTo(client, "begin")).isEqualTo("BEGIN");
                }
                assertThat(answerTo(client, "insert into " + blogs + " (name) values ('blog " + session + "/" + round
                        + "') returning id; insert into " + tags + " (label) values ('tag " + session + "/" + round
                        + "') returning id")).isEqualTo("INSERT 0 1,INSERT 0 1");
                if (inTransaction) {
                    assertThat(answerTo(client, "commit")).isEqualTo("COMMIT");
                }
            }
        }
    }

    /**
     * Two blogs and a tag as Npgsql sends EF Core's batch: each statement parsed as the unnamed one, bound and executed,
     * one Sync after the last; the two blogs' texts are the same.
     */
    private static void insertAsNpgsqlBatch(TestProxy proxy, PgCluster blue, String blogs, String tags) throws Exception {
        String blog = "insert into " + blogs + " (name) values ('batched') returning id";
        String tag = "insert into " + tags + " (label) values ('batched') returning id";
        try (RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            for (int round = 0; round < ROUNDS; round++) {
                client.send(concat(parse("", blog), RawClient.bind(), execute(""), parse("", tag), RawClient.bind(),
                        execute(""), parse("", blog), RawClient.bind(), execute(""), sync()));
                assertThat(client.commandTags()).isEqualTo("INSERT 0 1,INSERT 0 1,INSERT 0 1");
            }
        }
    }

    /** Sends {@code sql} as one Query: its command tags, comma-separated, or the error that ended it. */
    private static String answerTo(RawClient client, String sql) throws java.io.IOException {
        return client.send(RawClient.query(sql)).commandTags();
    }

    /**
     * A unit of one-row inserts into several tables takes its turn among the leader's inserts into each of them, not
     * only the first: an insert of several rows drawn by the count into the second table (four rows of a
     * {@code VALUES}, each two milliseconds long, not returning their ids) runs on blue with no such unit's draw between
     * its rows, so green's count ends on blue's ids. With the turn taken in the first table only, three sessions
     * inserting so and three running the units diverged within seconds.
     */
    @Test
    void insertsIntoSeveralTablesTakeTheirTurnInEachBesideInsertsOfSeveralRows(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String blogs = ClusterData.unique("blogs");
        String tags = ClusterData.unique("tags");
        ClusterData.onBoth(blue, green, "create table " + blogs + " (id bigserial primary key, name text not null)",
                "create table " + tags + " (id bigserial primary key, label text not null)");
        String slowly = "((select ?::text from pg_sleep(0.002)))";
        int bulkSessions = SESSIONS / 2 - 1;
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            AtomicInteger bulksDone = new AtomicInteger();
            ClusterData.inSessions(2 * bulkSessions, session -> {
                if (session >= bulkSessions) {
                    try (Connection c = proxy.connect(blue.superuser());
                         PreparedStatement both = c.prepareStatement("insert into " + blogs + " (name) values (?);"
                                 + " insert into " + tags + " (label) values (?)")) {
                        for (int round = 0; bulksDone.get() < bulkSessions; round++) {
                            both.setString(1, "blog " + session + "/" + round);
                            both.setString(2, "one " + session + "/" + round);
                            both.execute();
                        }
                    }
                    return;
                }
                try (Connection c = proxy.connect(blue.superuser());
                     PreparedStatement four = c.prepareStatement("insert into " + tags + " (label) values "
                             + String.join(", ", List.of(slowly, slowly, slowly, slowly)))) {
                    for (int round = 0; round < 12; round++) {
                        for (int row = 1; row <= 4; row++) {
                            four.setString(row, session + "/" + round + " " + row);
                        }
                        assertThat(four.executeUpdate()).isEqualTo(4);
                    }
                } finally {
                    bulksDone.incrementAndGet();
                }
            });
            greenKeptUp(proxy);
        }
        assertThat(ClusterData.number(blue, "select count(*) from " + tags + " where label not like 'one %'"))
                .isEqualTo(4L * bulkSessions * 12);
        assertThat(contents(green, tags, "id")).isEqualTo(contents(blue, tags, "id"));
        assertThat(contents(green, blogs, "id")).isEqualTo(contents(blue, blogs, "id"));
    }

    /**
     * An insert beside a statement of another kind under one {@code Sync} (pgjdbc's string of several statements, an
     * update first or last) is not one of inserts into tables of their own: it runs on both clusters as before, its
     * draws not carried (one session here, so green draws alike anyway). Before the check, the update's text, no insert,
     * broke the session's reading of the unit.
     */
    @Test
    void anInsertBesideAnUpdateUnderOneSyncRunsOnBothClusters(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String orders = ClusterData.unique("orders");
        String counts = ClusterData.unique("counts");
        ClusterData.onBoth(blue, green, "create table " + orders + " (id bigserial primary key, v int not null)",
                "create table " + counts + " (k int primary key, n int not null)",
                "insert into " + counts + " values (1, 0)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            try (Connection c = proxy.connect(blue.superuser());
                 PreparedStatement updateFirst = c.prepareStatement("update " + counts + " set n = n + 1 where k = ?;"
                         + " insert into " + orders + " (v) values (?) returning id");
                 PreparedStatement insertFirst = c.prepareStatement("insert into " + orders + " (v) values (?) returning id;"
                         + " update " + counts + " set n = n + 1 where k = ?")) {
                for (int round = 0; round < 6; round++) {
                    for (PreparedStatement both : List.of(updateFirst, insertFirst)) {
                        both.setInt(1, 1);
                        both.setInt(2, 1);
                        both.execute();
                        int results = 0;
                        do {
                            results++;
                        } while (both.getMoreResults() || both.getUpdateCount() != -1);
                        assertThat(results).isEqualTo(2);
                    }
                }
            }
            greenKeptUp(proxy);
        }
        assertThat(ClusterData.number(blue, "select n from " + counts)).isEqualTo(12L);
        assertThat(contents(green, orders, "id")).isEqualTo(contents(blue, orders, "id"));
        assertThat(contents(green, counts, "k")).isEqualTo(contents(blue, counts, "k"));
    }

    /**
     * An application that draws its ids itself with {@code SELECT nextval('…')}, as Hibernate's sequence generator
     * (pooled, 50 ids a call), SQLAlchemy's {@code Sequence} and jOOQ do, gets the same value from both clusters: the
     * follower's call returns the leader's value, so the two answers agree and the ids the application inserts, and the
     * sequences, are alike. Before, eight sessions calling it concurrently took green out of sync (the calls' results
     * differed).
     */
    @ParameterizedTest
    @ValueSource(strings = {"extended", "simple"})
    void concurrentNextvalCallsReturnTheSameValueOnBothClusters(String queryMode, TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String items = ClusterData.unique("items");
        ClusterData.onBoth(blue, green,
                "create sequence " + items + "_seq increment by 50",
                "create sequence " + items + "_ticket",
                "create table " + items + " (id bigint primary key, ticket bigint, v int not null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            ClusterData.inSessions(SESSIONS, session -> drawIdsAsAnOrmDoes(proxy, blue, queryMode, session, items));
            greenKeptUp(proxy);
        }
        assertThat(ClusterData.number(blue, "select count(*) from " + items)).isEqualTo(2L * SESSIONS * ROUNDS);
        assertThat(contents(green, items, "id")).isEqualTo(contents(blue, items, "id"));
        for (String sequence : List.of(items + "_seq", items + "_ticket")) {
            assertThat(handsOutNext(green, sequence)).as(sequence).isEqualTo(handsOutNext(blue, sequence));
        }
    }

    /**
     * An insert of several rows in a transaction draws on the follower what the leader drew, though another session's
     * insert, later on the leader, reaches the follower first: the insert goes to the follower at once, under the
     * sequence's lock there, set to hand out the first of the leader's values (as many before its last as rows after
     * the first). Before, it waited in the transaction's lane until the COMMIT and drew there what came next: ids after
     * the other session's, not the leader's. A multi-row {@code VALUES}, a JDBC batch under one {@code Sync}, and
     * pgjdbc's rewritten batch of four (one four-row text), and a batch of a statement longer than the proxy keeps the
     * text of.
     */
    @ParameterizedTest
    @ValueSource(strings = {"values", "batch", "rewritten", "long batch"})
    void rowsOfSeveralDrawWhatTheLeaderDrewThoughALaterInsertReachesTheFollowerFirst(String how, TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String orders = ClusterData.unique("orders");
        ClusterData.onBoth(blue, green, "create table " + orders + " (id bigserial primary key, v text not null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            try (Connection several = proxy.connect(blue.superuser(), null,
                         ClusterData.properties("reWriteBatchedInserts", String.valueOf(how.equals("rewritten"))));
                 Connection single = proxy.connect(blue.superuser());
                 PreparedStatement values = several.prepareStatement("insert into " + orders + " (v) values (?), (?), (?), (?)");
                 PreparedStatement one = several.prepareStatement(how.equals("long batch")
                         // (a text longer than the proxy keeps of a statement prepared by name)
                         ? "insert into " + orders + " (v) values (" + "lower(".repeat(400) + "?" + ")".repeat(401)
                         : "insert into " + orders + " (v) values (?)");
                 PreparedStatement alone = single.prepareStatement("insert into " + orders + " (v) values ('alone') returning id")) {
                for (int round = 0; round < 3; round++) {
                    several.setAutoCommit(false);
                    if (how.equals("values")) {
                        for (int row = 1; row <= 4; row++) {
                            values.setString(row, round + "/" + row);
                        }
                        assertThat(values.executeUpdate()).isEqualTo(4);
                    } else {
                        for (int row = 1; row <= 4; row++) {
                            one.setString(1, round + "/" + row);
                            one.addBatch();
                        }
                        one.executeBatch();
                    }
                    try (ResultSet id = alone.executeQuery()) { // drawn on blue after the four, on green before them
                        assertThat(id.next()).isTrue();
                        assertThat(id.getLong(1)).isEqualTo(5L * (round + 1));
                    }
                    several.commit();
                }
            }
            greenKeptUp(proxy);
        }
        assertThat(ClusterData.number(green, "select count(*) from " + orders)).isEqualTo(15);
        assertThat(contents(green, orders, "id")).isEqualTo(contents(blue, orders, "id"));
        assertThat(handsOutNext(green, orders + "_id_seq")).isEqualTo(handsOutNext(blue, orders + "_id_seq"));
    }

    /**
     * Inserts of several rows that do not return their ids (a multi-row {@code VALUES}, one returning another column, a
     * JDBC batch under one {@code Sync}, pgjdbc's rewritten batch, of four rows or of seven, which it sends as texts of
     * four, two and one rows, or of 64, whose text the proxy keeps the beginning of only once pgjdbc binds it by name,
     * or of 100, as texts of 64, 32 and 4 rows), in autocommit from three sessions, while three others insert one row
     * after another into the same table: the follower draws as many values as the leader's rows ending on its last,
     * which are the leader's because such an insert runs on the leader alone among the proxy's inserts into its table
     * (docs/dual-write.md, <i>Several rows</i>). Each row's value waits two milliseconds, as a busy leader's backend is
     * switched out between its rows. Before, the one-row inserts drew between the rows there, and the follower's rows
     * took other ids than the leader's, or a duplicate key: green out of sync.
     */
    @ParameterizedTest
    @ValueSource(strings = {"values", "batch", "rewritten", "rewritten unevenly", "rewritten longer than kept",
        "rewritten longer than kept, unevenly", "returning another column"})
    void rowsOfSeveralNotReturningTheirIdsDrawInARowOnTheLeaderWhileOtherSessionsInsert(String how, TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String orders = ClusterData.unique("orders");
        ClusterData.onBoth(blue, green, "create table " + orders + " (id bigserial primary key, v text not null)");
        String slowly = "((select ?::text from pg_sleep(0.002)))";
        int bulkSessions = SESSIONS / 2 - 1;
        int rounds = 12;
        // (64 rows: pgjdbc's one text of them is over the 2,048 characters the proxy keeps of a statement it binds by name;
        // 100 come as texts of 64, 32 and 4 rows)
        int rows = switch (how) {
            case "rewritten unevenly" -> 7;
            case "rewritten longer than kept" -> 64;
            case "rewritten longer than kept, unevenly" -> 100;
            default -> 4;
        };
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            AtomicInteger bulksDone = new AtomicInteger();
            ClusterData.inSessions(2 * bulkSessions, session -> {
                if (session >= bulkSessions) {
                    try (Connection c = proxy.connect(blue.superuser());
                         PreparedStatement one = c.prepareStatement("insert into " + orders + " (v) values (?)")) {
                        for (int row = 0; bulksDone.get() < bulkSessions; row++) {
                            one.setString(1, "one " + session + "/" + row);
                            assertThat(one.executeUpdate()).isEqualTo(1);
                        }
                    }
                    return;
                }
                try (Connection c = proxy.connect(blue.superuser(), null,
                             ClusterData.properties("reWriteBatchedInserts", String.valueOf(how.startsWith("rewritten"))));
                     PreparedStatement four = c.prepareStatement("insert into " + orders + " (v) values "
                             + String.join(", ", List.of(slowly, slowly, slowly, slowly))
                             + (how.equals("returning another column") ? " returning v" : ""));
                     PreparedStatement one = c.prepareStatement("insert into " + orders + " (v) values " + slowly)) {
                    for (int round = 0; round < rounds; round++) {
                        String key = session + "/" + round + " ";
                        if (how.equals("values") || how.equals("returning another column")) {
                            for (int row = 1; row <= 4; row++) {
                                four.setString(row, key + row);
                            }
                            assertThat(four.execute()).isEqualTo(how.equals("returning another column"));
                        } else {
                            for (int row = 1; row <= rows; row++) {
                                one.setString(1, key + row);
                                one.addBatch();
                            }
                            assertThat(one.executeBatch()).hasSize(rows);
                        }
                    }
                } finally {
                    bulksDone.incrementAndGet();
                }
            });
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            assertThat(proxy.server().migration().insertsHeldForDraws()).isPositive();
            // the clients have gone; the follower's last COMMITs may still be on their way, which closing the proxy cuts
            await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);
        }
        assertThat(ClusterData.number(blue, "select count(*) from " + orders + " where v not like 'one %'"))
                .isEqualTo((long) rows * bulkSessions * rounds);
        assertThat(contents(green, orders, "id")).isEqualTo(contents(blue, orders, "id"));
        assertThat(handsOutNext(green, orders + "_id_seq")).isEqualTo(handsOutNext(blue, orders + "_id_seq"));
    }

    /**
     * DESIGN §5's promise that no wait spans the clusters for good, where the turns among a table's inserts add one of
     * the proxy's own: an insert of several rows, sent to blue alone, waits there for a key another session's open
     * transaction inserted; that session's next insert into the table waits for its turn behind it. Its wait is bounded
     * (a quarter of {@code timeouts.follower}): it goes, the transaction commits, and the insert of several rows fails
     * on the key as it would with blue alone. The clusters stay alike.
     */
    @Test
    void anInsertWaitingForItsTurnBehindOneThatWaitsForItsOwnTransactionGoesOnceItsBoundIsOut(TestClusters clusters)
            throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String orders = ClusterData.unique("orders");
        ClusterData.onBoth(blue, green, "create table " + orders + " (id bigserial primary key, k int not null unique)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            try (ExecutorService clients = Executors.newFixedThreadPool(2); // (the common pool may have one thread)
                 Connection holder = proxy.connect(blue.superuser()); Connection bulk = proxy.connect(blue.superuser());
                 Statement held = holder.createStatement(); Statement several = bulk.createStatement()) {
                holder.setAutoCommit(false);
                held.execute("insert into " + orders + " (k) values (1)");
                CompletableFuture<Void> blocked = CompletableFuture.runAsync(() -> {
                    try {
                        several.execute("insert into " + orders + " (k) values (2), (1)");
                    } catch (SQLException e) {
                        throw new CompletionException(e);
                    }
                }, clients);
                await("the insert of several rows waits on blue for the open transaction's key").until(() -> ClusterData.number(
                        blue, "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and query like '%values (2), (1)%'") == 1);
                CompletableFuture<Void> next = CompletableFuture.runAsync(() -> {
                    try {
                        held.execute("insert into " + orders + " (k) values (3)");
                    } catch (SQLException e) {
                        throw new CompletionException(e);
                    }
                }, clients);
                next.get(20, TimeUnit.SECONDS); // its turn's bound, 2.5 s here, not the insert it waited for
                holder.commit();
                assertThatThrownBy(() -> blocked.get(20, TimeUnit.SECONDS)).hasRootCauseInstanceOf(SQLException.class)
                        .rootCause().hasMessageContaining("duplicate key");
            }
            assertThat(proxy.server().migration().insertsHeldForDraws()).isPositive();
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);
        }
        assertThat(ClusterData.number(blue, "select count(*) from " + orders)).isEqualTo(2);
        assertThat(contents(green, orders, "id")).isEqualTo(contents(blue, orders, "id"));
    }

    /**
     * Upserts into a table keyed by a {@code bigserial} id and unique by another key, from eight sessions at once, as
     * Rails' {@code upsert_all} ({@code ON CONFLICT (…) DO UPDATE … RETURNING "id"}) and hand-written upserts do: one row
     * or several, updating the row that is there or leaving it ({@code DO NOTHING}, also for one of two rows, and a
     * {@code DO UPDATE} whose {@code WHERE} finds the row newer). Each row
     * an upsert proposes draws an id, whether it is inserted or not, and the follower draws what the leader drew for
     * all of them (several rows in a row, as above), not just as many as its tag counts. Before, upserts had no shape the proxy read, and green's new rows took the ids in the order the upserts
     * reached it: other ids than blue's, and the ids returned differed (green out of sync).
     */
    @ParameterizedTest
    @ValueSource(strings = {"extended", "simple"})
    void upsertsDrawWhatTheLeaderDrewForTheRowsTheyPropose(String queryMode, TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String accounts = ClusterData.unique("accounts");
        ClusterData.onBoth(blue, green,
                "create table " + accounts + " (id bigserial primary key, k int not null unique, v text not null)");
        String update = " on conflict (k) do update set v = excluded.v";
        // (a row whose v is past the proposed one is left as it is: that one drew too, and the tag does not count it)
        String updateSome = " on conflict (k) do update set v = excluded.v where " + accounts + ".v < excluded.v";
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            ClusterData.inSessions(SESSIONS, session -> {
                try (Connection c = proxy.connect(blue.superuser(), null, ClusterData.properties("preferQueryMode", queryMode));
                     PreparedStatement one = c.prepareStatement("insert into " + accounts + " (k, v) values (?, ?)" + updateSome);
                     PreparedStatement two = c.prepareStatement("insert into " + accounts + " (k, v) values (?, ?), (?, ?)"
                             + update + " returning \"id\"");
                     PreparedStatement kept = c.prepareStatement("insert into " + accounts + " (k, v) values (?, ?)"
                             + " on conflict do nothing");
                     PreparedStatement halfKept = c.prepareStatement("insert into " + accounts + " (k, v) values (?, ?), (?, ?)"
                             + " on conflict do nothing")) {
                    for (int round = 0; round < ROUNDS; round++) {
                        // keys other sessions upsert too: most rounds update a row one of them inserted
                        int k = (session * 7 + round * 3) % 40;
                        String v = session + "/" + round;
                        one.setInt(1, k);
                        one.setString(2, v);
                        assertThat(one.executeUpdate()).isBetween(0, 1);
                        two.setInt(1, 40 + k);
                        two.setString(2, v);
                        two.setInt(3, 80 + k); // (in one order in every session: two upserts never lock in turn)
                        two.setString(4, v);
                        try (ResultSet ids = two.executeQuery()) {
                            assertThat(ids.next() && ids.next()).isTrue();
                        }
                        kept.setInt(1, 120 + (session * 5 + round) % 40);
                        kept.setString(2, v);
                        kept.executeUpdate();
                        // its first row is there (this session has just upserted it), its second new: it inserts one
                        // row, with the second of the two ids it drew
                        halfKept.setInt(1, k);
                        halfKept.setString(2, v);
                        halfKept.setInt(3, 160 + session * ROUNDS + round);
                        halfKept.setString(4, v);
                        assertThat(halfKept.executeUpdate()).isOne();
                    }
                }
            });
            greenKeptUp(proxy);
        }
        assertThat(ClusterData.number(blue, "select count(*) from " + accounts)).isEqualTo(160 + SESSIONS * ROUNDS);
        assertThat(contents(green, accounts, "id")).isEqualTo(contents(blue, accounts, "id"));
        assertThat(handsOutNext(green, accounts + "_id_seq")).isEqualTo(handsOutNext(blue, accounts + "_id_seq"));
    }

    /**
     * Two statements prepared by name into one table, bound and executed under one {@code Sync} (a driver's batch of
     * two texts), that leave the id to its default in different rows: the rows drawn are those of the first only, so
     * the unit is not read as one insert whose rows all drew. Read so, the follower drew three values ending on the
     * leader's last, and its two rows took the ids before the leader's.
     */
    @Test
    void aBatchOfTextsLeavingTheIdInSomeRowsOnlyIsNotCountedAsOneInsert(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String orders = ClusterData.unique("orders");
        ClusterData.onBoth(blue, green, "create table " + orders + " (id bigserial primary key, v text not null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            try (RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
                client.send(RawClient.query("insert into " + orders + " (id, v) values (DEFAULT, 'first')"));
                assertThat(client.typesUntilReady()).isEqualTo("CZ"); // (the session learns the table)
                client.send(concat(parse("two", "insert into " + orders + " (id, v) values (DEFAULT, 'a'), (DEFAULT, 'b')"),
                        parse("given", "insert into " + orders + " (id, v) values ((select max(id) + 1000 from " + orders + "), 'given')"),
                        sync()));
                assertThat(client.typesUntilReady()).isEqualTo("11Z");
                for (int round = 0; round < 3; round++) {
                    client.send(concat(RawClient.bind("two"), execute(), RawClient.bind("given"), execute(), sync()));
                    assertThat(client.typesUntilReady()).isEqualTo("2C2CZ");
                }
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);
        }
        assertThat(contents(green, orders, "id")).isEqualTo(contents(blue, orders, "id"));
    }

    /**
     * An upsert prepared by name whose text is longer than the proxy keeps of it, cut between its rows and its
     * {@code ON CONFLICT}, while another session inserts one row after another into the same table: its kept beginning
     * reads as an insert of two rows, but one of them is there already and the tag counts one. The proxy reads its draws
     * from the shape of its whole text, kept as the statement was prepared: two proposed rows, run on the leader alone
     * among the inserts into the table. Before, the follower drew one value ending on the leader's last, and the row
     * inserted took another id on green than on blue; then, nothing was carried for it, and the other session's draws
     * came between the upsert's on blue.
     */
    @Test
    void anUpsertLongerThanTheTextTheProxyKeepsDrawsForTheRowsItsWholeTextProposes(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String accounts = ClusterData.unique("accounts");
        ClusterData.onBoth(blue, green,
                "create table " + accounts + " (id bigserial primary key, k int not null unique, v text not null)");
        String rows = "insert into " + accounts + " (k, v) values (?, (select ?::text from pg_sleep(0.002))), (?, '";
        String upsert = rows + "x".repeat(2040 - rows.length() - 2) + "') on conflict do nothing";
        int rounds = 40;
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            AtomicInteger upsertsDone = new AtomicInteger();
            ClusterData.inSessions(2, session -> {
                if (session == 1) {
                    try (Connection c = proxy.connect(blue.superuser());
                         PreparedStatement one = c.prepareStatement("insert into " + accounts + " (k, v) values (?, 'one')")) {
                        for (int k = 1_000; upsertsDone.get() == 0; k++) {
                            one.setInt(1, k);
                            assertThat(one.executeUpdate()).isEqualTo(1);
                        }
                    }
                    return;
                }
                try (Connection c = proxy.connect(blue.superuser(), null, pgjdbcSending("named"));
                     PreparedStatement kept = c.prepareStatement(upsert)) {
                    for (int round = 1; round <= rounds; round++) {
                        kept.setInt(1, 0); // there from the first round on
                        kept.setString(2, "first");
                        kept.setInt(3, round);
                        assertThat(kept.executeUpdate()).isEqualTo(round == 1 ? 2 : 1);
                    }
                } finally {
                    upsertsDone.incrementAndGet();
                }
            });
            greenKeptUp(proxy);
        }
        assertThat(ClusterData.number(blue, "select count(*) from " + accounts + " where k < 1000")).isEqualTo(rounds + 1L);
        assertThat(contents(green, accounts, "id")).isEqualTo(contents(blue, accounts, "id"));
    }

    /**
     * Bulk inserts that return their ids from four sessions at once, beside one-row inserts into the same tables: sent as
     * a simple Query (SQLAlchemy's {@code insertmanyvalues} and Django's {@code bulk_create} through psycopg2), as the
     * unnamed statement (psycopg 3, node-postgres), or as a statement prepared by name and bound again and again (pgjdbc
     * past its {@code prepareThreshold}, from the first run or, as by default, from the fifth, which parses it by name
     * in the same message; jOOQ's and hand-written batch inserts; libpq's {@code PQexecPrepared}). Other sessions' draws
     * come between a bulk insert's on the leader, so the follower is given the leader's ids row by row (a
     * {@code bigserial} left out of the column list, an identity column given a bare {@code DEFAULT}; a statement
     * prepared by name is run there as the unnamed statement, its text given the ids, pgjdbc reading them in binary),
     * its sequence set past them, the session's {@code currval} and {@code lastval} there the leader's. Before, the
     * follower drew four values in a row ending on the leader's last: within seconds other ids than the leader's, or a
     * duplicate key. Each session inserts one row into each table first: its first insert into a table is how the
     * session learns what the table draws.
     */
    @ParameterizedTest
    @ValueSource(strings = {"simple", "unnamed", "named", "named at the fifth run"})
    void bulkInsertsReturningTheirIdsGiveTheFollowerTheLeadersIdsRowByRow(String protocol, TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String orders = ClusterData.unique("orders");
        String items = ClusterData.unique("items");
        ClusterData.onBoth(blue, green, "create table " + orders + " (id bigserial primary key, v text not null)",
                "create table " + items + " (id int generated always as identity primary key, v text not null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            ClusterData.inSessions(SESSIONS / 2, session -> {
                try (Connection c = proxy.connect(blue.superuser(), null, pgjdbcSending(protocol));
                     Statement s = c.createStatement();
                     PreparedStatement four = c.prepareStatement("insert into " + orders + " (v) values (?), (?), (?), (?) returning id");
                     PreparedStatement two = c.prepareStatement("insert into " + orders + " (v) values (? || (nextval('" + orders
                             + "_id_seq') * 0)), (?) returning id")) {
                    s.execute("insert into " + orders + " (v) values ('first " + session + "')");
                    s.execute("insert into " + items + " (v) values ('first " + session + "')");
                    for (int round = 0; round < ROUNDS / 2; round++) {
                        String key = session + "/" + round;
                        for (int row = 0; row < 4; row++) {
                            four.setString(row + 1, key + " " + (char) ('a' + row));
                        }
                        try (ResultSet ids = four.executeQuery()) {
                            for (int row = 0; row < 4; row++) {
                                assertThat(ids.next()).isTrue();
                            }
                        }
                        // and its lastval() (PDO's lastInsertId() asks it)
                        s.execute("update " + orders + " set v = v || ' via lastval' where id = lastval()");
                        // a row that draws from the sequence itself between the rows' ids, as another session's insert
                        // often does on a busy leader: the ids are not in a row, whatever the scheduling
                        two.setString(1, key + " e");
                        two.setString(2, key + " f");
                        try (ResultSet ids = two.executeQuery()) {
                            assertThat(ids.next() && ids.next()).isTrue();
                        }
                        // the session's currval on the follower is the leader's after it was given the ids
                        s.execute("update " + orders + " set v = v || ' last' where id = currval('" + orders + "_id_seq')");
                        s.execute("insert into " + orders + " (v) values ('" + key + " alone') returning id");
                        try (ResultSet rows = s.executeQuery("insert into " + items + " (id, v) values (DEFAULT, '" + key
                                + " a'), (DEFAULT, '" + key + " b') returning *")) {
                            assertThat(rows.next() && rows.next()).isTrue();
                        }
                    }
                }
            });
            greenKeptUp(proxy);
        }
        assertThat(ClusterData.number(green, "select count(*) from " + orders)).isEqualTo((SESSIONS / 2) * (1 + 7L * ROUNDS / 2));
        assertThat(contents(green, orders, "id")).isEqualTo(contents(blue, orders, "id"));
        assertThat(contents(green, items, "id")).isEqualTo(contents(blue, items, "id"));
        assertThat(handsOutNext(green, orders + "_id_seq")).isEqualTo(handsOutNext(blue, orders + "_id_seq"));
        assertThat(handsOutNext(green, items + "_id_seq")).isEqualTo(handsOutNext(blue, items + "_id_seq"));
    }

    /**
     * Rows whose {@code uuid} key the table makes up ({@code DEFAULT gen_random_uuid()}: Rails' {@code id: :uuid},
     * Supabase's tables) and that an insert returns, as those do: the follower is given the uuid the leader made up for
     * each row, as a bulk insert's ids are, also for the session's first insert into the table (read by the one
     * {@code uuid} column the statement gives no value to, before the session knew the table), for several rows, for
     * {@code RETURNING *} beside another uuid column the statement gives, beside a {@code now()} default, in autocommit
     * and in a transaction, and whatever the protocol (simple, the
     * unnamed statement, a statement prepared by name that pgjdbc reads in binary). Before, each cluster made up its own
     * and the first such insert took green out of sync. An insert that does not return the uuid is counted as
     * non-deterministic.
     */
    @ParameterizedTest
    @ValueSource(strings = {"simple", "unnamed", "named", "named at the fifth run"})
    void randomUuidKeysAnInsertReturnsAreTheLeadersOnTheFollower(String protocol, TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String accounts = ClusterData.unique("accounts");
        String notes = ClusterData.unique("notes");
        ClusterData.onBoth(blue, green,
                "create table " + accounts + " (id uuid primary key default gen_random_uuid(), name text not null,"
                        + " created_at timestamptz not null default now())",
                "create table " + notes + " (id uuid primary key default gen_random_uuid(), account uuid not null, n int not null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            ClusterData.inSessions(SESSIONS / 2, session -> {
                try (Connection c = proxy.connect(blue.superuser(), null, pgjdbcSending(protocol));
                     PreparedStatement account = c.prepareStatement("insert into " + accounts + " (name) values (?) returning id");
                     PreparedStatement two = c.prepareStatement("insert into " + notes + " (account, n) values (?, ?), (?, ?) returning *")) {
                    for (int round = 0; round < ROUNDS / 2; round++) {
                        c.setAutoCommit(round % 2 == 0); // (Rails saves in a transaction)
                        account.setString(1, session + "/" + round);
                        String id;
                        try (ResultSet rows = account.executeQuery()) {
                            assertThat(rows.next()).isTrue();
                            id = rows.getString(1);
                        }
                        for (int i = 0; i < 2; i++) {
                            two.setObject(2 * i + 1, java.util.UUID.fromString(id));
                            two.setInt(2 * i + 2, i);
                        }
                        try (ResultSet rows = two.executeQuery()) {
                            assertThat(rows.next() && rows.next()).isTrue();
                        }
                        if (!c.getAutoCommit()) {
                            c.commit();
                        }
                    }
                }
            });
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            // an insert that does not return its uuid: each cluster makes up its own, and the statement is counted so
            try (Connection c = proxy.connect(blue.superuser()); Statement s = c.createStatement()) {
                s.execute("insert into " + accounts + " (name) values ('unreturned')");
            }
            assertThat(proxy.server().migration().nonDeterministicStatements().keySet())
                    .anySatisfy(statement -> assertThat(statement).startsWith("insert into " + accounts).doesNotContain("returning"));
            // nor one that returns another column under the uuid's name: the follower is not given that column's value
            try (Connection c = proxy.connect(blue.superuser()); Statement s = c.createStatement()) {
                s.execute("insert into " + notes + " (account, n) select id, 99 from " + accounts
                        + " where name <> 'unreturned' order by id limit 1"); // (that row's uuid is each cluster's own)
                s.execute("insert into " + notes + " (account, n) values ((select account from " + notes
                        + " where n = 99), 98) returning account as id");
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
            await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);
            assertThat(ClusterData.number(green, "select count(*) from " + notes + " where n = 98 and id <> account")).isOne();
            ClusterData.onBoth(blue, green, "delete from " + accounts + " where name = 'unreturned'",
                    "delete from " + notes + " where n in (98, 99)");
        }
        assertThat(ClusterData.number(green, "select count(*) from " + notes)).isEqualTo(SESSIONS / 2 * ROUNDS);
        assertThat(contents(green, accounts, "id")).isEqualTo(contents(blue, accounts, "id"));
        assertThat(contents(green, notes, "id")).isEqualTo(contents(blue, notes, "id"));
    }

    /**
     * asyncpg's way with statements (SQLAlchemy's asyncio dialect runs on it): each is prepared by name with a Describe
     * of it in a message of its own (Parse, Describe, Sync), then only bound and executed, asking for every column in
     * binary, with no RowDescription before its rows. Four sessions at once insert a row returning the uuid its table
     * makes up (the session's first insert into that table: the Describe found the one uuid column the statement gives
     * no value to) and a bulk insert returning its ids: the follower is given the leader's, where the Describe said they
     * are. Before, no RowDescription came with the rows, nothing was read, and green went out of sync.
     */
    @Test
    void statementsDescribedAheadAndThenOnlyBoundAreGivenTheLeadersUuidsAndIds(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String accounts = ClusterData.unique("accounts");
        String orders = ClusterData.unique("orders");
        ClusterData.onBoth(blue, green,
                "create table " + accounts + " (id uuid primary key default gen_random_uuid(), name text not null)",
                "create table " + orders + " (id bigserial primary key, v text not null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            ClusterData.inSessions(SESSIONS / 2, session -> {
                try (RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
                    client.send(RawClient.query("insert into " + orders + " (v) values ('first " + session + "')"));
                    assertThat(client.firstValue()).isEqualTo("no row"); // (how the session learns what orders draws)
                    client.send(concat(parse("one", "insert into " + accounts + " (name) values ($1) returning id"),
                            describeStatement("one"), sync()));
                    client.send(concat(parse("four", "insert into " + orders + " (v) values ($1), ($2), ($3), ($4) returning id"),
                            describeStatement("four"), sync()));
                    assertThat(client.typesUntilReady() + client.typesUntilReady()).isEqualTo("1tTZ1tTZ");
                    for (int round = 0; round < ROUNDS / 2; round++) {
                        String key = session + "/" + round;
                        client.send(concat(bindInBinary("one", key), execute(), sync()));
                        assertThat(client.typesUntilReady()).isEqualTo("2DCZ");
                        client.send(concat(bindInBinary("four", key + " a", key + " b", key + " c", key + " d"), execute(), sync()));
                        assertThat(client.typesUntilReady()).isEqualTo("2DDDDCZ");
                    }
                }
            });
            greenKeptUp(proxy);
        }
        assertThat(ClusterData.number(green, "select count(*) from " + accounts)).isEqualTo(SESSIONS / 2 * ROUNDS / 2);
        assertThat(contents(green, accounts, "id")).isEqualTo(contents(blue, accounts, "id"));
        assertThat(contents(green, orders, "id")).isEqualTo(contents(blue, orders, "id"));
        assertThat(handsOutNext(green, orders + "_id_seq")).isEqualTo(handsOutNext(blue, orders + "_id_seq"));
    }

    /**
     * pgjdbc's settings for sending statements as {@code protocol} says: {@code simple} Queries, the {@code unnamed}
     * statement parsed anew each time, statements prepared by name and bound again and again from the first run
     * ({@code named}) or, pgjdbc's default, from the fifth.
     */
    private static Properties pgjdbcSending(String protocol) {
        return switch (protocol) {
            case "simple" -> ClusterData.properties("preferQueryMode", "simple");
            case "unnamed" -> ClusterData.properties("prepareThreshold", "0");
            case "named" -> ClusterData.properties("prepareThreshold", "1");
            default -> ClusterData.properties("prepareThreshold", "5");
        };
    }

    /** A Bind of {@code statement} to the unnamed portal, its parameters in text, every result column in binary. */
    private static byte[] bindInBinary(String statement, String... parameters) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(RawClient.cstrings("", statement));
        body.writeBytes(ByteBuffer.allocate(4).putShort((short) 0).putShort((short) parameters.length).array());
        for (String parameter : parameters) {
            byte[] value = parameter.getBytes(StandardCharsets.UTF_8);
            body.writeBytes(ByteBuffer.allocate(4).putInt(value.length).array());
            body.writeBytes(value);
        }
        body.writeBytes(ByteBuffer.allocate(4).putShort((short) 1).putShort((short) 1).array());
        return RawClient.message('B', body.toByteArray());
    }

    /**
     * DESIGN §8's cancel still reaches an insert the proxy will carry the draws of while the insert runs: here the
     * session's second insert into a table it knows draws, waiting on blue for another transaction's unique key. (Only
     * the proxy's own question behind it, once the insert has answered, is shielded from a cancel.)
     */
    @Test
    void aCancelReachesAnInsertWhoseDrawsTheProxyWillCarryWhileItRuns(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String orders = ClusterData.unique("keyed");
        ClusterData.onBoth(blue, green, "create table " + orders + " (id bigserial primary key, k int unique)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            try (Connection holder = proxy.connect(blue.superuser());
                 Connection client = proxy.connect(blue.superuser());
                 Statement insert = client.createStatement()) {
                holder.setAutoCommit(false);
                holder.createStatement().execute("insert into " + orders + " (k) values (1)");
                insert.execute("insert into " + orders + " (k) values (0)"); // the session learns the table draws
                try {
                    CompletableFuture<Void> waiting = CompletableFuture.runAsync(() -> {
                        try {
                            insert.execute("insert into " + orders + " (k) values (1)");
                        } catch (SQLException e) {
                            throw new CompletionException(e);
                        }
                    });
                    await().until(() -> ClusterData.lockWaits(blue).contains(orders));
                    insert.cancel();
                    assertThatThrownBy(() -> waiting.get(10, TimeUnit.SECONDS)).hasRootCauseInstanceOf(SQLException.class)
                            .rootCause().satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("57014"));
                } finally {
                    holder.rollback();
                }
            }
            greenKeptUp(proxy);
        }
        assertThat(contents(green, orders, "id")).isEqualTo(contents(blue, orders, "id"));
    }

    /**
     * An application that names its sequence in the insert itself ({@code INSERT … VALUES (nextval('items_seq'), ?)},
     * as Oracle-born code and MyBatis mappings do) gets the same ids on both clusters: one row returning its id, and two
     * rows not, from eight sessions at once. Before, green's calls drew in the order the sessions' inserts reached it,
     * and an id returned differed there (a divergence).
     */
    @ParameterizedTest
    @ValueSource(strings = {"extended", "simple"})
    void insertsNamingTheirSequenceDrawTheSameIdsOnBothClusters(String queryMode, TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String items = ClusterData.unique("named");
        ClusterData.onBoth(blue, green,
                "create sequence " + items + "_seq",
                "create table " + items + " (id bigint primary key, v int not null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            ClusterData.inSessions(SESSIONS, session -> {
                try (Connection c = proxy.connect(blue.superuser(), null, ClusterData.properties("preferQueryMode", queryMode));
                     PreparedStatement one = c.prepareStatement("insert into " + items + " (id, v) values (nextval('"
                             + items + "_seq'), ?) returning id");
                     PreparedStatement two = c.prepareStatement("INSERT INTO " + items + " (v, id) VALUES (?, pg_catalog.nextval('"
                             + items + "_seq'::regclass)), (?, pg_catalog.nextval('" + items + "_seq'::regclass))")) {
                    for (int round = 0; round < ROUNDS; round++) {
                        one.setInt(1, session * 1000 + round);
                        try (ResultSet id = one.executeQuery()) {
                            assertThat(id.next()).isTrue();
                        }
                        two.setInt(1, -(session * 1000 + round));
                        two.setInt(2, -(session * 1000 + round) - 500);
                        assertThat(two.executeUpdate()).isEqualTo(2);
                    }
                }
            });
            greenKeptUp(proxy);
        }
        assertThat(ClusterData.number(blue, "select count(*) from " + items)).isEqualTo(3L * SESSIONS * ROUNDS);
        assertThat(contents(green, items, "id")).isEqualTo(contents(blue, items, "id"));
        assertThat(handsOutNext(green, items + "_seq")).isEqualTo(handsOutNext(blue, items + "_seq"));
    }

    /**
     * Ids drawn as Hibernate's pooled sequence generator does (one call, in the transaction, for the next 50 ids), and a
     * ticket number drawn in autocommit, spelled schema-qualified, that the application writes into the row.
     */
    private static void drawIdsAsAnOrmDoes(TestProxy proxy, PgCluster blue, String queryMode, int session, String items)
            throws Exception {
        try (Connection c = proxy.connect(blue.superuser(), null, ClusterData.properties("preferQueryMode", queryMode));
             PreparedStatement pooled = c.prepareStatement("select nextval('" + items + "_seq')");
             PreparedStatement ticket = c.prepareStatement("SELECT pg_catalog.nextval('public." + items + "_ticket') AS t");
             PreparedStatement insert = c.prepareStatement("insert into " + items + " (id, ticket, v) values (?, ?, ?)")) {
            for (int round = 0; round < ROUNDS; round++) {
                long number;
                try (ResultSet drawn = ticket.executeQuery()) {
                    assertThat(drawn.next()).isTrue();
                    number = drawn.getLong(1);
                }
                c.setAutoCommit(false);
                long first;
                try (ResultSet drawn = pooled.executeQuery()) {
                    assertThat(drawn.next()).isTrue();
                    first = drawn.getLong(1);
                }
                for (int i = 0; i < 2; i++) {
                    insert.setLong(1, first + i);
                    insert.setLong(2, number);
                    insert.setInt(3, session * 1000 + round);
                    assertThat(insert.executeUpdate()).isOne();
                }
                c.commit();
                c.setAutoCommit(true);
            }
        }
    }

    /** An ORM's inserts: one returning the new id in autocommit, then a transaction of two, one without RETURNING. */
    private static void insertAsAnApplicationDoes(TestProxy proxy, PgCluster blue, String queryMode, int session,
                                                  String orders, String lines, String custom) throws Exception {
        // (pgjdbc's autosave sends a SAVEPOINT ahead of each statement in a transaction, with it in one unit)
        try (Connection c = proxy.connect(blue.superuser(), null, queryMode.equals("autosave")
                     ? ClusterData.properties("autosave", "always") : ClusterData.properties("preferQueryMode", queryMode));
             PreparedStatement order = c.prepareStatement("insert into " + orders + " (v) values (?) returning id");
             PreparedStatement noted = c.prepareStatement("insert into " + orders + " (v, note) values (?, 'in a transaction')");
             PreparedStatement line = c.prepareStatement("insert into " + lines + " (v) values (?)");
             Statement plain = c.createStatement()) {
            for (int round = 0; round < ROUNDS; round++) {
                int v = session * 1000 + round;
                order.setInt(1, v);
                try (ResultSet returned = order.executeQuery()) {
                    assertThat(returned.next()).isTrue();
                    assertThat(returned.getLong(1)).isPositive();
                }
                c.setAutoCommit(false);
                noted.setInt(1, v);
                assertThat(noted.executeUpdate()).isOne();
                line.setInt(1, v);
                assertThat(line.executeUpdate()).isOne();
                // currval on each cluster: the follower's must be the value it drew for this session, as the leader's is
                plain.execute("insert into " + lines + " (v) values (currval('" + orders + "_id_seq'))");
                plain.execute("insert into " + custom + " (v) values (" + v + ")");
                c.commit();
                c.setAutoCommit(true);
            }
        }
    }

    /** The value {@code sequence} hands out next, read directly from {@code cluster}. */
    /**
     * No divergence, green in sync, and green has answered every COMMIT: the clients have gone, and the follower's last
     * COMMITs may still be on their way, which closing the proxy cuts.
     */
    private static void greenKeptUp(TestProxy proxy) {
        assertThat(proxy.server().migration().divergences()).isEmpty();
        assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);
    }

    private static long handsOutNext(PgCluster cluster, String sequence) throws SQLException {
        return ClusterData.number(cluster, "select case when s.is_called then s.last_value + q.seqincrement else s.last_value end"
                + " from " + sequence + " s, pg_sequence q where q.seqrelid = '" + sequence + "'::regclass");
    }
}
