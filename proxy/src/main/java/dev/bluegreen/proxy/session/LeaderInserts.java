package dev.bluegreen.proxy.session;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * Inserts into tables that may draw from a sequence, in flight on the leader, every session's on this instance: so
 * that an insert whose follower draws by the count of its rows ({@link SequenceDraws}) has drawn its values on the
 * leader one after the other.
 *
 * <p>The follower of an insert of several rows that is not given the leader's ids (a JDBC batch under one
 * {@code Sync}, a multi-row {@code VALUES} that does not return the id, pgjdbc's rewritten batch) is set to draw as
 * many values as the leader's rows, ending on the leader's last. Those are the leader's own values only where no other
 * session drew from the sequence there while the statement ran, and an insert running on the leader at the same time
 * does (a backend is switched out between its rows). So such an insert is sent to the leader <em>alone</em>
 * ({@link #sent}): once the inserts into the same table that other sessions had sent there have answered, and the
 * inserts into it sent after it wait until it has answered. Other inserts go side by side, as before, waiting only for
 * one sent alone. The wait is bounded by its caller: an insert may wait there for a row lock of a transaction whose
 * session waits here for it.
 *
 * <p>Tables are told apart by their database and their name as statements spell it, without the schema: a quoted name
 * as written, another folded to lower case. Two tables of one name in different schemas share their turns (a needless
 * wait). Not held: an
 * insert into another table that draws from the same sequence, a statement the proxy does not read as an insert
 * ({@code ON CONFLICT}, a {@code WITH} before it, a function or trigger that inserts), and another instance's sessions.
 *
 * <p>Thread-safe: sessions on every event loop share it. Each method holds a monitor for a few comparisons.
 */
final class LeaderInserts {

    /** Past this many tables, those with nothing in flight are let go of. */
    private static final int MAX_TABLES = 4096;

    /** The inserts into one table in flight on the leader. */
    private static final class Table {
        final Outstanding inFlight = new Outstanding();
        /** The ticket of the last insert sent alone, 0 for none. */
        long lastAlone;
    }

    /**
     * An insert's turn among those into its table: its number, given back once the leader has answered it
     * ({@link #answered}), and the last of those sent before it that it is to wait for, 0 for none; and its turn in the
     * next table of a unit inserting into several ({@link Unit#eachInserts}), or null.
     */
    record Ticket(Table table, long number, long awaits, Ticket next) {

        /** Whether this turn, or one taken with it in another table, waits for inserts in flight there. */
        boolean waits() {
            return awaits != 0 || (next != null && next.waits());
        }
    }

    private final Map<String, Table> tables = new HashMap<>();

    /**
     * An insert into {@code table} (as the statement spells it) of {@code database} is about to be sent to the leader,
     * {@code alone} or beside others: its ticket, taken before it looks at those in flight, so that of two that cross,
     * at least one waits for the other.
     */
    synchronized Ticket sent(String database, String table, boolean alone) {
        return sent(database, List.of(table), alone);
    }

    /**
     * {@link #sent(String, String, boolean)} for a unit inserting into each of {@code tables} (different tables): its
     * turns in all of them are taken at once, so that two units' turns come in one order in every table they share, and
     * neither waits for the other in one while the other waits in another.
     */
    synchronized Ticket sent(String database, List<String> tables, boolean alone) {
        if (this.tables.size() >= MAX_TABLES) {
            this.tables.values().removeIf(known -> known.inFlight.size() == 0);
        }
        Ticket next = null;
        for (int i = tables.size() - 1; i >= 0; i--) {
            Table turns = this.tables.computeIfAbsent(database + '\0' + key(tables.get(i)), name -> new Table());
            long number = turns.inFlight.add();
            long awaits = alone ? number - 1 : turns.lastAlone;
            if (alone) {
                turns.lastAlone = number;
            }
            next = new Ticket(turns, number, awaits == 0 || turns.inFlight.doneUpTo(awaits) ? 0 : awaits, next);
        }
        return next;
    }

    /** Runs {@code then} on {@code executor} once every insert {@code ticket} waits for, in each of its tables, has answered. */
    void await(Ticket ticket, Executor executor, Runnable then) {
        Ticket next = ticket.next();
        ticket.table().inFlight.await(ticket.awaits(), executor, next == null ? then : () -> await(next, executor, then));
    }

    /** Stops waiting for the inserts {@code ticket} waits for that the leader has not answered. How many there were. */
    int giveUp(Ticket ticket) {
        int dropped = 0;
        for (Ticket turn = ticket; turn != null; turn = turn.next()) {
            dropped += turn.table().inFlight.forget(turn.awaits());
        }
        return dropped;
    }

    /** The leader has answered the insert, or never will. */
    void answered(Ticket ticket) {
        for (Ticket turn = ticket; turn != null; turn = turn.next()) {
            turn.table().inFlight.remove(turn.number());
        }
    }

    /** A table's name without its schema, as the server resolves it: a quoted name as written, another folded. */
    static String key(String spelled) {
        boolean quoted = false;
        int lastDot = -1;
        for (int i = 0; i < spelled.length(); i++) {
            char c = spelled.charAt(i);
            if (c == '"') {
                quoted = !quoted;
            } else if (c == '.' && !quoted) {
                lastDot = i;
            }
        }
        String name = spelled.substring(lastDot + 1).strip();
        return name.length() >= 2 && name.startsWith("\"") && name.endsWith("\"")
                ? name.substring(1, name.length() - 1).replace("\"\"", "\"")
                : name.toLowerCase(Locale.ROOT);
    }
}
