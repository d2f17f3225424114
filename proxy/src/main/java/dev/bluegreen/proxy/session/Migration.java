package dev.bluegreen.proxy.session;

import dev.bluegreen.config.ReadAfterWrite;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.routing.Classifier;
import dev.bluegreen.proxy.routing.ClusterRole;
import dev.bluegreen.proxy.routing.RoutingPolicy;
import dev.bluegreen.proxy.routing.StickyKeys;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What sessions consult to route units between blue and green: the routing state and its commands,
 * the classifier, the read policy, where figures go, and a thread for control work that must not run on
 * an event loop (a divergence reported to {@link RoutingControl}, whose commands may wait on a barrier).
 */
public final class Migration implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Migration.class);
    private static final Duration RECORDING_AT_CLOSE = Duration.ofSeconds(10);

    private final RoutingControl control;
    private final MigrationStats stats;
    private final Classifier classifier;
    private final RoutingPolicy policy;
    private final StickyKeys stickyKeys;
    private final ReadAfterWrite readAfterWrite;
    /** Bytes of shadow-mode writes queued for the follower, every session's. */
    private final AtomicLong shadowBytes = new AtomicLong();
    private final FollowerCommits followerCommits = new FollowerCommits();
    private final LeaderInserts leaderInserts = new LeaderInserts();
    private final ExecutorService controlThread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "bluegreen-control");
        t.setDaemon(true);
        return t;
    });

    public Migration(RoutingControl control, MigrationStats stats, Classifier classifier, RoutingPolicy policy,
                     StickyKeys stickyKeys, ReadAfterWrite readAfterWrite) {
        this.control = Objects.requireNonNull(control, "control");
        this.stats = Objects.requireNonNull(stats, "stats");
        this.classifier = Objects.requireNonNull(classifier, "classifier");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.stickyKeys = Objects.requireNonNull(stickyKeys, "stickyKeys");
        this.readAfterWrite = Objects.requireNonNull(readAfterWrite, "readAfterWrite");
    }

    public RoutingControl control() {
        return control;
    }

    public MigrationStats stats() {
        return stats;
    }

    Classifier classifier() {
        return classifier;
    }

    RoutingPolicy policy() {
        return policy;
    }

    StickyKeys stickyKeys() {
        return stickyKeys;
    }

    /** The leader's commits that followers have still to make, which what sessions send a follower waits behind. */
    FollowerCommits followerCommits() {
        return followerCommits;
    }

    /** The inserts into tables that draw from sequences in flight on the leader, every session's. */
    LeaderInserts leaderInserts() {
        return leaderInserts;
    }

    /** How many of the leader's commits this instance's followers have yet to answer the COMMIT of. */
    public int followerCommitsOwed() {
        return followerCommits.pending();
    }

    /**
     * Whether a commit the leader has made is acknowledged to its client only once the follower has made it
     * too: reads are to see every acknowledged write ({@code routing.read_after_write: everywhere}), and the
     * follower serves some of them, under {@code state} or the current state (a weight raised from 0 while
     * the commit ran). Otherwise a read another connection sends right after the acknowledgement could be
     * served by the follower before the commit lands there.
     */
    boolean acknowledgesAfterFollower(RoutingState state) {
        return readAfterWrite == ReadAfterWrite.EVERYWHERE
                && (followerServesReads(state) || followerServesReads(control.current()));
    }

    private static boolean followerServesReads(RoutingState state) {
        // green serves the reads whose bucket is below the weight, blue the rest
        return state.followerMayServeReads()
                && (state.leader() == ClusterRole.BLUE ? state.weight() > 0 : state.weight() < 100);
    }

    /**
     * Takes {@code bytes} of the shadow-mode queue all sessions share, which holds at most {@code budget}
     * bytes of writes waiting for the follower; false when they do not fit (the write is dropped and counted).
     */
    boolean reserveShadowBytes(long bytes, long budget) {
        long queued;
        do {
            queued = shadowBytes.get();
            if (queued + bytes > budget) {
                return false;
            }
        } while (!shadowBytes.compareAndSet(queued, queued + bytes));
        return true;
    }

    /** Gives back what {@link #reserveShadowBytes} took, once that write has run on the follower or was dropped. */
    void releaseShadowBytes(long bytes) {
        shadowBytes.addAndGet(-bytes);
    }

    /**
     * This instance has no green cluster configured. Its own {@code start} is refused, but instances sharing
     * its state store may begin dual-write: its sessions then go on relaying to blue alone, so green misses
     * the writes made through it, and it reports green out of sync as soon as it takes such a state in.
     */
    public void withoutGreen() {
        control.withoutGreen();
        control.onChange(this::greenMissedHere);
        greenMissedHere(control.current()); // a start made elsewhere while this instance was starting
    }

    private void greenMissedHere(RoutingState state) {
        if (state.dualWrite() && state.leader() == ClusterRole.BLUE && state.followerInSync()) {
            followerOutOfSync(ClusterRole.GREEN, "instance " + control.instance(), "this instance has no green"
                    + " cluster configured: the writes it relays do not reach green");
        }
    }

    /**
     * Reports a follower that diverged or was lost: noted at once (a change of writer draining the barrier
     * sees it), recorded off the event loop.
     */
    void followerOutOfSync(ClusterRole follower, String actor, String reason) {
        control.divergenceSeen(follower);
        controlThread.execute(() -> control.followerOutOfSync(follower, actor, reason));
    }

    /**
     * Records the reports still queued before the control they go to closes: a follower lost as the proxy
     * stops (its COMMIT cut off with the connection) must be saved as out of sync, or a restart lets it
     * serve reads. Waits at most {@link #RECORDING_AT_CLOSE} (a store that does not answer), then drops them.
     */
    @Override
    public void close() {
        controlThread.shutdown();
        try {
            if (!controlThread.awaitTermination(RECORDING_AT_CLOSE.toMillis(), TimeUnit.MILLISECONDS)) {
                log.error("follower out-of-sync reports not recorded at shutdown: the state store did not answer "
                        + "within {} ms; dropped={}", RECORDING_AT_CLOSE.toMillis(), controlThread.shutdownNow().size());
                control.reportsLost();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            controlThread.shutdownNow();
            control.reportsLost();
        }
    }
}
