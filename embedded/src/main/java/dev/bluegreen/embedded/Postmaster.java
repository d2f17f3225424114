package dev.bluegreen.embedded;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A postmaster process we can stop: our own child, or a leftover found through
 * {@code postmaster.pid} after a JVM died without stopping its clusters.
 *
 * <p>Stopping escalates: SIGINT (fast shutdown: roll back open transactions, disconnect clients,
 * checkpoint), then SIGQUIT (immediate shutdown, recovery on next start), then SIGKILL. The
 * postmaster waits for its children before it exits, so once it is gone nothing of it is left.
 */
final class Postmaster {

    private static final Logger log = LoggerFactory.getLogger(Postmaster.class);
    static final Duration FAST_SHUTDOWN_GRACE = Duration.ofSeconds(30);
    private static final Duration IMMEDIATE_SHUTDOWN_GRACE = Duration.ofSeconds(10);
    private static final Duration POLL = Duration.ofMillis(25);

    private final ProcessHandle handle;

    Postmaster(ProcessHandle handle) {
        this.handle = handle;
    }

    long pid() {
        return handle.pid();
    }

    /** Alive and not a zombie: an orphan's zombie lingers until init reaps it, and some container inits never do. */
    boolean isAlive() {
        return handle.isAlive() && !isZombie(handle.pid());
    }

    /**
     * Waits up to {@code timeout} for the process to exit; returns whether it did. A child's
     * exit completes {@code onExit()} at once; for a leftover (not our child) the JDK only polls
     * with a growing back-off, so we look for ourselves every few milliseconds.
     */
    boolean awaitExit(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (isAlive()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                handle.onExit().get(Math.min(TimeUnit.NANOSECONDS.toMillis(left), POLL.toMillis()) + 1, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // look again
            } catch (ExecutionException e) {
                throw new IllegalStateException("waiting for pid " + pid(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return !isAlive();
            }
        }
        return true;
    }

    private static boolean isZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // "pid (comm) S ...": the state follows the last ')', since comm may hold spaces and parentheses
            int close = stat.lastIndexOf(')');
            return close > 0 && close + 2 < stat.length() && stat.charAt(close + 2) == 'Z';
        } catch (IOException e) {
            return false; // gone already, or no /proc: isAlive() has the answer
        }
    }

    void stop(String cluster) {
        if (!isAlive()) {
            return;
        }
        Processes.signal(pid(), "INT");
        if (awaitExit(FAST_SHUTDOWN_GRACE)) {
            return;
        }
        log.warn("fast shutdown timed out, sending SIGQUIT cluster={} pid={}", cluster, pid());
        Processes.signal(pid(), "QUIT");
        if (awaitExit(IMMEDIATE_SHUTDOWN_GRACE)) {
            return;
        }
        log.warn("immediate shutdown timed out, killing cluster={} pid={}", cluster, pid());
        handle.destroyForcibly();
        awaitExit(IMMEDIATE_SHUTDOWN_GRACE);
    }

    /**
     * Stops a postmaster still serving {@code dataDir} from an earlier JVM and clears a stale
     * {@code postmaster.pid}: postgres refuses to start while that file names a live process,
     * even one that has nothing to do with postgres (pids get reused). The caller holds the
     * directory's {@link DataDirLock}, which is what makes the earlier JVM a dead one.
     */
    static void clearLeftover(Path dataDir, String cluster) throws IOException {
        Optional<PostmasterPidFile> pidFile = PostmasterPidFile.read(dataDir);
        if (pidFile.isEmpty()) {
            return;
        }
        Optional<Postmaster> leftover = ProcessHandle.of(pidFile.get().pid())
                .filter(process -> isPostgres(process) && sameDir(pidFile.get().dataDir(), dataDir))
                .map(Postmaster::new)
                .filter(Postmaster::isAlive);
        if (leftover.isPresent()) {
            log.warn("stopping a leftover postmaster from an earlier run cluster={} pid={} data_dir={}",
                    cluster, leftover.get().pid(), dataDir);
            leftover.get().stop(cluster);
            if (leftover.get().isAlive()) {
                throw new IOException("leftover postmaster pid " + leftover.get().pid() + " for " + dataDir + " would not stop");
            }
        }
        Files.deleteIfExists(dataDir.resolve(PostmasterPidFile.NAME));
    }

    private static boolean isPostgres(ProcessHandle process) {
        return process.info().command()
                .map(command -> Path.of(command).getFileName().toString().equals("postgres"))
                .orElse(false);
    }

    private static boolean sameDir(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
        }
    }
}
