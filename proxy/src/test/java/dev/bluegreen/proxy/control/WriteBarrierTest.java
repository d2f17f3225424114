package dev.bluegreen.proxy.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class WriteBarrierTest {

    @Test
    void theChangeWaitsForUnitsInsideAndNewUnitsWaitForTheChange() {
        WriteBarrier barrier = new WriteBarrier();
        List<String> order = new ArrayList<>();
        WriteBarrier.Pass first = barrier.pass("session-1");
        assertThat(barrier.tryEnter(first, () -> { })).isTrue();

        CompletableFuture<Void> change = barrier.closeAndApply(Duration.ofSeconds(10), () -> order.add("change"));
        boolean admittedAtOnce = barrier.tryEnter(barrier.pass("session-2"), () -> order.add("session-2 admitted"));
        assertThat(change).isNotDone();

        barrier.exit(first);

        change.join();
        assertThat(admittedAtOnce).isFalse();
        assertThat(order).containsExactly("change", "session-2 admitted");
        assertThat(barrier.holders()).containsExactly("session-2");
    }

    @Test
    void aPassAlreadyInsideGoesOnWhileTheBarrierClosesAndTheChangeWaitsForIt() {
        WriteBarrier barrier = new WriteBarrier();
        WriteBarrier.Pass batch = barrier.pass("session-1");
        assertThat(barrier.tryEnter(batch, () -> { })).isTrue();
        AtomicBoolean changed = new AtomicBoolean();

        CompletableFuture<Void> change = barrier.closeAndApply(Duration.ofSeconds(10), () -> changed.set(true));
        assertThat(barrier.closing()).isTrue();
        // the rest of a batch that came in two reads
        assertThat(barrier.tryEnter(batch, () -> { throw new AssertionError("turned away halfway"); })).isTrue();
        assertThat(change).isNotDone();
        assertThat(changed).isFalse();

        barrier.exit(batch);
        change.join();
        assertThat(changed).isTrue();
        assertThat(barrier.closing()).isFalse();
    }

    @Test
    void aClosingBarrierTellsEachPassInsideOnceSoThatAReadCanLeave() {
        WriteBarrier barrier = new WriteBarrier();
        List<String> told = new ArrayList<>();
        WriteBarrier.Pass[] read = new WriteBarrier.Pass[1];
        read[0] = barrier.pass("reading", () -> {
            told.add("reading");
            barrier.exit(read[0]); // a session finds its running unit a read
        });
        WriteBarrier.Pass write = barrier.pass("writing", () -> told.add("writing"));
        WriteBarrier.Pass idle = barrier.pass("idle", () -> told.add("idle"));
        assertThat(barrier.tryEnter(read[0], () -> { })).isTrue();
        assertThat(barrier.tryEnter(write, () -> { })).isTrue();

        CompletableFuture<Void> change = barrier.closeAndApply(Duration.ofSeconds(10), () -> { });
        assertThat(told).containsExactlyInAnyOrder("reading", "writing");
        assertThat(barrier.holders()).containsExactly("writing");
        assertThat(change).isNotDone();

        barrier.exit(write);
        change.join();
        assertThat(told).hasSize(2);
        assertThat(idle.inside()).isFalse();
    }

    @Test
    void aTimeoutChangesNothingNamesTheHoldersAndReopens() {
        WriteBarrier barrier = new WriteBarrier();
        barrier.tryEnter(barrier.pass("session-7"), () -> { });
        AtomicBoolean changed = new AtomicBoolean();
        AtomicBoolean waiterRan = new AtomicBoolean();

        // long enough that session-8 surely arrives while the barrier is closed, even on a stalled machine
        CompletableFuture<Void> change = barrier.closeAndApply(Duration.ofSeconds(1), () -> changed.set(true));
        assertThat(barrier.tryEnter(barrier.pass("session-8"), () -> waiterRan.set(true))).as("waits").isFalse();

        assertThatThrownBy(change::join).isInstanceOf(CompletionException.class)
                .cause().isInstanceOf(WriteBarrier.TimedOut.class).hasMessageContaining("session-7");
        assertThat(changed).isFalse();
        assertThat(waiterRan).isTrue();
        assertThat(barrier.tryEnter(barrier.pass("session-9"), () -> { })).isTrue();
    }

    @Test
    void anEmptyBarrierAppliesAtOnce() {
        WriteBarrier barrier = new WriteBarrier();
        AtomicBoolean changed = new AtomicBoolean();

        barrier.closeAndApply(Duration.ofSeconds(1), () -> changed.set(true)).join();

        assertThat(changed).isTrue();
    }
}
