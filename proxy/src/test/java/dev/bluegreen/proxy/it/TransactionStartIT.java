package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.ClusterData.contents;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What reads the transaction's start ({@code now()}, {@code CURRENT_TIMESTAMP}, {@code CURRENT_DATE} ...) reads the
 * leader's on the follower too, in a column's default and in the statement itself, so that a table with a
 * {@code created_at timestamptz DEFAULT now()} column holds the same rows on both clusters, and an insert that returns
 * it (an ORM's {@code RETURNING *}) is no divergence (docs/dual-write.md, <i>Values generated on the server</i>).
 * Before, green's transactions began later than blue's: every such row differed, and every such {@code RETURNING}
 * took green out of sync.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class TransactionStartIT {

    private static final int SESSIONS = 4;
    private static final int ROUNDS = 12;

    @ParameterizedTest
    @ValueSource(strings = {"extended", "simple"})
    void rowsStampedWithTheTransactionsStartAreAlikeOnBothClusters(String queryMode, TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String posts = ClusterData.unique("posts");
        String audit = ClusterData.unique("audit");
        ClusterData.onBoth(blue, green,
                "create table " + posts + " (id bigserial primary key, title text not null,"
                        + " created_at timestamptz not null default now(), day date default current_date,"
                        + " utc timestamp default timezone('utc', now()), touched timestamptz, local timestamp(3),"
                        + " clock timetz, wall time)",
                "create table " + audit + " (id int generated always as identity, at timestamptz default CURRENT_TIMESTAMP,"
                        + " note text)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            ClusterData.inSessions(SESSIONS, session -> writeAsAnApplicationDoes(proxy, blue, queryMode, session, posts, audit));
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        assertThat(ClusterData.number(blue, "select count(*) from " + posts + " where touched is not null"))
                .isEqualTo((long) SESSIONS * ROUNDS);
        assertThat(contents(green, posts, "id")).isEqualTo(contents(blue, posts, "id"));
        assertThat(contents(green, audit, "id")).isEqualTo(contents(blue, audit, "id"));
    }

    /**
     * Statements prepared by name read the leader's start whichever cluster leads: one prepared before {@code start}
     * (given to the new twin rewritten), across a cutover (the cluster that led and now follows holds it as the client
     * sent it, and is given it again rewritten) and the rollback after it. The result keeps its column names on the
     * cluster that leads with a rewritten statement.
     */
    @Test
    void statementsPreparedByNameReadTheLeadersStartAcrossACutoverAndARollback(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String posts = ClusterData.unique("posts");
        ClusterData.onBoth(blue, green, "create table " + posts + " (id bigserial primary key, title text not null,"
                + " created_at timestamptz not null default now(), seen timestamptz)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection c = proxy.connect(blue.superuser(), null, ClusterData.properties("prepareThreshold", "1"));
             PreparedStatement stamp = c.prepareStatement("insert into " + posts + " (title, seen) values (?, now())"
                     + " returning id, now(), current_date");
             PreparedStatement create = c.prepareStatement("insert into " + posts + " (title) values (?) returning created_at")) {
            run(stamp, "before start");
            run(create, "before start");
            proxy.server().routing().start("test", null);
            for (int i = 0; i < 3; i++) {
                run(stamp, "dual-write " + i);
                run(create, "dual-write " + i);
            }
            proxy.server().routing().setWeight("test", 100, null);
            proxy.server().routing().cutover("test", null);
            for (int i = 0; i < 3; i++) {
                run(stamp, "green leads " + i);
                run(create, "green leads " + i);
            }
            proxy.server().routing().rollback("test", null, false);
            run(stamp, "rolled back");
            run(create, "rolled back");
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        try (Connection direct = blue.connect("postgres"); Statement delete = direct.createStatement()) {
            assertThat(delete.executeUpdate("delete from " + posts + " where title = 'before start'")).isEqualTo(2); // blue's alone
        }
        assertThat(ClusterData.number(green, "select count(*) from " + posts)).isEqualTo(14);
        assertThat(contents(green, posts, "id")).isEqualTo(contents(blue, posts, "id"));
    }

    /**
     * A statement prepared by name before the session learned its table's defaults is prepared again on the follower
     * when the session learns them inside a transaction (under a savepoint of the proxy's, before the unit that learned
     * them runs there), and again after DDL through the proxy changed the default, which the follower's copy must not
     * keep supplying.
     */
    @Test
    void aStatementPreparedByNameFollowsWhatItsTableDefaultsToAsTheSessionLearnsIt(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String posts = ClusterData.unique("posts");
        ClusterData.onBoth(blue, green, "create table " + posts + " (id bigserial primary key, title text not null,"
                + " created_at timestamptz not null default now())");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start();
             Connection c = proxy.connect(blue.superuser(), null, ClusterData.properties("prepareThreshold", "1"));
             Connection admin = proxy.connect(blue.superuser());
             Statement plain = c.createStatement();
             PreparedStatement create = c.prepareStatement("insert into " + posts + " (title) values (?) returning created_at")) {
            run(create, "before start");
            proxy.server().routing().start("test", null);
            plain.execute("begin"); // the session learns the table inside a transaction
            run(create, "in a transaction");
            run(create, "in a transaction");
            plain.execute("commit");
            run(create, "after");
            admin.createStatement().execute("alter table " + posts + " alter column created_at set default '2001-02-03 04:05:06+00'");
            run(create, "a constant default");
            run(create, "a constant default");
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        try (Connection direct = blue.connect("postgres"); Statement delete = direct.createStatement()) {
            assertThat(delete.executeUpdate("delete from " + posts + " where title = 'before start'")).isOne(); // blue's alone
        }
        assertThat(ClusterData.number(green, "select count(*) from " + posts + " where created_at = '2001-02-03 04:05:06+00'"))
                .isEqualTo(2);
        assertThat(contents(green, posts, "id")).isEqualTo(contents(blue, posts, "id"));
    }

    /**
     * Inserts of several rows read the leader's start in each row: a multi-row {@code VALUES} that leaves the column out
     * (and the same from pgjdbc's {@code reWriteBatchedInserts}), one that lists it with a bare {@code DEFAULT} in some
     * rows, an {@code INSERT … SELECT}, a JDBC batch of one-row inserts under one {@code Sync}. A bare {@code DEFAULT} for a {@code bigserial} id
     * draws what the leader drew, from four sessions at once; and {@code EXTRACT(… FROM now())} and
     * {@code IS DISTINCT FROM now()} read the leader's start too.
     */
    @Test
    void rowsOfSeveralAndBareDefaultsAreStampedAlike(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String notes = ClusterData.unique("notes");
        String orders = ClusterData.unique("orders");
        ClusterData.onBoth(blue, green,
                "create table " + notes + " (key text primary key, created_at timestamptz not null default now(),"
                        + " day date default current_date, epoch numeric, seen timestamptz)",
                "create table " + orders + " (id bigserial primary key, v text not null, at timestamptz default now())");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            ClusterData.inSessions(SESSIONS, session -> {
                try (Connection c = proxy.connect(blue.superuser());
                     Connection rewriting = proxy.connect(blue.superuser(), null,
                             ClusterData.properties("reWriteBatchedInserts", "true"));
                     PreparedStatement several = c.prepareStatement("insert into " + notes + " (key) values (?), (?) returning *");
                     PreparedStatement some = c.prepareStatement("insert into " + notes
                             + " (key, created_at, day) values (?, DEFAULT, '2001-01-01'), (?, '2002-02-02 02:02:02+00', DEFAULT)");
                     PreparedStatement one = c.prepareStatement("insert into " + notes + " (key) values (?)");
                     PreparedStatement bare = c.prepareStatement("insert into " + notes + " values (?, now()), (?, now())");
                     PreparedStatement query = c.prepareStatement("insert into " + notes + " (key) select k from unnest(array[?, ?]) as u (k)");
                     PreparedStatement batched = rewriting.prepareStatement("insert into " + notes + " (key) values (?)");
                     PreparedStatement order = c.prepareStatement("insert into " + orders + " (id, v, at) values (DEFAULT, ?, DEFAULT) returning *");
                     PreparedStatement extract = c.prepareStatement("update " + notes
                             + " set epoch = extract(epoch from now()), seen = now() where key = ? and seen is distinct from now()")) {
                    for (int round = 0; round < ROUNDS; round++) {
                        String key = session + "/" + round;
                        several.setString(1, key + " a");
                        several.setString(2, key + " b");
                        try (ResultSet returned = several.executeQuery()) {
                            assertThat(returned.next() && returned.next() && !returned.next()).isTrue();
                        }
                        some.setString(1, key + " c");
                        some.setString(2, key + " d");
                        assertThat(some.executeUpdate()).isEqualTo(2);
                        bare.setString(1, key + " m"); // no column list: no shape, its own readings of the start alone
                        bare.setString(2, key + " n");
                        assertThat(bare.executeUpdate()).isEqualTo(2);
                        query.setString(1, key + " k");
                        query.setString(2, key + " l");
                        assertThat(query.executeUpdate()).isEqualTo(2);
                        c.setAutoCommit(false);
                        for (String suffix : List.of(" e", " f", " g")) {
                            one.setString(1, key + suffix);
                            one.addBatch();
                        }
                        assertThat(one.executeBatch()).containsExactly(1, 1, 1);
                        extract.setString(1, key + " a");
                        assertThat(extract.executeUpdate()).isOne();
                        c.commit();
                        c.setAutoCommit(true);
                        for (String suffix : List.of(" h", " i", " j")) {
                            batched.setString(1, key + suffix);
                            batched.addBatch();
                        }
                        batched.executeBatch();
                        order.setString(1, key);
                        try (ResultSet returned = order.executeQuery()) {
                            assertThat(returned.next()).isTrue();
                        }
                    }
                }
            });
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            // the clients have gone; the follower's last COMMITs may still be on their way, which closing the proxy cuts
            await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);
        }
        assertThat(ClusterData.number(blue, "select count(*) from " + notes)).isEqualTo(14L * SESSIONS * ROUNDS);
        assertThat(ClusterData.number(blue, "select count(*) from " + notes + " where epoch is not null")).isEqualTo((long) SESSIONS * ROUNDS);
        assertThat(contents(green, notes, "key")).isEqualTo(contents(blue, notes, "key"));
        assertThat(contents(green, orders, "id")).isEqualTo(contents(blue, orders, "id"));
    }

    /**
     * Statements prepared by name whose text is longer than the 2,048 characters the proxy keeps of a statement it binds
     * later read the leader's start on the follower too: pgjdbc's rewritten batch of 128 rows into a table whose
     * {@code created_at} defaults to {@code now()}, and an {@code UPDATE} whose {@code now()} comes after the first 2,048
     * characters, each bound by name from its second run on. Before, the follower was given such a statement as the
     * client sent it and read its own clock: every row differed on green, unseen by the comparison.
     */
    @Test
    void statementsPreparedByNameLongerThanTheProxyKeepsReadTheLeadersStart(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String posts = ClusterData.unique("posts");
        ClusterData.onBoth(blue, green, "create table " + posts + " (id bigserial primary key, title text not null,"
                + " created_at timestamptz not null default now(), seen timestamptz)");
        int rows = 128;
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            try (Connection c = proxy.connect(blue.superuser(), null,
                         ClusterData.properties("reWriteBatchedInserts", "true", "prepareThreshold", "1"));
                 PreparedStatement batched = c.prepareStatement("insert into " + posts + " (title) values (lower(upper(?)))");
                 PreparedStatement touch = c.prepareStatement("update " + posts + " set title = "
                         + "lower(".repeat(300) + "title" + ")".repeat(300) + ", seen = now() where id % 16 = ?")) {
                for (int round = 0; round < 6; round++) {
                    for (int row = 0; row < rows; row++) {
                        batched.setString(1, round + "/" + row);
                        batched.addBatch();
                    }
                    assertThat(batched.executeBatch()).hasSize(rows);
                    touch.setInt(1, round);
                    assertThat(touch.executeUpdate()).isPositive();
                }
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
            await("green has answered every COMMIT").until(() -> proxy.server().followerCommitsOwed() == 0);
        }
        assertThat(ClusterData.number(blue, "select count(*) from " + posts)).isEqualTo(6L * rows);
        assertThat(contents(green, posts, "id")).isEqualTo(contents(blue, posts, "id"));
    }

    /**
     * A client's cancel that comes while the follower runs an autocommit write reading the leader's start (here waiting
     * on green for a row another transaction holds there) is too late for the statement: the leader has run it, so the
     * cancel is not passed on, as a server ignores one that comes after it answered, and the statement completes once
     * green goes on. Passed on, it would end the write cancelled, or, landing on the proxy's {@code set_config}, fail
     * the follower with another answer than the leader's.
     */
    @Test
    void aCancelWhileTheFollowerTakesTheLeadersStartComesTooLate(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String posts = ClusterData.unique("posts");
        ClusterData.onBoth(blue, green, "create table " + posts + " (id int primary key, touched timestamptz)",
                "insert into " + posts + " values (1, null)");
        try (TestProxy proxy = TestProxy.in(blue).green(green).start()) {
            proxy.server().routing().start("test", null);
            try (Connection holder = green.connect("postgres");
                 Connection client = proxy.connect(blue.superuser());
                 Statement touch = client.createStatement()) {
                holder.setAutoCommit(false);
                holder.createStatement().execute("select * from " + posts + " where id = 1 for update");
                long tooLate = proxy.server().migration().cancelsTooLate();
                CompletableFuture<Integer> touched = CompletableFuture.supplyAsync(() -> {
                    try {
                        return touch.executeUpdate("update " + posts + " set touched = now() where id = 1");
                    } catch (SQLException e) {
                        throw new CompletionException(e);
                    }
                });
                await().until(() -> ClusterData.lockWaits(green).contains(posts));
                touch.cancel();
                await().until(() -> proxy.server().migration().cancelsTooLate() == tooLate + 1);
                holder.rollback(); // green goes on
                assertThat(touched.get(10, TimeUnit.SECONDS)).isOne();
            }
            assertThat(proxy.server().migration().divergences()).isEmpty();
            assertThat(proxy.server().routing().current().followerInSync()).isTrue();
        }
        assertThat(ClusterData.number(blue, "select count(*) from " + posts + " where touched is not null")).isOne();
        assertThat(contents(green, posts, "id")).isEqualTo(contents(blue, posts, "id"));
    }

    private static void run(PreparedStatement statement, String title) throws Exception {
        statement.setString(1, title);
        try (ResultSet returned = statement.executeQuery()) {
            assertThat(returned.next()).isTrue();
            if (returned.getMetaData().getColumnCount() == 3) {
                assertThat(returned.getMetaData().getColumnLabel(2)).isEqualTo("now");
                assertThat(returned.getMetaData().getColumnLabel(3)).isEqualTo("current_date");
            } else {
                assertThat(returned.getMetaData().getColumnLabel(1)).isEqualTo("created_at");
            }
        }
    }

    /**
     * An ORM's insert returning the whole row in autocommit; a transaction that inserts without a column for the
     * default, stamps a row with {@code now()} and writes an audit row with {@code DEFAULT VALUES} and one with an
     * explicit {@code CURRENT_TIMESTAMP}. More than five of each, so that pgjdbc prepares them by name. Then the same
     * in a transaction begun by a {@code BEGIN} of its own.
     */
    private static void writeAsAnApplicationDoes(TestProxy proxy, PgCluster blue, String queryMode, int session,
                                                 String posts, String audit) throws Exception {
        try (Connection c = proxy.connect(blue.superuser(), null, ClusterData.properties("preferQueryMode", queryMode));
             PreparedStatement create = c.prepareStatement("insert into " + posts + " (title) values (?) returning *");
             PreparedStatement draft = c.prepareStatement("insert into " + posts + " (title) values (?)");
             PreparedStatement touch = c.prepareStatement("update " + posts
                     + " set touched = now(), local = localtimestamp(3), clock = current_time(2), wall = LOCALTIME where id = ?");
             PreparedStatement note = c.prepareStatement("insert into " + audit + " (note, at) values (?, CURRENT_TIMESTAMP)");
             Statement plain = c.createStatement()) {
            for (int round = 0; round < ROUNDS; round++) {
                create.setString(1, "post " + session + "/" + round);
                long id;
                try (ResultSet returned = create.executeQuery()) {
                    assertThat(returned.next()).isTrue();
                    id = returned.getLong("id");
                    assertThat(returned.getTimestamp("created_at")).isNotNull();
                }
                c.setAutoCommit(false);
                draft.setString(1, "draft " + session + "/" + round);
                assertThat(draft.executeUpdate()).isOne();
                touch.setLong(1, id);
                assertThat(touch.executeUpdate()).isOne();
                plain.execute("insert into " + audit + " default values");
                note.setString(1, "touched " + id);
                assertThat(note.executeUpdate()).isOne();
                c.commit();
                c.setAutoCommit(true);
                // a transaction begun by a BEGIN of its own, as psql, pgbench and Rails send it: the leader is asked its
                // start there, once, and the statements reading it later take that
                plain.execute("begin");
                plain.execute("set transaction isolation level repeatable read"); // (refused after the first query)
                plain.execute("update " + posts + " set touched = now() where id = " + id);
                plain.execute("insert into " + audit + " (note) values ('begun " + id + "')");
                plain.execute("insert into " + audit + " (note, at) values ('stamped', current_timestamp)");
                plain.execute("commit");
            }
        }
    }
}
