package dev.bluegreen.proxy.metrics;

import dev.bluegreen.proxy.control.Phase;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingControl.RollbackTrigger;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.routing.ClusterRole;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.ToIntFunction;
import java.util.function.ToDoubleFunction;

/**
 * Every meter the proxy publishes, by hop: client → proxy, proxy → each cluster, leader → follower,
 * and the control plane's own state. Meters read the figures where they already live (the routing
 * state, {@link MigrationStats}' adders, the session count) at scrape time, so nothing on a session's
 * path pays for them.
 *
 * <p>Names are Micrometer's dotted form; Prometheus sees them with underscores and counters with a
 * {@code _total} suffix ({@code bluegreen.units.served} → {@code bluegreen_units_served_total}).
 */
public final class ProxyMetrics {

    // client → proxy
    public static final String CLIENT_SESSIONS = "bluegreen.client.sessions";
    // proxy → each cluster
    public static final String BACKEND_CONNECTIONS = "bluegreen.backend.connections";

    // proxy → blue, proxy → green: who answered, and green's failures where blue succeeded
    public static final String UNITS_SERVED = "bluegreen.units.served";
    public static final String GREEN_ERRORS = "bluegreen.green.errors";
    public static final String READ_RETRIES = "bluegreen.read.retries";
    public static final String UNIT_LATENCY = "bluegreen.unit.latency";
    public static final String UNIT_ERRORS = "bluegreen.unit.errors";

    // leader → follower: what dual-write could not mirror exactly
    public static final String DIVERGENCES = "bluegreen.divergences";
    public static final String MIRROR_DROPS = "bluegreen.mirror.drops";
    public static final String GREEN_READS_OVERDUE = "bluegreen.green.reads.overdue";
    public static final String UNORDERED_STATEMENTS = "bluegreen.unordered.statements";
    public static final String CANCELS_TOO_LATE = "bluegreen.cancels.too.late";
    public static final String WRITES_HELD_FOR_COMMITS = "bluegreen.writes.held.for.commits";
    public static final String INSERTS_HELD_FOR_DRAWS = "bluegreen.inserts.held.for.draws";
    public static final String COMMITS_HELD_FOR_WRITES = "bluegreen.commits.held.for.writes";
    public static final String COMMIT_WAITS_RAN_OUT = "bluegreen.commit.waits.ran.out";
    public static final String NON_DETERMINISTIC_STATEMENTS = "bluegreen.nondeterministic.statements";
    public static final String PINNED_SESSIONS = "bluegreen.pinned.sessions";
    public static final String TWINS_REMADE = "bluegreen.twins.remade";

    // control: the routing state in force
    public static final String EPOCH = "bluegreen.epoch";
    public static final String WEIGHT = "bluegreen.weight";
    public static final String LEADER = "bluegreen.leader";
    public static final String PHASE = "bluegreen.phase";
    public static final String FOLLOWER_IN_SYNC = "bluegreen.follower.in.sync";
    public static final String VERIFY_OWED = "bluegreen.verify.owed";
    public static final String FROZEN = "bluegreen.frozen";
    public static final String BARRIER_HOLDERS = "bluegreen.write.barrier.holders";
    public static final String ROLLBACKS = "bluegreen.rollbacks";
    public static final String UNSAVED_CHANGES = "bluegreen.state.unsaved.changes";

    public static final String CLUSTER_TAG = "cluster";
    public static final String PHASE_TAG = "phase";
    public static final String KIND_TAG = "kind";
    public static final String SQLSTATE_CLASS_TAG = "sqlstate_class";
    public static final String TRIGGER_TAG = "trigger";

    private final PrometheusMeterRegistry registry;

    private ProxyMetrics(PrometheusMeterRegistry registry) {
        this.registry = registry;
    }

    /**
     * A Prometheus registry with every meter of this proxy bound to its figures.
     *
     * @param backendConnections server connections open to a cluster, by its lower-case name
     */
    public static ProxyMetrics prometheus(RoutingControl routing, MigrationStats stats, IntSupplier sessions,
                                          ToIntFunction<String> backendConnections) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        bind(registry, routing, stats, sessions);
        for (ClusterRole cluster : ClusterRole.values()) {
            Gauge.builder(BACKEND_CONNECTIONS, backendConnections, f -> f.applyAsInt(name(cluster))).strongReference(true)
                    .tag(CLUSTER_TAG, name(cluster))
                    .description("Server connections open from this proxy to the cluster").register(registry);
        }
        return new ProxyMetrics(registry);
    }

    static void bind(MeterRegistry registry, RoutingControl routing, MigrationStats stats, IntSupplier sessions) {
        Objects.requireNonNull(routing, "routing");
        Objects.requireNonNull(stats, "stats");
        Objects.requireNonNull(sessions, "sessions");

        Gauge.builder(CLIENT_SESSIONS, sessions, IntSupplier::getAsInt).strongReference(true)
                .description("Client sessions open on this proxy").register(registry);

        for (ClusterRole cluster : ClusterRole.values()) {
            FunctionCounter.builder(UNITS_SERVED, stats, s -> s.unitsServedBy(cluster))
                    .tag(CLUSTER_TAG, name(cluster))
                    .description("Units whose answer the client received from this cluster").register(registry);
        }
        counter(registry, GREEN_ERRORS, stats, MigrationStats::greenErrors,
                "Units green failed where blue, given the same work, did not");
        counter(registry, READ_RETRIES, stats, MigrationStats::readRetries,
                "Reads green failed that were retried on blue");
        counter(registry, GREEN_READS_OVERDUE, stats, MigrationStats::greenReadsOverdue,
                "Reads green had sent no row of within timeouts.green_read, cancelled there and run on blue");

        counter(registry, DIVERGENCES, stats, MigrationStats::divergenceCount,
                "Times the follower did not do what the leader did");
        counter(registry, MIRROR_DROPS, stats, MigrationStats::mirrorDrops,
                "Writes shadow mode could not queue for the follower");
        counter(registry, UNORDERED_STATEMENTS, stats, MigrationStats::unorderedStatements,
                "Statements that ran leader-then-follower outside a transaction block");
        counter(registry, CANCELS_TOO_LATE, stats, MigrationStats::cancelsTooLate,
                "Cancels that came once the leader had run the statement, while the follower took what it made up");
        counter(registry, WRITES_HELD_FOR_COMMITS, stats, MigrationStats::writesHeldForCommits,
                "Writes held back from the leader until other sessions' COMMITs in flight there had answered");
        counter(registry, INSERTS_HELD_FOR_DRAWS, stats, MigrationStats::insertsHeldForDraws,
                "Inserts held back from the leader so that one of several rows drew its ids there one after the other");
        counter(registry, COMMITS_HELD_FOR_WRITES, stats, MigrationStats::commitsHeldForWrites,
                "COMMITs held back from the leader until other sessions' writes in flight there had answered");
        counter(registry, COMMIT_WAITS_RAN_OUT, stats, MigrationStats::commitWaitsRanOut,
                "COMMITs that went to the leader at their bound, before every write they waited for had answered");
        counter(registry, NON_DETERMINISTIC_STATEMENTS, stats, MigrationStats::nonDeterministicTotal,
                "Dual-executed statements whose results may legitimately differ between the clusters");
        counter(registry, PINNED_SESSIONS, stats, MigrationStats::pinnedSessions,
                "Sessions whose state could not be replayed on a twin, so the leader serves their reads");
        counter(registry, TWINS_REMADE, stats, MigrationStats::twinsRemade,
                "Idle follower connections the follower ended (an administrator, a timeout), replaced by new twins");

        gauge(registry, EPOCH, routing, r -> r.current().epoch(), "Epoch of the routing state in force");
        gauge(registry, WEIGHT, routing, r -> r.current().weight(), "Share of read units green serves, 0-100");
        for (ClusterRole cluster : ClusterRole.values()) {
            Gauge.builder(LEADER, routing, r -> r.current().leader() == cluster ? 1 : 0).strongReference(true)
                    .tag(CLUSTER_TAG, name(cluster))
                    .description("1 for the cluster that receives writes first, 0 for the other").register(registry);
        }
        for (Phase phase : Phase.values()) {
            Gauge.builder(PHASE, routing, r -> r.current().phase() == phase ? 1 : 0).strongReference(true)
                    .tag(PHASE_TAG, phase.name().toLowerCase(Locale.ROOT))
                    .description("1 for the migration phase in force, 0 for the others").register(registry);
        }
        gauge(registry, FOLLOWER_IN_SYNC, routing, r -> r.current().followerInSync() ? 1 : 0,
                "1 while the follower holds every write the leader committed since dual-write began");
        gauge(registry, VERIFY_OWED, routing, r -> r.current().owesVerify() ? 1 : 0,
                "1 while a bgctl verify is owed after a stop without shutting down: the follower serves no reads and"
                        + " becomes the writer (cutover, a rollback after cutover, the health rules' too) only by force");
        gauge(registry, FROZEN, routing, r -> r.current().frozen() ? 1 : 0, "1 while the routing state is frozen");
        gauge(registry, BARRIER_HOLDERS, routing, r -> r.barrier().holders().size(),
                "Sessions inside the write barrier, running a unit");
        gauge(registry, UNSAVED_CHANGES, routing, r -> r.unsaved().size(),
                "Changes toward blue in force on this instance that the state store has not saved yet");
        for (RollbackTrigger trigger : RollbackTrigger.values()) {
            FunctionCounter.builder(ROLLBACKS, routing, r -> r.rollbacks(trigger)).tag(TRIGGER_TAG, trigger.label())
                    .description("Rollbacks this instance made, by who pulled the switch: an operator, a health rule,"
                            + " or the proxy after an unclean stop it found (recovery)")
                    .register(registry);
        }
        stats.addListener(new UnitMeters(registry));
    }

    /**
     * proxy → each cluster: every unit's latency (a histogram, by cluster and by read or write) and its
     * errors by SQLSTATE class, recorded as the session engine reports them.
     */
    private static final class UnitMeters implements MigrationStats.Listener {
        private final MeterRegistry registry;
        private final Map<ClusterRole, Timer> reads = new EnumMap<>(ClusterRole.class);
        private final Map<ClusterRole, Timer> writes = new EnumMap<>(ClusterRole.class);
        private final Map<String, Counter> errors = new ConcurrentHashMap<>();

        UnitMeters(MeterRegistry registry) {
            this.registry = registry;
            for (ClusterRole cluster : ClusterRole.values()) {
                reads.put(cluster, timer(registry, cluster, "read"));
                writes.put(cluster, timer(registry, cluster, "write"));
            }
        }

        private static Timer timer(MeterRegistry registry, ClusterRole cluster, String kind) {
            // units take from tens of microseconds: the default smallest bucket, 1 ms, would hold them all
            return Timer.builder(UNIT_LATENCY).tag(CLUSTER_TAG, name(cluster)).tag(KIND_TAG, kind)
                    .publishPercentileHistogram()
                    .minimumExpectedValue(Duration.ofNanos(50_000))
                    .maximumExpectedValue(Duration.ofSeconds(60))
                    .description("Time from a unit's first message to its complete answer, on the cluster that answered")
                    .register(registry);
        }

        @Override
        public void unitServed(ClusterRole cluster, boolean read, long nanos, String sqlState) {
            (read ? reads : writes).get(cluster).record(nanos, TimeUnit.NANOSECONDS);
            if (sqlState != null && sqlState.length() >= 2) {
                String sqlStateClass = sqlState.substring(0, 2);
                errors.computeIfAbsent(name(cluster) + "/" + sqlStateClass, key -> Counter.builder(UNIT_ERRORS)
                        .tag(CLUSTER_TAG, name(cluster)).tag(SQLSTATE_CLASS_TAG, sqlStateClass)
                        .description("Units answered with an error, by cluster and SQLSTATE class")
                        .register(registry)).increment();
            }
        }
    }

    /** The lower-case name a metric label (and the admin API's JSON) uses for a cluster. */
    public static String name(ClusterRole cluster) {
        return cluster.name().toLowerCase(Locale.ROOT);
    }

    /** Every meter in Prometheus' text exposition format (version 0.0.4). */
    public String scrape() {
        return registry.scrape();
    }

    /** Where further meters go. */
    public MeterRegistry registry() {
        return registry;
    }

    private static void counter(MeterRegistry registry, String name, MigrationStats stats,
                                ToDoubleFunction<MigrationStats> figure, String description) {
        FunctionCounter.builder(name, stats, figure).description(description).register(registry);
    }

    private static void gauge(MeterRegistry registry, String name, RoutingControl routing,
                              ToDoubleFunction<RoutingControl> figure, String description) {
        Gauge.builder(name, routing, figure).strongReference(true).description(description).register(registry);
    }
}
