package dev.bluegreen.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

/** How the embedded default keeps its superuser password: the file and the clusters belong together. */
class SuperuserPasswordFileIT {

    @Test
    void aMissingPasswordFileIsNotReplacedWhileItsClusterExists() throws IOException {
        // Given a cluster created with the password from the file
        Path dir = ItClusters.dir("password-file");
        Path file = dir.resolveSibling("password-file.superuser-password");
        Dirs.deleteTree(dir); // an earlier run's cluster
        Files.deleteIfExists(file);
        Files.createDirectories(dir.getParent()); // the caller's to make, as EmbeddedClusters does; absent on a fresh checkout
        String password = SuperuserPasswordFile.readOrCreate(file, List.of(dir));
        ItClusters.throwaway("password-file").superuserPassword(password).start().close();

        // When the file is lost
        Files.delete(file);

        // Then no new password is made for it: the cluster would refuse it on every start
        assertThatThrownBy(() -> SuperuserPasswordFile.readOrCreate(file, List.of(dir)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("the superuser password file " + file + " is missing, but the clusters in " + dir)
                .hasMessageContaining("Put the file back, or delete that directory");
        assertThat(file).doesNotExist();
    }
}
