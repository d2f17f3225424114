package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.dualwrite.SessionSnapshot;
import dev.bluegreen.proxy.routing.LeaderOnlyObjects;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A session's state read from blue (PostgreSQL 16) is replayed on a fresh green (18) connection, the
 * way a pre-existing session gets its twin; state that cannot be replayed pins the session.
 */
@ExtendWith(BlueGreenClusters.class)
class SessionSnapshotIT {

    private static SessionSnapshot snapshotOf(Connection session) throws SQLException {
        List<String[]> rows = new ArrayList<>();
        try (Statement s = session.createStatement(); ResultSet rs = s.executeQuery(SessionSnapshot.QUERY)) {
            while (rs.next()) {
                rows.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)});
            }
        }
        return SessionSnapshot.fromRows(rows);
    }

    private static String show(Connection c, String setting) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("show " + setting)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * The snapshot runs in the client's session, under its search_path: a function or operator of the same
     * name in a schema searched before pg_catalog must not be what it calls (as the session's role).
     */
    @Test
    void theSnapshotCallsNothingTheSessionsSearchPathPutsBeforePgCatalog(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        String trap = "snapshot_trap_" + Long.toHexString(System.nanoTime());
        try (Connection session = DriverManager.getConnection(blue.jdbcUrl("postgres") + "?prepareThreshold=1", blue.superuser(), "");
             Statement s = session.createStatement()) {
            s.execute("create schema " + trap);
            try {
                s.execute("create function " + trap + ".array_to_string(oid[], text) returns text language sql"
                        + " as $$ select 'hijacked' $$");
                s.execute("create function " + trap + ".text_ne(text, text) returns boolean language sql"
                        + " as $$ select true $$");
                s.execute("create operator " + trap + ".<> (leftarg = text, rightarg = text, function = " + trap
                        + ".text_ne)");
                s.execute("set search_path = " + trap + ", pg_catalog");
                try (PreparedStatement server = session.prepareStatement("select ?::int * 3")) {
                    server.setInt(1, 1);
                    server.executeQuery().close();
                }

                SessionSnapshot snapshot = snapshotOf(session);

                assertThat(snapshot.protocolStatements()).anySatisfy(statement ->
                        assertThat(statement.parameterTypeOids()).containsExactly(23L));
                assertThat(snapshot.replaySql()).noneMatch(sql -> sql.toLowerCase().contains("session authorization")
                        || sql.toLowerCase().contains("set role"));
            } finally {
                s.execute("reset search_path");
                s.execute("drop schema " + trap + " cascade");
            }
        }
    }

    @Test
    void settingsAndPreparedStatementsFromASixteenSessionReplayOnEighteen(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        try (Connection session = DriverManager.getConnection(blue.jdbcUrl("postgres") + "?prepareThreshold=1", blue.superuser(), "");
             Statement s = session.createStatement()) {
            s.execute("set search_path = pg_catalog, \"Odd $bg$ schema\", public");
            s.execute("set statement_timeout = '12s'");
            s.execute("set work_mem = '8MB'");
            s.execute("set application_name = 'it''s replayed$bg'"); // ends as the quote's closing tag begins
            s.execute("prepare add_one(int) as select $1 + 1");
            try (PreparedStatement server = session.prepareStatement("select ?::int * 3")) {
                server.setInt(1, 1);
                server.executeQuery().close();
                server.setInt(1, 2);
                server.executeQuery().close();
            }

            SessionSnapshot snapshot = snapshotOf(session);

            assertThat(snapshot.pinned()).isFalse();
            assertThat(snapshot.settings()).containsKeys("search_path", "statement_timeout", "work_mem", "application_name");
            assertThat(snapshot.protocolStatements()).anySatisfy(statement -> {
                assertThat(statement.sql()).isEqualTo("select $1::int * 3");
                assertThat(statement.parameterTypeOids()).containsExactly(23L); // int4
            });
            try (Connection twin = green.connect("postgres"); Statement t = twin.createStatement()) {
                for (String sql : snapshot.replaySql()) {
                    t.execute(sql);
                }
                for (String setting : List.of("search_path", "statement_timeout", "work_mem", "application_name")) {
                    assertThat(show(twin, setting)).as(setting).isEqualTo(show(session, setting));
                }
                try (ResultSet rs = t.executeQuery("execute add_one(41)")) {
                    rs.next();
                    assertThat(rs.getInt(1)).isEqualTo(42);
                }
            }
        }
    }

    @Test
    void aSessionAuthorizationAndARoleSetBeforeStartAreTheTwinsToo(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String suffix = Long.toHexString(System.nanoTime());
        String user = "app_user_" + suffix;
        String reader = "Reader \"" + suffix + "\"";
        String quotedReader = "\"Reader \"\"" + suffix + "\"\"\"";
        ClusterData.onBoth(blue, green, "create role " + user + " login", "create role " + quotedReader,
                "grant " + quotedReader + " to " + user);
        try (Connection session = blue.connect("postgres"); Statement s = session.createStatement()) {
            SessionSnapshot asLoggedIn = snapshotOf(session);
            assertThat(asLoggedIn.sessionAuthorization()).as("identity of a session as it logged in").isNull();
            assertThat(asLoggedIn.role()).isNull();

            // a setting only the superuser who logged in may make, made before the identity changed
            s.execute("set session_replication_role = replica");
            s.execute("set session authorization " + user);
            s.execute("set role " + quotedReader);
            SessionSnapshot snapshot = snapshotOf(session);

            try (Connection twin = green.connect("postgres"); Statement t = twin.createStatement()) {
                for (String sql : snapshot.replaySql()) {
                    t.execute(sql);
                }
                try (ResultSet rs = t.executeQuery("select session_user, current_user, current_setting('session_replication_role')")) {
                    rs.next();
                    assertThat(rs.getString(1)).isEqualTo(user);
                    assertThat(rs.getString(2)).isEqualTo(reader);
                    assertThat(rs.getString(3)).isEqualTo("replica");
                }
            }
        }
    }

    /**
     * Only temporary tables that reach nothing beyond themselves are named for statements to run on the leader
     * alone: not one with a trigger, nor one whose default draws on a permanent sequence, nor a view (it may be
     * over a permanent table), nor one a permanent table of the same name hides from unqualified names.
     */
    @Test
    void onlyTemporaryTablesThatReachNothingElseAreNamed(TestClusters clusters) throws Exception {
        String permanent = ClusterData.unique("snapshot_permanent");
        PgCluster blue = clusters.blue();
        blue.execute("postgres", "create table " + permanent + " (id serial primary key)",
                "create function " + permanent + "_audit() returns trigger language plpgsql as"
                        + " $$ begin insert into " + permanent + " default values; return null; end $$");
        try (Connection session = blue.connect("postgres"); Statement s = session.createStatement()) {
            try {
                s.execute("create temp table plain (id serial primary key, v text default 'x')");
                s.execute("create temp table audited (id int)");
                s.execute("create trigger audited_audit after insert on audited for each row execute function "
                        + permanent + "_audit()");
                s.execute("create temp table numbered (id int default nextval('" + permanent + "_id_seq'))");
                s.execute("create temp view over_permanent as select * from " + permanent);
                s.execute("create temp table hidden (id int)");
                s.execute("create table public.hidden (id int)");
                s.execute("set search_path = public, pg_temp");

                assertThat(snapshotOf(session).leaderOnly().relations()).containsExactly("plain");
            } finally {
                // the session's temporary objects go once its backend has ended, after the close: the permanent
                // table's drop below raced that, and failed on the view and default over it (2BP01)
                s.execute("discard temp");
            }
        } finally {
            blue.execute("postgres", "drop table if exists public.hidden", "drop table " + permanent,
                    "drop function " + permanent + "_audit()");
        }
    }

    @Test
    void temporaryTablesHoldableCursorsAndSessionAdvisoryLocksPinTheSession(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        try (Connection session = blue.connect("postgres"); Statement s = session.createStatement()) {
            assertThat(snapshotOf(session).pinned()).isFalse();

            s.execute("create temporary table scratch (id int)");
            // a temporary function and type exist only on the leader too (the table's own row type is not counted)
            s.execute("create function pg_temp.norm(t text) returns text language sql as 'select lower(t)'");
            s.execute("create type pg_temp.mood as enum ('ok', 'not')");
            s.execute("declare held cursor with hold for select 1");
            s.execute("select pg_advisory_lock(4242)");

            SessionSnapshot snapshot = snapshotOf(session);
            assertThat(snapshot.pins()).containsExactly(
                    "temporary objects (3)", "WITH HOLD cursors (1)", "session advisory locks (1)");
            assertThat(snapshot.leaderOnly()).as("what statements may name, by name")
                    .isEqualTo(new LeaderOnlyObjects(Set.of("scratch"), Set.of("held")));
            s.execute("select pg_advisory_unlock(4242)");
        }
    }
}
