package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.config.ReadAfterWrite;
import dev.bluegreen.proxy.control.FollowerWrites;
import dev.bluegreen.proxy.control.Plan;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingControl.HistoryEntry;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.control.StateStore;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.routing.Classifier;
import dev.bluegreen.proxy.routing.ClusterRole;
import dev.bluegreen.proxy.routing.RoutingPolicy;
import dev.bluegreen.proxy.routing.StickyKeys;
import dev.bluegreen.proxy.routing.StickyMode;
import dev.bluegreen.proxy.routing.TenantSource;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MigrationTest {

    /**
     * A follower lost as the proxy stops is reported on the control thread; closing waits until the report
     * is saved, rather than interrupting a save under way and dropping what is still queued.
     */
    @Test
    void closingRecordsTheOutOfSyncReportsStillQueued() throws Exception {
        SlowStore store = new SlowStore(new RoutingState(5, ClusterRole.BLUE, FollowerWrites.SYNC, 50, true, false, false));
        RoutingControl control = RoutingControl.open(store, Duration.ofSeconds(1));
        Migration migration = new Migration(control, new MigrationStats(), new Classifier(10),
                RoutingPolicy.withoutPins(), new StickyKeys(StickyMode.SESSION, TenantSource.TENANT_PARAMETER),
                ReadAfterWrite.EVERYWHERE);

        migration.followerOutOfSync(ClusterRole.GREEN, "session-1", "follower unreachable before its COMMIT answered");
        await().until(() -> store.saving);
        Thread closing = Thread.ofPlatform().start(migration::close);
        closing.join(200); // closing waits for the save under way
        store.proceed.countDown();
        closing.join();

        assertThat(store.saved).extracting(HistoryEntry::command).containsExactly("follower out of sync");
        assertThat(store.state.followerInSync()).isFalse();
        assertThat(store.interrupted).isFalse();
        control.close();
    }

    /**
     * A commit's acknowledgement waits for the follower exactly while the follower serves reads: green below
     * the weight while blue leads, blue above it once green leads, never out of sync or in shadow mode, and
     * not at all with {@code read_after_write: session}.
     */
    @ParameterizedTest
    @CsvSource({
        "BLUE,  SYNC,  0,   true,  EVERYWHERE, false",
        "BLUE,  SYNC,  1,   true,  EVERYWHERE, true",
        "BLUE,  SYNC,  100, true,  EVERYWHERE, true",
        "BLUE,  SYNC,  50,  false, EVERYWHERE, false",
        "BLUE,  ASYNC, 0,   true,  EVERYWHERE, false",
        "BLUE,  SYNC,  50,  true,  SESSION,    false",
        "GREEN, SYNC,  100, true,  EVERYWHERE, false",
        "GREEN, SYNC,  99,  true,  EVERYWHERE, true",
        "GREEN, SYNC,  0,   true,  EVERYWHERE, true",
        "GREEN, OFF,   100, false, EVERYWHERE, false"})
    void theAcknowledgementWaitsForTheFollowerWhileItServesReads(ClusterRole leader, FollowerWrites writes, int weight,
                                                                 boolean inSync, ReadAfterWrite readAfterWrite,
                                                                 boolean waits) throws Exception {
        RoutingState state = new RoutingState(3, leader, writes, weight, inSync, false, false);
        try (RoutingControl control = RoutingControl.open(new SlowStore(state), Duration.ofSeconds(1));
             Migration migration = new Migration(control, new MigrationStats(), new Classifier(10),
                     RoutingPolicy.withoutPins(), new StickyKeys(StickyMode.SESSION, TenantSource.TENANT_PARAMETER),
                     readAfterWrite)) {
            assertThat(migration.acknowledgesAfterFollower(state)).isEqualTo(waits);
        }
    }

    /** Saves, once let go, with the first save held until then. */
    private static final class SlowStore implements StateStore {
        final CountDownLatch proceed = new CountDownLatch(1);
        final List<HistoryEntry> saved = new CopyOnWriteArrayList<>();
        volatile boolean saving;
        volatile boolean interrupted;
        volatile RoutingState state;

        SlowStore(RoutingState initial) {
            this.state = initial;
        }

        @Override
        public Snapshot open(Peer peer) {
            return new Snapshot(state, List.of(), null);
        }

        @Override
        public SharedBarrier barrier(String command, long fromEpoch, Duration timeout) {
            return ALONE;
        }

        @Override
        public void save(long expectedEpoch, HistoryEntry change, Plan plan, SharedBarrier barrier) throws Failure {
            saving = true;
            try {
                proceed.await();
            } catch (InterruptedException e) {
                interrupted = true;
                throw new Failure("interrupted", e);
            }
            state = change.state();
            saved.add(change);
        }

        @Override
        public String instance() {
            return "local";
        }

        @Override
        public String describe() {
            return "slow";
        }

        @Override
        public void close() {
        }
    }
}
