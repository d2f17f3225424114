package dev.bluegreen.proxy.dualwrite;

import dev.bluegreen.proxy.routing.ClusterRole;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The figures the dual-write engine keeps while it runs: what the health rules, the admin API and the
 * tests read. Counters are {@link LongAdder}s, bumped from every event loop without contention; the
 * divergence log keeps the most recent {@value #DIVERGENCES_KEPT}.
 *
 * <p>Listeners are told on the event loop that ran the unit, in the middle of its session's work: a
 * listener that throws is logged and counted ({@link #listenerFailures()}), never let through to the
 * session, and the other listeners are still told.
 */
public final class MigrationStats {

    private static final Logger log = LoggerFactory.getLogger(MigrationStats.class);

    public static final int DIVERGENCES_KEPT = 1000;

    /** The SQLSTATE of a statement cancelled (by a cancel request, or a statement timeout). */
    public static final String QUERY_CANCELED = "57014";

    /**
     * Hears every unit's outcome as it happens, on the event loop that ran it: the health rules' sliding
     * windows and the latency histograms are fed from here. Implementations must be quick and must not block.
     */
    public interface Listener {
        /**
         * @param read     the unit was a read (served by the weight's choice) rather than a write
         * @param nanos    from the unit's first message sent to its answer complete on {@code cluster}
         * @param sqlState the first error's SQLSTATE, or null when the unit succeeded
         */
        default void unitServed(ClusterRole cluster, boolean read, long nanos, String sqlState) { }

        /**
         * A unit the client cancelled, answered {@code 57014} by {@code cluster}: a unit served, as {@link
         * #unitServed} by default (with that SQLSTATE), but no sample of how well the cluster serves, since
         * the client chose to end it. Sessions stick to one cluster, so a few that cancel often would
         * otherwise raise that cluster's error rate above the other's for nothing the cluster did.
         */
        default void unitCancelled(ClusterRole cluster, boolean read, long nanos) {
            unitServed(cluster, read, nanos, QUERY_CANCELED);
        }

        /**
         * Blue answered a read green had failed before any byte of it reached the client (DESIGN 4.5): a unit
         * blue served, as {@link #unitServed} by default, but one the weight did not choose.
         */
        default void retryServed(ClusterRole cluster, long nanos, String sqlState) {
            unitServed(cluster, true, nanos, sqlState);
        }

        /**
         * The follower ran a write unit after the leader (its answer went to the comparison, not the client).
         *
         * @param nanos from the unit sent to the follower to its answer complete
         */
        default void followerRan(ClusterRole cluster, long nanos) { }

        /**
         * A read inside a read-write transaction, which the leader runs whatever the weight: a unit that cluster
         * served, as {@link #unitServed} by default, but no sample of the reads the weight sends to either
         * cluster, so not one to compare the other's reads with.
         */
        default void readInAWriteTransaction(ClusterRole cluster, long nanos, String sqlState) {
            unitServed(cluster, true, nanos, sqlState);
        }

        /** Green failed where blue, given the same work, did not. */
        default void greenError() { }

        /**
         * A read green failed before any byte reached the client failed on blue too (the application's error, a
         * statement timeout): green's attempt is a sample of green's own reads, as blue's failures of the kind
         * are of blue's, so that green's error rate on reads is compared with blue's on the same footing.
         */
        default void readFailedOnBoth(long greenNanos, String greenSqlState) { }

        default void readRetried() { }

        default void diverged(Divergence divergence) { }
    }

    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    private final Map<ClusterRole, LongAdder> unitsServed = new EnumMap<>(ClusterRole.class);
    private final LongAdder greenErrors = new LongAdder();
    private final LongAdder readRetries = new LongAdder();
    private final LongAdder mirrorDrops = new LongAdder();
    private final LongAdder greenReadsOverdue = new LongAdder();
    private final LongAdder unorderedStatements = new LongAdder();
    private final LongAdder cancelsTooLate = new LongAdder();
    private final LongAdder writesHeldForCommits = new LongAdder();
    private final LongAdder insertsHeldForDraws = new LongAdder();
    private final LongAdder commitsHeldForWrites = new LongAdder();
    private final LongAdder commitWaitsRanOut = new LongAdder();
    private final LongAdder pinnedSessions = new LongAdder();
    private final LongAdder twinsRemade = new LongAdder();
    private final LongAdder divergenceCount = new LongAdder();
    private final LongAdder listenerFailures = new LongAdder();
    private final AtomicBoolean listenerFailureLogged = new AtomicBoolean();
    private final Map<String, LongAdder> nonDeterministic = new ConcurrentHashMap<>();
    private final LongAdder nonDeterministicTotal = new LongAdder();
    private final Deque<Divergence> divergences = new ArrayDeque<>();

    public MigrationStats() {
        for (ClusterRole role : ClusterRole.values()) {
            unitsServed.put(role, new LongAdder());
        }
    }

    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    /** A unit whose answer the client received from {@code cluster}. */
    public void unitServed(ClusterRole cluster, boolean read, long nanos, String sqlState) {
        unitsServed.get(cluster).increment();
        for (Listener listener : listeners) {
            try {
                listener.unitServed(cluster, read, nanos, sqlState);
            } catch (RuntimeException e) {
                listenerFailed(listener, "unitServed", e);
            }
        }
    }

    /** See {@link Listener#unitCancelled}. */
    public void unitCancelled(ClusterRole cluster, boolean read, long nanos) {
        unitsServed.get(cluster).increment();
        for (Listener listener : listeners) {
            try {
                listener.unitCancelled(cluster, read, nanos);
            } catch (RuntimeException e) {
                listenerFailed(listener, "unitCancelled", e);
            }
        }
    }

    /** See {@link Listener#readInAWriteTransaction}. */
    public void readInAWriteTransaction(ClusterRole cluster, long nanos, String sqlState) {
        unitsServed.get(cluster).increment();
        for (Listener listener : listeners) {
            try {
                listener.readInAWriteTransaction(cluster, nanos, sqlState);
            } catch (RuntimeException e) {
                listenerFailed(listener, "readInAWriteTransaction", e);
            }
        }
    }

    /** See {@link Listener#retryServed}. */
    public void retryServed(ClusterRole cluster, long nanos, String sqlState) {
        unitsServed.get(cluster).increment();
        for (Listener listener : listeners) {
            try {
                listener.retryServed(cluster, nanos, sqlState);
            } catch (RuntimeException e) {
                listenerFailed(listener, "retryServed", e);
            }
        }
    }

    /** See {@link Listener#readFailedOnBoth}. */
    public void readFailedOnBoth(long greenNanos, String greenSqlState) {
        for (Listener listener : listeners) {
            try {
                listener.readFailedOnBoth(greenNanos, greenSqlState);
            } catch (RuntimeException e) {
                listenerFailed(listener, "readFailedOnBoth", e);
            }
        }
    }

    /** The follower ran a write unit behind the leader; whether it matched is told by {@link #diverged}. */
    public void followerRan(ClusterRole cluster, long nanos) {
        for (Listener listener : listeners) {
            try {
                listener.followerRan(cluster, nanos);
            } catch (RuntimeException e) {
                listenerFailed(listener, "followerRan", e);
            }
        }
    }

    /** Green failed where blue, given the same work, did not. */
    public void greenError() {
        greenErrors.increment();
        for (Listener listener : listeners) {
            try {
                listener.greenError();
            } catch (RuntimeException e) {
                listenerFailed(listener, "greenError", e);
            }
        }
    }

    public void readRetried() {
        readRetries.increment();
        for (Listener listener : listeners) {
            try {
                listener.readRetried();
            } catch (RuntimeException e) {
                listenerFailed(listener, "readRetried", e);
            }
        }
    }

    /** Green had not started answering a read it served within {@code timeouts.green_read}: cancelled there. */
    public void greenReadOverdue() {
        greenReadsOverdue.increment();
    }

    /** A write shadow mode could not queue for the follower. */
    public void mirrorDropped() {
        mirrorDrops.increment();
    }

    /** A statement that cannot run in a transaction block ran leader-then-follower without the ordering rule. */
    public void unordered() {
        unorderedStatements.increment();
    }

    /**
     * A client's cancel came once the leader had run its statement, while the proxy asked the leader what it made up
     * or the follower took it: too late for the statement, and not passed on (docs/dual-write.md, <i>Values generated
     * on the server</i>).
     */
    public void cancelTooLate() {
        cancelsTooLate.increment();
    }

    /**
     * A write held back from the leader until other sessions' COMMITs in flight there had answered, so that its
     * follower run waits for what the leader's may have seen.
     */
    public void writeHeldForCommits() {
        writesHeldForCommits.increment();
    }

    /**
     * An insert held back from the leader until other sessions' inserts into the same table had answered there, or
     * the insert of several rows they had waited for, so that the draws of one of several rows came one after the other.
     */
    public void insertHeldForDraws() {
        insertsHeldForDraws.increment();
    }

    /** A session whose state cannot be replayed on a twin, so the leader serves all its reads. */
    public void sessionPinned() {
        pinnedSessions.increment();
    }

    /** The follower ended a session's idle twin (an administrator, a timeout): a new one replaces it. */
    public void twinRemade() {
        twinsRemade.increment();
    }

    /**
     * Statement texts kept per fingerprint, at most; beyond them the count goes to {@link #OTHER_FINGERPRINTS}.
     * A client's SQL makes the fingerprints (an identifier is kept as written, a VALUES list of each length is
     * its own), so without a bound a client could make the proxy keep any number of them, of any length.
     */
    static final int FINGERPRINTS_KEPT = 1000;
    /** The longest statement text kept in a fingerprint or a divergence record; the rest is cut. */
    public static final int STATEMENT_CHARS_KEPT = 2000;
    public static final String OTHER_FINGERPRINTS = "(other statements: more than " + FINGERPRINTS_KEPT + " fingerprints)";

    /** A dual-executed statement whose result may legitimately differ between the clusters. */
    public void nonDeterministic(String fingerprint) {
        nonDeterministicTotal.increment();
        String kept = shortened(fingerprint);
        LongAdder count = nonDeterministic.get(kept);
        if (count == null) {
            // the bound is approximate under concurrency (by the number of event loops), which is enough here
            count = nonDeterministic.size() < FINGERPRINTS_KEPT
                    ? nonDeterministic.computeIfAbsent(kept, k -> new LongAdder())
                    : nonDeterministic.computeIfAbsent(OTHER_FINGERPRINTS, k -> new LongAdder());
        }
        count.increment();
    }

    /** Every non-deterministic statement counted, whatever its fingerprint. */
    public long nonDeterministicTotal() {
        return nonDeterministicTotal.sum();
    }

    static String shortened(String statement) {
        return statement == null || statement.length() <= STATEMENT_CHARS_KEPT ? statement
                : statement.substring(0, STATEMENT_CHARS_KEPT) + "…";
    }

    public void diverged(Divergence found) {
        Divergence divergence = found.statement() == null || found.statement().length() <= STATEMENT_CHARS_KEPT ? found
                : new Divergence(found.at(), found.session(), found.leaderCluster(), shortened(found.statement()),
                        found.leader(), found.follower(), found.difference());
        divergenceCount.increment();
        for (Listener listener : listeners) {
            try {
                listener.diverged(divergence);
            } catch (RuntimeException e) {
                listenerFailed(listener, "diverged", e);
            }
        }
        synchronized (divergences) {
            if (divergences.size() == DIVERGENCES_KEPT) {
                divergences.removeFirst();
            }
            divergences.addLast(divergence);
        }
    }

    /**
     * The first failure is logged with its stack trace; later ones (a broken listener fails on every unit)
     * only at debug, so a bug there cannot flood the log from every event loop.
     */
    private void listenerFailed(Listener listener, String event, RuntimeException e) {
        listenerFailures.increment();
        if (listenerFailureLogged.compareAndSet(false, true)) {
            log.error("migration stats listener failed listener={} event={}; its figures are incomplete from now on"
                    + " (further failures are logged at debug, counted in listenerFailures)",
                    listener.getClass().getName(), event, e);
        } else {
            log.debug("migration stats listener failed listener={} event={}", listener.getClass().getName(), event, e);
        }
    }

    /** How often a listener threw (and the event was dropped for it). */
    public long listenerFailures() {
        return listenerFailures.sum();
    }

    public long unitsServedBy(ClusterRole cluster) {
        return unitsServed.get(cluster).sum();
    }

    public long greenErrors() {
        return greenErrors.sum();
    }

    public long readRetries() {
        return readRetries.sum();
    }

    public long greenReadsOverdue() {
        return greenReadsOverdue.sum();
    }

    public long mirrorDrops() {
        return mirrorDrops.sum();
    }

    public long unorderedStatements() {
        return unorderedStatements.sum();
    }

    public long cancelsTooLate() {
        return cancelsTooLate.sum();
    }

    public long writesHeldForCommits() {
        return writesHeldForCommits.sum();
    }

    public long insertsHeldForDraws() {
        return insertsHeldForDraws.sum();
    }

    /**
     * A COMMIT held back from the leader until other sessions' wrapped writes in flight there had answered, so that
     * their follower runs go before its follower COMMIT.
     */
    public void commitHeldForWrites() {
        commitsHeldForWrites.increment();
    }

    /** Such a COMMIT went before every write had answered: its bound ran out (one waited for a row lock, say). */
    public void commitWaitForWritesRanOut() {
        commitWaitsRanOut.increment();
    }

    public long commitsHeldForWrites() {
        return commitsHeldForWrites.sum();
    }

    public long commitWaitsRanOut() {
        return commitWaitsRanOut.sum();
    }

    public long pinnedSessions() {
        return pinnedSessions.sum();
    }

    public long twinsRemade() {
        return twinsRemade.sum();
    }

    public long divergenceCount() {
        return divergenceCount.sum();
    }

    /** The most recent divergences, oldest first. */
    public List<Divergence> divergences() {
        synchronized (divergences) {
            return new ArrayList<>(divergences);
        }
    }

    /** Statement fingerprint (normalised SQL) → how often it ran dual while non-deterministic. */
    public Map<String, Long> nonDeterministicStatements() {
        Map<String, Long> copy = new TreeMap<>();
        nonDeterministic.forEach((fingerprint, count) -> copy.put(fingerprint, count.sum()));
        return copy;
    }
}
