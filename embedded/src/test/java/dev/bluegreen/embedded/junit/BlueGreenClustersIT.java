package dev.bluegreen.embedded.junit;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import dev.bluegreen.embedded.PgCluster;

@ExtendWith(BlueGreenClusters.class)
class BlueGreenClustersIT {

    private final TestClusters injectedIntoConstructor;

    BlueGreenClustersIT(TestClusters clusters) {
        this.injectedIntoConstructor = clusters;
    }

    @Test
    void blueRunsPostgres16(TestClusters clusters) throws SQLException {
        // Given the shared pair / When blue is asked its version
        String version = query(clusters.blue(), "SELECT version()");

        // Then
        assertThat(version).startsWith("PostgreSQL 16.9");
        assertThat(clusters.blue().majorVersion()).isEqualTo(16);
    }

    @Test
    void greenRunsPostgres18(TestClusters clusters) throws SQLException {
        String version = query(clusters.green(), "SELECT version()");

        assertThat(version).startsWith("PostgreSQL 18.1");
        assertThat(clusters.green().majorVersion()).isEqualTo(18);
    }

    @Test
    void everyInjectionPointGetsTheSamePair(TestClusters clusters) {
        assertThat(clusters).isSameAs(injectedIntoConstructor);
    }

    @Test
    void bothClustersRunWithTestSettings(TestClusters clusters) throws SQLException {
        for (PgCluster cluster : new PgCluster[] {clusters.blue(), clusters.green()}) {
            assertThat(query(cluster, "SHOW fsync")).isEqualTo("off");
            assertThat(query(cluster, "SHOW max_connections")).isEqualTo("300");
            assertThat(query(cluster, "SHOW listen_addresses")).isEqualTo("127.0.0.1");
        }
    }

    @Test
    void blueAndGreenBothRunWithoutDataChecksumsThoughEighteensInitdbWouldTurnThemOn(TestClusters clusters)
            throws SQLException {
        assertThat(query(clusters.blue(), "SHOW data_checksums")).isEqualTo("off");
        assertThat(query(clusters.green(), "SHOW data_checksums")).isEqualTo("off");
    }

    @Test
    void clusterDataLivesUnderTheModuleTargetDirectory(TestClusters clusters) {
        assertThat(clusters.blue().dataDir()).isEqualTo(BlueGreenClusters.clustersRoot().resolve("blue"));
        assertThat(clusters.green().dataDir()).isEqualTo(BlueGreenClusters.clustersRoot().resolve("green"));
    }

    @Test
    void serverNeverRunsAsRoot(TestClusters clusters) {
        String owner = ProcessHandle.of(clusters.blue().pid()).orElseThrow().info().user().orElseThrow();

        assertThat(owner).isNotEqualTo("root");
    }

    static String query(PgCluster cluster, String sql) throws SQLException {
        try (Connection connection = cluster.connect("postgres");
             Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
