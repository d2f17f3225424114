package dev.bluegreen.embedded;

import static dev.bluegreen.embedded.ItClusters.queryOne;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;

import org.junit.jupiter.api.Test;

/** Only a root JVM hands the server to another user, so only a root JVM can need the fallback. */
class FallbackDataDirIT {

    @Test
    void dataDirUnderAPrivateRootDirectoryLivesInTheFallbackAndIsFoundThereAgain() throws IOException, SQLException {
        assumeTrue(Processes.runningAsRoot(), "the fallback only exists for a root JVM");
        // Given a requested data dir under a 0700 root-owned directory, like /root
        Path locked = ItClusters.dir("locked");
        Dirs.createOpen(locked);
        Files.setPosixFilePermissions(locked, Dirs.PRIVATE);
        Path requested = locked.resolve("pg");
        Path fallback = DataDirPlacement.fallbackFor(requested);
        try {
            // When a cluster starts there, writes a row, and a second one starts on the same request
            try (PgCluster first = PgCluster.builder().name("fallback").dataDir(requested).forTests().wipeDataDir().start()) {
                first.execute("postgres", "CREATE TABLE kept AS SELECT 7 AS id");
                assertThat(first.dataDir()).isEqualTo(fallback);
            }
            try (PgCluster second = PgCluster.builder().name("fallback").dataDir(requested).forTests().start()) {

                // Then both used the fallback, and the second found the first one's data
                assertThat(second.dataDir()).isEqualTo(fallback);
                assertThat(queryOne(second, "SELECT id FROM kept")).isEqualTo("7");
                assertThat(requested).doesNotExist();
            }
        } finally {
            Dirs.deleteTree(fallback);
            Files.deleteIfExists(fallback.resolveSibling(fallback.getFileName() + ".log"));
        }
    }
}
