package dev.bluegreen.proxy.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.Secret;
import dev.bluegreen.config.StateStoreConfig;
import dev.bluegreen.config.TlsMode;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.control.FollowerWrites;
import dev.bluegreen.proxy.control.Phase;
import dev.bluegreen.proxy.control.Plan;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingControl.HistoryEntry;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.control.StateStore;
import dev.bluegreen.proxy.control.WriteBarrier;
import dev.bluegreen.proxy.it.Frozen;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several proxy instances sharing their routing state in a real PostgreSQL database: a change made on one
 * is in force on the other, a stale compare-and-set loses, and a change of writer waits for the other
 * instance's write units (or names them when they never finish), leaving out an instance that stopped.
 */
@ExtendWith(BlueGreenClusters.class)
class PostgresStateStoreIT {

    private static final String DATABASE = "bluegreen_state_it_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    private static final Duration HEARTBEAT = Duration.ofMillis(200);
    private static final Duration INSTANCE_TIMEOUT = Duration.ofSeconds(1);
    /**
     * For an instance that waits for another which stays alive: a loaded machine may stall that one's heartbeat past
     * {@link #INSTANCE_TIMEOUT}, and the waiting instance would then leave it out of the barrier.
     */
    private static final Duration PATIENT_INSTANCE_TIMEOUT = Duration.ofSeconds(15);
    private static final Plan PLAN = new Plan(List.of(5, 25, 100), Duration.ofMinutes(5), 1, Plan.Status.RUNNING,
            Instant.parse("2025-06-01T10:05:00Z"), null);

    private static PgCluster postgres;

    /** Copied on write: instances opened on other threads are added while teardown may walk it. */
    private final List<AutoCloseable> opened = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void createDatabase(TestClusters clusters) {
        postgres = clusters.blue();
        postgres.execute("postgres", "CREATE DATABASE " + DATABASE);
    }

    @AfterAll
    static void dropDatabase() {
        if (postgres != null) {
            postgres.execute("postgres", "DROP DATABASE IF EXISTS " + DATABASE + " WITH (FORCE)");
        }
    }

    @BeforeEach
    void startFromNoTables() {
        postgres.execute(DATABASE, "DROP TABLE IF EXISTS bluegreen_state, bluegreen_history, bluegreen_instances, bluegreen_barrier");
    }

    @AfterEach
    void closeEverything() throws Exception {
        for (AutoCloseable closeable : opened.reversed()) {
            closeable.close();
        }
    }

    private static StateStoreConfig config(Duration heartbeat, Duration instanceTimeout) {
        Cluster cluster = new Cluster("state", postgres.host(), postgres.port(), DATABASE, Map.of(), TlsMode.DISABLE, null,
                postgres.superuser(), postgres.superuserPassword() == null ? null : Secret.of(postgres.superuserPassword()));
        return new StateStoreConfig(StateStoreConfig.Kind.POSTGRES, cluster, heartbeat, instanceTimeout);
    }

    private PostgresStateStore store(String name, Duration heartbeat, Duration instanceTimeout) {
        PostgresStateStore store = new PostgresStateStore(config(heartbeat, instanceTimeout), name);
        opened.add(store);
        return store;
    }

    private RoutingControl control(PostgresStateStore store, Duration barrierTimeout) throws StateStore.Failure {
        RoutingControl control = RoutingControl.open(store, barrierTimeout);
        opened.add(control);
        return control;
    }

    private RoutingControl control(String name, Duration barrierTimeout) throws StateStore.Failure {
        return control(store(name, HEARTBEAT, INSTANCE_TIMEOUT), barrierTimeout);
    }

    /**
     * An instance saving the change that ends its barrier and another opening a barrier at the same moment
     * lock the state row first, both of them: neither holds the row the other waits for. Before, the save
     * locked the barrier row first and the opening the state row first, and Postgres aborted one of the two
     * as a deadlock (40P01) once both waited.
     */
    @Test
    void aSaveEndingABarrierAndAnotherInstanceOpeningOneDoNotDeadlock() throws Exception {
        RoutingControl a = control("a", Duration.ofSeconds(5));
        long epoch = a.current().epoch();
        StateTables tables = new StateTables("test", INSTANCE_TIMEOUT);
        try (Connection saving = postgres.connect(DATABASE); Connection opening = postgres.connect(DATABASE)) {
            saving.setAutoCommit(false);
            opening.setAutoCommit(false);
            long barrier = ((StateTables.Opening.Opened) tables.openBarrier(saving, "a", "cutover", epoch,
                    Duration.ofSeconds(30))).barrierId();
            saving.commit();

            assertThat(tables.barrierStillHeld(saving, "a", barrier)).isNull();
            CompletableFuture<StateTables.Opening> other = new CompletableFuture<>();
            Thread.ofPlatform().start(() -> {
                try {
                    other.complete(tables.openBarrier(opening, "b", "cutover", epoch, Duration.ofSeconds(30)));
                } catch (SQLException e) {
                    other.completeExceptionally(e);
                }
            });
            await("the other instance waits for a row lock").until(() -> {
                try (Connection watch = postgres.connect("postgres"); Statement s = watch.createStatement();
                     ResultSet rs = s.executeQuery("select count(*) from pg_stat_activity where datname = '" + DATABASE
                             + "' and wait_event_type = 'Lock'")) {
                    rs.next();
                    return rs.getInt(1) == 1;
                }
            });
            RoutingState next = new RoutingState(epoch + 1, ClusterRole.GREEN, FollowerWrites.SYNC, 100, true, false, false);
            assertThat(tables.saveState(saving, epoch, new HistoryEntry(Instant.now(), next.epoch(), "a", "cutover", null, next),
                    StateCodec.writeState(next), null)).isTrue();
            tables.endBarrier(saving, barrier, "done");
            saving.commit();

            assertThat(other).succeedsWithin(Duration.ofSeconds(10))
                    .isEqualTo(new StateTables.Opening.EpochMoved(epoch + 1));
            opening.rollback();
        }
    }

    /** What another instance would have saved, written straight into the tables with no NOTIFY: a lost notification. */
    private static RoutingState changeBehindTheirBacks(long fromEpoch) throws SQLException {
        RoutingState next = new RoutingState(fromEpoch + 1, ClusterRole.BLUE, FollowerWrites.OFF, 0, false, true, false);
        HistoryEntry entry = new HistoryEntry(Instant.now(), next.epoch(), "elsewhere", "freeze", null, next);
        try (Connection c = postgres.connect(DATABASE);
             PreparedStatement update = c.prepareStatement("UPDATE bluegreen_state SET epoch = ?, state = ? WHERE id = 1 AND epoch = ?");
             PreparedStatement insert = c.prepareStatement("INSERT INTO bluegreen_history (epoch, entry) VALUES (?, ?)")) {
            // one transaction, as an instance's save is: a heartbeat between two autocommits would see
            // the new epoch without its history entry
            c.setAutoCommit(false);
            update.setLong(1, next.epoch());
            update.setString(2, StateCodec.writeState(next));
            update.setLong(3, fromEpoch);
            assertThat(update.executeUpdate()).isEqualTo(1);
            insert.setLong(1, next.epoch());
            insert.setString(2, StateCodec.writeEntry(entry));
            insert.executeUpdate();
            c.commit();
        }
        return next;
    }

    /** The instance's listener has read the shared rows once since it began to listen, and waits. */
    private static boolean listenerCaughtUp(String instance) throws SQLException {
        try (Connection c = postgres.connect(DATABASE);
             PreparedStatement select = c.prepareStatement("""
                     SELECT count(*) FROM pg_stat_activity
                     WHERE datname = ? AND application_name = ? AND state = 'idle' AND query LIKE '%CROSS JOIN bluegreen_barrier%'""")) {
            select.setString(1, DATABASE);
            select.setString(2, "bluegreen listener " + instance);
            try (ResultSet rs = select.executeQuery()) {
                rs.next();
                return rs.getInt(1) == 1;
            }
        }
    }

    /** The sessions an instance reported as holding up a barrier, read straight from the table. */
    private static List<String> reportedHolders(String instance) throws SQLException {
        try (Connection c = postgres.connect(DATABASE);
             PreparedStatement select = c.prepareStatement("SELECT holders FROM bluegreen_instances WHERE name = ?")) {
            select.setString(1, instance);
            try (ResultSet rs = select.executeQuery()) {
                if (!rs.next()) {
                    return List.of();
                }
                Array holders = rs.getArray(1);
                return List.of((String[]) holders.getArray());
            }
        }
    }

    private static CompletableFuture<RoutingState> inBackground(Command command) {
        CompletableFuture<RoutingState> result = new CompletableFuture<>();
        Thread.ofPlatform().name("command").daemon().start(() -> {
            try {
                result.complete(command.run());
            } catch (Exception e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    private interface Command {
        RoutingState run() throws Exception;
    }

    @Test
    void aChangeOnOneInstanceIsInForceOnTheOtherWithinMilliseconds() throws Exception {
        // both at once: creating the tables must not race
        CompletableFuture<RoutingControl> startingA = CompletableFuture.supplyAsync(() -> open("a"));
        CompletableFuture<RoutingControl> startingB = CompletableFuture.supplyAsync(() -> open("b"));
        CompletableFuture.allOf(startingA, startingB).join(); // both done, even where one failed: teardown closes both
        RoutingControl a = startingA.join();
        RoutingControl b = startingB.join();
        CompletableFuture<Long> heardAt = new CompletableFuture<>();
        b.onChange(state -> heardAt.complete(System.nanoTime()));

        long before = System.nanoTime();
        RoutingState frozen = a.freeze("alice", true, null);

        await().atMost(Duration.ofSeconds(5)).until(() -> b.current().equals(frozen));
        System.out.printf("state store: epoch %d in force on the other instance after %d ms%n", frozen.epoch(),
                (heardAt.join() - before) / 1_000_000);
        assertThat(b.history()).extracting(HistoryEntry::actor, HistoryEntry::command)
                .containsExactly(tuple("alice", "freeze"));

        RoutingState withPlan = a.replacePlan("alice", "rollout", PLAN);

        await().atMost(Duration.ofSeconds(5)).until(() -> b.plan().equals(Optional.of(PLAN)));
        assertThat(b.current()).isEqualTo(withPlan);
        assertThat(withPlan.epoch()).isEqualTo(frozen.epoch() + 1);
    }

    private RoutingControl open(String name) {
        try {
            return control(name, Duration.ofSeconds(5));
        } catch (StateStore.Failure e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aStaleCompareAndSetIsRefusedAndTheLoserReloads() throws Exception {
        // a heartbeat too slow to notice within the test: only the refused save tells b
        RoutingControl b = control(store("b", Duration.ofSeconds(30), Duration.ofSeconds(60)), Duration.ofSeconds(5));
        await().atMost(Duration.ofSeconds(5)).until(() -> listenerCaughtUp("b"));
        RoutingState elsewhere = changeBehindTheirBacks(1);

        assertThatThrownBy(() -> b.start("bob", null))
                .isInstanceOf(RoutingControl.Refused.class)
                .hasMessageContaining("another proxy instance changed the routing state first")
                .satisfies(e -> assertThat(((RoutingControl.Refused) e).why()).isEqualTo(RoutingControl.Refused.Why.CONFLICT));
        assertThat(b.current()).isEqualTo(elsewhere);
        assertThat(b.history()).extracting(HistoryEntry::actor).containsExactly("elsewhere");

        assertThatThrownBy(() -> b.freeze("bob", true, null)).hasMessageContaining("already frozen");
        assertThat(b.freeze("bob", false, null).epoch()).isEqualTo(3);
    }

    @Test
    void aChangeWhoseNotificationWasLostIsFoundByTheHeartbeat() throws Exception {
        RoutingControl b = control("b", Duration.ofSeconds(5));

        RoutingState elsewhere = changeBehindTheirBacks(1);

        await().atMost(Duration.ofSeconds(3)).until(() -> b.current().equals(elsewhere));
        assertThat(b.history()).extracting(HistoryEntry::epoch).containsExactly(2L);
    }

    @Test
    void aChangeOfWriterWaitsForTheOtherInstancesWriteUnitAndTheNextUnitThereSeesIt() throws Exception {
        RoutingControl a = control(store("a", HEARTBEAT, PATIENT_INSTANCE_TIMEOUT), Duration.ofSeconds(10));
        RoutingControl b = control("b", Duration.ofSeconds(10));
        WriteBarrier.Pass inside = b.barrier().pass("session-7");
        assertThat(b.barrier().tryEnter(inside, () -> { })).isTrue();

        CompletableFuture<RoutingState> start = inBackground(() -> a.start("alice", null));

        await().atMost(Duration.ofSeconds(5)).until(() -> reportedHolders("b").equals(List.of("session-7")));
        AtomicReference<RoutingState> seenByNextUnit = new AtomicReference<>();
        WriteBarrier.Pass next = b.barrier().pass("session-8");
        assertThat(b.barrier().tryEnter(next, () -> seenByNextUnit.set(b.current()))).as("b's barrier is closed").isFalse();
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> !start.isDone());

        b.barrier().exit(inside);

        RoutingState started = start.get();
        assertThat(started.phase()).isEqualTo(Phase.DUAL);
        await().atMost(Duration.ofSeconds(5)).until(() -> seenByNextUnit.get() != null);
        assertThat(seenByNextUnit.get()).as("published before the barrier reopened").isEqualTo(started);
        assertThat(b.current()).isEqualTo(started);
    }

    @Test
    void aChangeOfWriterHeldUpOnTheOtherInstanceTimesOutNamingItAndItsSession() throws Exception {
        RoutingControl a = control(store("a", HEARTBEAT, PATIENT_INSTANCE_TIMEOUT), Duration.ofSeconds(1));
        RoutingControl b = control("b", Duration.ofSeconds(10));
        assertThat(b.barrier().tryEnter(b.barrier().pass("session-7"), () -> { })).isTrue();
        CountDownLatch admitted = new CountDownLatch(1);

        CompletableFuture<RoutingState> start = inBackground(() -> a.start("alice", null));
        await().atMost(Duration.ofSeconds(5)).until(() -> reportedHolders("b").equals(List.of("session-7")));
        assertThat(b.barrier().tryEnter(b.barrier().pass("session-8"), admitted::countDown)).isFalse();

        assertThat(start).failsWithin(Duration.ofSeconds(5))
                .withThrowableOfType(ExecutionException.class)
                .havingCause()
                .isInstanceOf(RoutingControl.Refused.class)
                .withMessageContaining("start did not happen: write barrier timed out")
                .withMessageContaining("b [session-7]");
        assertThat(a.current()).isEqualTo(RoutingState.initial());
        await().atMost(Duration.ofSeconds(5)).until(() -> admitted.getCount() == 0); // abandoned: b reopened
        assertThat(b.current()).isEqualTo(RoutingState.initial());
    }

    @Test
    void anInstanceThatStoppedHeartBeatingIsLeftOutOfTheBarrier() throws Exception {
        RoutingControl a = control("a", Duration.ofSeconds(5));
        PostgresStateStore stopped = store("c", HEARTBEAT, INSTANCE_TIMEOUT);
        RoutingControl c = control(stopped, Duration.ofSeconds(5));
        assertThat(c.barrier().tryEnter(c.barrier().pass("session-9"), () -> { })).isTrue();

        stopped.halt(); // as kill -9 would: its row stays, its heartbeat stops
        long before = System.nanoTime();
        RoutingState started = a.start("alice", null);

        long waitedMillis = (System.nanoTime() - before) / 1_000_000;
        System.out.printf("state store: a stopped instance was left out of the barrier after %d ms%n", waitedMillis);
        assertThat(started.phase()).isEqualTo(Phase.DUAL);
        assertThat(waitedMillis).as("waited for its heartbeat to grow old").isGreaterThanOrEqualTo(INSTANCE_TIMEOUT.minus(HEARTBEAT).toMillis() / 2);
    }

    /**
     * An instance killed during dual-write may have cut a follower's COMMIT off unreported: the live instance
     * that finds its heartbeat stopped rolls green's reads back and says to run verify, as a restart on the
     * file store does, and removes its row, so that no other instance does it again.
     */
    @Test
    void anInstanceKilledWhileGreenServedReadsMakesAnotherRollGreensReadsBack() throws Exception {
        RoutingControl a = control("a", Duration.ofSeconds(5));
        RoutingControl b = control("b", Duration.ofSeconds(5));
        PostgresStateStore dying = store("c", HEARTBEAT, INSTANCE_TIMEOUT);
        RoutingControl c = control(dying, Duration.ofSeconds(5));
        a.start("alice", null);
        a.setWeight("alice", 50, null);
        await().atMost(Duration.ofSeconds(5)).until(() -> c.current().weight() == 50);

        dying.halt(); // as kill -9 would: its row stays, its heartbeat stops

        await().atMost(Duration.ofSeconds(10)).until(() -> a.current().weight() == 0 && b.current().weight() == 0);
        assertThat(a.current().phase()).isEqualTo(Phase.DUAL);
        List<HistoryEntry> rollbacks = a.history().stream().filter(e -> e.command().equals("rollback")).toList();
        assertThat(rollbacks).singleElement().satisfies(e -> {
            assertThat(e.actor()).isEqualTo("heartbeat");
            assertThat(e.reason()).contains("proxy instance c stopped without shutting down", "run bgctl verify");
        });
        assertThat(instances()).containsExactlyInAnyOrder("a", "b");
    }

    /**
     * A stop that knew of something never saved (here a follower lost that could not be reported) leaves its
     * row to go stale, as a crash does, and a live instance rolls green's reads back. Before, the row was
     * removed as on a clean stop, and the others kept serving reads from a green that may have missed writes.
     */
    @Test
    void anInstanceStoppingWithALostFollowerUnreportedMakesAnotherRollGreensReadsBack() throws Exception {
        RoutingControl a = control("a", Duration.ofSeconds(5));
        PostgresStateStore stopping = store("c", HEARTBEAT, INSTANCE_TIMEOUT);
        RoutingControl c = control(stopping, Duration.ofSeconds(5));
        a.start("alice", null);
        a.setWeight("alice", 50, null);
        await().atMost(Duration.ofSeconds(5)).until(() -> c.current().weight() == 50);

        c.reportsLost();
        c.close();

        await().atMost(Duration.ofSeconds(10)).until(() -> a.current().weight() == 0);
        assertThat(a.history().getLast().actor()).isEqualTo("heartbeat");
        assertThat(instances()).containsExactly("a");
    }

    /** The state directory is each instance's own, whatever the store: its admin token lives there. */
    @Test
    void aSecondInstanceOnTheSameStateDirectoryIsRefusedUntilTheFirstCloses(@TempDir Path dir) throws Exception {
        PostgresStateStore first = new PostgresStateStore(config(HEARTBEAT, INSTANCE_TIMEOUT), "a", dir);
        opened.add(first);
        first.open(new RecordingPeer());

        PostgresStateStore second = new PostgresStateStore(config(HEARTBEAT, INSTANCE_TIMEOUT), "b", dir);
        opened.add(second);
        assertThatThrownBy(() -> second.open(new RecordingPeer()))
                .isInstanceOf(StateStore.Failure.class)
                .hasMessageStartingWith("another bluegreen proxy is using " + dir);
        assertThat(instances()).containsExactly("a");

        first.close();
        PostgresStateStore third = new PostgresStateStore(config(HEARTBEAT, INSTANCE_TIMEOUT), "c", dir);
        opened.add(third);
        assertThat(third.open(new RecordingPeer()).state().epoch()).isEqualTo(1);
    }

    /** With no instance alive to notice, the next one to open the store finds the row a killed one left. */
    @Test
    void theNextInstanceFindsOneKilledWhileGreenServedReadsAndRollsGreensReadsBack() throws Exception {
        PostgresStateStore dying = store("a", HEARTBEAT, INSTANCE_TIMEOUT);
        RoutingControl a = control(dying, Duration.ofSeconds(5));
        a.start("alice", null);
        a.setWeight("alice", 50, null);
        dying.halt();
        await().atMost(Duration.ofSeconds(10)).until(() -> heartbeatAge("a").compareTo(INSTANCE_TIMEOUT) > 0);

        RoutingControl b = control("b", Duration.ofSeconds(5));

        assertThat(b.current().weight()).isZero();
        assertThat(b.history().getLast().actor()).isEqualTo("startup");
        assertThat(b.history().getLast().reason()).contains("a proxy instance sharing this state store stopped without"
                + " shutting down", "run bgctl verify");
        assertThat(instances()).containsExactly("b");
    }

    /** An instance that left the store on its way out is no crash. */
    @Test
    void anInstanceThatClosedIsNoCrash() throws Exception {
        RoutingControl a = control("a", Duration.ofSeconds(5));
        PostgresStateStore leaving = store("c", HEARTBEAT, INSTANCE_TIMEOUT);
        RoutingControl c = control(leaving, Duration.ofSeconds(5));
        a.start("alice", null);
        a.setWeight("alice", 50, null);
        await().atMost(Duration.ofSeconds(5)).until(() -> c.current().weight() == 50);
        c.close();
        leaving.close();
        await().atMost(Duration.ofSeconds(5)).until(() -> instances().equals(List.of("a")));

        RoutingControl b = control("b", Duration.ofSeconds(5));
        await().pollDelay(INSTANCE_TIMEOUT.multipliedBy(2)).atMost(Duration.ofSeconds(10))
                .until(() -> a.current().weight() == 50 && b.current().weight() == 50);
    }

    private static List<String> instances() throws SQLException {
        try (Connection c = postgres.connect(DATABASE); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT name FROM bluegreen_instances ORDER BY name")) {
            List<String> names = new ArrayList<>();
            while (rs.next()) {
                names.add(rs.getString(1));
            }
            return names;
        }
    }

    private static Duration heartbeatAge(String instance) throws SQLException {
        try (Connection c = postgres.connect(DATABASE);
             PreparedStatement select = c.prepareStatement(
                     "SELECT extract(epoch FROM now() - heartbeat_at) * 1000 FROM bluegreen_instances WHERE name = ?")) {
            select.setString(1, instance);
            try (ResultSet rs = select.executeQuery()) {
                return rs.next() ? Duration.ofMillis(rs.getLong(1)) : Duration.ZERO;
            }
        }
    }

    @Test
    void anotherInstancesBarrierInProgressRefusesASecondOne() throws Exception {
        PostgresStateStore a = store("a", HEARTBEAT, INSTANCE_TIMEOUT);
        PostgresStateStore b = store("b", HEARTBEAT, INSTANCE_TIMEOUT);
        a.open(new RecordingPeer());
        b.open(new RecordingPeer());
        StateStore.SharedBarrier first = a.barrier("cutover", 1, Duration.ofSeconds(10));

        assertThatThrownBy(() -> b.barrier("rollback", 1, Duration.ofSeconds(10)))
                .isInstanceOf(StateStore.Conflict.class)
                .hasMessage("another instance (a) is changing the writer");
        assertThatThrownBy(() -> b.barrier("rollback", 0, Duration.ofSeconds(10)))
                .isInstanceOf(StateStore.Conflict.class)
                .hasMessage("the stored epoch is 1, not 0");

        first.abandon("test");

        assertThat(b.barrier("rollback", 1, Duration.ofSeconds(10))).isNotNull();
    }

    @Test
    void aChangeSavedAfterItsBarriersDeadlineIsRefusedAndNothingIsSaved() throws Exception {
        PostgresStateStore a = store("a", HEARTBEAT, INSTANCE_TIMEOUT);
        a.open(new RecordingPeer());
        StateStore.SharedBarrier barrier = a.barrier("start", 1, Duration.ofMillis(200));
        Instant deadline = Instant.now().plusMillis(200);
        await().atMost(Duration.ofSeconds(5)).until(() -> Instant.now().isAfter(deadline.plusMillis(100)));
        RoutingState next = new RoutingState(2, ClusterRole.BLUE, FollowerWrites.SYNC, 0, true, false, false);

        // other instances may have reopened by now: the change must not land behind their backs
        assertThatThrownBy(() -> a.save(1, new HistoryEntry(Instant.now(), 2, "alice", "start", null, next), null, barrier))
                .isInstanceOf(StateStore.Conflict.class)
                .hasMessage("the write barrier passed its deadline before the change was saved");
        assertThat(store("b", HEARTBEAT, INSTANCE_TIMEOUT).open(new RecordingPeer()).state().epoch()).isEqualTo(1);
    }

    /**
     * A save that waited for a lock until after its barrier's deadline is refused: other instances may have
     * reopened meanwhile. Before, the deadline was checked against the time its transaction began, before
     * the wait, and the change landed behind their backs.
     */
    @Test
    void aChangeWhoseSaveWaitedForALockPastItsBarriersDeadlineIsRefused() throws Exception {
        PostgresStateStore a = store("a", HEARTBEAT, INSTANCE_TIMEOUT);
        a.open(new RecordingPeer());
        StateStore.SharedBarrier barrier = a.barrier("start", 1, Duration.ofMillis(500));
        Instant deadline = Instant.now().plusMillis(500);
        RoutingState next = new RoutingState(2, ClusterRole.BLUE, FollowerWrites.SYNC, 0, true, false, false);
        CompletableFuture<Object> saved;
        try (Connection dba = postgres.connect(DATABASE); Statement s = dba.createStatement()) {
            dba.setAutoCommit(false);
            s.execute("SELECT * FROM bluegreen_state WHERE id = 1 FOR UPDATE");
            saved = saveInBackground(a, 1, new HistoryEntry(Instant.now(), 2, "alice", "start", null, next), null, barrier);
            await("the save waits for the row").atMost(Duration.ofSeconds(5)).until(() -> lockWaiters() > 0);
            await().atMost(Duration.ofSeconds(5)).until(() -> Instant.now().isAfter(deadline.plusMillis(200)));
            dba.commit();
        }

        assertThat(saved.get(10, TimeUnit.SECONDS)).isInstanceOf(StateStore.Conflict.class)
                .hasFieldOrPropertyWithValue("message", "the write barrier passed its deadline before the change was saved");
        assertThat(store("b", HEARTBEAT, INSTANCE_TIMEOUT).open(new RecordingPeer()).state().epoch()).isEqualTo(1);
    }

    /**
     * A save waiting for a row an operator left locked fails at the lock timeout with PostgreSQL's message,
     * and meanwhile the instance heart-beats: the others never take it for dead. Before, the save held the
     * lock the heartbeat needed for as long as it waited (up to the socket timeout), so the other instances
     * declared it departed, and rolled green's reads back after the "crash".
     */
    @Test
    void aSaveWaitingForALockedStateRowFailsAtTheLockTimeoutAndTheHeartbeatGoesOn() throws Exception {
        PostgresStateStore a = store("a", HEARTBEAT, INSTANCE_TIMEOUT);
        a.open(new RecordingPeer());
        RecordingPeer other = new RecordingPeer();
        store("b", HEARTBEAT, INSTANCE_TIMEOUT).open(other);
        RoutingState next = new RoutingState(2, ClusterRole.BLUE, FollowerWrites.OFF, 0, false, true, false);
        CompletableFuture<Object> saved;
        try (Connection dba = postgres.connect(DATABASE); Statement s = dba.createStatement()) {
            dba.setAutoCommit(false);
            s.execute("SELECT * FROM bluegreen_state WHERE id = 1 FOR UPDATE");
            saved = saveInBackground(a, 1, new HistoryEntry(Instant.now(), 2, "alice", "freeze", null, next), null, StateStore.ALONE);
            await("the save waits for the row").atMost(Duration.ofSeconds(5)).until(() -> lockWaiters() > 0);
            Instant waitingSince = databaseNow();

            // well before the lock timeout ends the save
            await("a beats on while its save waits").atMost(Duration.ofMillis(Database.LOCK_TIMEOUT_MILLIS - 1_000))
                    .until(() -> lastHeartbeat("a").isAfter(waitingSince.plus(INSTANCE_TIMEOUT.multipliedBy(2))));
            assertThat(saved).isNotDone();

            assertThat(saved.get(Database.LOCK_TIMEOUT_MILLIS + 5_000L, TimeUnit.MILLISECONDS))
                    .isInstanceOf(StateStore.Failure.class)
                    .extracting(e -> ((Throwable) e).getMessage()).asString()
                    .startsWith("cannot save epoch 2 (postgres " + postgres.host() + ":" + postgres.port() + "/" + DATABASE
                            + "): ERROR: canceling statement due to lock timeout");
        }
        assertThat(other.departed).isEmpty();
        assertThat(store("c", HEARTBEAT, INSTANCE_TIMEOUT).open(new RecordingPeer()).state().epoch()).isEqualTo(1);
    }

    /**
     * While a save is stalled on a connection whose server went silent, another instance's change (a
     * rollback, say) reaches this one at once, and the stalled save, once the server answers, loses the
     * compare-and-set. Before, the save held the lock the listener needed, and the change was heard only
     * when the save gave up at the socket timeout, half a minute later.
     */
    @Test
    void anotherInstancesChangeIsHeardWhileASaveIsStalledOnASilentServer() throws Exception {
        RecordingPeer heard = new RecordingPeer();
        PostgresStateStore a = store("a", HEARTBEAT, INSTANCE_TIMEOUT);
        a.open(heard);
        RoutingControl b = control("b", Duration.ofSeconds(5));
        await().atMost(Duration.ofSeconds(5)).until(() -> listenerCaughtUp("a"));
        RoutingState mine = new RoutingState(2, ClusterRole.BLUE, FollowerWrites.OFF, 0, false, true, false);
        CompletableFuture<Object> saved;
        try (Frozen silent = Frozen.process(backendOf("bluegreen commands a"))) {
            saved = saveInBackground(a, 1, new HistoryEntry(Instant.now(), 2, "alice", "freeze", null, mine), null, StateStore.ALONE);
            await("a's save is under way").atMost(Duration.ofSeconds(5)).until(() -> a.savesUnderWay() == 1);

            RoutingState elsewhere = b.start("bob", null);

            await("a hears b's change").atMost(Duration.ofSeconds(3)).until(() -> heard.changes.contains(elsewhere));
            assertThat(saved).isNotDone();
        }
        assertThat(saved.get(10, TimeUnit.SECONDS)).isInstanceOf(StateStore.Conflict.class)
                .hasFieldOrPropertyWithValue("message", "the stored epoch is 2, not 1");
        assertThat(heard.changes).extracting(RoutingState::epoch).containsExactly(2L);
    }

    /** Saves on a thread of its own: the future holds "saved", or what the save threw. */
    private static CompletableFuture<Object> saveInBackground(PostgresStateStore store, long expectedEpoch, HistoryEntry change,
                                                              Plan plan, StateStore.SharedBarrier barrier) {
        CompletableFuture<Object> saved = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                store.save(expectedEpoch, change, plan, barrier);
                saved.complete("saved");
            } catch (Throwable e) {
                saved.complete(e);
            }
        });
        return saved;
    }

    private static long backendOf(String applicationName) throws SQLException {
        try (Connection c = postgres.connect(DATABASE);
             PreparedStatement select = c.prepareStatement("SELECT pid FROM pg_stat_activity WHERE application_name = ?")) {
            select.setString(1, applicationName);
            try (ResultSet rs = select.executeQuery()) {
                assertThat(rs.next()).as("a backend named " + applicationName).isTrue();
                return rs.getLong(1);
            }
        }
    }

    private static Instant databaseNow() throws SQLException {
        try (Connection c = postgres.connect(DATABASE); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT clock_timestamp()")) {
            rs.next();
            return rs.getTimestamp(1).toInstant();
        }
    }

    private static Instant lastHeartbeat(String instance) throws SQLException {
        try (Connection c = postgres.connect(DATABASE);
             PreparedStatement select = c.prepareStatement("SELECT heartbeat_at FROM bluegreen_instances WHERE name = ?")) {
            select.setString(1, instance);
            try (ResultSet rs = select.executeQuery()) {
                return rs.next() ? rs.getTimestamp(1).toInstant() : Instant.EPOCH;
            }
        }
    }

    private static int lockWaiters() throws SQLException {
        try (Connection c = postgres.connect(DATABASE); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                     + " AND wait_event_type = 'Lock'")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void aSecondLiveInstanceOfTheSameNameIsRefused() throws Exception {
        store("a", HEARTBEAT, INSTANCE_TIMEOUT).open(new RecordingPeer());

        assertThatThrownBy(() -> store("a", HEARTBEAT, INSTANCE_TIMEOUT).open(new RecordingPeer()))
                .isInstanceOf(StateStore.Failure.class)
                .hasMessageContaining("an instance named a is already live in postgres " + postgres.host() + ":" + postgres.port()
                        + "/" + DATABASE);
    }

    @Test
    void aRestartKeepsTheEpochTheHistoryAndThePlan() throws Exception {
        RoutingState before;
        List<HistoryEntry> historyBefore;
        try (RoutingControl a = RoutingControl.open(new PostgresStateStore(config(HEARTBEAT, INSTANCE_TIMEOUT), "a"),
                Duration.ofSeconds(5))) {
            a.start("alice", null);
            a.setWeight("alice", 25, null);
            a.replacePlan("alice", "rollout", PLAN);
            before = a.freeze("bob", true, null);
            historyBefore = a.history();
        }

        RoutingControl again = control(PostgresStateStore.instanceName(), Duration.ofSeconds(5));

        assertThat(again.current()).isEqualTo(before);
        assertThat(again.history()).isEqualTo(historyBefore);
        assertThat(again.history()).extracting(HistoryEntry::command).containsExactly("start", "set-weight 25", "rollout", "freeze");
        assertThat(again.plan()).contains(PLAN);
    }

    /** A peer for a store opened without a routing control. */
    private static final class RecordingPeer implements StateStore.Peer {
        final List<RoutingState> changes = new CopyOnWriteArrayList<>(); // (appended on the store's thread)
        final List<String> departed = new CopyOnWriteArrayList<>();

        @Override
        public void departed(List<String> instances) {
            departed.addAll(instances);
        }

        @Override
        public void changed(RoutingState state, Plan plan) {
            changes.add(state);
        }

        @Override
        public void recorded(List<HistoryEntry> entries) {
        }

        @Override
        public WriteBarrier.Closed closeBarrier() {
            return new WriteBarrier().close();
        }
    }
}
