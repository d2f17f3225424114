package dev.bluegreen.embedded;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates a new cluster in an empty data directory with {@code initdb}.
 *
 * <p>Host connections get scram-sha-256 when the superuser has a password, trust otherwise. The
 * password travels in a 0600 file owned by the server user and deleted right after, never on a
 * command line where {@code ps} would show it.
 *
 * <p>Invariant: a data directory is being created, or its creation was cut short, exactly while
 * the directory {@code <data dir>.initdb} exists beside it. initdb writes PG_VERSION early, so
 * without this mark a run killed midway left a directory that looked like a cluster and was
 * reused forever. The mark is made before initdb starts and removed once it succeeded; it also
 * holds the password file, so that whatever a crash leaves goes in one step.
 */
final class InitDb {

    private static final Logger log = LoggerFactory.getLogger(InitDb.class);
    private static final String LEGACY_PASSWORD_FILE_PREFIX = ".initdb-pw-";
    private static final Duration LEFTOVER_EXIT_GRACE = Duration.ofSeconds(10);

    private InitDb() {
    }

    /**
     * @param dataChecksums whether the cluster gets data checksums, stated to initdb either way, since
     *                      its default changed in PostgreSQL 18
     */
    record Options(String superuser, String superuserPassword, boolean skipSync, boolean dataChecksums, int majorVersion) {
    }

    /** In the mark, written before initdb starts: what tells our mark from anything else of that name. */
    static final String MARK_TOKEN = "bluegreen-initdb-in-progress";

    static Path markFor(Path dataDir) {
        return dataDir.resolveSibling(dataDir.getFileName() + ".initdb");
    }

    /**
     * Whether an initdb of ours into {@code dataDir} started and did not finish: the mark is a directory
     * (not a link) holding our token. An entry of that name that is anything else (a file, another
     * cluster's directory named so) is not ours, and nothing is undone for it.
     */
    static boolean interruptedIn(Path dataDir) {
        Path mark = markFor(dataDir);
        return Files.isDirectory(mark, LinkOption.NOFOLLOW_LINKS)
                && Files.isRegularFile(mark.resolve(MARK_TOKEN), LinkOption.NOFOLLOW_LINKS);
    }

    /** Whether {@code dataDir} holds a cluster whose initdb ran to the end (or was made without us). */
    static boolean finishedIn(Path dataDir) {
        return Files.exists(dataDir.resolve("PG_VERSION"), LinkOption.NOFOLLOW_LINKS) && !interruptedIn(dataDir);
    }

    /**
     * Runs initdb into {@code dataDir}, which must exist, be empty and belong to the server user.
     * On failure the mark stays, and the next start clears what initdb left.
     */
    static void run(Path binDir, Path dataDir, Path logFile, ServerUser user, Options options) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dataDir)) {
            if (entries.iterator().hasNext()) {
                // checked before the mark exists: the next start empties a marked directory, and this one is not ours
                throw new IOException(dataDir + " holds files but no cluster (no PG_VERSION); refusing to create one"
                        + " in it. Empty it, or choose another directory");
            }
        }
        Path mark = markFor(dataDir);
        Files.createDirectory(mark, PosixFilePermissions.asFileAttribute(Dirs.PRIVATE)); // mkdir follows no link
        Files.createFile(mark.resolve(MARK_TOKEN)); // before the server user owns the mark: ours alone
        user.own(mark);
        Path passwordFile = null;
        try {
            List<String> command = new ArrayList<>(List.of(
                    binDir.resolve("initdb").toString(),
                    "-D", dataDir.toString(),
                    "-U", options.superuser(),
                    "-E", "UTF8",
                    "--locale=C",
                    "--auth-local=trust",
                    "--auth-host=" + (options.superuserPassword() == null ? "trust" : "scram-sha-256")));
            if (options.superuserPassword() != null) {
                // in the mark: initdb wants the data dir empty, and the server user owns the mark
                passwordFile = mark.resolve("superuser-password");
                // one open, creating the file: the mark is the server user's, who must not swap in a link meanwhile
                try (SeekableByteChannel channel = Files.newByteChannel(passwordFile,
                        Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                    channel.write(ByteBuffer.wrap((options.superuserPassword() + "\n").getBytes(StandardCharsets.UTF_8)));
                }
                user.own(passwordFile);
                command.add("--pwfile=" + passwordFile);
            }
            if (options.dataChecksums()) {
                command.add("--data-checksums");
            } else if (options.majorVersion() >= 18) {
                command.add("--no-data-checksums"); // on by default from 18; earlier versions know no such flag
            }
            if (options.skipSync()) {
                command.add("--no-sync"); // only for throwaway clusters: they run with fsync=off anyway
            }
            long logOffset = LogTail.end(logFile);
            int exit = Processes.server(user, command, logFile).start().waitFor();
            if (exit != 0) {
                throw new IOException("initdb failed with exit code " + exit + " for " + dataDir
                        + "; last lines of " + logFile + ":\n" + LogTail.ofAttempt(logFile, logOffset));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running initdb for " + dataDir, e);
        } finally {
            if (passwordFile != null) {
                Files.deleteIfExists(passwordFile);
            }
        }
        Dirs.deleteTree(mark); // the point where the data directory counts as a cluster
    }

    /**
     * Undoes an initdb that did not finish (its mark is still there): stops it and the backends
     * it ran if they still work in {@code dataDir} (initdb runs in a session of its own, so it
     * outlives a JVM killed under it), empties the directory (emptied, not removed: it may be a
     * mount point) and removes the mark with any password file in it. Also removes the password
     * files older versions left beside the data directory when they died during initdb. The
     * caller holds the directory's lock.
     */
    static void clearInterrupted(Path dataDir, String cluster) throws IOException {
        deleteLegacyPasswordFiles(dataDir.getParent());
        Path mark = markFor(dataDir);
        if (!interruptedIn(dataDir)) {
            if (Files.exists(mark, LinkOption.NOFOLLOW_LINKS)) {
                log.warn("ignoring {}: it is not the mark of an initdb of ours (no {} in it)", mark, MARK_TOKEN);
            }
            return;
        }
        log.warn("an earlier initdb did not finish, creating the cluster again cluster={} data_dir={}", cluster, dataDir);
        stopProcessesIn(dataDir);
        if (Files.isDirectory(dataDir, LinkOption.NOFOLLOW_LINKS)) {
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(dataDir)) {
                for (Path entry : entries) {
                    Dirs.deleteTree(entry);
                }
            }
        }
        Dirs.deleteTree(mark);
    }

    private static void deleteLegacyPasswordFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(dir, LEGACY_PASSWORD_FILE_PREFIX + "*")) {
            for (Path leftover : leftovers) {
                Files.deleteIfExists(leftover);
                log.info("removed a superuser password file left by an interrupted initdb file={}", leftover);
            }
        }
    }

    /** An initdb into {@code dataDir}, and the postgres backends it started that still work there (cwd). */
    private static void stopProcessesIn(Path dataDir) throws IOException {
        Optional<Path> real = Files.isDirectory(dataDir, LinkOption.NOFOLLOW_LINKS) ? Optional.of(dataDir.toRealPath())
                : Optional.empty();
        List<ProcessHandle> found = ProcessHandle.allProcesses()
                .filter(process -> isInitdbInto(process, dataDir)
                        || (isPostgres(process) && real.filter(dir -> worksIn(process, dir)).isPresent()))
                .toList();
        for (ProcessHandle process : found) {
            log.warn("stopping a process left by an interrupted initdb pid={} command={}",
                    process.pid(), process.info().command().orElse("?"));
            process.destroyForcibly();
        }
        for (ProcessHandle process : found) {
            if (!Processes.awaitExit(process, LEFTOVER_EXIT_GRACE)) {
                throw new IOException("process " + process.pid() + " left by an interrupted initdb in " + dataDir
                        + " would not stop");
            }
        }
    }

    private static boolean isPostgres(ProcessHandle process) {
        return process.info().command().map(command -> command.endsWith("/postgres")).orElse(false);
    }

    private static boolean isInitdbInto(ProcessHandle process, Path dataDir) {
        boolean initdb = process.info().command().map(command -> command.endsWith("/initdb")).orElse(false);
        return initdb && process.info().arguments().map(args -> List.of(args).contains(dataDir.toString())).orElse(false);
    }

    private static boolean worksIn(ProcessHandle process, Path realDir) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(process.pid()), "cwd")).equals(realDir);
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false; // gone, or not ours to look at
        }
    }
}
