package dev.bluegreen.proxy.control;

import dev.bluegreen.proxy.routing.ClusterRole;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;

/**
 * What the health rules judge (DESIGN §6): each cluster's units over the window and the figures derived
 * for green. Immutable; {@link HealthJudge} reads it, the admin API shows it.
 *
 * @param clusters    per cluster: what it served and followed, errors, latencies
 * @param greenRan    units green ran: served, followed, and reads it failed before blue answered them
 * @param greenBlamed green failed where blue, given the same work, did not (retried reads blue answered,
 *                    writes green diverged on while following blue)
 * @param errorRate   green's error rate, 0 to 1; null when green ran nothing
 * @param divergences divergences recorded in the window, either way round
 */
public record HealthFigures(Map<ClusterRole, Cluster> clusters, long greenRan, long greenBlamed, Double errorRate,
                            long divergences) {

    /**
     * One kind of unit (read or write) a cluster ran: how many (for writes, those it followed included),
     * how many it answered with an error, and percentiles in milliseconds (null without samples).
     */
    public record Latency(long count, long errors, Double p50Ms, Double p95Ms, Double p99Ms) {
        static final Latency NONE = new Latency(0, 0, null, null, null);
    }

    /**
     * @param units     units this cluster ran: those it answered and, as follower, the writes it ran
     * @param errors    units it answered with an error
     * @param errorRate errors per unit answered; null when it answered none
     * @param served    units whose answer the client received from it
     * @param followed  writes it ran as the follower
     */
    public record Cluster(long units, double unitsPerSecond, long errors, Double errorRate, long served, long followed,
                          Latency read, Latency write) {

        public Latency latency(boolean reads) {
            return reads ? read : write;
        }
    }

    public HealthFigures {
        clusters = Map.copyOf(clusters);
        for (ClusterRole role : ClusterRole.values()) {
            Objects.requireNonNull(clusters.get(role), role.name());
        }
    }

    /**
     * Derives green's error rate: blamed failures per unit green ran, plus, for the units only green
     * answered, the errors beyond what blue's error rate for the same kind of unit would explain. Where
     * blue answered no unit of that kind in the window (after cutover, at weight 100) there is nothing to
     * compare with, and green's errors there are the application's, not green's.
     */
    static HealthFigures of(Map<ClusterRole, Cluster> clusters, long greenRetried, long greenBlamed, long divergences) {
        Cluster green = clusters.get(ClusterRole.GREEN);
        Cluster blue = clusters.get(ClusterRole.BLUE);
        long ran = green.units() + greenRetried;
        Double rate = null;
        if (ran > 0) {
            double excess = excess(green.read(), 0, blue.read(), 0)
                    + excess(green.write(), green.followed(), blue.write(), blue.followed());
            rate = Math.min(1.0, (greenBlamed + excess) / ran);
        }
        return new HealthFigures(clusters, ran, greenBlamed, rate, divergences);
    }

    /** Green's errors on units of one kind it answered, beyond blue's rate on the same kind. */
    private static double excess(Latency green, long greenFollowed, Latency blue, long blueFollowed) {
        long blueAnswered = blue.count() - blueFollowed;
        if (blueAnswered <= 0) {
            return 0;
        }
        long greenAnswered = green.count() - greenFollowed;
        return Math.max(0, green.errors() - (double) blue.errors() / blueAnswered * greenAnswered);
    }

    /** Nothing recorded. */
    public static HealthFigures empty() {
        Map<ClusterRole, Cluster> none = new EnumMap<>(ClusterRole.class);
        for (ClusterRole role : ClusterRole.values()) {
            none.put(role, new Cluster(0, 0, 0, null, 0, 0, Latency.NONE, Latency.NONE));
        }
        return new HealthFigures(none, 0, 0, null, 0);
    }

    public Cluster blue() {
        return clusters.get(ClusterRole.BLUE);
    }

    public Cluster green() {
        return clusters.get(ClusterRole.GREEN);
    }
}
