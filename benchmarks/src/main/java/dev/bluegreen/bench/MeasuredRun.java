package dev.bluegreen.bench;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.function.Supplier;

/**
 * One measured pgbench run and what happened around it: the CPU the relay in the middle burnt and, in
 * the dual-write table, the CPU of blue's and green's servers (postmaster and backends, those that have
 * exited included), each in percent of one core; and the share of the machine other processes took
 * (see {@link MachineLoad}).
 */
record MeasuredRun(PgbenchResult result, OptionalDouble relayCpuPercent, OptionalDouble otherLoadPercent,
                   OptionalDouble blueCpuPercent, OptionalDouble greenCpuPercent) {

    /** A run whose clusters' CPU was not measured. */
    MeasuredRun(PgbenchResult result, OptionalDouble relayCpuPercent, OptionalDouble otherLoadPercent) {
        this(result, relayCpuPercent, otherLoadPercent, OptionalDouble.empty(), OptionalDouble.empty());
    }

    /**
     * Runs {@code pgbench} between samples of the relay's CPU ({@code relayPid}, when there is one)
     * and of the machine's load.
     */
    static MeasuredRun measure(OptionalLong relayPid, Supplier<PgbenchResult> pgbench) {
        return measure(relayPid, OptionalLong.empty(), OptionalLong.empty(), pgbench);
    }

    /**
     * {@link #measure(OptionalLong, Supplier)}, and the CPU of the servers whose postmasters are {@code bluePid}
     * and {@code greenPid}: sampled once the run's backends have exited and been reaped ({@link MachineLoad#settle}),
     * so that their CPU is in their postmaster's.
     */
    static MeasuredRun measure(OptionalLong relayPid, OptionalLong bluePid, OptionalLong greenPid,
                               Supplier<PgbenchResult> pgbench) {
        MachineLoad.settle();
        Optional<MachineLoad.Sample> loadBefore = MachineLoad.sample();
        OptionalLong blueBefore = MachineLoad.treeTicks(bluePid);
        OptionalLong greenBefore = MachineLoad.treeTicks(greenPid);
        Optional<Duration> cpuBefore = cpu(relayPid);
        long started = System.nanoTime();
        PgbenchResult result = pgbench.get();
        long elapsedNanos = System.nanoTime() - started;
        Optional<Duration> cpuAfter = cpu(relayPid);
        MachineLoad.settle();
        OptionalDouble otherLoad = MachineLoad.otherPercent(loadBefore, MachineLoad.sample());
        OptionalDouble relayCpu = cpuBefore.isPresent() && cpuAfter.isPresent()
                ? OptionalDouble.of(100.0 * cpuAfter.get().minus(cpuBefore.get()).toNanos() / elapsedNanos)
                : OptionalDouble.empty();
        return new MeasuredRun(result, relayCpu, otherLoad,
                MachineLoad.percentOfOneCore(blueBefore, MachineLoad.treeTicks(bluePid), elapsedNanos),
                MachineLoad.percentOfOneCore(greenBefore, MachineLoad.treeTicks(greenPid), elapsedNanos));
    }

    /**
     * CPU time per transaction pgbench counted, in µs, from a CPU share in percent of one core: empty without
     * the share or without transactions.
     */
    OptionalDouble microsPerTransaction(OptionalDouble cpuPercent) {
        if (cpuPercent.isEmpty() || result.tps() <= 0) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(cpuPercent.getAsDouble() * 10_000 / result.tps());
    }

    /** User plus system CPU time of the relay so far, all threads; empty for no relay. */
    private static Optional<Duration> cpu(OptionalLong relayPid) {
        return relayPid.isEmpty() ? Optional.empty()
                : ProcessHandle.of(relayPid.getAsLong()).flatMap(handle -> handle.info().totalCpuDuration());
    }

    /** "  12345 tps    1.234 ms, bluegreen cpu 55%, other processes 2% of the machine" for the progress log. */
    String summary(String relayLabel) {
        StringBuilder summary = new StringBuilder(String.format(Locale.ROOT, "%9.0f tps %8.3f ms",
                result.tps(), result.latencyMs()));
        relayCpuPercent.ifPresent(percent ->
                summary.append(String.format(Locale.ROOT, ", %s cpu %.0f%%", relayLabel, percent)));
        otherLoadPercent.ifPresent(percent ->
                summary.append(String.format(Locale.ROOT, ", other processes %.0f%% of the machine", percent)));
        return summary.toString();
    }
}
