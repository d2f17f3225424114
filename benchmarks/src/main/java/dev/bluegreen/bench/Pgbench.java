package dev.bluegreen.bench;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs the {@code pgbench} found on PATH, keeping each run's output in a log file: one invocation at
 * a time, or two at once against two servers ({@link #runTogether}). Closing it kills the runs in
 * flight, which is how Ctrl-C stops the harness without leaving a pgbench behind.
 */
final class Pgbench implements AutoCloseable {

    /** Connection set-up and the end-of-run report on top of {@code -T}. */
    private static final Duration GRACE = Duration.ofSeconds(60);

    /** One measured or warm-up run; the same options go to every target. */
    record Run(Workload workload, String protocol, int clients, int threads, int seconds) {
    }

    private final Path logDir;
    private final Set<Process> running = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /** Logs go to {@code logDir}, emptied first so that it only ever holds one harness run. */
    Pgbench(Path logDir) throws IOException {
        this.logDir = logDir;
        Files.createDirectories(logDir);
        try (Stream<Path> old = Files.list(logDir)) {
            for (Path file : (Iterable<Path>) old::iterator) {
                Files.delete(file);
            }
        }
    }

    /** "pgbench (PostgreSQL) 15.18 (Debian ...)" → "15.18"; fails clearly when pgbench is missing. */
    String version() {
        String output;
        try {
            output = execute(List.of("pgbench", "--version"), Duration.ofSeconds(10), "pgbench-version.log").strip();
        } catch (UncheckedIOException e) {
            throw new IllegalStateException("pgbench is not on PATH: install it (on Debian and Ubuntu it comes with the"
                    + " server package, apt-get install -y postgresql; elsewhere with the PostgreSQL client tools)", e);
        }
        String[] words = output.split("\\s+");
        return words.length >= 3 ? words[2] : output;
    }

    /**
     * {@code pgbench -i -s scale}: drops, creates and fills the pgbench tables (and vacuums them).
     * The data are the same every time but for {@code filler}, so two clusters initialised alike
     * hold the same rows.
     */
    void initialize(Endpoint target, int scale, String logName) {
        List<String> command = connection("pgbench", target);
        command.addAll(List.of("-i", "-q", "-s", Integer.toString(scale), target.database()));
        execute(command, Duration.ofMinutes(30), logName);
    }

    /**
     * A run of the workload's script without the vacuum pgbench does first by default ({@code -n}):
     * through a proxy that vacuum would be one more statement to route, and it would differ by target.
     */
    PgbenchResult run(Endpoint target, Run run, String logName) {
        List<String> command = command(target, run);
        String output = execute(command, Duration.ofSeconds(run.seconds()).plus(GRACE), logName);
        try {
            return PgbenchResult.parse(output);
        } catch (PgbenchResult.PgbenchFailure e) {
            throw new PgbenchResult.PgbenchFailure(e.getMessage() + "\ncommand: " + String.join(" ", command)
                    + "\noutput:\n" + output);
        }
    }

    /**
     * {@code first} and {@code second} started together and both waited for; the first failure is
     * thrown once both have ended, so no pgbench outlives the call.
     */
    List<PgbenchResult> runTogether(Endpoint first, Endpoint second, Run run, String firstLog, String secondLog) {
        CompletableFuture<PgbenchResult> other = CompletableFuture.supplyAsync(() -> run(second, run, secondLog),
                command -> Thread.ofPlatform().name("pgbench-" + secondLog).daemon().start(command));
        PgbenchResult one;
        try {
            one = run(first, run, firstLog);
        } catch (RuntimeException e) {
            other.handle((result, ignored) -> null).join();
            throw e;
        }
        try {
            return List.of(one, other.join());
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException cause ? cause : e;
        }
    }

    /** A run's command line: the same for every target but for where it connects. */
    static List<String> command(Endpoint target, Run run) {
        List<String> command = connection("pgbench", target);
        command.add("-n");
        command.addAll(run.workload().options());
        command.addAll(List.of(
                "-M", run.protocol(),
                "-c", Integer.toString(run.clients()),
                "-j", Integer.toString(run.threads()),
                "-T", Integer.toString(run.seconds()),
                target.database()));
        return command;
    }

    private static List<String> connection(String program, Endpoint target) {
        return new ArrayList<>(List.of(program,
                "-h", target.host(), "-p", Integer.toString(target.port()), "-U", target.user()));
    }

    /** Runs to completion and returns stdout and stderr together; a non-zero exit is an error. */
    private String execute(List<String> command, Duration timeout, String logName) {
        Path log = logDir.resolve(logName);
        ProcessBuilder builder = new ProcessBuilder(Children.inOwnSession(command))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        // PGOPTIONS, PGSSLMODE and friends would make the targets differ; C keeps the number format fixed
        builder.environment().keySet().removeIf(name -> name.startsWith("PG"));
        builder.environment().put("LC_ALL", "C");
        Process process;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("pgbench runner closed");
            }
            try {
                process = builder.start();
            } catch (IOException e) {
                throw new UncheckedIOException("could not start " + command.getFirst(), e);
            }
            running.add(process);
        }
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new PgbenchResult.PgbenchFailure(command.getFirst() + " did not finish within " + timeout
                        + "; see " + log);
            }
            if (closed) {
                throw new IllegalStateException("pgbench stopped: the harness is shutting down");
            }
            String output = Files.readString(log, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new PgbenchResult.PgbenchFailure(command.getFirst() + " exited with " + process.exitValue()
                        + "\ncommand: " + String.join(" ", command) + "\noutput:\n" + output);
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + log, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new IllegalStateException("interrupted while " + command.getFirst() + " ran", e);
        } finally {
            running.remove(process);
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            closed = true;
        }
        running.forEach(Process::destroyForcibly);
    }
}
