package dev.bluegreen.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * How much of the machine something other than the harness used during a run, from /proc: busy
 * ticks of all CPUs minus the ticks of the harness's own process tree (this JVM, pgbench, blue, the
 * proxy, PgBouncer). On a shared machine that number says whether a cell can be trusted.
 *
 * <p>The tree is counted as the sum, over every live process in it, of its own CPU time plus that
 * of its reaped children ({@code cutime}, {@code cstime}): a backend that has exited is in the
 * postmaster's, a finished pgbench in this JVM's. Samples are taken when no process of ours is
 * starting or exiting (see {@link #settle()}), so nothing is counted twice or lost in between.
 */
final class MachineLoad {

    private static final Path PROC = Path.of("/proc");
    /** The clock ticks /proc counts CPU time in: 100 a second on every Linux this runs on. */
    static final int USER_HZ = 100;

    /** Clock ticks (USER_HZ, the same unit in both files) at one moment. */
    record Sample(long machineTotal, long machineBusy, long ours) {
    }

    private MachineLoad() {
    }

    /** Empty where /proc is not Linux's. */
    static Optional<Sample> sample() {
        try {
            long[] machine = machineTicks(Files.readAllLines(PROC.resolve("stat")).getFirst());
            return Optional.of(new Sample(machine[0], machine[1], treeTicks(ProcessHandle.current())));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Percent of the whole machine (all cores) used by others between the two samples. */
    static OptionalDouble otherPercent(Optional<Sample> before, Optional<Sample> after) {
        if (before.isEmpty() || after.isEmpty()) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(otherPercent(before.get(), after.get()));
    }

    static double otherPercent(Sample before, Sample after) {
        long total = after.machineTotal() - before.machineTotal();
        if (total <= 0) {
            return 0;
        }
        long others = (after.machineBusy() - before.machineBusy()) - (after.ours() - before.ours());
        return Math.max(0, 100.0 * others / total);
    }

    /** Lets connections of a finished pgbench close and their backends be reaped before a sample. */
    static void settle() {
        try {
            Thread.sleep(250);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** "cpu  user nice system idle iowait irq softirq steal ..." → {total, busy}. */
    static long[] machineTicks(String cpuLine) {
        String[] fields = cpuLine.trim().split("\\s+");
        long busy = 0;
        long total = 0;
        List<Integer> idleColumns = List.of(4, 5); // idle, iowait
        for (int i = 1; i < fields.length && i <= 8; i++) { // guest time is already inside user
            long value = Long.parseLong(fields[i]);
            total += value;
            if (!idleColumns.contains(i)) {
                busy += value;
            }
        }
        return new long[] {total, busy};
    }

    /**
     * The CPU of a process tree so far (a postmaster and its backends and workers): utime + stime + cutime +
     * cstime of the process and of each live descendant, so that a descendant counts whether it is still
     * running (the WAL writer, the checkpointer) or has exited and been reaped (a backend, whose CPU is then in
     * its parent's cutime and cstime). Empty without a pid or once the process has gone.
     */
    static OptionalLong treeTicks(OptionalLong pid) {
        if (pid.isEmpty() || pid.getAsLong() <= 0) {
            return OptionalLong.empty();
        }
        return ProcessHandle.of(pid.getAsLong()).map(root -> OptionalLong.of(treeTicks(root))).orElse(OptionalLong.empty());
    }

    private static long treeTicks(ProcessHandle root) {
        return Stream.concat(Stream.of(root), root.descendants()).mapToLong(process -> processTicks(process.pid())).sum();
    }

    /** Ticks between two samples over a span, in percent of one core; empty when either sample is. */
    static OptionalDouble percentOfOneCore(OptionalLong before, OptionalLong after, long elapsedNanos) {
        if (before.isEmpty() || after.isEmpty() || elapsedNanos <= 0 || after.getAsLong() < before.getAsLong()) {
            return OptionalDouble.empty(); // less after than before: not the same process (a restart, a reused pid)
        }
        double nanos = (after.getAsLong() - before.getAsLong()) * (1_000_000_000.0 / USER_HZ);
        return OptionalDouble.of(100.0 * nanos / elapsedNanos);
    }

    /** utime + stime + cutime + cstime of one process; 0 if it has just gone. */
    private static long processTicks(long pid) {
        try {
            return processTicks(Files.readString(PROC.resolve(Long.toString(pid)).resolve("stat")));
        } catch (IOException e) {
            return 0;
        }
    }

    /** Fields 14 to 17 of /proc/PID/stat, counted after the command name, which may hold spaces. */
    static long processTicks(String stat) {
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // fields[0] is field 3 (state), so utime (14) is fields[11]
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12])
                + Long.parseLong(fields[13]) + Long.parseLong(fields[14]);
    }
}
