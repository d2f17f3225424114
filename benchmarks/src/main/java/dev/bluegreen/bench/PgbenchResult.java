package dev.bluegreen.bench;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one pgbench run measured, read from its summary. Parsing is strict: a run that failed
 * transactions, was aborted or printed no throughput is an error, never a number in the table.
 *
 * @param tps transactions per second without the initial connection time
 * @param latencyMs pgbench's "latency average", in milliseconds
 */
record PgbenchResult(double tps, double latencyMs) {

    private static final Pattern TPS = Pattern.compile(
            "^tps = ([0-9]+(?:\\.[0-9]+)?) \\(without initial connection time\\)$", Pattern.MULTILINE);
    private static final Pattern LATENCY = Pattern.compile(
            "^latency average = ([0-9]+(?:\\.[0-9]+)?) ms$", Pattern.MULTILINE);
    private static final Pattern FAILED = Pattern.compile(
            "^number of failed transactions: ([0-9]+)", Pattern.MULTILINE);
    private static final Pattern PROCESSED = Pattern.compile(
            "^number of transactions actually processed: ([0-9]+)", Pattern.MULTILINE);

    /** Thrown when pgbench's output does not describe a clean run. */
    static final class PgbenchFailure extends RuntimeException {
        PgbenchFailure(String message) {
            super(message);
        }
    }

    static PgbenchResult parse(String output) {
        if (output.contains("Run was aborted")) {
            throw new PgbenchFailure("pgbench run was aborted (a client lost its connection or hit an error)");
        }
        long failed = find(FAILED, output).map(Long::parseLong).orElse(0L);
        if (failed > 0) {
            throw new PgbenchFailure("pgbench reported " + failed + " failed transactions");
        }
        long processed = find(PROCESSED, output).map(Long::parseLong)
                .orElseThrow(() -> new PgbenchFailure("no 'number of transactions actually processed' line"));
        if (processed == 0) {
            throw new PgbenchFailure("pgbench processed no transactions");
        }
        double tps = find(TPS, output).map(Double::parseDouble)
                .orElseThrow(() -> new PgbenchFailure(
                        "no 'tps = ... (without initial connection time)' line (pgbench 14 or newer is needed)"));
        double latency = find(LATENCY, output).map(Double::parseDouble)
                .orElseThrow(() -> new PgbenchFailure("no 'latency average = ... ms' line"));
        return new PgbenchResult(tps, latency);
    }

    private static Optional<String> find(Pattern pattern, String output) {
        Matcher matcher = pattern.matcher(output);
        return matcher.find() ? Optional.of(matcher.group(1)) : Optional.empty();
    }
}
