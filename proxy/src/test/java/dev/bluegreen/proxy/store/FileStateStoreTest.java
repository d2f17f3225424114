package dev.bluegreen.proxy.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.proxy.control.FollowerWrites;
import dev.bluegreen.proxy.control.Phase;
import dev.bluegreen.proxy.control.Plan;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingControl.HistoryEntry;
import dev.bluegreen.proxy.control.RoutingControl.RollbackTrigger;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.control.StateStore;
import dev.bluegreen.proxy.control.WriteBarrier;
import dev.bluegreen.proxy.routing.ClusterRole;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One proxy's state in a directory: saved durably, refused when unreadable, repaired after a crash. */
class FileStateStoreTest {

    private static final StateStore.Peer NOBODY = new StateStore.Peer() {
        @Override
        public void changed(RoutingState state, Plan plan) {
            throw new AssertionError("a file store has no other instances");
        }

        @Override
        public void recorded(List<HistoryEntry> entries) {
            throw new AssertionError("a file store has no other instances");
        }

        @Override
        public WriteBarrier.Closed closeBarrier() {
            throw new AssertionError("a file store has no other instances");
        }
    };

    private static final Plan PLAN = new Plan(List.of(5, 50, 100), Duration.ofMinutes(5), 1, Plan.Status.RUNNING,
            Instant.parse("2025-06-01T10:05:00Z"), null);

    @TempDir
    Path dir;

    /** The change from {@code epoch - 1} to {@code epoch}: the weight goes up by one each time. */
    static HistoryEntry change(long epoch) {
        RoutingState state = new RoutingState(epoch, ClusterRole.BLUE, FollowerWrites.SYNC, (int) (epoch % 101), true,
                false, false);
        return new HistoryEntry(Instant.parse("2025-06-01T10:00:00Z").plusSeconds(epoch), epoch, "test", "set-weight",
                null, state);
    }

    private static String line(long epoch) {
        return StateCodec.writeEntry(change(epoch)) + "\n";
    }

    @Test
    void anEmptyDirectoryHoldsBlueAloneAndIsCreatedIfMissing() throws Exception {
        Path missing = dir.resolve("deeper/state");

        try (FileStateStore store = new FileStateStore(missing)) {
            StateStore.Snapshot loaded = store.open(NOBODY);

            assertThat(loaded).isEqualTo(new StateStore.Snapshot(RoutingState.initial(), List.of(), null));
            assertThat(missing).isDirectory();
            assertThat(store.instance()).isEqualTo("local");
            assertThat(store.describe()).isEqualTo("file " + missing.resolve("state.json").toAbsolutePath());
        }
    }

    @Test
    void whatIsSavedIsWhatTheNextOpenLoads() throws Exception {
        try (FileStateStore store = new FileStateStore(dir)) {
            store.open(NOBODY);
            store.save(1, change(2), null, StateStore.ALONE);
            store.save(2, change(3), PLAN, StateStore.ALONE);
        }

        try (FileStateStore store = new FileStateStore(dir)) {
            StateStore.Snapshot loaded = store.open(NOBODY);

            assertThat(loaded.state()).isEqualTo(change(3).state());
            assertThat(loaded.history()).containsExactly(change(2), change(3));
            assertThat(loaded.plan()).isEqualTo(PLAN);
        }
        assertThat(Files.readString(dir.resolve("state.json")))
                .isEqualTo(StateCodec.writeDocument(change(3).state(), PLAN) + "\n");
        assertThat(Files.readString(dir.resolve("history.jsonl"))).isEqualTo(line(2) + line(3));
        assertThat(dir.resolve("state.json.tmp")).doesNotExist();
    }

    @Test
    void aSaveFromAStaleEpochIsRefusedAndChangesNothing() throws Exception {
        try (FileStateStore store = new FileStateStore(dir)) {
            store.open(NOBODY);
            store.save(1, change(2), null, StateStore.ALONE);
            String stateBefore = Files.readString(dir.resolve("state.json"));
            String historyBefore = Files.readString(dir.resolve("history.jsonl"));

            assertThatThrownBy(() -> store.save(1, change(2), PLAN, StateStore.ALONE))
                    .isInstanceOf(StateStore.Conflict.class)
                    .hasMessage("the stored epoch is 2, not 1")
                    .satisfies(e -> assertThat(((StateStore.Conflict) e).current().state()).isEqualTo(change(2).state()));
            assertThatThrownBy(() -> store.barrier("cutover", 1, Duration.ofSeconds(1)))
                    .isInstanceOf(StateStore.Conflict.class);
            assertThat(store.barrier("cutover", 2, Duration.ofSeconds(1))).isSameAs(StateStore.ALONE);
            assertThat(Files.readString(dir.resolve("state.json"))).isEqualTo(stateBefore);
            assertThat(Files.readString(dir.resolve("history.jsonl"))).isEqualTo(historyBefore);
        }
    }

    @Test
    void aPlanIsSavedWithItsState() throws Exception {
        try (FileStateStore store = new FileStateStore(dir)) {
            store.open(NOBODY);
            store.save(1, change(2), PLAN, StateStore.ALONE);
        }

        try (FileStateStore store = new FileStateStore(dir)) {
            StateStore.Snapshot loaded = store.open(NOBODY);

            assertThat(loaded.state().epoch()).isEqualTo(2);
            assertThat(loaded.plan()).isEqualTo(PLAN);
            assertThat(loaded.history()).hasSize(1);
        }
    }

    @Test
    void onlyTheMostRecentHistoryIsLoadedAndTheFileKeepsEverything() throws Exception {
        long last = RoutingControl.HISTORY_KEPT + 6;
        StringBuilder history = new StringBuilder();
        LongStream.rangeClosed(2, last).forEach(epoch -> history.append(line(epoch)));
        Files.writeString(dir.resolve("history.jsonl"), history);
        Files.writeString(dir.resolve("state.json"), StateCodec.writeDocument(change(last).state(), null));

        try (FileStateStore store = new FileStateStore(dir)) {
            StateStore.Snapshot loaded = store.open(NOBODY);

            assertThat(loaded.history()).hasSize(RoutingControl.HISTORY_KEPT);
            assertThat(loaded.history().getFirst().epoch()).isEqualTo(last - RoutingControl.HISTORY_KEPT + 1);
            assertThat(loaded.history().getLast()).isEqualTo(change(last));
        }
        assertThat(Files.readString(dir.resolve("history.jsonl"))).hasSameSizeAs(history);
    }

    @Test
    void aHistoryLineAheadOfTheStateIsACrashBetweenTheWritesAndIsDropped() throws Exception {
        Files.writeString(dir.resolve("state.json"), StateCodec.writeDocument(change(3).state(), null));
        String cutShort = line(5).substring(0, 40);
        Files.writeString(dir.resolve("history.jsonl"), line(2) + line(3) + line(4) + cutShort);

        try (FileStateStore store = new FileStateStore(dir)) {
            StateStore.Snapshot loaded = store.open(NOBODY);

            assertThat(loaded.history()).containsExactly(change(2), change(3));
            assertThat(Files.readString(dir.resolve("history.jsonl"))).isEqualTo(line(2) + line(3));
            store.save(3, change(4), null, StateStore.ALONE);
        }
        assertThat(Files.readString(dir.resolve("history.jsonl"))).isEqualTo(line(2) + line(3) + line(4));
    }

    @Test
    void theFirstChangeLostInACrashLeavesBlueAlone() throws Exception {
        Files.writeString(dir.resolve("history.jsonl"), line(2));

        try (FileStateStore store = new FileStateStore(dir)) {
            StateStore.Snapshot loaded = store.open(NOBODY);

            assertThat(loaded).isEqualTo(new StateStore.Snapshot(RoutingState.initial(), List.of(), null));
        }
        assertThat(Files.readString(dir.resolve("history.jsonl"))).isEmpty();
    }

    @Test
    void aMissingStateFileWithAHistoryBeyondOneChangeIsRefused() throws Exception {
        Files.writeString(dir.resolve("history.jsonl"), line(2) + line(3) + line(4));

        assertThatThrownBy(() -> new FileStateStore(dir).open(NOBODY))
                .isInstanceOf(StateStore.Failure.class)
                .hasMessageContaining(dir.resolve("state.json") + " is missing but")
                .hasMessageContaining("up to epoch 4");
        assertThat(Files.readString(dir.resolve("history.jsonl"))).isEqualTo(line(2) + line(3) + line(4));
    }

    /** A backup restored over the state file: the history says more happened since, perhaps a cutover. */
    @Test
    void aStateFileOlderThanItsHistoryIsRefusedAndBothAreLeftAsTheyAre() throws Exception {
        String state = StateCodec.writeDocument(change(3).state(), PLAN);
        Files.writeString(dir.resolve("state.json"), state);
        String history = line(2) + line(3) + line(4) + line(5) + line(6);
        Files.writeString(dir.resolve("history.jsonl"), history);

        assertThatThrownBy(() -> new FileStateStore(dir).open(NOBODY))
                .isInstanceOf(StateStore.Failure.class)
                .hasMessageContaining(dir.resolve("state.json") + " holds epoch 3 but")
                .hasMessageContaining("records changes up to epoch 6")
                .hasMessageContaining("older than its history");
        assertThat(Files.readString(dir.resolve("history.jsonl"))).isEqualTo(history);
        assertThat(Files.readString(dir.resolve("state.json"))).isEqualTo(state);
    }

    @Test
    void aCorruptStateFileIsRefusedWithItsNameAndLeftAsItIs() throws Exception {
        Path stateFile = dir.resolve("state.json");
        Files.writeString(stateFile, "{\"version\":1,\"state\":{\"epoch\":7,\"leader\":\"purple\"");

        assertThatThrownBy(() -> new FileStateStore(dir).open(NOBODY))
                .isInstanceOf(StateStore.Failure.class)
                .hasMessageStartingWith(stateFile + " is corrupt (not JSON: Unexpected end-of-input")
                .hasMessageContaining("it was left as it is");
        Files.writeString(stateFile, "{\"version\":1,\"state\":{\"epoch\":7,\"leader\":\"purple\"},\"plan\":null}");
        assertThatThrownBy(() -> new FileStateStore(dir).open(NOBODY))
                .isInstanceOf(StateStore.Failure.class)
                .hasMessageStartingWith(stateFile + " is corrupt (state.leader: expected one of blue, green, found \"purple\")");

        assertThat(Files.readString(stateFile)).isEqualTo("{\"version\":1,\"state\":{\"epoch\":7,\"leader\":\"purple\"},\"plan\":null}");
        // refusing released the directory: a repaired file opens
        Files.writeString(stateFile, StateCodec.writeDocument(change(7).state(), null));
        try (FileStateStore store = new FileStateStore(dir)) {
            assertThat(store.open(NOBODY).state().epoch()).isEqualTo(7);
        }
    }

    @Test
    void aCorruptHistoryLineBeforeTheLastIsRefusedWithItsLineNumber() throws Exception {
        Files.writeString(dir.resolve("state.json"), StateCodec.writeDocument(change(4).state(), null));
        Files.writeString(dir.resolve("history.jsonl"), line(2) + "{\"at\":\"garbage\n" + line(4));

        assertThatThrownBy(() -> new FileStateStore(dir).open(NOBODY))
                .isInstanceOf(StateStore.Failure.class)
                .hasMessageStartingWith(dir.resolve("history.jsonl") + " is corrupt (line 2: not JSON");
    }

    @Test
    void aSecondProxyOnTheSameDirectoryIsRefusedUntilTheFirstCloses() throws Exception {
        try (FileStateStore first = new FileStateStore(dir)) {
            first.open(NOBODY);

            assertThatThrownBy(() -> new FileStateStore(dir).open(NOBODY))
                    .isInstanceOf(StateStore.Failure.class)
                    .hasMessageStartingWith("another bluegreen proxy is using " + dir.toAbsolutePath() + " ");
            first.save(1, change(2), null, StateStore.ALONE); // the refused one took nothing from the first
        }
        try (FileStateStore second = new FileStateStore(dir)) {
            assertThat(second.open(NOBODY).state().epoch()).isEqualTo(2);
        }
    }

    @Test
    void aClosedStoreRefusesToSave() throws Exception {
        FileStateStore store = new FileStateStore(dir);
        store.open(NOBODY);
        store.close();

        assertThatThrownBy(() -> store.save(1, change(2), null, StateStore.ALONE))
                .isInstanceOf(StateStore.Failure.class)
                .hasMessageEndingWith("is closed");
    }

    @Test
    void aRoutingControlRestartedOnTheSameDirectoryCarriesOn() throws Exception {
        Plan plan = new Plan(List.of(5, 10), Duration.ofSeconds(30), 0, Plan.Status.RUNNING, Instant.parse("2025-06-01T10:05:00Z"), null);
        RoutingState before;
        List<HistoryEntry> historyBefore;
        try (RoutingControl control = RoutingControl.open(new FileStateStore(dir), Duration.ofSeconds(1))) {
            control.start("alice", null);
            control.setWeight("alice", 5, null);
            control.replacePlan("alice", "rollout", plan);
            control.freeze("bob", true, null);
            before = control.current();
            historyBefore = control.history();
        }

        try (RoutingControl control = RoutingControl.open(new FileStateStore(dir), Duration.ofSeconds(1))) {
            assertThat(control.current()).isEqualTo(before);
            assertThat(control.current().phase()).isEqualTo(Phase.DUAL);
            assertThat(control.history()).isEqualTo(historyBefore);
            assertThat(control.history()).extracting(HistoryEntry::command).containsExactly("start", "set-weight 5", "rollout", "freeze");
            assertThat(control.plan()).isEqualTo(Optional.of(plan));
            assertThat(control.freeze("bob", false, null).epoch()).isEqualTo(before.epoch() + 1);
        }
    }

    /**
     * A proxy that stopped without closing the store (killed, crashed) while green served reads may have
     * cut off a follower COMMIT unreported: the next start rolls green's reads back to blue, the plan with
     * them, and says to check with verify. A proxy that closed it leaves no mark.
     */
    @Test
    void aStartAfterAStopWithoutClosingTheStoreRollsGreensReadsBack() throws Exception {
        Plan plan = new Plan(List.of(10, 50), Duration.ofSeconds(30), 0, Plan.Status.RUNNING, Instant.parse("2025-06-01T10:05:00Z"), null);
        RoutingState before;
        Path running = dir.resolve(FileStateStore.RUNNING_FILE);
        try (RoutingControl control = RoutingControl.open(new FileStateStore(dir), Duration.ofSeconds(1))) {
            control.start("alice", null);
            control.setWeight("alice", 10, null);
            control.replacePlan("alice", "rollout", plan);
            before = control.current();
            assertThat(running).as("while the store is open").exists();
        }
        assertThat(running).as("closed").doesNotExist();
        Files.createFile(running); // what a proxy killed while it ran leaves

        try (RoutingControl control = RoutingControl.open(new FileStateStore(dir), Duration.ofSeconds(1))) {
            RoutingState after = control.current();
            assertThat(after.epoch()).as("the rollback, then the verify owed").isEqualTo(before.epoch() + 2);
            assertThat(after.weight()).isZero();
            assertThat(after.dualWrite()).isTrue();
            assertThat(after.followerInSync()).isTrue();
            assertThat(after.unverifiedSince()).isEqualTo(after.epoch() - 1);
            List<HistoryEntry> history = control.history();
            HistoryEntry owed = history.get(history.size() - 2);
            assertThat(owed.command()).as("first, so that nothing raises the weight before the rollback")
                    .isEqualTo("verify owed");
            assertThat(owed.actor()).isEqualTo("startup");
            HistoryEntry rollback = history.getLast();
            assertThat(rollback.actor()).isEqualTo("startup");
            assertThat(rollback.command()).isEqualTo("rollback");
            assertThat(rollback.reason()).contains("stopped without shutting down", "bgctl verify");
            assertThatThrownBy(() -> control.setWeight("alice", 10, null)).isInstanceOf(RoutingControl.Refused.class)
                    .hasMessageContaining("only once bgctl verify has found the clusters alike");
            assertThat(control.plan()).map(Plan::status).contains(Plan.Status.ROLLED_BACK);
            // counted as the proxy's own recovery, not as an operator's rollback
            assertThat(control.rollbacks(RollbackTrigger.RECOVERY)).isOne();
            assertThat(control.rollbacks(RollbackTrigger.OPERATOR)).isZero();
        }
        try (RoutingControl control = RoutingControl.open(new FileStateStore(dir), Duration.ofSeconds(1))) {
            assertThat(control.current().owesVerify()).as("kept across a restart").isTrue();
            assertThat(control.verified("bob", "postgres", control.current().epoch())).isTrue();
            assertThat(control.setWeight("alice", 10, null).weight()).isEqualTo(10);
        }
        try (RoutingControl control = RoutingControl.open(new FileStateStore(dir), Duration.ofSeconds(1))) {
            assertThat(control.history()).extracting(HistoryEntry::command).containsExactly("start", "set-weight 10",
                    "rollout", "verify owed", "rollback", "verified", "set-weight 10"); // closed cleanly: nothing more
        }
    }

    /** After cutover it is blue, the follower, that may lack a commit: the start takes its reads away. */
    @Test
    void aStartAfterAStopWithoutClosingTheStoreAfterCutoverTakesBluesReadsAway() throws Exception {
        try (RoutingControl control = RoutingControl.open(new FileStateStore(dir), Duration.ofSeconds(1))) {
            control.start("alice", null);
            control.setWeight("alice", 100, null);
            control.cutover("alice", null);
            control.setWeight("alice", 60, null);
            control.freeze("bob", true, "hold still");
        }
        Files.createFile(dir.resolve(FileStateStore.RUNNING_FILE));
        try (RoutingControl control = RoutingControl.open(new FileStateStore(dir), Duration.ofSeconds(1))) {
            assertThat(control.current().phase()).isEqualTo(Phase.CUTOVER);
            assertThat(control.current().weight()).as("frozen or not").isEqualTo(100);
            assertThat(control.current().frozen()).isTrue();
            assertThat(control.current().owesVerify()).isTrue();
            assertThat(control.history().getLast().actor()).isEqualTo("startup");
            control.freeze("bob", false, null);
            assertThatThrownBy(() -> control.rollback("rule:latency", "slow", false)).isInstanceOf(RoutingControl.Refused.class)
                    .hasMessageContaining("blue may lack a commit");
            assertThat(control.current().leader()).isEqualTo(ClusterRole.GREEN);
        }
    }

    /**
     * A proxy that closed the store but could not report a follower it lost (the store did not answer in
     * time) leaves the mark all the same: the next start treats the stop as a crash.
     */
    @Test
    void aStopThatLostAFollowerReportIsTakenForACrash() throws Exception {
        try (RoutingControl control = RoutingControl.open(new FileStateStore(dir), Duration.ofSeconds(1))) {
            control.start("alice", null);
            control.setWeight("alice", 50, null);
            control.reportsLost();
        }
        assertThat(dir.resolve(FileStateStore.RUNNING_FILE)).exists();
        try (RoutingControl control = RoutingControl.open(new FileStateStore(dir), Duration.ofSeconds(1))) {
            assertThat(control.current().weight()).isZero();
            assertThat(control.history().getLast().actor()).isEqualTo("startup");
        }
    }

    /**
     * A real {@code kill -9} of a process saving as fast as it can: whatever instant it dies at, the next open
     * finds a whole state and a history that ends exactly at it.
     */
    @Test
    void aProcessKilledWhileSavingLeavesTheOldStateOrTheNewNeverATornOne() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process writer = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Writer.class.getName(),
                dir.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<Long> saved = new CopyOnWriteArrayList<>();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(writer.getInputStream(), UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    saved.add(Long.parseLong(line));
                }
            } catch (IOException | NumberFormatException ignored) {
                // killed mid-line
            }
        });
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> saved.size() >= 40 || !writer.isAlive());
            assertThat(writer.isAlive()).as("the writer runs").isTrue();
            assertThatThrownBy(() -> new FileStateStore(dir).open(NOBODY))
                    .isInstanceOf(StateStore.Failure.class)
                    .hasMessageStartingWith("another bluegreen proxy is using");
        } finally {
            writer.destroyForcibly(); // SIGKILL
            assertThat(writer.waitFor(10, TimeUnit.SECONDS)).isTrue();
        }
        // every line the writer printed before it died is still in the pipe until the reader reaches its end
        assertThat(reader.join(Duration.ofSeconds(10))).as("the reader reached the end of the writer's output").isTrue();
        long lastReported = saved.getLast();

        try (FileStateStore store = new FileStateStore(dir)) {
            StateStore.Snapshot loaded = store.open(NOBODY);

            long epoch = loaded.state().epoch();
            // nothing the writer was told is saved is lost; the state may be newer than the last line read,
            // as the writer saves the next change before printing, and the JDK can drop what a process
            // printed just before it was killed (CI: 75 read, 77 on disk)
            assertThat(epoch).isGreaterThanOrEqualTo(lastReported);
            assertThat(loaded.state()).isEqualTo(change(epoch).state());
            assertThat(loaded.history()).extracting(HistoryEntry::epoch)
                    .containsExactlyElementsOf(LongStream.rangeClosed(2, epoch).boxed().toList());
            assertThat(loaded.plan()).isNotNull();
        }
    }

    /** Saves changes and plans until killed, printing each epoch once it is saved. */
    static final class Writer {
        public static void main(String[] args) throws Exception {
            try (FileStateStore store = new FileStateStore(Path.of(args[0]))) {
                long epoch = store.open(NOBODY).state().epoch();
                List<Integer> steps = new ArrayList<>(List.of(5, 10, 25, 50, 75, 100));
                while (true) {
                    store.save(epoch, change(epoch + 1), new Plan(steps, Duration.ofSeconds(epoch + 1),
                            (int) ((epoch + 1) % steps.size()), Plan.Status.RUNNING, Instant.now(), "epoch " + (epoch + 1)),
                            StateStore.ALONE);
                    epoch++;
                    System.out.println(epoch);
                    System.out.flush();
                }
            }
        }
    }
}
