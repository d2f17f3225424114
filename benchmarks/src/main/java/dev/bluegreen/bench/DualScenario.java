package dev.bluegreen.bench;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * One group of rows of the dual-write table: a pgbench script and query protocol, always at
 * {@value #CLIENTS} clients, measured on each of its {@link #targets()}.
 */
record DualScenario(Workload workload, String protocol) {

    /** The client count: enough sessions to keep both clusters busy. */
    static final int CLIENTS = 16;

    /** A bar the issue sets: a row's throughput at least {@code atLeast} times that of {@code baseline}. */
    record Goal(DualTarget baseline, double atLeast) {

        String text() {
            return String.format(Locale.ROOT, ">= %.2f x %s", atLeast, baseline.label());
        }

        /** @param ratio the row's throughput over the baseline's; empty while it is missing, and then so is the answer */
        Optional<Boolean> met(OptionalDouble ratio) {
            return ratio.isEmpty() ? Optional.empty() : Optional.of(ratio.getAsDouble() >= atLeast);
        }

        /**
         * "yes", "NO", or "-" while the ratio is missing. A ratio that misses the goal by less than the
         * table's two decimals show ("0.80" under "0.80") is spelled out: "NO (0.796)".
         */
        String verdict(OptionalDouble ratio) {
            return met(ratio).map(met -> {
                if (met) {
                    return "yes";
                }
                boolean looksMet = Double.parseDouble(Tables.ratio(ratio)) >= atLeast;
                return looksMet ? String.format(Locale.ROOT, "NO (%.3f)", ratio.getAsDouble()) : "NO";
            }).orElse("-");
        }
    }

    /**
     * Select-only reads at every weight; the TPC-B-like script at weight 0 only: each of its
     * transactions writes, so it runs on both clusters whatever green's share of reads.
     */
    List<DualTarget> targets() {
        return switch (workload) {
            case SELECT_ONLY -> List.of(DualTarget.values());
            case TPCB_LIKE -> List.of(DualTarget.DIRECT, DualTarget.BOTH_DIRECT, DualTarget.DUAL_WRITE_OFF,
                    DualTarget.WEIGHT_0);
        };
    }

    /**
     * Clients on each cluster for {@link DualTarget#BOTH_DIRECT}: what dual-write asks of the two.
     * Every TPC-B transaction writes, so each cluster runs all of them; select-only reads are what
     * weight 50 asks for, half the clients on each.
     */
    int bothDirectClients() {
        return workload.writes() ? CLIENTS : CLIENTS / 2;
    }

    /**
     * The figure of a {@link DualTarget#BOTH_DIRECT} run from its two halves. Both clusters run each
     * write, so dual-write's transactions are at most as many as one cluster's: the mean of the two.
     * Split reads add up. Latency is the mean over all transactions either ran.
     */
    PgbenchResult bothDirect(PgbenchResult blue, PgbenchResult green) {
        double transactions = blue.tps() + green.tps();
        double latency = transactions == 0 ? 0
                : (blue.tps() * blue.latencyMs() + green.tps() * green.latencyMs()) / transactions;
        return new PgbenchResult(workload.writes() ? transactions / 2 : transactions, latency);
    }

    /**
     * Dual-write costs a second cluster's work on the same cores, so TPC-B with it on must reach
     * 0.4 of direct; green serving half the reads must keep 0.8 of the proxy with blue alone.
     */
    Optional<Goal> goal(DualTarget target) {
        if (workload == Workload.TPCB_LIKE && target == DualTarget.WEIGHT_0) {
            return Optional.of(new Goal(DualTarget.DIRECT, 0.4));
        }
        if (workload == Workload.SELECT_ONLY && target == DualTarget.WEIGHT_50) {
            return Optional.of(new Goal(DualTarget.DUAL_WRITE_OFF, 0.8));
        }
        return Optional.empty();
    }
}
