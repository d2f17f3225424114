package dev.bluegreen.bench;

import dev.bluegreen.bench.driver.ControlProtocol;
import dev.bluegreen.embedded.PgCluster;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * The dual-write scenarios: for each query protocol, pgbench {@code -S} and the TPC-B-like script at
 * {@value DualScenario#CLIENTS} clients, against blue directly, against blue and green directly at
 * once, and through bluegreen before {@code start} and with dual-write on to green, the targets interleaved within each scenario and
 * round as in the relay matrix. The proxy is the one {@link ProxyProcess#launchDriver} runs.
 *
 * <p>Invariant: {@code start} is sent only while green holds the same pgbench data as blue. The
 * TPC-B-like script changes the tables, so every run of it, on every target, begins from a fresh
 * {@code pgbench -i} on both clusters (which also keeps any target from running on tables another
 * has grown); after a writing run that was not dual-write staying in sync, the data are made afresh
 * before the next {@code start}.
 *
 * <p>A failed pgbench run, a refused command or a proxy that left the routing state during a run
 * costs that cell, not the whole run: the table shows it failed and lists why, since the other cells
 * are still worth having. A driver that stops answering ends the run.
 */
final class DualWriteBench {

    private static final String DATABASE = "postgres";

    /** The dual-write warm-up of the TPC-B-like script, in units of the per-cell warm-up (5 s: 15 s). */
    private static final int DUAL_WARMUP_FACTOR = 3;

    /** A cell that cannot be measured or trusted; the message says why. */
    private static final class CellFailure extends RuntimeException {
        CellFailure(String message) {
            super(message);
        }
    }

    private final HarnessOptions options;
    private final Pgbench pgbench;
    private final PgCluster blue;
    private final PgCluster green;
    private final ProxyProcess proxy;
    private final Consumer<String> log;
    private ControlProtocol.State state;
    private boolean greenMatchesBlue;

    DualWriteBench(HarnessOptions options, Pgbench pgbench, PgCluster blue, PgCluster green, ProxyProcess proxy,
                   Consumer<String> log) {
        this.options = options;
        this.pgbench = pgbench;
        this.blue = blue;
        this.green = green;
        this.proxy = proxy;
        this.log = log;
    }

    static Endpoint endpoint(PgCluster cluster) {
        return new Endpoint(cluster.host(), cluster.port(), cluster.superuser(), DATABASE);
    }

    /** Every scenario, {@code repeat} times, each target of a scenario right after the other. */
    DualResultsTable measure() {
        List<DualScenario> scenarios = new ArrayList<>();
        for (String protocol : options.protocols()) {
            for (Workload workload : Workload.values()) {
                scenarios.add(new DualScenario(workload, protocol));
            }
        }
        int perRound = scenarios.stream().mapToInt(scenario -> scenario.targets().size()).sum();
        int total = options.repeat() * perRound;
        long initializations = options.repeat() * scenarios.stream()
                .filter(scenario -> scenario.workload().writes())
                .mapToLong(scenario -> scenario.targets().size()).sum();
        // the proxy's own warm-up: -S with blue alone, then the TPC-B-like script and -S at weight 50, per protocol
        long proxyWarmUp = options.warmupSeconds() == 0 ? 0
                : options.protocols().size() * (2L * options.warmupSeconds() + DUAL_WARMUP_FACTOR * options.warmupSeconds());
        log.accept(String.format(Locale.ROOT, "dual-write: %d measured runs of %d s at %d clients, each after a %d s "
                        + "warm-up, and %d fresh pgbench -i on both clusters: about %d minutes plus the pgbench -i",
                total, options.durationSeconds(), DualScenario.CLIENTS, options.warmupSeconds(),
                initializations + (proxyWarmUp > 0 ? 2 : 1),
                Math.round((total * (options.durationSeconds() + options.warmupSeconds() + 1) + proxyWarmUp) / 60.0)));

        state = send(new ControlProtocol.Status());
        freshData();
        warmUpTheProxy();
        DualResultsTable table = new DualResultsTable();
        int done = 0;
        for (int round = 1; round <= options.repeat(); round++) {
            for (DualScenario scenario : scenarios) {
                // as in the relay table, each round starts with another target, so that none always follows the
                // same one; every state a target needs is entered from wherever the last one left the proxy
                List<DualTarget> order = new ArrayList<>(scenario.targets());
                Collections.rotate(order, -(round - 1));
                for (DualTarget target : order) {
                    String summary;
                    try {
                        summary = measureOne(scenario, target, round, table);
                    } catch (CellFailure | PgbenchResult.PgbenchFailure e) {
                        if (scenario.workload().writes()) {
                            greenMatchesBlue = false;
                        }
                        // a run that failed may have left the proxy anywhere, green out of sync for one
                        state = send(new ControlProtocol.Status());
                        table.fail(scenario, target, round, brief(e.getMessage()));
                        summary = "FAILED: " + brief(e.getMessage());
                    }
                    log.accept(String.format(Locale.ROOT, "[%d/%d] %-11s %-8s %-30s %s", ++done, total,
                            scenario.workload().label(), scenario.protocol(), target.label(), summary));
                }
            }
        }
        return table;
    }

    /**
     * Puts the proxy in the target's routing state, warms up, measures with the proxy's counters read
     * on either side, and checks the proxy is still in that state; returns the progress line.
     */
    private String measureOne(DualScenario scenario, DualTarget target, int round, DualResultsTable table) {
        String name = scenario.workload().label() + "-" + scenario.protocol() + "-"
                + target.name().toLowerCase(Locale.ROOT).replace('_', '-') + "-r" + round;
        if (scenario.workload().writes()) {
            freshData();
        }
        if (target.throughProxy()) {
            enter(target);
        }
        if (options.warmupSeconds() > 0) {
            run(scenario, target, options.warmupSeconds(), name + "-warmup");
        }
        ControlProtocol.State before = state = send(new ControlProtocol.Status());
        OptionalLong relayPid = target.throughProxy() ? OptionalLong.of(proxy.pid()) : OptionalLong.empty();
        MeasuredRun run = MeasuredRun.measure(relayPid, OptionalLong.of(blue.pid()), OptionalLong.of(green.pid()),
                () -> run(scenario, target, options.durationSeconds(), name));
        ControlProtocol.State after = state = send(new ControlProtocol.Status());
        Optional<DualResultsTable.ProxyCounters> counters = Optional.empty();
        if (target.throughProxy()) {
            counters = Optional.of(DualResultsTable.ProxyCounters.between(before, after));
            if (!target.holdsIn(after)) {
                throw new CellFailure(String.format(Locale.ROOT, "measured %.0f tps, but the proxy left '%s' during "
                                + "the warm-up or the run: now %s (%d divergences during the run)",
                        run.result().tps(), target.label(), describe(after), counters.get().divergences()));
            }
        }
        if (scenario.workload().writes()) {
            greenMatchesBlue = target.dualWrite();
        }
        table.add(scenario, target, run, counters);
        StringBuilder summary = new StringBuilder(run.summary("bluegreen"));
        counters.ifPresent(c -> {
            c.greenPercent().ifPresent(percent ->
                    summary.append(String.format(Locale.ROOT, ", green served %.0f%%", percent)));
            if (c.divergences() > 0) {
                summary.append(", ").append(c.divergences()).append(" divergences");
            }
        });
        return summary.toString();
    }

    /** One pgbench run of the scenario against the target, logged under {@code name}. */
    private PgbenchResult run(DualScenario scenario, DualTarget target, int seconds, String name) {
        if (target == DualTarget.BOTH_DIRECT) {
            int clients = scenario.bothDirectClients();
            Pgbench.Run run = new Pgbench.Run(scenario.workload(), scenario.protocol(), clients,
                    options.threadsFor(clients), seconds);
            List<PgbenchResult> both = pgbench.runTogether(endpoint(blue), endpoint(green), run, name + "-blue.log",
                    name + "-green.log");
            return scenario.bothDirect(both.get(0), both.get(1));
        }
        Endpoint endpoint = target.throughProxy() ? proxy.endpoint() : endpoint(blue);
        return pgbench.run(endpoint, new Pgbench.Run(scenario.workload(), scenario.protocol(), DualScenario.CLIENTS,
                options.threadsFor(DualScenario.CLIENTS), seconds), name + ".log");
    }

    /**
     * Unmeasured runs through the proxy before the first round, so that every cell measures a proxy whose
     * JIT has compiled the paths it takes, as in a proxy that has been up for a while. First {@code -S}
     * with blue alone: the first cell through the proxy is dual-write off, the baseline of the weight-50
     * goal. Then dual-write at weight 50, where a cell's own warm-up is too short: a fresh proxy spends
     * about 850 µs of CPU per TPC-B transaction in its first 5 s with dual-write on, 360 in the next
     * 5 s and about 210 from 10 s on. Last, fresh data on both clusters, blue alone again.
     */
    private void warmUpTheProxy() {
        if (options.warmupSeconds() == 0) {
            return;
        }
        int dualSeconds = DUAL_WARMUP_FACTOR * options.warmupSeconds();
        log.accept(String.format(Locale.ROOT, "warming up the proxy's JIT: %d s of -S per protocol with blue alone, "
                + "then %d s of the TPC-B-like script and %d s of -S per protocol with dual-write at weight 50",
                options.warmupSeconds(), dualSeconds, options.warmupSeconds()));
        try {
            for (String protocol : options.protocols()) {
                warmUp(Workload.SELECT_ONLY, protocol, options.warmupSeconds(), "blue-alone");
            }
            enter(DualTarget.WEIGHT_50);
            for (String protocol : options.protocols()) {
                warmUp(Workload.TPCB_LIKE, protocol, dualSeconds, "weight-50");
                warmUp(Workload.SELECT_ONLY, protocol, options.warmupSeconds(), "weight-50");
            }
            state = send(new ControlProtocol.Status());
            if (!DualTarget.WEIGHT_50.holdsIn(state)) {
                log.accept("warm-up: the proxy left dual-write at weight 50 during it, now " + describe(state)
                        + ": the cells' own warm-ups are all its write path got");
            }
        } catch (CellFailure | PgbenchResult.PgbenchFailure e) {
            // a warm-up that failed costs the warm-up, not the table: the cells still measure, each from its state
            state = send(new ControlProtocol.Status());
            log.accept("warm-up FAILED, measuring anyway: " + brief(e.getMessage()));
        }
        freshData();
    }

    private void warmUp(Workload workload, String protocol, int seconds, String phase) {
        pgbench.run(proxy.endpoint(), new Pgbench.Run(workload, protocol, DualScenario.CLIENTS,
                options.threadsFor(DualScenario.CLIENTS), seconds),
                "proxy-jit-warmup-" + phase + "-" + workload.label() + "-" + protocol + ".log");
    }

    /** Takes the proxy to the target's routing state, first making green's data blue's again if it must start. */
    private void enter(DualTarget target) {
        List<ControlProtocol.Command> commands = target.commandsFrom(state);
        if (!greenMatchesBlue && commands.stream().anyMatch(ControlProtocol.Start.class::isInstance)) {
            freshData();
            commands = target.commandsFrom(state);
        }
        for (ControlProtocol.Command command : commands) {
            apply(command);
        }
        if (!target.holdsIn(state)) {
            throw new CellFailure("after " + commands.stream().map(ControlProtocol.Command::line).toList()
                    + " the proxy is not at '" + target.label() + "' but " + describe(state));
        }
    }

    /**
     * Blue alone on the proxy, then a fresh {@code pgbench -i} of the same scale on blue and on green,
     * and a checkpoint on each so that none falls due during a measured run.
     */
    private void freshData() {
        if (!state.blueAlone()) {
            apply(new ControlProtocol.Abort());
        }
        for (PgCluster cluster : List.of(blue, green)) {
            pgbench.initialize(endpoint(cluster), options.scale(), "pgbench-init-" + cluster.name() + ".log");
            cluster.execute(DATABASE, "CHECKPOINT");
        }
        greenMatchesBlue = true;
    }

    private void apply(ControlProtocol.Command command) {
        ControlProtocol.Reply reply = proxy.control(command);
        switch (reply) {
            case ControlProtocol.Ok ok -> state = ok.state();
            case ControlProtocol.Refused refused -> {
                state = send(new ControlProtocol.Status());
                throw new CellFailure("the proxy refused '" + command.line() + "': " + refused.reason());
            }
        }
    }

    /** A command that changes nothing, so a refusal means the driver is broken: that ends the run. */
    private ControlProtocol.State send(ControlProtocol.Status status) {
        return switch (proxy.control(status)) {
            case ControlProtocol.Ok ok -> ok.state();
            case ControlProtocol.Refused refused ->
                    throw new IllegalStateException("the proxy driver could not report its state: " + refused.reason());
        };
    }

    private static String describe(ControlProtocol.State state) {
        return "phase " + state.phase() + ", weight " + state.weight() + (state.inSync() ? ", green in sync"
                : ", green out of sync");
    }

    /**
     * The first line of a failure and, for a pgbench that exited with an error, the first error line
     * of its output: enough for the list under the table; the log has the rest.
     */
    static String brief(String message) {
        if (message == null || message.isBlank()) {
            return "(no message)";
        }
        List<String> lines = message.strip().lines().toList();
        String first = lines.getFirst().strip();
        return lines.stream().skip(1)
                .map(String::strip)
                .filter(line -> line.contains("error:") || line.startsWith("ERROR:") || line.contains("FATAL:"))
                .findFirst()
                .map(error -> first + ": " + error)
                .orElse(first);
    }
}
