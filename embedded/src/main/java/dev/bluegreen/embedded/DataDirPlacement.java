package dev.bluegreen.embedded;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Decides where a cluster's data directory really lives.
 *
 * <p>The server user must be able to walk down to its data directory. When a root JVM asks for a
 * directory under one it cannot traverse (anything in {@code /root}, which is 0700), the data
 * goes to {@code /var/tmp/bluegreen/clusters/<hash of the requested path>} instead. The hash only
 * depends on the requested absolute path, so the next run with the same request finds its data.
 */
final class DataDirPlacement {

    static final Path FALLBACK_ROOT = Dirs.SHARED_ROOT.resolve("clusters");

    private DataDirPlacement() {
    }

    /** The directory to use for {@code requested}; the requested one whenever the user can reach it. */
    static Path resolve(Path requested, ServerUser user) throws IOException {
        Path absolute = requested.toAbsolutePath().normalize();
        return firstBlockingAncestor(absolute, user).isPresent() ? fallbackFor(absolute) : absolute;
    }

    /**
     * The nearest existing ancestor the user cannot traverse, if any. Missing ancestors do not
     * block: we create them 0755. The data directory itself does not count: we chown it.
     */
    static Optional<Path> firstBlockingAncestor(Path absolute, ServerUser user) throws IOException {
        for (Path dir = absolute.getParent(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir) && !user.canTraverse(dir)) {
                return Optional.of(dir);
            }
        }
        return Optional.empty();
    }

    static Path fallbackFor(Path requested) {
        return FALLBACK_ROOT.resolve(stableHash(requested.toAbsolutePath().normalize()));
    }

    /** First 16 hex digits of SHA-256 over the path's text: the same on every run and every JVM. */
    static String stableHash(Path absolute) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(absolute.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
