package dev.bluegreen.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

/**
 * Unpacks the server tarball, keeping what the server needs from it: permission bits (bin/ must
 * stay executable) and symlinks (lib/ holds libpq.so.5 -> libpq.so.5.18 and friends).
 *
 * <p>Every entry must land inside the destination: a name or link target that climbs out is
 * refused rather than trusted, since the archive comes over the network.
 */
final class TarExtractor {

    private TarExtractor() {
    }

    static void extractTxz(InputStream txz, Path destination) throws IOException {
        try (TarArchiveInputStream tar = new TarArchiveInputStream(new XZCompressorInputStream(txz))) {
            extract(tar, destination);
        }
    }

    static void extract(TarArchiveInputStream tar, Path destination) throws IOException {
        Path root = destination.toAbsolutePath().normalize();
        Files.createDirectories(root);
        // directory modes go on last: a read-only directory would otherwise refuse its own entries
        List<TarArchiveEntry> directories = new ArrayList<>();
        TarArchiveEntry entry;
        while ((entry = tar.getNextEntry()) != null) {
            if (root.resolve(entry.getName()).normalize().equals(root)) {
                continue; // "./": the destination itself, which we made
            }
            Path target = inside(root, root.resolve(entry.getName()), entry.getName());
            if (entry.isDirectory()) {
                Files.createDirectories(target);
                directories.add(entry);
            } else if (entry.isSymbolicLink()) {
                Path linkTarget = Path.of(entry.getLinkName());
                inside(root, target.getParent().resolve(linkTarget), entry.getName() + " -> " + entry.getLinkName());
                Files.createDirectories(target.getParent());
                Files.deleteIfExists(target);
                Files.createSymbolicLink(target, linkTarget);
            } else if (entry.isLink()) {
                Path existing = inside(root, root.resolve(entry.getLinkName()), entry.getLinkName());
                Files.createDirectories(target.getParent());
                Files.deleteIfExists(target);
                Files.createLink(target, existing);
            } else if (entry.isFile()) {
                Files.createDirectories(target.getParent());
                Files.copy(tar, target, StandardCopyOption.REPLACE_EXISTING);
                Files.setPosixFilePermissions(target, permissions(entry.getMode()));
            }
            // devices, fifos and the like have no place in a server tarball: skipped
        }
        for (TarArchiveEntry directory : directories.reversed()) {
            Files.setPosixFilePermissions(root.resolve(directory.getName()), permissions(directory.getMode()));
        }
    }

    /**
     * Returns {@code candidate} if it stays under root both by name and on disk: the nearest
     * directory that already exists must really be inside, so no earlier symlink can redirect a write.
     */
    private static Path inside(Path root, Path candidate, String what) throws IOException {
        Path normalized = candidate.normalize();
        if (!normalized.startsWith(root)) {
            throw new IOException("archive entry escapes the install directory: " + what);
        }
        Path existing = normalized.getParent();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null || !existing.toRealPath().startsWith(root.toRealPath())) {
            throw new IOException("archive entry escapes the install directory through a symlink: " + what);
        }
        return normalized;
    }

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> permissions = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] bits = {
                PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
                PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
                PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
        };
        for (int bit = 0; bit < bits.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                permissions.add(bits[bit]);
            }
        }
        return permissions;
    }
}
