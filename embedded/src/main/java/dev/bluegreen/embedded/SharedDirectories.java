package dev.bluegreen.embedded;

import java.io.IOException;
import java.nio.file.Path;

/**
 * For other tools a root JVM runs as an unprivileged user (the benchmarks' PgBouncer): a directory under a
 * world-writable place such as {@code /var/tmp} that nobody else can have made or swapped first, with the
 * same checks the embedded clusters' own shared directory gets.
 */
public final class SharedDirectories {

    private SharedDirectories() {
    }

    /**
     * Creates {@code dir} (mode 0755, parents included), or checks an existing one: a directory, not a
     * symbolic link, owned by this process's user and writable by it alone; else an {@link IOException}
     * that says what to do.
     */
    public static void createTrusted(Path dir) throws IOException {
        Path absolute = dir.toAbsolutePath().normalize();
        Dirs.createTrusted(absolute, absolute);
    }

    /** Deletes a tree without following symbolic links; a missing tree is fine. */
    public static void deleteTree(Path root) throws IOException {
        Dirs.deleteTree(root);
    }
}
