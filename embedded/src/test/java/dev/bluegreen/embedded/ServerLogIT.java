package dev.bluegreen.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;

/** The server's log can hold statements with passwords in them: its owner's alone, and bounded. */
class ServerLogIT {

    @Test
    void theLogOfANewClusterIsReadableByItsOwnerOnly() throws IOException {
        try (PgCluster cluster = ItClusters.throwaway("private-log").start()) {

            assertThat(Files.size(cluster.logFile())).isPositive();
            assertThat(modeOf(cluster.logFile())).isEqualTo("rw-------");
        }
    }

    @Test
    void aStartFindingTheLogOverItsLimitKeepsItAsTheOneOldLogAndStartsANewOne() throws IOException {
        // Given a reused cluster whose log outgrew the limit, world-readable as older versions left it, and an older log
        ItClusters.throwaway("rotated-log").start().close();
        Path dir = ItClusters.dir("rotated-log");
        Path log = dir.resolveSibling("rotated-log.log");
        Path previous = dir.resolveSibling("rotated-log.log.1");
        Files.writeString(previous, "the log before the last\n");
        Files.writeString(log, "the last log\n");
        try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "rw")) {
            file.setLength(ServerLog.ROTATE_AT_BYTES + 1);
        }
        Files.setPosixFilePermissions(log, PosixFilePermissions.fromString("rw-r--r--"));
        Files.setPosixFilePermissions(previous, PosixFilePermissions.fromString("rw-r--r--"));

        // When it starts again
        try (PgCluster cluster = PgCluster.builder().name("rotated-log").dataDir(dir).forTests().start()) {

            // Then the big log is the one old log, and the new one holds this start alone; both are private
            assertThat(Files.size(previous)).isEqualTo(ServerLog.ROTATE_AT_BYTES + 1);
            assertThat(Files.readString(previous)).startsWith("the last log\n");
            assertThat(Files.size(log)).isLessThan(ServerLog.ROTATE_AT_BYTES);
            assertThat(Files.readString(log)).doesNotContain("the last log").contains("database system is ready");
            assertThat(modeOf(log)).isEqualTo("rw-------");
            assertThat(modeOf(previous)).isEqualTo("rw-------");
        }
    }

    private static String modeOf(Path file) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
    }
}
