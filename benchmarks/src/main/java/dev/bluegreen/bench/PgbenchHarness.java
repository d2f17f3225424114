package dev.bluegreen.bench;

import dev.bluegreen.embedded.PgCluster;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * pgbench {@code -S} against blue directly, through bluegreen and through PgBouncer (session mode),
 * side by side, for each query protocol and client count asked for.
 *
 * <p>Fairness: every target gets the same pgbench options; each measured run follows an unmeasured
 * warm-up of the same shape on the same target (the proxy's JIT needs it, PgBouncer gets it too);
 * targets are measured interleaved within each scenario, so slow drift on the machine spreads over
 * all three instead of landing on one. Everything started here is stopped at the end, on failure
 * and on Ctrl-C (see {@link Cleanup}).
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.bluegreen.bench.PgbenchHarness [--duration 15] [--repeat 3] ...
 * </pre>
 */
public final class PgbenchHarness {

    private static final String PG_VERSION = "16.9.0";
    private static final String DATABASE = "postgres";

    private final HarnessOptions options;
    private final Path workDir;

    private PgbenchHarness(HarnessOptions options, Path repoRoot) {
        this.options = options;
        this.workDir = repoRoot.resolve("benchmarks/target/bench");
    }

    public static void main(String[] args) {
        Path repoRoot = repoRoot();
        HarnessOptions options;
        try {
            options = HarnessOptions.parse(List.of(args), repoRoot);
        } catch (HarnessOptions.UsageException e) {
            if (e.getMessage().isEmpty()) {
                System.out.println(HarnessOptions.USAGE);
                System.exit(0);
            }
            System.err.println("PgbenchHarness: " + e.getMessage() + "\n" + HarnessOptions.USAGE);
            System.exit(2);
            return;
        }
        try {
            new PgbenchHarness(options, repoRoot).run();
        } catch (Exception e) {
            System.err.println("PgbenchHarness: FAILED: " + e.getMessage());
            // our own failures say all there is to say; anything else gets its stack trace
            if (!(e instanceof IllegalStateException || e instanceof PgbenchResult.PgbenchFailure)) {
                e.printStackTrace(System.err);
            }
            System.exit(1);
        }
        System.exit(0);
    }

    private void run() throws IOException, InterruptedException {
        if (!Files.isRegularFile(options.proxyJar())) {
            throw new IllegalStateException("no proxy jar at " + options.proxyJar()
                    + ": build it first with ./mvnw -DskipTests package (from the repository root)");
        }
        Path bouncerExecutable = PgBouncerProcess.ensureInstalled(workDir.resolve("apt-get.log"));
        String bouncerVersion = PgBouncerProcess.version(bouncerExecutable);
        int poolSize = Math.max(64, options.clients().stream().mapToInt(Integer::intValue).max().orElse(1));

        try (Cleanup cleanup = new Cleanup()) {
            Pgbench pgbench = new Pgbench(workDir.resolve("logs"));
            String pgbenchVersion = pgbench.version();

            log("starting blue (PostgreSQL " + PG_VERSION + ")");
            PgCluster blue = cleanup.register(PgCluster.builder()
                    .name("blue")
                    .version(PG_VERSION)
                    .dataDir(workDir.resolve("blue"))
                    .wipeDataDir()
                    .setting("max_connections", "200")
                    .setting("shared_buffers", "256MB")
                    // only pgbench -i writes, and a lost benchmark table is no loss
                    .setting("fsync", "off")
                    .setting("synchronous_commit", "off")
                    .start());
            Endpoint direct = new Endpoint(blue.host(), blue.port(), blue.superuser(), DATABASE);

            PgBouncerProcess bouncer = cleanup.register(
                    PgBouncerProcess.launch(bouncerExecutable, direct, poolSize, workDir));
            ProxyProcess proxy = cleanup.register(ProxyProcess.launch(options.proxyJar(), direct, workDir.resolve("proxy")));
            cleanup.register(pgbench);

            log("pgbench -i -s " + options.scale() + " on blue");
            pgbench.initialize(direct, options.scale());
            bouncer.awaitReady();
            proxy.awaitReady();
            log("blue " + direct.port() + ", bluegreen " + proxy.endpoint().port() + " (pid " + proxy.pid()
                    + "), pgbouncer " + bouncer.endpoint().port() + " (pid " + bouncer.pid() + ")");

            List<Subject> subjects = List.of(
                    new Subject(Target.DIRECT, direct, OptionalLong.empty()),
                    new Subject(Target.BLUEGREEN, proxy.endpoint(), OptionalLong.of(proxy.pid())),
                    new Subject(Target.PGBOUNCER, bouncer.endpoint(), OptionalLong.of(bouncer.pid())));
            ResultsTable table = measure(pgbench, subjects);

            List<String> title = title(pgbenchVersion, bouncerVersion, poolSize);
            System.out.println();
            System.out.print(table.text(String.join("\n", title)));
            Files.createDirectories(options.out().toAbsolutePath().getParent());
            Files.writeString(options.out(), table.markdown(String.join("  \n", title)));
            log("table written to " + options.out());
        }
    }

    /** One target: where pgbench connects and, for a relay, the process whose CPU is watched. */
    private record Subject(Target target, Endpoint endpoint, OptionalLong relayPid) {

        /** User plus system CPU time of the relay so far, all threads; empty for no relay. */
        Optional<Duration> relayCpu() {
            return relayPid.isEmpty() ? Optional.empty()
                    : ProcessHandle.of(relayPid.getAsLong()).flatMap(handle -> handle.info().totalCpuDuration());
        }
    }

    /** The whole matrix, {@code repeat} times: scenario by scenario, the targets interleaved. */
    private ResultsTable measure(Pgbench pgbench, List<Subject> subjects) {
        List<Scenario> scenarios = new ArrayList<>();
        for (String protocol : options.protocols()) {
            for (int clients : options.clients()) {
                scenarios.add(new Scenario(protocol, clients));
            }
        }
        int total = options.repeat() * scenarios.size() * subjects.size();
        log(String.format(Locale.ROOT, "%d measured runs of %d s, each after a %d s warm-up: about %d minutes",
                total, options.durationSeconds(), options.warmupSeconds(),
                Math.round(total * (options.durationSeconds() + options.warmupSeconds() + 1) / 60.0)));

        ResultsTable table = new ResultsTable();
        int done = 0;
        for (int round = 1; round <= options.repeat(); round++) {
            for (Scenario scenario : scenarios) {
                for (Subject subject : subjects) {
                    String summary = measureOne(pgbench, scenario, subject, round, table);
                    log(String.format(Locale.ROOT, "[%d/%d] %s", ++done, total, summary));
                }
            }
        }
        return table;
    }

    /**
     * A warm-up, then the measured run, recorded in {@code table} with the relay's CPU and the
     * machine's other load around it; returns a one-line summary for the progress log.
     */
    private String measureOne(Pgbench pgbench, Scenario scenario, Subject subject, int round, ResultsTable table) {
        Target target = subject.target();
        String name = scenario.protocol() + "-c" + scenario.clients() + "-" + target.label() + "-r" + round;
        int threads = options.threadsFor(scenario.clients());
        if (options.warmupSeconds() > 0) {
            pgbench.selectOnly(subject.endpoint(), new Pgbench.Run(scenario.protocol(), scenario.clients(), threads,
                    options.warmupSeconds()), name + "-warmup.log");
        }

        MachineLoad.settle();
        Optional<MachineLoad.Sample> loadBefore = MachineLoad.sample();
        Optional<Duration> cpuBefore = subject.relayCpu();
        long started = System.nanoTime();
        PgbenchResult result = pgbench.selectOnly(subject.endpoint(), new Pgbench.Run(scenario.protocol(),
                scenario.clients(), threads, options.durationSeconds()), name + ".log");
        long elapsedNanos = System.nanoTime() - started;
        Optional<Duration> cpuAfter = subject.relayCpu();
        MachineLoad.settle();
        OptionalDouble otherLoad = MachineLoad.otherPercent(loadBefore, MachineLoad.sample());

        table.add(scenario, target, result);
        StringBuilder summary = new StringBuilder(String.format(Locale.ROOT, "%-8s c=%-3d %-9s %9.0f tps %8.3f ms",
                scenario.protocol(), scenario.clients(), target.label(), result.tps(), result.latencyMs()));
        if (cpuBefore.isPresent() && cpuAfter.isPresent()) {
            double percent = 100.0 * cpuAfter.get().minus(cpuBefore.get()).toNanos() / elapsedNanos;
            table.addRelayCpu(scenario, target, percent);
            summary.append(String.format(Locale.ROOT, ", %s cpu %.0f%%", target.label(), percent));
        }
        if (otherLoad.isPresent()) {
            table.addOtherLoad(scenario, otherLoad.getAsDouble());
            summary.append(String.format(Locale.ROOT, ", other processes %.0f%% of the machine", otherLoad.getAsDouble()));
        }
        return summary.toString();
    }

    private List<String> title(String pgbenchVersion, String bouncerVersion, int poolSize) {
        return List.of(
                String.format(Locale.ROOT, "pgbench -S, scale %d, %d s per run, median of %d   (machine: %d cores)",
                        options.scale(), options.durationSeconds(), options.repeat(),
                        Runtime.getRuntime().availableProcessors()),
                String.format(Locale.ROOT, "pgbench %s, PostgreSQL %s, PgBouncer %s (session mode, pool %d), "
                                + "%d s warm-up before each run, -j min(clients, %s)",
                        pgbenchVersion, PG_VERSION, bouncerVersion, poolSize, options.warmupSeconds(),
                        options.threads() == 0 ? "2" : Integer.toString(options.threads())),
                "cpu% = the relay's CPU in % of one core; other load% = the largest share of the machine "
                        + "that processes outside the harness took during one of the row's runs");
    }

    /**
     * The repository root: three levels above benchmarks/target/benchmarks.jar (or .../classes),
     * so that the default paths work from any directory; the working directory otherwise.
     */
    private static Path repoRoot() {
        try {
            Path code = Path.of(PgbenchHarness.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path target = code.getParent();
            if (target != null && target.getFileName().toString().equals("target")
                    && target.getParent() != null && target.getParent().getFileName().toString().equals("benchmarks")) {
                return target.getParent().getParent();
            }
        } catch (URISyntaxException | RuntimeException e) {
            // fall through to the working directory
        }
        return Path.of("").toAbsolutePath();
    }

    private static void log(String message) {
        System.err.println("bench: " + message);
    }
}
