package dev.bluegreen.bench;

import dev.bluegreen.embedded.SharedDirectories;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * Our own PgBouncer in session mode in front of blue: the reference point for "what does a
 * connection-level proxy cost". It runs in the foreground as a child we hold (never the distro's
 * service, whatever state that is in), as an unprivileged user when we are root, with every file
 * it needs in one directory that user owns.
 */
final class PgBouncerProcess implements AutoCloseable {

    /** Used when the harness runs as root: somewhere {@code nobody} can reach, unlike /root. */
    private static final Path ROOT_DIR = Path.of("/var/tmp/bluegreen-bench/pgbouncer");
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_GRACE = Duration.ofSeconds(10);
    private static final Duration SERVERS_CLOSED_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration CONSOLE_TIMEOUT = Duration.ofSeconds(10);
    private static final List<Path> SBIN = List.of(Path.of("/usr/sbin"), Path.of("/usr/local/sbin"), Path.of("/sbin"));

    private final Process process;
    private final Endpoint endpoint;
    private final Path dir;

    private PgBouncerProcess(Process process, Endpoint endpoint, Path dir) {
        this.process = process;
        this.endpoint = endpoint;
        this.dir = dir;
    }

    /**
     * The pgbouncer executable: from PATH (or an sbin directory, where Debian puts it), else
     * installed with apt-get when we are root. apt's output goes to {@code aptLog}.
     */
    static Path ensureInstalled(Path aptLog) throws IOException, InterruptedException {
        Optional<Path> found = find();
        if (found.isPresent()) {
            return found.get();
        }
        if (!Children.runningAsRoot() || find("apt-get").isEmpty()) {
            throw new IllegalStateException("pgbouncer is not installed; install it (e.g. sudo apt-get install -y pgbouncer) "
                    + "and run the harness again");
        }
        System.err.println("bench: pgbouncer not found, installing it with apt-get (log: " + aptLog + ")");
        Files.createDirectories(aptLog.getParent());
        Files.deleteIfExists(aptLog);
        for (List<String> command : List.of(List.of("apt-get", "update"), List.of("apt-get", "install", "-y", "pgbouncer"))) {
            ProcessBuilder builder = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(aptLog.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            builder.environment().put("DEBIAN_FRONTEND", "noninteractive");
            int exit = builder.start().waitFor();
            if (exit != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed with exit code " + exit
                        + "; last lines of " + aptLog + ":\n" + Children.tail(aptLog, 20));
            }
        }
        return find().orElseThrow(() -> new IllegalStateException(
                "apt-get installed pgbouncer but no pgbouncer executable was found; see " + aptLog));
    }

    private static Optional<Path> find() {
        return find("pgbouncer");
    }

    private static Optional<Path> find(String program) {
        Stream<Path> path = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .filter(entry -> !entry.isEmpty())
                .map(Path::of);
        return Stream.concat(path, SBIN.stream())
                .map(dir -> dir.resolve(program))
                .filter(Files::isExecutable)
                .findFirst();
    }

    /** "PgBouncer 1.18.0" (first line of --version) → "1.18.0". */
    static String version(Path executable) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(executable.toString(), "--version").redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        process.waitFor(10, TimeUnit.SECONDS);
        String first = output.lines().findFirst().orElse("").strip();
        String[] words = first.split("\\s+");
        return words.length >= 2 ? words[1] : first;
    }

    /**
     * Writes the configuration and starts PgBouncer; {@link #awaitReady()} waits for it.
     *
     * @param poolSize server connections per user and database; at least the largest client count,
     *     so that session mode never makes a client wait for a server connection
     */
    static PgBouncerProcess launch(Path executable, Endpoint blue, int poolSize, Path workDir) throws IOException {
        Optional<RunAs> runAs = Children.runningAsRoot() ? Optional.of(RunAs.lookup()) : Optional.empty();
        Path dir = runAs.isPresent() ? ROOT_DIR : workDir.resolve("pgbouncer");
        prepare(dir);
        int port = Children.freePort();
        Files.writeString(dir.resolve("pgbouncer.ini"), ini(dir, port, blue, poolSize));
        // trust still wants the user listed; the password field is ignored
        Files.writeString(dir.resolve("userlist.txt"), "\"" + blue.user() + "\" \"\"\n");
        if (runAs.isPresent()) {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path file : (Iterable<Path>) files::iterator) {
                    runAs.get().own(file);
                }
            }
            runAs.get().own(dir);
        }

        List<String> command = new ArrayList<>(List.of(executable.toString(), dir.resolve("pgbouncer.ini").toString()));
        if (runAs.isPresent()) {
            command = runAs.get().wrap(command);
        }
        Process process = new ProcessBuilder(Children.inOwnSession(command))
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("console.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        return new PgBouncerProcess(process, new Endpoint(Children.LOOPBACK, port, blue.user(), blue.database()), dir);
    }

    /**
     * A new, empty directory, reachable by the user PgBouncer runs as through 0755 parents. Under
     * {@code /var/tmp}, where anyone may have made the parent first and put links in it for root to
     * write through, the parent must be root's alone, and the last run's directory (which PgBouncer's
     * user owned) is deleted without following links rather than emptied.
     */
    private static void prepare(Path dir) throws IOException {
        if (dir.startsWith(ROOT_DIR.getParent())) {
            SharedDirectories.createTrusted(ROOT_DIR.getParent());
        }
        SharedDirectories.deleteTree(dir);
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    static String ini(Path dir, int port, Endpoint blue, int poolSize) {
        return String.join("\n",
                ";; written by the bluegreen pgbench harness; regenerated on every run",
                "[databases]",
                blue.database() + " = host=" + blue.host() + " port=" + blue.port() + " dbname=" + blue.database(),
                "",
                "[pgbouncer]",
                "listen_addr = " + Children.LOOPBACK,
                "listen_port = " + port,
                "unix_socket_dir =",
                "auth_type = trust",
                "auth_file = " + dir.resolve("userlist.txt"),
                "pool_mode = session",
                // the harness's user runs RECONNECT and SHOW SERVERS on the admin console
                "admin_users = " + blue.user(),
                "max_client_conn = " + Math.max(256, 2 * poolSize),
                "default_pool_size = " + poolSize,
                "logfile = " + dir.resolve("pgbouncer.log"),
                "pidfile = " + dir.resolve("pgbouncer.pid"),
                "log_connections = 0",
                "log_disconnections = 0",
                // pgjdbc sends it; pgbench does not, but a stray client should not be refused
                "ignore_startup_parameters = extra_float_digits",
                "");
    }

    /**
     * Closes every server connection PgBouncer keeps, and returns once they are gone, so that the
     * next run opens new backends, as it does directly and through bluegreen. In session mode
     * PgBouncer would otherwise hand the measured run the backends its warm-up left behind: their
     * caches warm and their shared memory mapped, worth a fifth to a third more throughput in a
     * 10 s run on a 2-core machine (measured 2026-11-30; the README's Performance section).
     */
    void closeServerConnections() {
        long deadline = System.nanoTime() + SERVERS_CLOSED_TIMEOUT.toNanos();
        console("RECONNECT");
        while (!console("SHOW SERVERS").isBlank()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("pgbouncer still held server connections "
                        + SERVERS_CLOSED_TIMEOUT + " after RECONNECT; " + logs());
            }
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        }
    }

    /**
     * One command on the admin console, through psql: the console calls itself version 1.x, and
     * pgjdbc answers that with SETs the console refuses.
     */
    private String console(String command) {
        List<String> psql = List.of("psql", "-X", "-A", "-t", "-h", endpoint.host(), "-p", Integer.toString(endpoint.port()),
                "-U", endpoint.user(), "-d", "pgbouncer", "-c", command);
        ProcessBuilder builder = new ProcessBuilder(psql).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        // as for pgbench: PGSSLMODE and friends would reach the console too
        builder.environment().keySet().removeIf(name -> name.startsWith("PG"));
        try {
            Process process = builder.start();
            // waited for before reading, so that the timeout holds; the answers (a few rows) fit the pipe
            if (!process.waitFor(CONSOLE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("psql on pgbouncer's admin console did not finish " + command
                        + " within " + CONSOLE_TIMEOUT);
            }
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new IllegalStateException("psql on pgbouncer's admin console failed for " + command + ": " + output);
            }
            return output.strip();
        } catch (IOException e) {
            throw new IllegalStateException("could not run psql (it comes with pgbench in the PostgreSQL client tools)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted on pgbouncer's admin console", e);
        }
    }

    /** Returns once PgBouncer accepts connections; throws with its logs if it exits or takes too long. */
    void awaitReady() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (!Children.accepts(endpoint.port())) {
            if (!process.isAlive()) {
                throw new IllegalStateException("pgbouncer exited with code " + process.exitValue()
                        + " during startup; " + logs());
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("pgbouncer did not accept connections within " + READY_TIMEOUT + "; " + logs());
            }
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        }
    }

    private String logs() {
        return "last lines of its logs in " + dir + ":\n" + Children.tail(dir.resolve("console.log"), 20)
                + "\n" + Children.tail(dir.resolve("pgbouncer.log"), 20);
    }

    Endpoint endpoint() {
        return endpoint;
    }

    long pid() {
        return process.pid();
    }

    /**
     * SIGINT, PgBouncer's safe shutdown (immediate here, no clients are left by now); SIGTERM, its
     * "fast exit" with status 1, and SIGKILL only if it lingers.
     */
    @Override
    public void close() {
        int exit = Children.stop(process, "INT", STOP_GRACE);
        if (exit != 0) {
            System.err.println("bench: pgbouncer stopped with exit code " + exit + "; see " + dir);
        }
    }

    @Override
    public String toString() {
        return "pgbouncer[" + endpoint.host() + ":" + endpoint.port() + ", " + dir + "]";
    }
}
