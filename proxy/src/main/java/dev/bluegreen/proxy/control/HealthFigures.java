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
 * @param errorRate   green's error rate, 0 to 1, every part counted ({@link #errorRate(long)}); null when green
 *                    ran nothing
 * @param divergences divergences recorded in the window, either way round
 * @param greenBlamedReads of {@code greenBlamed}, the reads green failed before any byte reached the client
 *                    that blue then answered
 */
public record HealthFigures(Map<ClusterRole, Cluster> clusters, long greenRan, long greenBlamed, Double errorRate,
                            long divergences, long greenBlamedReads) {

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
     * Derives green's figures. The error rate shown is {@link #errorRate(long)} with every part counted.
     *
     * @param ran              units green ran: served, followed, and reads it failed before blue answered them
     * @param greenBlamedReads of {@code greenBlamed}, the reads green failed that blue answered
     */
    static HealthFigures of(Map<ClusterRole, Cluster> clusters, long ran, long greenBlamed, long greenBlamedReads,
                            long divergences) {
        HealthFigures partial = new HealthFigures(clusters, ran, greenBlamed, null, divergences, greenBlamedReads);
        return new HealthFigures(clusters, ran, greenBlamed, partial.errorRate(1), divergences, greenBlamedReads);
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
     * such a kind, the rate is 0; with too few of every kind on green's side, there is none. Each kind is a rate of its own,
     * so that the many writes green follows do not water down the reads it fails for the clients it serves.
     */
    public Double errorRate(long minSamples) {
        long enough = Math.max(1, minSamples);
        Cluster green = green();
        Cluster blue = blue();
        double rate = 0;
        boolean any = false;
        if (green.followed() >= enough) {
            rate += (double) Math.max(0, greenBlamed - greenBlamedReads) / green.followed();
            any = true;
        }
        long greenReads = green.read().count() + greenBlamedReads;
        Double reads = excessRate(greenReads, green.read().errors() + greenBlamedReads,
                blue.read().count(), blue.read().errors(), enough);
        if (reads == null && greenReads >= enough && greenBlamedReads > 0) {
            // nothing of blue's to compare with (weight 100, after cutover), but the reads green failed that blue
            // then answered are green's failures for certain: blue did the same work
            reads = (double) greenBlamedReads / greenReads;
        }
        Double writes = excessRate(green.write().count() - green.followed(), green.write().errors(),
                blue.write().count() - blue.followed(), blue.write().errors(), enough);
        for (Double part : new Double[] {reads, writes}) {
            if (part != null) {
                rate += part;
                any = true;
            }
        }
        if (!any) {
            // green answered enough of a kind blue answered too few of to compare with (reads at weight 100 of a
            // read-only application, writes after cutover): green's errors there are the application's. Too
            // few of every kind on green's side is no evidence at all.
            return uncompared(enough) > 0 ? 0.0 : null;
        }
        return Math.max(0.0, Math.min(1.0, rate));
    }

    /**
     * The samples behind {@link #errorRate(long)}: green's units of the kinds that counted, or, when none did,
     * the most any kind had (what a rule below its minimum reports).
     */
    public long errorRateSamples(long minSamples) {
        long enough = Math.max(1, minSamples);
        Cluster green = green();
        Cluster blue = blue();
        long followed = green.followed();
        long greenReads = green.read().count() + greenBlamedReads;
        long greenLed = green.write().count() - green.followed();
        long comparedReads = Math.min(greenReads, blue.read().count());
        // below the minimum, green's reads alone where blue has too few to compare with
        long reads = blue.read().count() >= enough ? comparedReads : greenReads;
        long writes = Math.min(greenLed, blue.write().count() - blue.followed());
        boolean readsCount = comparedReads >= enough || (greenReads >= enough && greenBlamedReads > 0);
        long counted = (followed >= enough ? followed : 0) + (readsCount ? greenReads : 0)
                + (writes >= enough ? greenLed : 0);
        if (counted > 0) {
            return counted;
        }
        long uncompared = uncompared(enough);
        return uncompared > 0 ? uncompared : Math.max(followed, Math.max(reads, writes));
    }

    /** Green's units of the kinds it answered enough of and blue too few of, to compare with: 0 when none. */
    private long uncompared(long enough) {
        long greenReads = green().read().count() + greenBlamedReads;
        long greenLed = green().write().count() - green().followed();
        return (greenReads >= enough && blue().read().count() < enough && greenBlamedReads == 0 ? greenReads : 0)
                + (greenLed >= enough && blue().write().count() - blue().followed() < enough ? greenLed : 0);
    }

    /** Green's error rate on one kind of unit beyond blue's on the same kind; null with too few of either. */
    private static Double excessRate(long greenAnswered, long greenErrors, long blueAnswered, long blueErrors, long enough) {
        if (greenAnswered < enough || blueAnswered < enough) {
            return null;
        }
        return Math.max(0, (double) greenErrors / greenAnswered - (double) blueErrors / blueAnswered);
    }

    /** Nothing recorded. */
    public static HealthFigures empty() {
        Map<ClusterRole, Cluster> none = new EnumMap<>(ClusterRole.class);
        for (ClusterRole role : ClusterRole.values()) {
            none.put(role, new Cluster(0, 0, 0, null, 0, 0, Latency.NONE, Latency.NONE));
        }
        return new HealthFigures(none, 0, 0, null, 0, 0);
    }

    public Cluster blue() {
        return clusters.get(ClusterRole.BLUE);
    }

    public Cluster green() {
        return clusters.get(ClusterRole.GREEN);
    }
}
