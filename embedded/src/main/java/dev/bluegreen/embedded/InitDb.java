package dev.bluegreen.embedded;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * Creates a new cluster in an empty data directory with {@code initdb}.
 *
 * <p>Host connections get scram-sha-256 when the superuser has a password, trust otherwise. The
 * password travels in a 0600 file owned by the server user and deleted right after, never on a
 * command line where {@code ps} would show it.
 */
final class InitDb {

    private InitDb() {
    }

    /**
     * @param dataChecksums whether the cluster gets data checksums, stated to initdb either way, since
     *                      its default changed in PostgreSQL 18
     */
    record Options(String superuser, String superuserPassword, boolean skipSync, boolean dataChecksums, int majorVersion) {
    }

    static void run(Path binDir, Path dataDir, Path logFile, ServerUser user, Options options) throws IOException {
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
                // beside the data dir: initdb wants the data dir empty, and the server user can reach its parent
                passwordFile = Files.createTempFile(dataDir.getParent(), ".initdb-pw-", "",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                Files.writeString(passwordFile, options.superuserPassword() + "\n");
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
            int exit = Processes.server(user, command, logFile).start().waitFor();
            if (exit != 0) {
                throw new IOException("initdb failed with exit code " + exit + " for " + dataDir
                        + "; last lines of " + logFile + ":\n" + LogTail.of(logFile));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running initdb for " + dataDir, e);
        } finally {
            if (passwordFile != null) {
                Files.deleteIfExists(passwordFile);
            }
        }
    }
}
