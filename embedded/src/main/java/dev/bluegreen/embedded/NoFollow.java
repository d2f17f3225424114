package dev.bluegreen.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/**
 * File operations that refuse a symbolic link in the last place of the path (O_NOFOLLOW).
 *
 * <p>For what a root JVM does in a directory the server user owns, the data directory above all:
 * whoever runs as that user (postgres, or anything else running as {@code nobody}) could put a
 * link there, and root following it would write, chmod or read a file of its choosing.
 */
final class NoFollow {

    private NoFollow() {
    }

    /** Creates or replaces {@code file}'s content. */
    static void write(Path file, Iterable<String> lines) throws IOException {
        Files.write(file, lines, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    }

    static void append(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS);
    }

    static String read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static void setPermissions(Path path, Set<PosixFilePermission> permissions) throws IOException {
        Files.getFileAttributeView(path, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setPermissions(permissions);
    }

    /** Refuses a path that is a symbolic link, before it is handed to something that follows links. */
    static void refuseLink(Path path, String what) throws IOException {
        if (Files.isSymbolicLink(path)) {
            throw new IOException(what + " " + path + " is a symbolic link; refusing it, since what is done to it would"
                    + " be done to whatever it points at. Name the real path instead");
        }
    }
}
