package dev.bluegreen.proxy.store;

import dev.bluegreen.proxy.control.Plan;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingControl.HistoryEntry;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.control.StateStore.Snapshot;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The four tables of the {@code postgres} state store and every statement run on them; what to run when,
 * and on which connection, is {@link PostgresStateStore}'s business. Times are the database's
 * {@code now()}, so instances never compare their own clocks; a barrier's deadline is checked against
 * {@code clock_timestamp()}, as {@code now()} is when the transaction began, before it waited for locks.
 *
 * <pre>
 * bluegreen_state      one row (id 1): format, epoch, state (JSON), plan (JSON or NULL), updated_at
 * bluegreen_history    epoch (primary key), entry (JSON): one row per change
 * bluegreen_instances  name (primary key), started_at, heartbeat_at, acked_barrier, holders text[]
 * bluegreen_barrier    one row (id 1): barrier_id, owner, command, from_epoch, status, deadline
 * </pre>
 */
final class StateTables {

    /** The layout of the tables and of the JSON in them; a newer one is refused rather than misread. */
    static final int FORMAT = 1;

    static final String STATE_CHANNEL = "bluegreen_state";
    static final String BARRIER_CHANNEL = "bluegreen_barrier";

    /** SQLSTATE of a row this code cannot read (data corrupted): not a reason to reconnect. */
    static final String CORRUPT = "XX001";

    /** Any constant every version shares: "blugrn". */
    private static final long SCHEMA_LOCK = 0x626c7567726eL;

    /**
     * The tables, named without a schema everywhere: each resolves through the search_path of the store's
     * login, and {@code create} puts them in the first schema of it ({@link StoreTables} finds them).
     */
    static final List<String> NAMES = List.of("bluegreen_state", "bluegreen_history", "bluegreen_instances",
            "bluegreen_barrier");

    private static final String[] SCHEMA = {
        """
        CREATE TABLE IF NOT EXISTS bluegreen_state (
            id integer PRIMARY KEY CHECK (id = 1),
            format integer NOT NULL,
            epoch bigint NOT NULL,
            state text NOT NULL,
            plan text,
            updated_at timestamptz NOT NULL DEFAULT now())""",
        """
        CREATE TABLE IF NOT EXISTS bluegreen_history (
            epoch bigint PRIMARY KEY,
            entry text NOT NULL)""",
        """
        CREATE TABLE IF NOT EXISTS bluegreen_instances (
            name text PRIMARY KEY,
            started_at timestamptz NOT NULL,
            heartbeat_at timestamptz NOT NULL,
            acked_barrier bigint,
            holders text[] NOT NULL DEFAULT '{}')""",
        """
        CREATE TABLE IF NOT EXISTS bluegreen_barrier (
            id integer PRIMARY KEY CHECK (id = 1),
            barrier_id bigint NOT NULL,
            owner text,
            command text,
            from_epoch bigint,
            status text NOT NULL CHECK (status IN ('closing', 'done', 'abandoned')),
            deadline timestamptz)""",
        "INSERT INTO bluegreen_barrier (id, barrier_id, status) VALUES (1, 0, 'done') ON CONFLICT (id) DO NOTHING",
    };

    private final String where;
    /** An instance whose heartbeat is younger than this is live; an older one is left out of barriers. */
    private final long instanceTimeoutMillis;

    /** @param where the database, for messages ({@code host:port/database}) */
    StateTables(String where, Duration instanceTimeout) {
        this.where = where;
        this.instanceTimeoutMillis = instanceTimeout.toMillis();
    }

    /**
     * The state and barrier rows, read in one statement so that they agree.
     *
     * @param open the barrier may still be closing: status closing and its deadline to come
     */
    record Shared(long epoch, String stateJson, String planJson, long barrierId, String owner, String command,
                  long fromEpoch, String status, boolean open, long millisLeft) {

        boolean closing() {
            return status.equals("closing");
        }
    }

    /** What {@link #openBarrier} found: the barrier it opened, or why it did not. */
    sealed interface Opening {
        record Opened(long barrierId) implements Opening {}

        record EpochMoved(long stored) implements Opening {}

        record Busy(String owner) implements Opening {}
    }

    void create(Connection c) throws SQLException {
        // two instances starting at once would both create the tables, and the loser fail
        try (PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
            lock.setLong(1, SCHEMA_LOCK);
            lock.execute();
        }
        try (Statement s = c.createStatement()) {
            for (String statement : SCHEMA) {
                s.execute(statement);
            }
        }
        try (PreparedStatement initial = c.prepareStatement("""
                INSERT INTO bluegreen_state (id, format, epoch, state, plan) VALUES (1, ?, ?, ?, NULL)
                ON CONFLICT (id) DO NOTHING""")) {
            RoutingState state = RoutingState.initial();
            initial.setInt(1, FORMAT);
            initial.setLong(2, state.epoch());
            initial.setString(3, StateCodec.writeState(state));
            initial.executeUpdate();
        }
    }

    /** Joins, or rejoins under a name whose heartbeat stopped; false when an instance of that name is live. */
    boolean register(Connection c, String name) throws SQLException {
        try (PreparedStatement join = c.prepareStatement("""
                INSERT INTO bluegreen_instances AS i (name, started_at, heartbeat_at, acked_barrier, holders)
                VALUES (?, now(), now(), NULL, '{}')
                ON CONFLICT (name) DO UPDATE SET started_at = now(), heartbeat_at = now(), acked_barrier = NULL, holders = '{}'
                WHERE i.heartbeat_at <= now() - ? * interval '1 millisecond'""")) {
            join.setString(1, name);
            join.setLong(2, instanceTimeoutMillis);
            return join.executeUpdate() > 0;
        }
    }

    /** Says {@code name} is alive and which sessions hold up the barrier it closed; false when its row is gone. */
    boolean heartbeat(Connection c, String name, List<String> holders) throws SQLException {
        try (PreparedStatement update = c.prepareStatement(
                "UPDATE bluegreen_instances SET heartbeat_at = now(), holders = ? WHERE name = ?")) {
            update.setArray(1, c.createArrayOf("text", holders.toArray()));
            update.setString(2, name);
            return update.executeUpdate() > 0;
        }
    }

    void reportHolders(Connection c, String name, List<String> holders) throws SQLException {
        try (PreparedStatement update = c.prepareStatement("UPDATE bluegreen_instances SET holders = ? WHERE name = ?")) {
            update.setArray(1, c.createArrayOf("text", holders.toArray()));
            update.setString(2, name);
            update.executeUpdate();
        }
    }

    void acknowledge(Connection c, String name, long barrierId) throws SQLException {
        try (PreparedStatement ack = c.prepareStatement(
                "UPDATE bluegreen_instances SET acked_barrier = ?, holders = '{}' WHERE name = ?")) {
            ack.setLong(1, barrierId);
            ack.setString(2, name);
            ack.executeUpdate();
        }
    }

    /** An instance that stopped without leaving, as {@link #claimDeparted} finds it. */
    record Departed(String name, String startedAt, String lastHeartbeat) {}

    /**
     * Removes the rows of instances other than {@code self} whose heartbeat is older than the instance timeout:
     * instances that stopped without leaving (killed, crashed, their machine lost). Whoever removes a row is
     * the one instance that hears of it.
     */
    List<Departed> claimDeparted(Connection c, String self) throws SQLException {
        try (PreparedStatement claim = c.prepareStatement("""
                DELETE FROM bluegreen_instances
                WHERE name <> ? AND heartbeat_at <= now() - ? * interval '1 millisecond'
                RETURNING name, started_at::text, heartbeat_at::text""")) {
            claim.setString(1, self);
            claim.setLong(2, instanceTimeoutMillis);
            List<Departed> departed = new ArrayList<>();
            try (ResultSet rs = claim.executeQuery()) {
                while (rs.next()) {
                    departed.add(new Departed(rs.getString(1), rs.getString(2), rs.getString(3)));
                }
            }
            return departed;
        }
    }

    void leave(Connection c, String name) throws SQLException {
        try (PreparedStatement leave = c.prepareStatement("DELETE FROM bluegreen_instances WHERE name = ?")) {
            leave.setString(1, name);
            leave.executeUpdate();
        }
    }

    /** The state, the plan, and the most recent history entries after {@code afterEpoch}. */
    Snapshot load(Connection c, long afterEpoch) throws SQLException {
        long epoch;
        String stateJson;
        String planJson;
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT format, epoch, state, plan FROM bluegreen_state WHERE id = 1")) {
            if (!rs.next()) {
                throw new SQLException("the bluegreen_state row is missing in " + where);
            }
            checkFormat(rs.getInt(1));
            epoch = rs.getLong(2);
            stateJson = rs.getString(3);
            planJson = rs.getString(4);
        }
        return new Snapshot(state(epoch, stateJson), history(c, afterEpoch, epoch), plan(planJson));
    }

    /**
     * Oldest first, at most {@link RoutingControl#HISTORY_KEPT}. Entries after the state's epoch belong to a
     * save that committed after the state was read: they come with that state, later.
     */
    List<HistoryEntry> history(Connection c, long afterEpoch, long upToEpoch) throws SQLException {
        List<HistoryEntry> entries = new ArrayList<>();
        try (PreparedStatement recent = c.prepareStatement("""
                SELECT epoch, entry FROM (
                    SELECT epoch, entry FROM bluegreen_history WHERE epoch > ? AND epoch <= ? ORDER BY epoch DESC LIMIT ?
                ) recent ORDER BY epoch""")) {
            recent.setLong(1, afterEpoch);
            recent.setLong(2, upToEpoch);
            recent.setInt(3, RoutingControl.HISTORY_KEPT);
            try (ResultSet rs = recent.executeQuery()) {
                while (rs.next()) {
                    long epoch = rs.getLong(1);
                    String json = rs.getString(2);
                    entries.add(decode("bluegreen_history entry " + epoch, () -> StateCodec.readEntry(json)));
                }
            }
        }
        return entries;
    }

    Shared readShared(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("""
                SELECT s.format, s.epoch, s.state, s.plan, b.barrier_id, b.owner, b.command, b.from_epoch, b.status,
                       b.status = 'closing' AND b.deadline > now() AS open,
                       coalesce(greatest(0, extract(epoch FROM b.deadline - now()) * 1000), 0)::bigint AS millis_left
                FROM bluegreen_state s CROSS JOIN bluegreen_barrier b
                WHERE s.id = 1 AND b.id = 1""")) {
            if (!rs.next()) {
                throw new SQLException("the bluegreen_state or bluegreen_barrier row is missing in " + where);
            }
            checkFormat(rs.getInt("format"));
            return new Shared(rs.getLong("epoch"), rs.getString("state"), rs.getString("plan"), rs.getLong("barrier_id"),
                    rs.getString("owner"), rs.getString("command"), rs.getLong("from_epoch"), rs.getString("status"),
                    rs.getBoolean("open"), rs.getLong("millis_left"));
        }
    }

    /**
     * Starts a barrier for {@code owner} if the stored epoch is still {@code fromEpoch} and no other live
     * instance's barrier is closing. The state row stays locked until commit, so no save slips in between.
     */
    Opening openBarrier(Connection c, String owner, String command, long fromEpoch, Duration timeout) throws SQLException {
        long stored;
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT epoch FROM bluegreen_state WHERE id = 1 FOR UPDATE")) {
            if (!rs.next()) {
                throw new SQLException("the bluegreen_state row is missing in " + where);
            }
            stored = rs.getLong(1);
        }
        if (stored != fromEpoch) {
            return new Opening.EpochMoved(stored);
        }
        try (PreparedStatement busy = c.prepareStatement("""
                SELECT b.owner FROM bluegreen_barrier b
                WHERE b.id = 1 AND b.status = 'closing' AND b.deadline > now() AND b.owner <> ?
                  AND EXISTS (SELECT 1 FROM bluegreen_instances i
                              WHERE i.name = b.owner AND i.heartbeat_at > now() - ? * interval '1 millisecond')
                FOR UPDATE""")) {
            busy.setString(1, owner);
            busy.setLong(2, instanceTimeoutMillis);
            try (ResultSet rs = busy.executeQuery()) {
                if (rs.next()) {
                    return new Opening.Busy(rs.getString(1));
                }
            }
        }
        long id;
        try (PreparedStatement open = c.prepareStatement("""
                UPDATE bluegreen_barrier SET barrier_id = barrier_id + 1, owner = ?, command = ?, from_epoch = ?,
                    status = 'closing', deadline = now() + ? * interval '1 millisecond'
                WHERE id = 1 RETURNING barrier_id""")) {
            open.setString(1, owner);
            open.setString(2, command);
            open.setLong(3, fromEpoch);
            open.setLong(4, timeout.toMillis());
            try (ResultSet rs = open.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("the bluegreen_barrier row is missing in " + where);
                }
                id = rs.getLong(1);
            }
        }
        notify(c, BARRIER_CHANNEL, Long.toString(id));
        return new Opening.Opened(id);
    }

    /**
     * Locks the barrier row for the transaction that ends barrier {@code barrierId} with a change, and says
     * why that change may not be saved: the barrier is no longer this one, no longer closing, past its
     * deadline (other instances may have reopened), or a live instance has not acknowledged it (one that
     * joined after the owner last looked). Null when the change may be saved. Locks the state row before
     * the barrier row.
     */
    String barrierStillHeld(Connection c, String owner, long barrierId) throws SQLException {
        // the state row first, as openBarrier locks them: a save ending a barrier and another instance
        // opening one would otherwise each hold the row the other waits for (a deadlock, one of them aborted)
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT epoch FROM bluegreen_state WHERE id = 1 FOR UPDATE")) {
            if (!rs.next()) {
                return "the bluegreen_state row is missing in " + where;
            }
        }
        try (PreparedStatement lock = c.prepareStatement("""
                SELECT barrier_id, status, deadline > clock_timestamp() FROM bluegreen_barrier WHERE id = 1 FOR UPDATE""");
             ResultSet rs = lock.executeQuery()) {
            if (!rs.next()) {
                return "the bluegreen_barrier row is missing in " + where;
            }
            if (rs.getLong(1) != barrierId || !rs.getString(2).equals("closing")) {
                return "the write barrier was ended elsewhere (" + rs.getString(2) + ")";
            }
            if (!rs.getBoolean(3)) {
                return "the write barrier passed its deadline before the change was saved";
            }
        }
        List<String> waiting = unacknowledged(c, owner, barrierId);
        return waiting.isEmpty() ? null : "the write barrier is not held by " + waiting;
    }

    /** Ends barrier {@code barrierId} ({@code done} or {@code abandoned}) if it is still closing. */
    void endBarrier(Connection c, long barrierId, String status) throws SQLException {
        try (PreparedStatement end = c.prepareStatement(
                "UPDATE bluegreen_barrier SET status = ? WHERE id = 1 AND barrier_id = ? AND status = 'closing'")) {
            end.setString(1, status);
            end.setLong(2, barrierId);
            end.executeUpdate();
        }
    }

    /** Live instances other than {@code owner} that have not acknowledged, each with the sessions it reported. */
    List<String> unacknowledged(Connection c, String owner, long barrierId) throws SQLException {
        List<String> waiting = new ArrayList<>();
        try (PreparedStatement pending = c.prepareStatement("""
                SELECT name, holders FROM bluegreen_instances
                WHERE name <> ? AND acked_barrier IS DISTINCT FROM ?
                  AND heartbeat_at > now() - ? * interval '1 millisecond'
                ORDER BY name""")) {
            pending.setString(1, owner);
            pending.setLong(2, barrierId);
            pending.setLong(3, instanceTimeoutMillis);
            try (ResultSet rs = pending.executeQuery()) {
                while (rs.next()) {
                    Array holders = rs.getArray(2);
                    String[] sessions = holders == null ? new String[0] : (String[]) holders.getArray();
                    waiting.add(sessions.length == 0 ? rs.getString(1) : rs.getString(1) + " " + Arrays.toString(sessions));
                }
            }
        }
        return waiting;
    }

    /** The compare-and-set: false, and nothing written, when the stored epoch is not {@code expectedEpoch}. */
    boolean saveState(Connection c, long expectedEpoch, HistoryEntry change, String stateJson, String planJson)
            throws SQLException {
        try (PreparedStatement update = c.prepareStatement("""
                UPDATE bluegreen_state SET epoch = ?, state = ?, plan = ?, updated_at = now()
                WHERE id = 1 AND epoch = ?""")) {
            update.setLong(1, change.epoch());
            update.setString(2, stateJson);
            update.setString(3, planJson);
            update.setLong(4, expectedEpoch);
            if (update.executeUpdate() == 0) {
                return false;
            }
        }
        try (PreparedStatement insert = c.prepareStatement("""
                INSERT INTO bluegreen_history (epoch, entry) VALUES (?, ?)
                ON CONFLICT (epoch) DO UPDATE SET entry = excluded.entry""")) {
            insert.setLong(1, change.epoch());
            insert.setString(2, StateCodec.writeEntry(change));
            insert.executeUpdate();
        }
        return true;
    }

    /** Delivered to every listener, this instance's too, when the transaction commits; never if it rolls back. */
    static void notify(Connection c, String channel, String payload) throws SQLException {
        try (PreparedStatement notify = c.prepareStatement("SELECT pg_notify(?, ?)")) {
            notify.setString(1, channel);
            notify.setString(2, payload);
            notify.execute();
        }
    }

    RoutingState state(long epoch, String json) throws SQLException {
        RoutingState state = decode("bluegreen_state.state", () -> StateCodec.readState(json));
        if (state.epoch() != epoch) {
            throw new SQLException("bluegreen_state in " + where + " is inconsistent: epoch " + epoch
                    + " but its state is epoch " + state.epoch(), CORRUPT);
        }
        return state;
    }

    Plan plan(String json) throws SQLException {
        return json == null ? null : decode("bluegreen_state.plan", () -> StateCodec.readPlan(json));
    }

    private void checkFormat(int format) throws SQLException {
        if (format != FORMAT) {
            throw new SQLException("the bluegreen tables in " + where + " are in format " + format
                    + "; this proxy reads format " + FORMAT + " (were they written by a newer bluegreen?)", CORRUPT);
        }
    }

    private interface Decoding<T> {
        T decode() throws StateCodec.Malformed;
    }

    private <T> T decode(String what, Decoding<T> decoding) throws SQLException {
        try {
            return decoding.decode();
        } catch (StateCodec.Malformed e) {
            throw new SQLException(what + " in " + where + " is corrupt: " + e.getMessage(), CORRUPT);
        }
    }
}
