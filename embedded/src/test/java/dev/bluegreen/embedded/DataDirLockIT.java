package dev.bluegreen.embedded;

import static dev.bluegreen.embedded.ItClusters.queryOne;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;

import org.junit.jupiter.api.Test;

/** A data directory is one live process's: a second one is refused instead of taking it over. */
class DataDirLockIT {

    @Test
    void aDataDirInUseByAnotherLiveProcessIsRefusedByPidAndItsServerKeepsRunning() throws Exception {
        // Given a cluster run by another JVM
        Path dir = ItClusters.dir("held");
        try (ClusterInAnotherJvm other = ClusterInAnotherJvm.start("held", dir)) {

            // When this one starts a cluster on the same directory
            PgCluster.Builder second = PgCluster.builder().name("held").dataDir(dir).forTests();

            // Then it is refused with the holder's pid, and the holder's server neither stopped nor changed hands
            assertThatThrownBy(second::start)
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("data directory " + dir)
                    .hasMessageContaining("is in use by another process (pid " + other.pid() + ")");
            assertThat(ProcStat.isRunning(other.postmasterPid())).isTrue();
            try (Connection client = DriverManager.getConnection(other.jdbcUrl())) {
                assertThat(queryOne(client, "SELECT pg_backend_pid() > 0")).isEqualTo("t");
            }
        }
    }

    @Test
    void aFailedStartLeavesTheDataDirFreeForTheNextOne() throws IOException {
        // Given a start that failed after it took the directory (a setting postgres rejects)
        PgCluster.Builder broken = ItClusters.throwaway("lock-after-failure").setting("max_connections", "plenty");
        assertThatThrownBy(broken::start).isInstanceOf(IOException.class);

        // When the next one starts there
        try (PgCluster next = PgCluster.builder().name("lock-after-failure").dataDir(ItClusters.dir("lock-after-failure"))
                .forTests().start()) {

            // Then it runs
            assertThat(next.isRunning()).isTrue();
        }
    }
}
