package dev.bluegreen.embedded;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.Set;

/**
 * A data directory's claim by the one cluster of one process that may run on it: an exclusive
 * lock on {@code <data dir>.lock} beside it, which holds the holder's pid.
 *
 * <p>Invariant: whoever holds the lock is alive, since the kernel drops it with its holder however
 * the holder dies. So a postmaster found on a directory whose lock we hold is a leftover of a dead
 * process and may be stopped; without the lock, a second JVM took a live JVM's server for such a
 * leftover and stopped it. The file stays when the lock is released: deleting it would let a
 * third process lock a new file while a second still waits on the old one.
 */
final class DataDirLock implements AutoCloseable {

    private static final Set<OpenOption> OPEN = Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
            StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);

    /**
     * Lock files this process holds. A POSIX record lock is the process's: closing any channel on the
     * file, even one that only found the lock held (OverlappingFileLockException), drops the holder's
     * lock. So a second claim from this process is refused before it opens the file at all.
     */
    private static final Set<Path> HELD = new HashSet<>();

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private DataDirLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    static Path fileFor(Path dataDir) {
        return dataDir.resolveSibling(dataDir.getFileName() + ".lock");
    }

    /** Takes the lock without waiting, or says who holds it. */
    static DataDirLock acquire(Path dataDir, String cluster) throws IOException {
        Path file = fileFor(dataDir).toAbsolutePath().normalize();
        synchronized (HELD) {
            if (HELD.contains(file)) {
                throw inUseHere(dataDir, cluster, null);
            }
            DataDirLock claimed = open(file, dataDir, cluster);
            HELD.add(file);
            return claimed;
        }
    }

    private static IOException inUseHere(Path dataDir, String cluster, Throwable cause) {
        return new IOException("data directory " + dataDir + " of cluster " + cluster
                + " is in use by another cluster of this process (pid " + ProcessHandle.current().pid()
                + "); stop that one first", cause);
    }

    private static DataDirLock open(Path file, Path dataDir, String cluster) throws IOException {
        FileChannel channel = FileChannel.open(file, OPEN,
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException sameJvm) {
                // the same file under another name (a link above it): HELD did not know it
                throw inUseHere(dataDir, cluster, sameJvm);
            }
            if (lock == null) {
                throw new IOException("data directory " + dataDir + " of cluster " + cluster
                        + " is in use by another process (pid " + holderOf(channel) + "); stop that one first, or give"
                        + " this cluster another directory (the lock is " + file + ")");
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            return new DataDirLock(file, channel, lock);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** The pid the holder wrote, or "unknown" if it has not written it yet. */
    private static String holderOf(FileChannel channel) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(32);
        channel.read(buffer, 0);
        String pid = new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII).strip();
        return pid.isEmpty() ? "unknown" : pid;
    }

    @Override
    public void close() throws IOException {
        synchronized (HELD) {
            try {
                lock.release();
            } finally {
                try {
                    channel.close();
                } finally {
                    HELD.remove(file);
                }
            }
        }
    }
}
