package dev.bluegreen.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SuperuserPasswordFileTest {

    @TempDir
    Path temp;

    @BeforeEach
    void makeTempDirReachable() throws IOException {
        // JUnit creates it 0700: a root JVM's server user could not reach data dirs in it, which would relocate them
        Files.setPosixFilePermissions(temp, Dirs.OPEN);
    }

    @Test
    void withoutFileOrClustersANewPasswordIsMadeReadableByItsOwnerOnlyAndKept() throws IOException {
        Path file = temp.resolve("superuser-password");
        List<Path> dataDirs = List.of(temp.resolve("blue"), temp.resolve("green"));

        String made = SuperuserPasswordFile.readOrCreate(file, dataDirs);

        assertThat(made).matches("[0-9a-f]{36}");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(SuperuserPasswordFile.readOrCreate(file, dataDirs)).isEqualTo(made);
    }

    @Test
    void anInitdbThatDidNotFinishIsNoClusterToKeepAPasswordFor() throws IOException {
        Path blue = Files.createDirectory(temp.resolve("blue"));
        Files.writeString(blue.resolve("PG_VERSION"), "16\n");
        Files.createFile(Files.createDirectory(InitDb.markFor(blue)).resolve(InitDb.MARK_TOKEN));

        assertThat(SuperuserPasswordFile.readOrCreate(temp.resolve("superuser-password"), List.of(blue))).hasSize(36);
    }

    /** A process that died between making the file and writing it: no cluster has a password yet. */
    @Test
    void anEmptyPasswordFileWithoutClustersIsGivenANewPassword() throws IOException {
        Path file = Files.createFile(temp.resolve("superuser-password"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));

        String made = SuperuserPasswordFile.readOrCreate(file, List.of(temp.resolve("blue"), temp.resolve("green")));

        assertThat(made).matches("[0-9a-f]{36}");
        assertThat(Files.readString(file).strip()).isEqualTo(made);
    }

    @Test
    void anEmptyPasswordFileBesideAClusterIsRefused() throws IOException {
        Path blue = Files.createDirectory(temp.resolve("blue"));
        Files.writeString(blue.resolve("PG_VERSION"), "16\n");
        Path file = Files.createFile(temp.resolve("superuser-password"));

        assertThatThrownBy(() -> SuperuserPasswordFile.readOrCreate(file, List.of(blue)))
                .isInstanceOf(IOException.class).hasMessageContaining("is empty");
    }

    @Test
    void aPasswordFileThatIsASymbolicLinkIsRefused() throws IOException {
        Path target = Files.writeString(temp.resolve("elsewhere"), "not a password\n");
        Path file = Files.createSymbolicLink(temp.resolve("superuser-password"), target);

        assertThatThrownBy(() -> SuperuserPasswordFile.readOrCreate(file, List.of()))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("is a symbolic link");
    }
}
