package dev.bluegreen.proxy.store;

import dev.bluegreen.config.StateStoreConfig;
import dev.bluegreen.proxy.control.Plan;
import dev.bluegreen.proxy.control.RoutingControl.HistoryEntry;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.control.StateStore;
import dev.bluegreen.proxy.control.WriteBarrier;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code postgres} state store (DESIGN §7): proxy instances share the routing state through the tables
 * of {@link StateTables} in one database. A change is a compare-and-set on the epoch, committed together
 * with its history entry, the plan and the end of the barrier it needed, and announced by a {@code NOTIFY}
 * that PostgreSQL delivers at commit. Every instance {@code LISTEN}s, and also re-reads the state on each
 * heartbeat, in case a notification was lost with a connection.
 *
 * <p>Invariants:
 * <ul>
 * <li>What an instance hears reaches its peer in epoch order: each read of the shared rows, and the peer
 *     calls it leads to, happen under one lock, and each read sees at least what the one before saw.
 * <li>An instance's own saves never hold that lock while they talk to the database: a save stalled on a
 *     locked row or a silent connection holds up neither the news of other instances' changes nor the
 *     heartbeat. A stored state that is exactly a save still under way is held back until the save returns.
 * <li>A barrier another instance started is acknowledged only once this instance's own barrier has
 *     drained, and reopened only after the state that ends it was given to the peer, or once the barrier
 *     was abandoned, or {@link #EXPIRY_MARGIN} after its deadline: a dead owner never blocks writes for
 *     longer than that.
 * <li>An owner's barrier is complete when every other instance that heart-beat within the instance timeout
 *     has acknowledged it. An instance that stopped is left out; it serves no sessions.
 * </ul>
 *
 * <p>Threads, each with its own connection: a listener, blocked on notifications; a heartbeat thread, which
 * also writes acknowledgements; and the callers (command threads, never an event loop), who share a third.
 * Each reconnects after a failure and none dies of one.
 */
public final class PostgresStateStore implements StateStore {

    private static final Logger log = LoggerFactory.getLogger(PostgresStateStore.class);

    /** After a foreign barrier's deadline: by then its owner has given up, or died. */
    static final Duration EXPIRY_MARGIN = Duration.ofSeconds(2);

    private static final Duration ACK_POLL = Duration.ofMillis(15);
    private static final int LISTEN_WAIT_MILLIS = 5_000;
    private static final Duration RECONNECT_FIRST = Duration.ofMillis(100);
    private static final Duration RECONNECT_MAX = Duration.ofSeconds(5);

    private final String name;
    private final Duration heartbeat;
    /** This instance's state directory, locked from open to close (see {@link DirectoryLock}); null: none. */
    private final Path stateDir;
    private final Database database;
    private final StateTables tables;
    private final Database.Link commands;
    private final Database.Link beats;
    private final ScheduledThreadPoolExecutor beatThread;
    private final Thread listenerThread;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile Connection listenerConnection;
    private volatile boolean beatFailing;
    private volatile boolean registered;
    /** Whether {@link #open} found instances that had stopped without leaving. */
    private volatile boolean endedUncleanly;
    private volatile boolean closed;
    /** Something this instance knew was never saved: it leaves its row to go stale, as a crash does. */
    private volatile boolean notAllSaved;
    private volatile Peer peer;
    private DirectoryLock stateDirLock;

    /** Guards what this instance has heard, and the barrier it holds closed for another. */
    private final Object heard = new Object();
    private long seenEpoch;
    private long answeredBarrier;
    /** Read without the lock by the heartbeat, which must beat whatever holds the lock. */
    private volatile Held held;
    /** This instance's saves under way: what the store holds may be one of them, not news. */
    private final List<Saving> saving = new ArrayList<>();
    /** Something was stored while a save was under way, and not given to the peer yet. */
    private boolean newsHeldBack;

    /**
     * @param config   a {@link StateStoreConfig.Kind#POSTGRES} store
     * @param instance this instance's name, unique among those sharing the database ({@link #instanceName()})
     */
    public PostgresStateStore(StateStoreConfig config, String instance) {
        this(config, instance, null);
    }

    /**
     * As {@link #PostgresStateStore(StateStoreConfig, String)}, also holding this instance's local state
     * directory (its admin token lives there) against a second proxy from open to close.
     */
    public PostgresStateStore(StateStoreConfig config, String instance, Path stateDir) {
        if (config.kind() != StateStoreConfig.Kind.POSTGRES) {
            throw new IllegalArgumentException("not a postgres state store: " + config.describe());
        }
        this.name = Objects.requireNonNull(instance, "instance");
        this.stateDir = stateDir;
        this.heartbeat = config.heartbeat();
        this.database = new Database(config.database(), instance);
        this.tables = new StateTables(database.describe(), config.instanceTimeout());
        this.commands = database.new Link("commands");
        this.beats = database.new Link("heartbeat");
        this.beatThread = new ScheduledThreadPoolExecutor(1, r -> daemon(r, "bluegreen-store-heartbeat " + instance));
        // close() lets a running task finish and drops the rest: a reopen due later is done by close itself
        beatThread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        beatThread.setContinueExistingPeriodicTasksAfterShutdownPolicy(false);
        this.listenerThread = daemon(this::listen, "bluegreen-store-listener " + instance);
    }

    /** A name unique among instances: host, process id, and a short random part so that a restart differs. */
    public static String instanceName() {
        String random = HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
        return hostName() + "-" + ProcessHandle.current().pid() + "-" + random;
    }

    private static String hostName() {
        String fromEnvironment = System.getenv("HOSTNAME");
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            return fromEnvironment.trim();
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown-host";
        }
    }

    @Override
    public Snapshot open(Peer newPeer) throws Failure {
        if (peer != null || closed) {
            throw new IllegalStateException(describe() + " is already open or closed");
        }
        peer = Objects.requireNonNull(newPeer, "peer");
        if (stateDir != null) {
            DirectoryLock lock = DirectoryLock.take(stateDir);
            synchronized (this) {
                stateDirLock = lock;
            }
        }
        Snapshot snapshot;
        try {
            commands.transaction(c -> {
                tables.create(c);
                return null;
            });
            if (!commands.transaction(c -> tables.register(c, name))) {
                close();
                throw new Failure("an instance named " + name + " is already live in " + describe(), null);
            }
            registered = true;
            endedUncleanly = !departed(commands.transaction(c -> tables.claimDeparted(c, name))).isEmpty();
            snapshot = commands.transaction(c -> tables.load(c, 0));
        } catch (SQLException e) {
            close();
            throw failure("cannot open", e);
        }
        synchronized (heard) {
            seenEpoch = snapshot.state().epoch();
        }
        listenerThread.start();
        beatThread.scheduleWithFixedDelay(this::beat, heartbeat.toMillis(), heartbeat.toMillis(), TimeUnit.MILLISECONDS);
        log.info("state store opened store={} instance={} epoch={} history={}", describe(), name,
                snapshot.state().epoch(), snapshot.history().size());
        return snapshot;
    }

    @Override
    public SharedBarrier barrier(String command, long fromEpoch, Duration timeout) throws Conflict, Failure {
        StateTables.Opening opening;
        try {
            opening = commands.transaction(c -> {
                StateTables.Opening found = tables.openBarrier(c, name, command, fromEpoch, timeout);
                if (!(found instanceof StateTables.Opening.Opened)) {
                    c.rollback();
                }
                return found;
            });
        } catch (SQLException e) {
            throw failure("cannot start the write barrier", e);
        }
        return switch (opening) {
            case StateTables.Opening.Busy busy ->
                    throw new Conflict("another instance (" + busy.owner() + ") is changing the writer", null);
            case StateTables.Opening.EpochMoved moved ->
                    throw new Conflict("the stored epoch is " + moved.stored() + ", not " + fromEpoch, current(fromEpoch));
            case StateTables.Opening.Opened opened -> {
                log.info("write barrier started store={} instance={} barrier={} command={} epoch={}", describe(), name,
                        opened.barrierId(), command, fromEpoch);
                yield new OwnBarrier(opened.barrierId());
            }
        };
    }

    @Override
    public void save(long expectedEpoch, HistoryEntry change, Plan plan, SharedBarrier barrier) throws Conflict, Failure {
        String stateJson = StateCodec.writeState(change.state());
        String planJson = plan == null ? null : StateCodec.writePlan(plan);
        Long ending = barrier instanceof OwnBarrier own && own.store() == this ? own.id : null;
        // never under the lock that orders what this instance hears: a save stalled on a silent connection
        // or a locked row must not hold up news of the other instances' changes, nor the heartbeat
        Saving mine = new Saving(change.epoch(), stateJson, planJson);
        synchronized (heard) {
            saving.add(mine);
        }
        boolean saved = false;
        String barrierLost;
        try {
            String[] why = new String[1];
            saved = commands.transaction(c -> {
                if (ending != null) {
                    why[0] = tables.barrierStillHeld(c, name, ending);
                    if (why[0] != null) {
                        c.rollback();
                        return false;
                    }
                }
                if (!tables.saveState(c, expectedEpoch, change, stateJson, planJson)) {
                    c.rollback();
                    return false;
                }
                if (ending != null) {
                    tables.endBarrier(c, ending, "done");
                }
                StateTables.notify(c, StateTables.STATE_CHANNEL, Long.toString(change.epoch()));
                return true;
            });
            barrierLost = why[0];
        } catch (SQLException e) {
            throw failure("cannot save epoch " + change.epoch(), e);
        } finally {
            saved(mine, expectedEpoch, saved);
        }
        if (barrierLost != null) {
            throw new Conflict(barrierLost, null);
        }
        if (!saved) {
            Snapshot current = current(expectedEpoch);
            throw new Conflict("the stored epoch is " + current.state().epoch() + ", not " + expectedEpoch, current);
        }
    }

    /** Its own change is not news to this instance; what was held back while the save was under way is. */
    private void saved(Saving done, long expectedEpoch, boolean committed) {
        boolean catchUpNow;
        synchronized (heard) {
            saving.remove(done);
            if (committed && seenEpoch == expectedEpoch) {
                seenEpoch = done.epoch();
            }
            catchUpNow = newsHeldBack && saving.isEmpty();
            if (catchUpNow) {
                newsHeldBack = false;
            }
        }
        if (catchUpNow) {
            onBeatThread(() -> {
                try {
                    catchUpOnBeats();
                } catch (SQLException e) {
                    log.debug("state store catch-up after a save failed; the heartbeat tries again store={} instance={} reason={}",
                            describe(), name, e.getMessage());
                }
            }, 0);
        }
    }

    @Override
    public String instance() {
        return name;
    }

    @Override
    public boolean shared() {
        return true;
    }

    @Override
    public String describe() {
        return "postgres " + database.describe();
    }

    /**
     * The row stays (see {@link #close}): a live instance, or the next to open the store, finds its heartbeat
     * stopped and acts as after a crash (rolls green's reads back before cutover).
     */
    @Override
    public void notAllSaved() {
        notAllSaved = true;
    }

    /**
     * Stops both threads, reopens a barrier held for another instance, and leaves the instances table, unless
     * something was never saved ({@link #notAllSaved}).
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        stop();
        synchronized (heard) {
            if (held != null) {
                reopen(held, "this instance is closing");
            }
        }
        if (registered && notAllSaved) {
            log.warn("instance left in the store: it stopped with changes never saved, so the instance that notices its"
                    + " heartbeat stop acts as after a crash store={} instance={}", describe(), name);
        } else if (registered) {
            try {
                commands.transaction(c -> {
                    tables.leave(c, name);
                    return null;
                });
            } catch (SQLException e) {
                log.warn("instance not removed; it drops out of barriers once its heartbeat is old store={} instance={} reason={}",
                        describe(), name, e.getMessage());
            }
        }
        commands.close();
        releaseStateDir();
        log.info("state store closed store={} instance={}", describe(), name);
    }

    private synchronized void releaseStateDir() {
        if (stateDirLock != null) {
            stateDirLock.close();
            stateDirLock = null;
        }
    }

    /** How many of this instance's saves are under way. For tests. */
    int savesUnderWay() {
        synchronized (heard) {
            return saving.size();
        }
    }

    /** As if the process had been killed: threads and connections stop, the instance row stays. For tests. */
    void halt() {
        if (!closed) {
            stop();
            commands.abort();
            releaseStateDir();
        }
    }

    private void stop() {
        closed = true;
        stopped.countDown();
        beatThread.shutdown();
        Database.abort(listenerConnection); // wakes the listener out of its wait
        try {
            if (listenerThread.isAlive()) {
                listenerThread.join(TimeUnit.SECONDS.toMillis(2));
            }
            if (!beatThread.awaitTermination(2, TimeUnit.SECONDS)) {
                beats.abort();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        beats.close();
    }

    /** For a {@link Conflict}: what is stored now, with the history the caller may not have heard of. */
    private Snapshot current(long callerEpoch) throws Failure {
        long since;
        synchronized (heard) {
            since = Math.min(seenEpoch, callerEpoch);
        }
        try {
            return commands.transaction(c -> tables.load(c, since));
        } catch (SQLException e) {
            throw failure("cannot reload after a conflict", e);
        }
    }

    // ---- what the other instances do, heard on the listener and heartbeat threads

    private void listen() {
        Duration wait = RECONNECT_FIRST;
        Connection c = null;
        while (!closed) {
            try {
                if (c == null) {
                    c = database.connect("listener");
                    listenerConnection = c;
                    if (closed) {
                        break;
                    }
                    try (Statement s = c.createStatement()) {
                        s.execute("LISTEN " + StateTables.STATE_CHANNEL);
                        s.execute("LISTEN " + StateTables.BARRIER_CHANNEL);
                    }
                    if (!wait.equals(RECONNECT_FIRST)) {
                        log.info("state store listener reconnected store={} instance={}", describe(), name);
                    }
                    wait = RECONNECT_FIRST;
                    catchUp(c); // whatever happened while nobody listened
                }
                PGNotification[] notifications = c.unwrap(PGConnection.class).getNotifications(LISTEN_WAIT_MILLIS);
                if (notifications != null && notifications.length > 0) {
                    catchUp(c);
                } else if (!c.isValid(5)) {
                    // a network that went silent never fails a blocked read: look for ourselves
                    throw new SQLException("the listener connection stopped answering", "08006");
                }
            } catch (SQLException e) {
                if (closed) {
                    break;
                }
                if (c != null && !Database.broken(c, e)) {
                    // the connection is fine, what it read is not: the heartbeat will report it again
                    log.error("state store listener cannot read the shared state store={} instance={} reason={}",
                            describe(), name, e.getMessage());
                    continue;
                }
                log.warn("state store listener lost its connection store={} instance={} retryInMs={} reason={}",
                        describe(), name, wait.toMillis(), e.getMessage());
                Database.closeQuietly(c);
                c = null;
                listenerConnection = null;
                if (pause(wait)) {
                    break;
                }
                wait = wait.multipliedBy(2).compareTo(RECONNECT_MAX) > 0 ? RECONNECT_MAX : wait.multipliedBy(2);
            } catch (RuntimeException e) {
                log.error("state store listener failed store={} instance={}", describe(), name, e);
                if (pause(wait)) {
                    break;
                }
            }
        }
        Database.closeQuietly(c);
        listenerConnection = null;
    }

    /** True when the store was stopped while waiting. */
    private boolean pause(Duration wait) {
        try {
            return stopped.await(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    /** Says this instance is alive (and who holds up a barrier it closed), then looks for news it missed. */
    private void beat() {
        try {
            List<String> holders = holdersNow();
            List<String> departed = departed(beats.transaction(c -> {
                if (!tables.heartbeat(c, name, holders)) {
                    // removed by hand, by a close that raced, or by another instance that took this one's
                    // silence for a crash: a running instance must count in barriers
                    tables.register(c, name);
                    log.warn("state store instance registered again store={} instance={}", describe(), name);
                }
                return tables.claimDeparted(c, name);
            }));
            if (!departed.isEmpty()) {
                peer.departed(departed);
            }
            Held unacknowledged;
            synchronized (heard) {
                unacknowledged = held != null && held.drained && !held.acknowledged ? held : null;
            }
            if (unacknowledged != null) {
                acknowledge(unacknowledged);
            }
            catchUpOnBeats();
            if (beatFailing) {
                beatFailing = false;
                log.info("state store reachable again store={} instance={}", describe(), name);
            }
        } catch (SQLException e) {
            if (!beatFailing && !closed) {
                beatFailing = true;
                log.warn("state store heartbeat failed store={} instance={} reason={}", describe(), name, e.getMessage());
            }
        } catch (RuntimeException e) {
            // a task that throws is never run again: the heartbeat must outlive any one failure
            log.error("state store heartbeat failed store={} instance={}", describe(), name, e);
        }
    }

    /** {@link #catchUp} on the heartbeat's connection, whose thread this runs on. */
    private void catchUpOnBeats() throws SQLException {
        beats.transaction(c -> {
            catchUp(c);
            return null;
        });
    }

    /** Says which instances stopped without leaving the store: their names. */
    private List<String> departed(List<StateTables.Departed> departed) {
        for (StateTables.Departed d : departed) {
            log.warn("state store instance stopped without leaving (killed, crashed, its machine lost) store={} instance={}"
                    + " gone={} started={} lastHeartbeat={}", describe(), name, d.name(), d.startedAt(), d.lastHeartbeat());
        }
        return departed.stream().map(StateTables.Departed::name).toList();
    }

    @Override
    public boolean endedUncleanly() {
        return endedUncleanly;
    }

    /** Without the lock: the heartbeat never waits for a catch-up or a save. */
    private List<String> holdersNow() {
        Held h = held;
        return h == null || h.drained ? List.of() : h.closed.holders();
    }

    /**
     * Gives the peer what changed since this instance last looked, then acts on the barrier row: reopens a
     * barrier held for a change now in force here (or given up), closes for a new one.
     */
    private void catchUp(Connection c) throws SQLException {
        synchronized (heard) {
            StateTables.Shared now = tables.readShared(c);
            if (now.epoch() > seenEpoch) {
                if (ownSaveUnderWay(now)) {
                    // given once the save returns: the barrier too, whose end may be this very change
                    newsHeldBack = true;
                    return;
                }
                RoutingState state = tables.state(now.epoch(), now.stateJson());
                List<HistoryEntry> entries = tables.history(c, seenEpoch, now.epoch());
                peer.recorded(entries);
                // the plan changes only with a new epoch, and is published with the state it was saved with
                peer.changed(state, tables.plan(now.planJson()));
                seenEpoch = now.epoch();
            }
            // only now that the state which ends it is in force here: units admitted after this one see it.
            // A deadline that passed is no end: the owner may be saving right now (expire() waits longer).
            if (held != null && (now.epoch() > held.fromEpoch || now.barrierId() != held.id || !now.closing())) {
                reopen(held, now.barrierId() != held.id ? "another barrier started"
                        : now.epoch() > held.fromEpoch ? "epoch " + now.epoch() + " in force" : now.status());
            }
            if (held == null && now.open() && now.barrierId() > answeredBarrier && !name.equals(now.owner())
                    && now.epoch() == now.fromEpoch()) {
                answeredBarrier = now.barrierId();
                closeFor(now);
            }
        }
    }

    /**
     * Holding {@link #heard}: whether the stored state may be a change this instance is saving whose save
     * has not returned. Only the very state saved can be; anything else is another instance's news.
     */
    private boolean ownSaveUnderWay(StateTables.Shared now) {
        for (Saving s : saving) {
            if (s.epoch() == now.epoch() && s.stateJson().equals(now.stateJson())
                    && Objects.equals(s.planJson(), now.planJson())) {
                return true;
            }
        }
        return false;
    }

    private void closeFor(StateTables.Shared barrier) {
        WriteBarrier.Closed closed;
        try {
            closed = peer.closeBarrier();
        } catch (IllegalStateException busy) {
            // never acknowledged: the owner times out naming this instance, and nothing changes
            log.warn("write barrier of another instance not acknowledged store={} instance={} barrier={} owner={} reason={}",
                    describe(), name, barrier.barrierId(), barrier.owner(), busy.getMessage());
            return;
        }
        Held h = new Held(barrier.barrierId(), barrier.owner(), barrier.fromEpoch(), closed);
        held = h;
        log.info("write barrier closed for another instance store={} instance={} barrier={} owner={} command={} epoch={}",
                describe(), name, h.id, h.owner, barrier.command(), h.fromEpoch);
        // drained may complete on an event loop: acknowledging is I/O, done on the heartbeat thread
        closed.drained().whenComplete((ok, failure) -> onBeatThread(() -> acknowledge(h), 0));
        onBeatThread(this::reportHolders, 0);
        onBeatThread(() -> expire(h), barrier.millisLeft() + EXPIRY_MARGIN.toMillis());
    }

    /** Runs on the heartbeat thread, which tries again at each beat until it is written or the barrier ends. */
    private void acknowledge(Held h) {
        synchronized (heard) {
            if (held != h) {
                return;
            }
            h.drained = true;
            try {
                beats.transaction(c -> {
                    tables.acknowledge(c, name, h.id);
                    return null;
                });
                h.acknowledged = true;
            } catch (SQLException e) {
                log.warn("write barrier not acknowledged yet store={} instance={} barrier={} reason={}", describe(), name,
                        h.id, e.getMessage());
                return;
            }
        }
        log.info("write barrier acknowledged store={} instance={} barrier={} owner={}", describe(), name, h.id, h.owner);
    }

    /** At once rather than at the next heartbeat: an owner that times out names these sessions. */
    private void reportHolders() {
        List<String> holders = holdersNow();
        try {
            beats.transaction(c -> {
                tables.reportHolders(c, name, holders);
                return null;
            });
        } catch (SQLException e) {
            log.debug("write barrier holders not reported store={} instance={} reason={}", describe(), name, e.getMessage());
        }
    }

    private void expire(Held h) {
        synchronized (heard) {
            if (held == h) {
                reopen(h, "its deadline passed");
            }
        }
    }

    private void reopen(Held h, String why) {
        held = null;
        h.closed.reopen();
        log.info("write barrier reopened store={} instance={} barrier={} owner={} reason={}", describe(), name, h.id,
                h.owner, why);
    }

    private void onBeatThread(Runnable task, long delayMillis) {
        try {
            beatThread.schedule(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    log.error("state store task failed store={} instance={}", describe(), name, e);
                }
            }, delayMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closing) {
            log.debug("state store task dropped while closing store={} instance={}", describe(), name);
        }
    }

    /** A change this instance is saving, as it is written to the store. */
    private record Saving(long epoch, String stateJson, String planJson) {}

    /** A barrier another instance started, closed here until it ends. */
    private static final class Held {
        final long id;
        final String owner;
        final long fromEpoch;
        final WriteBarrier.Closed closed;
        // written under heard; drained also read without it, by the heartbeat
        volatile boolean drained;
        boolean acknowledged;

        Held(long id, String owner, long fromEpoch, WriteBarrier.Closed closed) {
            this.id = id;
            this.owner = owner;
            this.fromEpoch = fromEpoch;
            this.closed = closed;
        }
    }

    /** A barrier this instance started: complete once every other live instance acknowledged it. */
    private final class OwnBarrier implements SharedBarrier {
        final long id;

        OwnBarrier(long id) {
            this.id = id;
        }

        PostgresStateStore store() {
            return PostgresStateStore.this;
        }

        @Override
        public List<String> awaitAcknowledged(long deadlineNanos) throws Failure, InterruptedException {
            while (true) {
                List<String> waiting;
                try {
                    waiting = unacknowledged();
                } catch (SQLException e) {
                    throw failure("cannot read the write barrier's acknowledgements", e);
                }
                long left = deadlineNanos - System.nanoTime();
                if (waiting.isEmpty() || left <= 0) {
                    return waiting;
                }
                TimeUnit.NANOSECONDS.sleep(Math.min(left, ACK_POLL.toNanos()));
            }
        }

        @Override
        public List<String> holders() {
            try {
                return unacknowledged();
            } catch (SQLException e) {
                return List.of("the other instances (" + describe() + " failed: " + e.getMessage() + ")");
            }
        }

        @Override
        public void abandon(String why) {
            try {
                commands.transaction(c -> {
                    tables.endBarrier(c, id, "abandoned");
                    StateTables.notify(c, StateTables.BARRIER_CHANNEL, Long.toString(id));
                    return null;
                });
                log.info("write barrier abandoned store={} instance={} barrier={} reason={}", describe(), name, id, why);
            } catch (SQLException | RuntimeException e) {
                log.warn("write barrier not marked abandoned; the others reopen after its deadline store={} instance={} barrier={} reason={}",
                        describe(), name, id, e.getMessage());
            }
        }

        private List<String> unacknowledged() throws SQLException {
            return commands.transaction(c -> tables.unacknowledged(c, name, id));
        }
    }

    private Failure failure(String what, SQLException e) {
        return new Failure(what + " (" + describe() + "): " + e.getMessage(), e);
    }

    private static Thread daemon(Runnable task, String threadName) {
        Thread thread = new Thread(task, threadName);
        thread.setDaemon(true);
        return thread;
    }
}
