package dev.bluegreen.embedded;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/** Directory chores: creating paths another user can traverse, deleting trees. */
final class Dirs {

    static final Set<PosixFilePermission> OPEN = PosixFilePermissions.fromString("rwxr-xr-x");
    static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rwx------");
    /** Where a root JVM keeps what the server user must reach: the binaries, and data relocated out of /root. */
    static final Path SHARED_ROOT = Path.of("/var/tmp/bluegreen");

    private Dirs() {
    }

    /**
     * Creates {@code dir} and any missing parent with mode 0755 whatever the umask, so that the
     * server user can reach what a root JVM prepares for it. Existing directories are left alone.
     */
    static void createOpen(Path dir) throws IOException {
        Path absolute = dir.toAbsolutePath().normalize();
        if (Files.isDirectory(absolute)) {
            return;
        }
        Path parent = absolute.getParent();
        if (parent != null) {
            createOpen(parent);
        }
        try {
            Files.createDirectory(absolute);
            NoFollow.setPermissions(absolute, OPEN);
        } catch (FileAlreadyExistsException raced) {
            // another thread or JVM made it first: fine
        }
    }

    /**
     * Like {@link #createOpen}, for a directory under {@code root} that this process's user
     * shares with nobody. {@code /var/tmp} lets anyone make {@link #SHARED_ROOT} first, and whoever
     * owns it or may write to it could put links below it to files a root JVM would then chown,
     * chmod and write, or binaries the server user would run. So {@code root} and every directory
     * from it down to {@code dir} must be a directory, not a link, owned by this process's user and
     * writable by it alone; missing ones are created so.
     */
    static void createTrusted(Path root, Path dir) throws IOException {
        Path absolute = dir.toAbsolutePath().normalize();
        if (!absolute.startsWith(root)) {
            throw new IllegalArgumentException(absolute + " is not under " + root);
        }
        Dirs.createOpen(root.getParent());
        Path step = root;
        createOrRequireTrusted(step);
        for (Path name : root.relativize(absolute)) {
            step = step.resolve(name);
            createOrRequireTrusted(step);
        }
    }

    private static void createOrRequireTrusted(Path dir) throws IOException {
        try {
            Files.createDirectory(dir); // mkdir follows no link
            NoFollow.setPermissions(dir, OPEN);
        } catch (FileAlreadyExistsException exists) {
            // checked below like any other
        }
        requireTrusted(dir);
    }

    /** See {@link #createTrusted}: a directory, not a link, this process's user's and writable by it alone. */
    static void requireTrusted(Path dir) throws IOException {
        BasicFileAttributes type = Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!type.isDirectory()) {
            throw new IOException(dir + " is " + (type.isSymbolicLink() ? "a symbolic link" : "not a directory")
                    + "; refusing to use it: it should be a directory this process's user made. Remove it and start again");
        }
        int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        int self = Processes.ownUid();
        if (owner != self) {
            throw new IOException(dir + " belongs to uid " + owner + ", not to this process's user (uid " + self
                    + "): whoever made it could swap what lies below it. Remove it (or chown it) and start again");
        }
        Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
        if (permissions.contains(PosixFilePermission.GROUP_WRITE) || permissions.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new IOException(dir + " is writable by " + (permissions.contains(PosixFilePermission.OTHERS_WRITE)
                    ? "everyone" : "its group") + " (" + PosixFilePermissions.toString(permissions)
                    + "): whoever may write there could swap what lies below it. chmod go-w it and start again");
        }
    }

    /** Deletes a tree without following symlinks; a missing tree is fine. */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) {
                    throw e;
                }
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
