package dev.bluegreen.embedded;

import static dev.bluegreen.embedded.ItClusters.queryOne;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.sql.SQLException;

import org.junit.jupiter.api.Test;

class ClusterReuseIT {

    @Test
    void rowsSurviveAStopAndANewStartOnTheSameDataDir() throws IOException, SQLException {
        // Given a cluster holding three rows, stopped
        try (PgCluster first = ItClusters.throwaway("reuse").start()) {
            first.execute("postgres", "CREATE TABLE kept (id int)", "INSERT INTO kept VALUES (1), (2), (3)");
        }

        // When a new cluster starts on the same data dir
        try (PgCluster second = PgCluster.builder().name("reuse").dataDir(ItClusters.dir("reuse")).forTests().start()) {

            // Then it finds them
            assertThat(queryOne(second, "SELECT count(*) FROM kept")).isEqualTo("3");
        }
    }

    @Test
    void restartKeepsPortAndRowsWithANewPostmaster() throws IOException, SQLException {
        try (PgCluster cluster = ItClusters.throwaway("restart").start()) {
            cluster.execute("postgres", "CREATE TABLE kept AS SELECT generate_series(1, 10) AS id");
            long pidBefore = cluster.pid();
            int portBefore = cluster.port();

            cluster.restart();

            assertThat(cluster.pid()).isNotEqualTo(pidBefore).isPositive();
            assertThat(cluster.port()).isEqualTo(portBefore);
            assertThat(queryOne(cluster, "SELECT count(*) FROM kept")).isEqualTo("10");
        }
    }

    @Test
    void aClusterAskedForDataChecksumsHasThemAndKeepsThemWhenReused() throws IOException, SQLException {
        try (PgCluster first = ItClusters.throwaway("checksums").dataChecksums(true).start()) {
            assertThat(queryOne(first, "SHOW data_checksums")).isEqualTo("on");
        }

        // the choice is made at initdb: a reused cluster keeps it whatever the builder says
        try (PgCluster reused = PgCluster.builder().name("checksums").dataDir(ItClusters.dir("checksums")).forTests().start()) {
            assertThat(queryOne(reused, "SHOW data_checksums")).isEqualTo("on");
        }
    }

    @Test
    void aDataDirOfAnotherMajorVersionIsRefusedWithAClearMessage() throws IOException {
        try (PgCluster sixteen = ItClusters.throwaway("major").start()) {
            sixteen.stop();

            assertThatThrownBy(
                            () -> PgCluster.builder().version("18.1.0").dataDir(sixteen.dataDir()).start())
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("holds a PostgreSQL 16 cluster");
        }
    }
}
