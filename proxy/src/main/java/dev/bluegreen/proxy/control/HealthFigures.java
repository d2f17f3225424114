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
 * @param divergences divergences recorded in the window, either way round
 * @param greenBlamedReads of {@code greenBlamed}, the reads green failed before any byte reached the client
 *                    that blue then answered
 */
public record HealthFigures(Map<ClusterRole, Cluster> clusters, long greenRan, long greenBlamed, long divergences,
                            long greenBlamedReads) {

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
     * Derives green's figures.
     *
     * @param ran              units green ran: served, followed, and reads it failed before blue answered them
     * @param greenBlamedReads of {@code greenBlamed}, the reads green failed that blue answered
     */
    static HealthFigures of(Map<ClusterRole, Cluster> clusters, long ran, long greenBlamed, long greenBlamedReads,
                            long divergences) {
        return new HealthFigures(clusters, ran, greenBlamed, divergences, greenBlamedReads);
    }

    /** Green's error rate with every kind of unit counted that has a sample ({@link #errorRate(long)} of 1). */
    public Double errorRate() {
        return errorRate(1);
    }

    /**
     * Green's error rate as DESIGN §6 defines it: the sum of a rate per kind of unit, each counted only with at
     * least {@code minSamples} samples (of green's, and where it is compared with blue, of blue's too), null when
     * none has:
     * <ul>
     *   <li>the writes green ran after blue, as the follower: those it failed or diverged on where blue did
     *       not, per write followed;
     *   <li>the reads green served, those blue then ran again included: its error rate (a failure blue
     *       answered counts against it; one blue failed too counts as it does for blue) beyond blue's on the
     *       reads blue served; where blue served too few (weight 100, after cutover), the failures blue then
     *       answered, per read green served;
     *   <li>the writes green answered as leader: its error rate beyond blue's on the writes blue answered.
     * </ul>
     * Where blue answered too few of a kind (reads at weight 100, writes after cutover) there is nothing to
     * compare green's errors of that kind with, and they are the application's: with no kind to judge but
     * such a kind, the rate is 0; with too few of every kind on green's side, there is none. Each kind is a
     * rate of its own, so that the many writes green follows do not water down the reads it fails for the
     * clients it serves.
     */
    public Double errorRate(long minSamples) {
        return judged(minSamples).rate();
    }

    /**
     * The samples behind {@link #errorRate(long)}: green's units of the kinds that counted, or, when none did,
     * the most any kind had (what a rule below its minimum reports).
     */
    public long errorRateSamples(long minSamples) {
        return judged(minSamples).samples();
    }

    /** {@link #errorRate(long)} and {@link #errorRateSamples(long)}, worked out together. */
    private record Judged(Double rate, long samples) {}

    private Judged judged(long minSamples) {
        long enough = Math.max(1, minSamples);
        long followed = green().followed();
        long greenReads = green().read().count() + greenBlamedReads;
        long blueReads = blue().read().count();
        long greenLed = green().write().count() - green().followed();
        long blueLed = blue().write().count() - blue().followed();
        double rate = 0;
        long counted = 0;
        if (followed >= enough) {
            rate += (double) Math.max(0, greenBlamed - greenBlamedReads) / followed;
            counted += followed;
        }
        if (greenReads >= enough && blueReads >= enough) {
            rate += excess(green().read().errors() + greenBlamedReads, greenReads, blue().read().errors(), blueReads);
            counted += greenReads;
        } else if (greenReads >= enough && greenBlamedReads > 0) {
            // nothing of blue's to compare with (weight 100, after cutover), but the reads green failed that blue
            // then answered are green's failures for certain: blue did the same work
            rate += (double) greenBlamedReads / greenReads;
            counted += greenReads;
        }
        if (greenLed >= enough && blueLed >= enough) {
            rate += excess(green().write().errors(), greenLed, blue().write().errors(), blueLed);
            counted += greenLed;
        }
        if (counted > 0) {
            return new Judged(Math.min(1.0, rate), counted);
        }
        // green answered enough of a kind blue answered too few of to compare with (reads at weight 100 of a
        // read-only application, writes after cutover): green's errors there are the application's. Too few of
        // every kind on green's side is no evidence at all.
        long uncompared = (greenReads >= enough ? greenReads : 0) + (greenLed >= enough ? greenLed : 0);
        if (uncompared > 0) {
            return new Judged(0.0, uncompared);
        }
        return new Judged(null, Math.max(followed, Math.max(blueReads >= enough ? Math.min(greenReads, blueReads)
                : greenReads, Math.min(greenLed, blueLed))));
    }

    /** Green's error rate on one kind of unit beyond blue's on the same kind. */
    private static double excess(long greenErrors, long greenAnswered, long blueErrors, long blueAnswered) {
        return Math.max(0, (double) greenErrors / greenAnswered - (double) blueErrors / blueAnswered);
    }

    /** Nothing recorded. */
    public static HealthFigures empty() {
        Map<ClusterRole, Cluster> none = new EnumMap<>(ClusterRole.class);
        for (ClusterRole role : ClusterRole.values()) {
            none.put(role, new Cluster(0, 0, 0, null, 0, 0, Latency.NONE, Latency.NONE));
        }
        return new HealthFigures(none, 0, 0, 0, 0);
    }

    public Cluster blue() {
        return clusters.get(ClusterRole.BLUE);
    }

    public Cluster green() {
        return clusters.get(ClusterRole.GREEN);
    }
}
