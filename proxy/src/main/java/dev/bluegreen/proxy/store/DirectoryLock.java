package dev.bluegreen.proxy.store;

import dev.bluegreen.proxy.control.StateStore.Failure;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One proxy per state directory: a lock on {@code <dir>/state.lock}, held until {@link #close}. Whatever the
 * state store, the directory holds files a second proxy must not replace under a running one (the generated
 * admin token, the embedded clusters' data), so every store takes it before anything is written there.
 */
public final class DirectoryLock implements AutoCloseable {

    static final String LOCK_FILE = "state.lock";

    /**
     * Directories locked in this JVM. On Linux closing any channel to a file drops every lock the process
     * holds on it, so a second lock here must be refused before it opens {@code state.lock}.
     */
    private static final Set<Path> LOCKED_HERE = ConcurrentHashMap.newKeySet();

    private final Path realDir;
    private final FileChannel channel;
    private boolean released;

    private DirectoryLock(Path realDir, FileChannel channel) {
        this.realDir = realDir;
        this.channel = channel;
    }

    /** Creates {@code dir} if needed and locks it; fails when another proxy (in this JVM or not) holds it. */
    public static DirectoryLock take(Path dir) throws Failure {
        Path lockFile = dir.resolve(LOCK_FILE);
        Path realDir;
        try {
            Files.createDirectories(dir);
            realDir = dir.toRealPath();
        } catch (IOException e) {
            throw new Failure("cannot lock the state directory " + dir + ": " + e, e);
        }
        if (!LOCKED_HERE.add(realDir)) {
            throw inUse(dir);
        }
        FileChannel channel = null;
        FileLock lock;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException sameProcess) {
                lock = null;
            }
        } catch (IOException e) {
            release(realDir, channel);
            throw new Failure("cannot lock " + lockFile + ": " + e, e);
        }
        if (lock == null) {
            release(realDir, channel);
            throw inUse(dir);
        }
        return new DirectoryLock(realDir, channel); // the lock lives as long as its channel
    }

    private static Failure inUse(Path dir) {
        return new Failure("another bluegreen proxy is using " + dir + " (give this one a --state-dir of its own)", null);
    }

    private static void release(Path realDir, FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // closing drops the lock whatever it reports
            }
        }
        LOCKED_HERE.remove(realDir);
    }

    @Override
    public synchronized void close() {
        if (!released) {
            released = true;
            release(realDir, channel);
        }
    }
}
