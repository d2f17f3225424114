package dev.bluegreen.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shared directory a root JVM keeps binaries and relocated data in, played by a temp directory. */
class DirsTest {

    @TempDir
    Path temp;

    @Test
    void missingSharedDirectoriesAreCreatedOpenAndAcceptedNextTime() throws IOException {
        Path root = temp.resolve("bluegreen");
        Path dir = root.resolve("clusters");

        Dirs.createTrusted(root, dir);
        Dirs.createTrusted(root, dir);

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root))).isEqualTo("rwxr-xr-x");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwxr-xr-x");
    }

    @Test
    void aSharedRootEveryoneMayWriteToIsRefused() throws IOException {
        Path root = Files.createDirectory(temp.resolve("bluegreen"));
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxrwxrwx"));

        assertThatThrownBy(() -> Dirs.createTrusted(root, root.resolve("clusters")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(root + " is writable by everyone");
        assertThat(root.resolve("clusters")).doesNotExist();
    }

    @Test
    void aSharedDirectoryItsGroupMayWriteToIsRefused() throws IOException {
        Path root = Files.createDirectory(temp.resolve("bluegreen"));
        Path clusters = Files.createDirectory(root.resolve("clusters"));
        Files.setPosixFilePermissions(clusters, PosixFilePermissions.fromString("rwxrwxr-x"));

        assertThatThrownBy(() -> Dirs.createTrusted(root, clusters))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(clusters + " is writable by its group");
    }

    @Test
    void aSharedRootThatIsASymbolicLinkIsRefused() throws IOException {
        Path elsewhere = Files.createDirectory(temp.resolve("elsewhere"));
        Path root = Files.createSymbolicLink(temp.resolve("bluegreen"), elsewhere);

        assertThatThrownBy(() -> Dirs.createTrusted(root, root.resolve("postgres")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(root + " is a symbolic link");
        assertThat(elsewhere.resolve("postgres")).doesNotExist();
    }

    /** The public face other tools use (the benchmarks' PgBouncer directory under /var/tmp). */
    @Test
    void sharedDirectoriesForOtherToolsGetTheSameChecks() throws IOException {
        Path fresh = temp.resolve("bluegreen-bench");
        SharedDirectories.createTrusted(fresh);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh))).isEqualTo("rwxr-xr-x");
        SharedDirectories.createTrusted(fresh); // accepted the next time

        Path elsewhere = Files.createDirectory(temp.resolve("elsewhere"));
        Path planted = Files.createSymbolicLink(temp.resolve("planted"), elsewhere);
        assertThatThrownBy(() -> SharedDirectories.createTrusted(planted)).isInstanceOf(IOException.class)
                .hasMessageContaining(planted + " is a symbolic link");

        Path kept = Files.writeString(elsewhere.resolve("kept"), "not ours to delete");
        Files.createSymbolicLink(fresh.resolve("link"), elsewhere);
        SharedDirectories.deleteTree(fresh);
        assertThat(fresh).doesNotExist();
        assertThat(kept).as("a link's target is not deleted").exists();
    }

    @Test
    void aSharedDirectoryAnotherUserMadeIsRefused() throws IOException {
        assumeTrue(Processes.runningAsRoot(), "only root can give a directory to another user");
        Path root = Files.createDirectory(temp.resolve("bluegreen"));
        Path clusters = Files.createDirectory(root.resolve("clusters"));
        Files.setAttribute(clusters, "unix:uid", 65534, LinkOption.NOFOLLOW_LINKS);

        assertThatThrownBy(() -> Dirs.createTrusted(root, clusters.resolve("b605e71bd188404f")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(clusters + " belongs to uid 65534");
        assertThat(clusters.resolve("b605e71bd188404f")).doesNotExist();
    }
}
