package dev.bluegreen.embedded;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The server's log beside its data directory: what initdb and postgres write to stdout and
 * stderr. It can hold whole statements, passwords in them included, so it is its owner's alone
 * (0600, and refused when it is a link or someone else's); and it is bounded: a start finding it
 * over {@link #ROTATE_AT_BYTES} renames it to {@code <log>.1}, replacing the one kept before.
 */
final class ServerLog {

    static final long ROTATE_AT_BYTES = 16L * 1024 * 1024;
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private ServerLog() {
    }

    static Path previous(Path log) {
        return log.resolveSibling(log.getFileName() + ".1");
    }

    /** Rotates the log if it is too big, and leaves a 0600 log file of ours in place. */
    static void prepare(Path log) throws IOException {
        NoFollow.refuseLink(log, "log file");
        if (Files.exists(log, LinkOption.NOFOLLOW_LINKS)
                && Files.readAttributes(log, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).size() > ROTATE_AT_BYTES) {
            // a rename: it replaces a link at the target rather than following it
            Files.move(log, previous(log), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        try {
            Files.createFile(log, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } catch (FileAlreadyExistsException kept) {
            int owner = (Integer) Files.getAttribute(log, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            if (owner != Processes.ownUid()) {
                throw new IOException("log file " + log + " belongs to uid " + owner + ", not to this process's user: it"
                        + " would hand them the server's output. Remove it and start again");
            }
        }
        // the umask may have taken bits away, never added them; logs written before this were 0644
        NoFollow.setPermissions(log, OWNER_ONLY);
        if (Files.exists(previous(log), LinkOption.NOFOLLOW_LINKS)) {
            NoFollow.setPermissions(previous(log), OWNER_ONLY);
        }
    }
}
