package dev.bluegreen.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * A root JVM chowns and chmods the data directory, appends the server's output to the log, and
 * writes files inside the data directory, which the server user owns: none of it through a link.
 */
class SymlinkRefusalIT {

    @Test
    void aDataDirThatIsASymbolicLinkIsRefusedAndWhatItPointsAtIsLeftAlone() throws IOException {
        // Given a data dir path that is a link to someone's directory
        Path victim = victimDir("link-target");
        Path link = ItClusters.dir("linked-data");
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, victim);
        int owner = (Integer) Files.getAttribute(victim, "unix:uid");

        // When a cluster starts there
        PgCluster.Builder onLink = PgCluster.builder().name("linked-data").dataDir(link).forTests();

        // Then it is refused, and the link's target keeps its mode, owner and content
        assertThatThrownBy(onLink::start)
                .isInstanceOf(IOException.class)
                .hasMessageContaining("data directory " + link + " is a symbolic link");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(victim))).isEqualTo("rwxr-xr-x");
        assertThat(Files.getAttribute(victim, "unix:uid")).isEqualTo(owner);
        try (Stream<Path> entries = Files.list(victim)) {
            assertThat(entries).containsExactly(victim.resolve("keep"));
        }
    }

    @Test
    void aLogFileThatIsASymbolicLinkIsRefusedAndWhatItPointsAtIsLeftAlone() throws IOException {
        // Given a log path that is a link to someone's file
        Path victim = victimDir("log-target").resolve("keep");
        Path dir = ItClusters.dir("linked-log");
        Path log = dir.resolveSibling("linked-log.log");
        Files.deleteIfExists(log);
        Files.createSymbolicLink(log, victim);

        // When a cluster starts
        PgCluster.Builder withLinkedLog = PgCluster.builder().name("linked-log").dataDir(dir).forTests();

        // Then it is refused before anything wrote to it
        assertThatThrownBy(withLinkedLog::start)
                .isInstanceOf(IOException.class)
                .hasMessageContaining("log file " + log + " is a symbolic link");
        assertThat(Files.readString(victim)).isEqualTo("precious\n");
    }

    @Test
    void writeHbaReplacingALinkInTheDataDirDoesNotWriteWhereItPoints() throws IOException {
        Path victim = victimDir("hba-target").resolve("keep");
        try (PgCluster cluster = ItClusters.throwaway("linked-hba").start()) {
            // Given pg_hba.conf swapped for a link by whoever runs as the server user
            Path hba = cluster.dataDir().resolve("pg_hba.conf");
            Files.delete(hba);
            Files.createSymbolicLink(hba, victim);

            // When the harness writes pg_hba.conf
            assertThatThrownBy(() -> cluster.writeHba(List.of("host all all 127.0.0.1/32 trust")))
                    .isInstanceOf(UncheckedIOException.class);

            // Then the link's target is untouched
            assertThat(Files.readString(victim)).isEqualTo("precious\n");
            assertThat(Files.isSymbolicLink(hba)).isTrue();
        }
    }

    /** A directory of someone else's, 0755, holding a file "keep". */
    private static Path victimDir(String name) throws IOException {
        Path victim = ItClusters.dir(name);
        Dirs.deleteTree(victim);
        Files.createDirectories(victim);
        Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(victim.resolve("keep"), "precious\n");
        assertThat(Files.isDirectory(victim, LinkOption.NOFOLLOW_LINKS)).isTrue();
        return victim;
    }
}
