package dev.bluegreen.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataDirPlacementTest {

    private static final ServerUser NOBODY = new ServerUser.Unprivileged("nobody", 65534, 65534);

    @TempDir
    Path temp;

    @BeforeEach
    void makeTempDirReachable() throws IOException {
        // JUnit creates it 0700; open it so that only the directories a test locks can block
        Files.setPosixFilePermissions(temp, Dirs.OPEN);
    }

    @Test
    void fallbackPathIsTheSameOnEveryRun() {
        // a literal: a changed hash would orphan every relocated cluster's data
        assertThat(DataDirPlacement.fallbackFor(Path.of("/root/.local/share/bluegreen/blue")))
                .isEqualTo(Path.of("/var/tmp/bluegreen/clusters/b605e71bd188404f"));
    }

    @Test
    void fallbackPathIgnoresHowTheRequestIsSpelled() {
        assertThat(DataDirPlacement.fallbackFor(Path.of("/root/x/../data/./blue")))
                .isEqualTo(DataDirPlacement.fallbackFor(Path.of("/root/data/blue")));
    }

    @Test
    void differentRequestsGetDifferentFallbacks() {
        assertThat(DataDirPlacement.fallbackFor(Path.of("/root/blue")))
                .isNotEqualTo(DataDirPlacement.fallbackFor(Path.of("/root/green")));
    }

    @Test
    void dataDirUnderADirectoryTheUserCannotTraverseFallsBack() throws IOException {
        Path locked = Files.createDirectory(temp.resolve("locked"), PosixFilePermissions.asFileAttribute(Dirs.PRIVATE));
        Path requested = locked.resolve("data");

        assertThat(DataDirPlacement.resolve(requested, NOBODY)).isEqualTo(DataDirPlacement.fallbackFor(requested));
        assertThat(DataDirPlacement.firstBlockingAncestor(requested, NOBODY)).contains(locked);
    }

    @Test
    void dataDirUnderTraversableDirectoriesStaysWhereRequested() throws IOException {
        Path requested = Files.createDirectory(temp.resolve("open")).resolve("data");

        assertThat(DataDirPlacement.resolve(requested, NOBODY)).isEqualTo(requested);
    }

    @Test
    void missingAncestorsDoNotBlockBecauseWeCreateThemOpen() throws IOException {
        Path requested = temp.resolve("not/yet/there/data");

        assertThat(DataDirPlacement.resolve(requested, NOBODY)).isEqualTo(requested);
    }

    @Test
    void ownerBitsDecideForTheDirectorysOwner() throws IOException {
        Path ownerOnly = Files.createDirectory(temp.resolve("owner-only"), PosixFilePermissions.asFileAttribute(Dirs.PRIVATE));
        int ownerUid = (Integer) Files.getAttribute(ownerOnly, "unix:uid");
        ServerUser owner = new ServerUser.Unprivileged("owner", ownerUid, 99_999);

        assertThat(DataDirPlacement.resolve(ownerOnly.resolve("data"), owner)).isEqualTo(ownerOnly.resolve("data"));
    }

    @Test
    void groupBitsDecideForAMemberOfTheDirectorysGroup() throws IOException {
        Path groupOnly = Files.createDirectory(temp.resolve("group-only"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-x---")));
        int groupGid = (Integer) Files.getAttribute(groupOnly, "unix:gid");
        ServerUser member = new ServerUser.Unprivileged("member", 99_998, groupGid);

        assertThat(DataDirPlacement.resolve(groupOnly.resolve("data"), member)).isEqualTo(groupOnly.resolve("data"));
    }
}
