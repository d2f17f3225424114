package dev.bluegreen.bench;

import dev.bluegreen.embedded.PgCluster;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * pgbench against blue directly and through bluegreen, side by side, in up to two tables:
 * <ul>
 *   <li>relay: {@code -S} through bluegreen and through PgBouncer (session mode), for each query
 *       protocol and client count asked for;</li>
 *   <li>dual: at 16 clients, {@code -S} and the TPC-B-like script through bluegreen with dual-write
 *       to green off and on, at several read weights (see {@link DualWriteBench}).</li>
 * </ul>
 *
 * <p>Fairness: every target gets the same pgbench options; each measured run follows an unmeasured
 * warm-up of the same shape on the same target (the proxy's JIT needs it, PgBouncer gets it too)
 * and starts on new backends (PgBouncer's pool is emptied after its warm-up, as a direct or
 * bluegreen connection's backend ends with it); pgbench, bluegreen and PgBouncer each run in a
 * session of their own, as a service and its clients do ({@link Children#inOwnSession});
 * targets are measured interleaved within each scenario, so slow drift on the machine spreads over
 * all of them instead of landing on one. Everything started here is stopped at the end, on failure
 * and on Ctrl-C (see {@link Cleanup}).
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.bluegreen.bench.PgbenchHarness [--scenarios dual] [--repeat 3] ...
 * </pre>
 */
public final class PgbenchHarness {

    private static final String BLUE_VERSION = "16.9.0";
    private static final String GREEN_VERSION = "18.1.0";

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
        boolean relay = options.suites().contains(HarnessOptions.Suite.RELAY);
        boolean dual = options.suites().contains(HarnessOptions.Suite.DUAL);
        if (relay && !Files.isRegularFile(options.proxyJar())) {
            throw new IllegalStateException("no proxy jar at " + options.proxyJar()
                    + ": build it first with ./mvnw -DskipTests package (from the repository root)");
        }
        Path bouncerExecutable = relay ? PgBouncerProcess.ensureInstalled(workDir.resolve("apt-get.log")) : null;
        String bouncerVersion = relay ? PgBouncerProcess.version(bouncerExecutable) : null;

        try (Cleanup cleanup = new Cleanup()) {
            Pgbench pgbench = new Pgbench(workDir.resolve("logs"));
            String pgbenchVersion = pgbench.version();
            log("starting blue (PostgreSQL " + BLUE_VERSION + ")");
            PgCluster blue = cleanup.register(startCluster("blue", BLUE_VERSION));
            Endpoint direct = DualWriteBench.endpoint(blue);
            PgCluster green = null;
            if (dual) {
                log("starting green (PostgreSQL " + GREEN_VERSION + ")");
                green = cleanup.register(startCluster("green", GREEN_VERSION));
            }
            PgBouncerProcess bouncer = relay
                    ? cleanup.register(PgBouncerProcess.launch(bouncerExecutable, direct, poolSize(), workDir))
                    : null;
            ProxyProcess proxy = relay
                    ? cleanup.register(ProxyProcess.launch(options.proxyJar(), direct, workDir.resolve("proxy")))
                    : null;
            ProxyProcess driver = dual
                    ? cleanup.register(ProxyProcess.launchDriver(direct, DualWriteBench.endpoint(green),
                            workDir.resolve("driver")))
                    : null;
            // last in, first out: on Ctrl-C the run in flight stops before what it talks to
            cleanup.register(pgbench);

            List<String> text = new ArrayList<>();
            List<String> markdown = new ArrayList<>();
            int relayFailures = 0;
            if (relay) {
                log("pgbench -i -s " + options.scale() + " on blue");
                pgbench.initialize(direct, options.scale(), "pgbench-init-blue.log");
                blue.execute(direct.database(), "CHECKPOINT"); // the init's pages written now, not in some target's run
                bouncer.awaitReady();
                proxy.awaitReady();
                log("blue " + direct.port() + ", bluegreen " + proxy.endpoint().port() + " (pid " + proxy.pid()
                        + "), pgbouncer " + bouncer.endpoint().port() + " (pid " + bouncer.pid() + ")");
                ResultsTable table = measure(pgbench, List.of(
                        new Subject(Target.DIRECT, direct, OptionalLong.empty(), () -> { }),
                        new Subject(Target.BLUEGREEN, proxy.endpoint(), OptionalLong.of(proxy.pid()), () -> { }),
                        new Subject(Target.PGBOUNCER, bouncer.endpoint(), OptionalLong.of(bouncer.pid()),
                                bouncer::closeServerConnections)));
                List<String> title = relayTitle(pgbenchVersion, bouncerVersion);
                text.add(table.text(String.join("\n", title)));
                markdown.add(table.markdown(String.join("  \n", title)));
                report(text, markdown);
                relayFailures = table.failures().size();
            }
            if (dual) {
                driver.awaitReady();
                log("blue " + direct.port() + ", green " + green.port() + ", bluegreen with both under the "
                        + "harness's control " + driver.endpoint().port() + " (pid " + driver.pid() + ")");
                DualResultsTable table = new DualWriteBench(options, pgbench, blue, green, driver,
                        PgbenchHarness::log).measure();
                List<String> title = dualTitle(pgbenchVersion);
                text.add(table.text(String.join("\n", title)));
                markdown.add(table.markdown(String.join("  \n", title)));
                report(text, markdown);
                if (!table.failures().isEmpty()) {
                    throw new IllegalStateException(table.failures().size()
                            + " dual-write run(s) failed; they are listed under the table");
                }
            }
            if (relayFailures > 0) {
                throw new IllegalStateException(relayFailures + " relay run(s) failed; they are listed under the table");
            }
        }
    }

    /**
     * Blue and green alike but for the version: only pgbench -i writes durably, and a lost table is no loss.
     * Neither has data checksums (the embedded module's default on every version; PostgreSQL 18's initdb
     * alone would turn them on, and green's reads after writes would then cost WAL that blue's do not).
     */
    private PgCluster startCluster(String name, String version) throws IOException {
        return PgCluster.builder()
                .name(name)
                .version(version)
                .dataDir(workDir.resolve(name))
                .wipeDataDir()
                .setting("max_connections", "200")
                .setting("shared_buffers", "256MB")
                .setting("fsync", "off")
                .setting("synchronous_commit", "off")
                .start();
    }

    /** Prints the tables so far and writes them to the Markdown file, so a later failure loses none. */
    private void report(List<String> text, List<String> markdown) throws IOException {
        System.out.println();
        System.out.print(text.getLast());
        Files.createDirectories(options.out().toAbsolutePath().getParent());
        Files.writeString(options.out(), String.join("\n", markdown));
        log("table written to " + options.out());
    }

    private int poolSize() {
        return Math.max(64, options.clients().stream().mapToInt(Integer::intValue).max().orElse(1));
    }

    /**
     * One target: where pgbench connects, for a relay the process whose CPU is watched, and what
     * puts it back on new backends between the warm-up and the measured run.
     */
    private record Subject(Target target, Endpoint endpoint, OptionalLong relayPid, Runnable freshBackends) {
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
            // each round starts with another target, so that none always follows the same one (warm caches,
            // the machine's speed drifting within a round) and the order is not what the ratios measure
            List<Subject> order = new ArrayList<>(subjects);
            Collections.rotate(order, -(round - 1));
            for (Scenario scenario : scenarios) {
                for (Subject subject : order) {
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
        MeasuredRun run;
        try {
            if (options.warmupSeconds() > 0) {
                pgbench.run(subject.endpoint(), new Pgbench.Run(Workload.SELECT_ONLY, scenario.protocol(),
                        scenario.clients(), threads, options.warmupSeconds()), name + "-warmup.log");
            }
            subject.freshBackends().run();
            run = MeasuredRun.measure(subject.relayPid(), () -> pgbench.run(subject.endpoint(),
                    new Pgbench.Run(Workload.SELECT_ONLY, scenario.protocol(), scenario.clients(), threads,
                            options.durationSeconds()), name + ".log"));
        } catch (RuntimeException e) {
            // this cell is lost, not the rounds and cells already measured: they still make the table
            String reason = DualWriteBench.brief(e.getMessage());
            table.fail(scenario, target, round, reason);
            return String.format(Locale.ROOT, "%-8s c=%-3d %-9s FAILED: %s", scenario.protocol(), scenario.clients(),
                    target.label(), reason);
        }

        table.add(scenario, target, run.result());
        run.relayCpuPercent().ifPresent(percent -> table.addRelayCpu(scenario, target, percent));
        run.otherLoadPercent().ifPresent(percent -> table.addOtherLoad(scenario, percent));
        return String.format(Locale.ROOT, "%-8s c=%-3d %-9s ", scenario.protocol(), scenario.clients(), target.label())
                + run.summary(target.label());
    }

    private List<String> relayTitle(String pgbenchVersion, String bouncerVersion) {
        return List.of(
                String.format(Locale.ROOT, "pgbench -S, scale %d, %d s per run, median of %d   (machine: %d cores)",
                        options.scale(), options.durationSeconds(), options.repeat(),
                        Runtime.getRuntime().availableProcessors()),
                String.format(Locale.ROOT, "pgbench %s, PostgreSQL %s, PgBouncer %s (session mode, pool %d), "
                                + "%d s warm-up before each run, -j min(clients, %s)",
                        pgbenchVersion, BLUE_VERSION, bouncerVersion, poolSize(), options.warmupSeconds(),
                        options.threads() == 0 ? "2" : Integer.toString(options.threads())),
                "cpu% = the relay's CPU in % of one core; other load% = the largest share of the machine "
                        + "that processes outside the harness took during one of the row's runs");
    }

    private List<String> dualTitle(String pgbenchVersion) {
        return List.of(
                String.format(Locale.ROOT, "pgbench at %d clients with dual-write to green, scale %d, %d s per run, "
                                + "median of %d   (machine: %d cores)",
                        DualScenario.CLIENTS, options.scale(), options.durationSeconds(), options.repeat(),
                        Runtime.getRuntime().availableProcessors()),
                String.format(Locale.ROOT, "pgbench %s, blue PostgreSQL %s, green PostgreSQL %s, %d s warm-up before "
                                + "each run, -j %d; select-only is -S, tpcb-like pgbench's default script, each run "
                                + "of it (its warm-up, then the measured run) on a fresh pgbench -i on both clusters",
                        pgbenchVersion, BLUE_VERSION, GREEN_VERSION, options.warmupSeconds(),
                        options.threadsFor(DualScenario.CLIENTS)),
                "bg/direct and bg/dw-off = throughput relative to blue direct and to bluegreen before start, "
                        + "measured in the same rounds; green served% = green's share of the units the proxy "
                        + "answered; divergences summed over the rounds; cpu% = the proxy's CPU in % of one core; "
                        + "other load% as in the relay table",
                "blue, green, bluegreen us/tx = CPU time of blue's server (postmaster, backends and workers), green's "
                        + "and the proxy over the run, per transaction the row counted, in microseconds (no proxy rows: "
                        + "per transaction of both servers, as counted in their tps); direct blue us/tx = blue's per "
                        + "transaction run straight to it: on a saturated machine, where the throughput went",
                String.format(Locale.ROOT, "no proxy, blue + green at once = pgbench straight to both clusters "
                        + "at the same time with what dual-write asks of them, each pgbench keeping its server's "
                        + "backends mostly on one core (through the proxy both servers share both cores): "
                        + "tpcb-like %d clients on each, the mean of the two; select-only %d on each (weight 50), "
                        + "their sum", new DualScenario(Workload.TPCB_LIKE, "simple").bothDirectClients(),
                        new DualScenario(Workload.SELECT_ONLY, "simple").bothDirectClients()));
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
