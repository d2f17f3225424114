package dev.bluegreen.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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

    @Test
    void theLockFileHoldsTheHoldersPidReadableByItsOwnerOnly() throws IOException {
        Path dataDir = temp.resolve("green");
        try (DataDirLock held = DataDirLock.acquire(dataDir, "green")) {
            Path file = temp.resolve("green.lock");

            assertThat(Files.readString(file).strip()).isEqualTo(Long.toString(ProcessHandle.current().pid()));
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        }
    }
}
