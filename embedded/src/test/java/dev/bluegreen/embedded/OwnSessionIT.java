package dev.bluegreen.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

/**
 * A terminal's Ctrl-C sends SIGINT to its whole foreground process group. The servers must not be
 * in the JVM's: the proxy drains its sessions first and stops the clusters after.
 */
class OwnSessionIT {

    @Test
    void initdbAndPostgresRunInSessionsOfTheirOwnSoATerminalsCtrlCOnlyReachesTheJvm() {
        ProcStat jvm = ProcStat.of(ProcessHandle.current().pid());
        Path dir = ItClusters.dir("own-session");

        // When a new cluster starts (initdb first, then postgres)
        CompletableFuture<PgCluster> starting = CompletableFuture.supplyAsync(() -> {
            try {
                return ItClusters.throwaway("own-session").start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, task -> Thread.ofPlatform().name("own-session-start").start(task));
        ProcStat initdb = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5))
                .until(() -> initdbFor(dir), Optional::isPresent).orElseThrow();
        try (PgCluster cluster = starting.join()) {
            ProcStat postmaster = ProcStat.of(cluster.pid());

            // Then neither shares the JVM's process group or session; each leads a session of its own
            assertThat(initdb.session()).isEqualTo(initdb.pid()).isNotEqualTo(jvm.session());
            assertThat(initdb.processGroup()).isNotEqualTo(jvm.processGroup());
            assertThat(postmaster.session()).isEqualTo(postmaster.pid()).isNotEqualTo(jvm.session());
            assertThat(postmaster.processGroup()).isNotEqualTo(jvm.processGroup());
        }
    }

    private static Optional<ProcStat> initdbFor(Path dir) {
        return ProcessHandle.allProcesses()
                .filter(process -> process.info().command().map(command -> command.endsWith("/initdb")).orElse(false))
                .filter(process -> process.info().arguments()
                        .map(args -> String.join(" ", args).contains(dir.toString())).orElse(false))
                .findFirst()
                .flatMap(process -> ProcStat.read(process.pid()));
    }
}
