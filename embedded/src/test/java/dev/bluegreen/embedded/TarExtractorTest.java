package dev.bluegreen.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarExtractorTest {

    @TempDir
    Path temp;

    @Test
    void extractionKeepsExecutableBitsAndSymlinks() throws IOException {
        // Given a tarball shaped like the server's
        byte[] txz = new Txz()
                .directory("bin/", 0755)
                .file("bin/postgres", 0755, "#!/bin/sh\necho postgres\n")
                .directory("lib/", 0755)
                .file("lib/libpq.so.5.18", 0644, "not really a library")
                .symlink("lib/libpq.so.5", "libpq.so.5.18")
                .bytes();
        Path install = temp.resolve("install");

        // When
        TarExtractor.extractTxz(new ByteArrayInputStream(txz), install);

        // Then
        assertThat(Files.getPosixFilePermissions(install.resolve("bin/postgres")))
                .isEqualTo(PosixFilePermissions.fromString("rwxr-xr-x"));
        assertThat(Files.getPosixFilePermissions(install.resolve("lib/libpq.so.5.18")))
                .isEqualTo(PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(Files.readSymbolicLink(install.resolve("lib/libpq.so.5"))).isEqualTo(Path.of("libpq.so.5.18"));
        assertThat(install.resolve("lib/libpq.so.5")).hasContent("not really a library");
    }

    @Test
    void entriesSpelledFromDotAreUnpackedInPlace() throws IOException {
        byte[] txz = new Txz()
                .directory("./", 0755)
                .directory("./bin/", 0755)
                .file("./bin/initdb", 0755, "#!/bin/sh\n")
                .bytes();
        Path install = temp.resolve("install");

        TarExtractor.extractTxz(new ByteArrayInputStream(txz), install);

        assertThat(Files.isExecutable(install.resolve("bin/initdb"))).isTrue();
    }

    @Test
    void directoryModesApplyEvenToDirectoriesTheyMakeReadOnly() throws IOException {
        byte[] txz = new Txz()
                .directory("share/", 0555)
                .file("share/postgres.bki", 0444, "catalog")
                .bytes();
        Path install = temp.resolve("install");

        TarExtractor.extractTxz(new ByteArrayInputStream(txz), install);

        assertThat(install.resolve("share/postgres.bki")).hasContent("catalog");
        assertThat(Files.getPosixFilePermissions(install.resolve("share")))
                .isEqualTo(PosixFilePermissions.fromString("r-xr-xr-x"));
    }

    @Test
    void entryNamedOutsideTheDestinationIsRefused() throws IOException {
        byte[] txz = new Txz().file("../escaped", 0644, "x").bytes();
        Path install = temp.resolve("install");

        assertThatThrownBy(() -> TarExtractor.extractTxz(new ByteArrayInputStream(txz), install))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("escapes");
        assertThat(temp.resolve("escaped")).doesNotExist();
    }

    @Test
    void symlinkPointingOutsideTheDestinationIsRefused() throws IOException {
        byte[] txz = new Txz().symlink("lib/evil", "../../outside").bytes();

        assertThatThrownBy(() -> TarExtractor.extractTxz(new ByteArrayInputStream(txz), temp.resolve("install")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("escapes");
    }

    @Test
    void writeThroughSymlinksThatReallyLeaveTheDestinationIsRefused() throws IOException {
        // each link looks harmless by name; together x resolves to the destination's parent
        byte[] txz = new Txz()
                .directory("d/e/", 0755)
                .symlink("d/e/up", "../..")
                .symlink("x", "d/e/up/..")
                .file("x/escaped", 0644, "x")
                .bytes();
        Path install = temp.resolve("install");

        assertThatThrownBy(() -> TarExtractor.extractTxz(new ByteArrayInputStream(txz), install))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("symlink");
        assertThat(temp.resolve("escaped")).doesNotExist();
    }

    /** Builds a small .txz in memory. */
    static final class Txz {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final TarArchiveOutputStream tar;

        Txz() {
            try {
                tar = new TarArchiveOutputStream(new XZCompressorOutputStream(bytes));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        Txz directory(String name, int mode) throws IOException {
            TarArchiveEntry entry = new TarArchiveEntry(name);
            entry.setMode(TarArchiveEntry.DEFAULT_DIR_MODE & ~0777 | mode);
            tar.putArchiveEntry(entry);
            tar.closeArchiveEntry();
            return this;
        }

        Txz file(String name, int mode, String content) throws IOException {
            byte[] data = content.getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry entry = new TarArchiveEntry(name, true); // preserve "../": we are testing it
            entry.setMode(TarArchiveEntry.DEFAULT_FILE_MODE & ~0777 | mode);
            entry.setSize(data.length);
            tar.putArchiveEntry(entry);
            tar.write(data);
            tar.closeArchiveEntry();
            return this;
        }

        Txz symlink(String name, String target) throws IOException {
            TarArchiveEntry entry = new TarArchiveEntry(name, TarArchiveEntry.LF_SYMLINK);
            entry.setLinkName(target);
            tar.putArchiveEntry(entry);
            tar.closeArchiveEntry();
            return this;
        }

        byte[] bytes() throws IOException {
            tar.close();
            return bytes.toByteArray();
        }
    }
}
