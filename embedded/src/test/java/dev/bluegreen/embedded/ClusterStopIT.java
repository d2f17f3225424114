package dev.bluegreen.embedded;

import static dev.bluegreen.embedded.ItClusters.queryOne;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

class ClusterStopIT {

    @Test
    void stopLeavesNoServerProcessForTheDataDir() throws IOException, SQLException {
        // Given a running cluster with a client connected (so a backend process exists)
        PgCluster cluster = ItClusters.throwaway("stop").start();
        long postmaster = cluster.pid();
        Set<Long> serverProcesses;
        try (Connection client = cluster.connect("postgres")) {
            queryOne(client, "SELECT 1");
            serverProcesses = ProcessHandle.of(postmaster).orElseThrow().descendants()
                    .map(ProcessHandle::pid).collect(Collectors.toSet());
            serverProcesses.add(postmaster);
            assertThat(serverProcesses).hasSizeGreaterThan(3); // checkpointer, walwriter, the backend...

            // When it stops with the client still connected
            cluster.stop();
        }

        // Then none of its processes is left, and nothing else claims the data dir's postmaster
        List<ProcessHandle> left = ProcessHandle.allProcesses()
                .filter(process -> serverProcesses.contains(process.pid()) || process.parent()
                        .map(parent -> parent.pid() == postmaster).orElse(false))
                .filter(ProcessHandle::isAlive)
                .toList();
        assertThat(left).isEmpty();
        assertThat(cluster.isRunning()).isFalse();
        assertThat(cluster.pid()).isEqualTo(-1);
        assertThat(cluster.dataDir().resolve("postmaster.pid")).doesNotExist();
    }

    @Test
    void startStopsALeftoverServerOfAProcessThatDied() throws Exception {
        // Given a server whose JVM was killed with -9, so that no shutdown hook stopped it
        Path dir = ItClusters.dir("leftover");
        long orphanPid;
        try (ClusterInAnotherJvm other = ClusterInAnotherJvm.start("leftover", dir)) {
            try (Connection client = DriverManager.getConnection(other.jdbcUrl());
                 Statement statement = client.createStatement()) {
                statement.execute("CREATE TABLE kept AS SELECT 42 AS id");
            }
            orphanPid = other.postmasterPid();
            other.kill();
        }
        assertThat(ProcStat.isRunning(orphanPid)).isTrue();

        // When another cluster starts on the same data dir
        try (PgCluster successor = PgCluster.builder().name("leftover").dataDir(dir).forTests().start()) {

            // Then the leftover is gone and the successor serves the same data
            assertThat(ProcStat.isRunning(orphanPid)).isFalse();
            assertThat(successor.pid()).isNotEqualTo(orphanPid);
            assertThat(queryOne(successor, "SELECT id FROM kept")).isEqualTo("42");
        }
    }

    @Test
    void stopTwiceIsHarmless() throws IOException {
        PgCluster cluster = ItClusters.throwaway("twice").start();

        cluster.stop();
        cluster.close();

        assertThat(cluster.isRunning()).isFalse();
    }
}
