package dev.bluegreen.embedded;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

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

    private final ProcessHandle handle;

    Postmaster(ProcessHandle handle) {
        this.handle = handle;
    }

    long pid() {
        return handle.pid();
    }

    boolean isAlive() {
        return Processes.isRunning(handle);
    }

    /** Waits up to {@code timeout} for the process to exit; returns whether it did. */
    boolean awaitExit(Duration timeout) {
        return Processes.awaitExit(handle, timeout);
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
