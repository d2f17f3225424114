package dev.bluegreen.embedded;

import static dev.bluegreen.embedded.ItClusters.queryOne;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import org.junit.jupiter.api.Test;

/**
 * initdb writes PG_VERSION long before it has made the postgres database: a data directory it
 * did not finish must be made again, not reused.
 */
class InterruptedInitdbIT {

    @Test
    void aStartAfterInitdbWasKilledMidwayCreatesTheClusterAfresh() throws IOException, SQLException {
        // Given an initdb killed once it had written PG_VERSION
        Path dir = ItClusters.dir("initdb-killed");
        CompletableFuture<PgCluster> first = CompletableFuture.supplyAsync(
                () -> start(ItClusters.throwaway("initdb-killed").superuserPassword("s3cret")),
                task -> Thread.ofPlatform().name("initdb-killed-start").start(task));
        ProcessHandle initdb = await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(5))
                .until(() -> initdbInto(dir).filter(process -> Files.exists(dir.resolve("PG_VERSION"))), Optional::isPresent)
                .orElseThrow();
        // initdb's own server processes (postgres --boot, --single) too: left running, one could still write into the
        // directory while the next start empties it, which then finds files but no PG_VERSION
        List<ProcessHandle> killed = new ArrayList<>(initdb.descendants().toList());
        killed.add(initdb);
        killed.forEach(ProcessHandle::destroyForcibly);
        await().atMost(Duration.ofSeconds(30)).until(() -> killed.stream().noneMatch(ProcessHandle::isAlive));
        assertThatThrownBy(first::join).isInstanceOf(CompletionException.class).hasMessageContaining("initdb failed");
        assertThat(InitDb.markFor(dir)).as("the password file is gone, the mark stays")
                .isDirectoryContaining(file -> file.getFileName().toString().equals(InitDb.MARK_TOKEN))
                .isDirectoryNotContaining(file -> file.getFileName().toString().equals("superuser-password"));

        // When the next start comes
        try (PgCluster next = PgCluster.builder().name("initdb-killed").dataDir(dir).forTests().superuserPassword("s3cret")
                .start()) {

            // Then it made the cluster again, to the end: the postgres database, initdb's last, is there
            assertThat(queryOne(next, "SELECT count(*) FROM pg_database WHERE datname = 'postgres'")).isEqualTo("1");
            assertThat(InitDb.markFor(dir)).doesNotExist();
        }
    }

    @Test
    void whatAnInitdbCutShortWithItsJvmLeftIsClearedAtTheNextStart() throws IOException, SQLException {
        // Given what a JVM killed during initdb leaves: a data dir with PG_VERSION only, the mark holding the
        // password file, and the password file older versions put beside the data dir
        Path dir = ItClusters.dir("initdb-cut-short");
        Dirs.deleteTree(dir);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("PG_VERSION"), "16\n");
        Dirs.deleteTree(InitDb.markFor(dir));
        Files.createDirectories(InitDb.markFor(dir));
        Files.createFile(InitDb.markFor(dir).resolve(InitDb.MARK_TOKEN));
        Files.writeString(InitDb.markFor(dir).resolve("superuser-password"), "s3cret\n");
        Path legacyPasswordFile = Files.writeString(dir.resolveSibling(".initdb-pw-8214"), "s3cret\n");

        // When a cluster starts there
        try (PgCluster cluster = PgCluster.builder().name("initdb-cut-short").dataDir(dir).forTests()
                .superuserPassword("s3cret").start()) {

            // Then it is made afresh, and no copy of the password is left
            assertThat(queryOne(cluster, "SELECT count(*) FROM pg_database WHERE datname = 'postgres'")).isEqualTo("1");
            assertThat(InitDb.markFor(dir)).doesNotExist();
            assertThat(legacyPasswordFile).doesNotExist();
        }
    }

    @Test
    void aDirectoryHoldingFilesButNoClusterIsRefusedAndLeftAsItWas() throws IOException {
        // Given a directory of someone's files
        Path dir = ItClusters.dir("not-a-cluster");
        Dirs.deleteTree(dir);
        Dirs.deleteTree(InitDb.markFor(dir));
        Path notes = Files.writeString(Files.createDirectories(dir).resolve("notes.txt"), "mine\n");
        PgCluster.Builder there = PgCluster.builder().name("not-a-cluster").dataDir(dir).forTests();

        // When a cluster is started there, twice
        assertThatThrownBy(there::start).isInstanceOf(IOException.class).hasMessageContaining("holds files but no cluster");
        assertThatThrownBy(there::start).isInstanceOf(IOException.class).hasMessageContaining("holds files but no cluster");

        // Then its files are still there: a failed start never marks a directory it did not find empty
        assertThat(notes).hasContent("mine");
        assertThat(InitDb.markFor(dir)).doesNotExist();
    }

    /**
     * Only a mark this code made undoes a cluster: an entry of that name that is not one (a file someone
     * made, another cluster's directory named so) leaves the cluster and any process working in it alone.
     */
    @Test
    void anEntryNamedLikeTheMarkButNotOursLeavesAFinishedClusterAndItsNeighboursAlone() throws Exception {
        Path dir = ItClusters.dir("foreign-mark");
        Dirs.deleteTree(dir);
        Dirs.deleteTree(InitDb.markFor(dir));
        PgCluster.Builder there = PgCluster.builder().name("foreign-mark").dataDir(dir).forTests();
        try (PgCluster first = there.start(); java.sql.Connection c = first.connect("postgres")) {
            c.createStatement().execute("create table kept (v int)");
        }
        Files.writeString(InitDb.markFor(dir), "someone else's file\n");
        Process neighbour = new ProcessBuilder("sleep", "300").directory(dir.toFile()).start();
        try (PgCluster again = there.start()) {
            assertThat(queryOne(again, "SELECT count(*) FROM pg_class WHERE relname = 'kept'")).as("the cluster was reused")
                    .isEqualTo("1");
            assertThat(neighbour.isAlive()).as("a process working in the data directory that is not initdb's").isTrue();
            assertThat(InitDb.markFor(dir)).hasContent("someone else's file");
        } finally {
            neighbour.destroyForcibly();
            Files.deleteIfExists(InitDb.markFor(dir));
        }
    }

    private static PgCluster start(PgCluster.Builder builder) {
        try {
            return builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Optional<ProcessHandle> initdbInto(Path dir) {
        return ProcessHandle.allProcesses()
                .filter(process -> process.info().command().map(command -> command.endsWith("/initdb")).orElse(false))
                .filter(process -> process.info().arguments().map(args -> List.of(args).contains(dir.toString())).orElse(false))
                .findFirst();
    }
}
