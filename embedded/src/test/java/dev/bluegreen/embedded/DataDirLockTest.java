package dev.bluegreen.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataDirLockTest {

    @TempDir
    Path temp;

    @Test
    void aSecondClusterOfTheSameProcessIsRefusedUntilTheFirstReleases() throws IOException {
        Path dataDir = temp.resolve("blue");
        try (DataDirLock first = DataDirLock.acquire(dataDir, "blue")) {

            assertThatThrownBy(() -> DataDirLock.acquire(dataDir, "blue-again"))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("is in use by another cluster of this process (pid "
                            + ProcessHandle.current().pid() + ")");
        }

        DataDirLock.acquire(dataDir, "blue-again").close();
    }

    /**
     * A POSIX lock is the process's, and closing any channel on its file drops it: the refused second
     * claim must not have opened the file, or another process could now take the directory (and stop
     * the first cluster's server as a leftover). Another JVM tries the lock ({@link TryLock}).
     */
    @Test
    void aRefusedSecondClaimLeavesTheFirstsLockHeldAgainstOtherProcesses() throws Exception {
        Path dataDir = temp.resolve("blue");
        try (DataDirLock first = DataDirLock.acquire(dataDir, "blue")) {
            assertThatThrownBy(() -> DataDirLock.acquire(dataDir, "blue-again")).isInstanceOf(IOException.class);

            Process other = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
                    "-cp", System.getProperty("java.class.path"), TryLock.class.getName(),
                    DataDirLock.fileFor(dataDir).toString()).redirectErrorStream(true).start();
            String answer = new String(other.getInputStream().readAllBytes()).strip();
            assertThat(other.waitFor()).as(answer).isZero();
            assertThat(answer).as("another process's tryLock on the first cluster's lock").isEqualTo("held");
        }
    }

    @Test
    void theLockFileHoldsTheHoldersPidReadableByItsOwnerOnly() throws IOException {
        Path dataDir = temp.resolve("green");
        try (DataDirLock held = DataDirLock.acquire(dataDir, "green")) {
            Path file = temp.resolve("green.lock");

            assertThat(Files.readString(file).strip()).isEqualTo(Long.toString(ProcessHandle.current().pid()));
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        }
    }

    /** Run in another JVM: prints whether the lock on the file in {@code args[0]} is held by someone. */
    static final class TryLock {
        public static void main(String[] args) throws IOException {
            try (FileChannel c = FileChannel.open(Path.of(args[0]), StandardOpenOption.WRITE)) {
                System.out.print(c.tryLock() == null ? "held" : "free");
            }
        }
    }
}
