package dev.bluegreen.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

class BinaryInstallerTest {

    private static final Platform AMD64 = Platform.of("Linux", "amd64");
    private static final String VERSION = "99.1.0";

    @TempDir
    Path temp;

    private HttpServer repository;
    private final Map<String, byte[]> served = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> requests = new ConcurrentHashMap<>();

    @BeforeEach
    void startRepository() throws IOException {
        repository = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        repository.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            requests.computeIfAbsent(path, k -> new AtomicInteger()).incrementAndGet();
            byte[] body = served.get(path);
            if (body == null) {
                exchange.sendResponseHeaders(404, -1);
            } else {
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
            }
            exchange.close();
        });
        repository.start();
    }

    @AfterEach
    void stopRepository() {
        repository.stop(0);
    }

    @Test
    void jarInTheLocalMavenRepositoryIsUsedWithoutDownloading() throws IOException {
        // Given the jar in a local repository and nothing on the remote one
        Path local = temp.resolve("m2");
        Path jar = local.resolve(AMD64.jarPath(VERSION));
        Files.createDirectories(jar.getParent());
        Files.write(jar, serverJar());

        // When
        Path install = installer(local).install(VERSION);

        // Then
        assertThat(install).isEqualTo(temp.resolve("cache").resolve(VERSION));
        assertThat(Files.isExecutable(install.resolve("bin/postgres"))).isTrue();
        assertThat(requests).isEmpty();
    }

    @Test
    void jarMissingLocallyIsDownloadedAndCheckedAgainstItsSha1() throws IOException {
        serveJar(serverJar(), null);

        Path install = installer(temp.resolve("empty-m2")).install(VERSION);

        assertThat(Files.isExecutable(install.resolve("bin/initdb"))).isTrue();
        assertThat(requests.get("/maven2/" + AMD64.jarPath(VERSION)).get()).isEqualTo(1);
        assertThat(requests.get("/maven2/" + AMD64.jarPath(VERSION) + ".sha1").get()).isEqualTo(1);
    }

    @Test
    void downloadWithAWrongSha1IsRefusedAndLeavesNothingInstalled() throws IOException {
        serveJar(serverJar(), "0000000000000000000000000000000000000000");

        assertThatThrownBy(() -> installer(temp.resolve("empty-m2")).install(VERSION))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("checksum mismatch");
        try (var left = Files.list(temp.resolve("cache"))) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactly(VERSION + ".lock");
        }
    }

    @Test
    void missingArtifactIsReportedWithItsUrl() {
        assertThatThrownBy(() -> installer(temp.resolve("empty-m2")).install(VERSION))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(AMD64.jarPath(VERSION))
                .hasMessageContaining("404");
    }

    @Test
    void secondInstallReusesTheFirstOne() throws IOException {
        serveJar(serverJar(), null);
        BinaryInstaller installer = installer(temp.resolve("empty-m2"));
        Path first = installer.install(VERSION);

        Path second = installer.install(VERSION);

        assertThat(second).isEqualTo(first);
        assertThat(requests.get("/maven2/" + AMD64.jarPath(VERSION)).get()).isEqualTo(1);
    }

    @Test
    void concurrentInstallsOfOneVersionDownloadAndUnpackOnce() throws Exception {
        serveJar(serverJar(), null);
        List<Future<Path>> installs = new ArrayList<>();

        try (ExecutorService threads = Executors.newFixedThreadPool(4)) {
            for (int i = 0; i < 4; i++) {
                // separate installers, as separate JVMs would have: they share only the cache directory
                BinaryInstaller installer = installer(temp.resolve("empty-m2"));
                installs.add(threads.submit(() -> installer.install(VERSION)));
            }
        }

        for (Future<Path> install : installs) {
            assertThat(install.get()).isEqualTo(temp.resolve("cache").resolve(VERSION));
        }
        assertThat(requests.get("/maven2/" + AMD64.jarPath(VERSION)).get()).isEqualTo(1);
    }

    @Test
    void stagingLeftByAJvmThatDiedMidInstallIsCleanedUp() throws IOException {
        serveJar(serverJar(), null);
        Path staging = Files.createDirectories(temp.resolve("cache").resolve(VERSION + ".extracting-12345/bin"));

        installer(temp.resolve("empty-m2")).install(VERSION);

        assertThat(staging.getParent()).doesNotExist();
    }

    @Test
    void halfInstalledDirectoryIsReplaced() throws IOException {
        serveJar(serverJar(), null);
        Files.createDirectories(temp.resolve("cache").resolve(VERSION).resolve("bin"));

        Path install = installer(temp.resolve("empty-m2")).install(VERSION);

        assertThat(Files.isExecutable(install.resolve("bin/postgres"))).isTrue();
    }

    /** A cache that cannot be made (a service user's home is /nonexistent) is named with the way out, not as a bare path. */
    @Test
    void aCacheThatCannotBeMadeSaysHowToPlaceIt() throws IOException {
        Path notADirectory = Files.writeString(temp.resolve("home"), "a file where a directory should be");
        BinaryInstaller installer = new BinaryInstaller(notADirectory.resolve(".cache/bluegreen/postgres"),
                temp.resolve("empty-m2"), URI.create("http://127.0.0.1:1/maven2/"), AMD64);

        assertThatThrownBy(() -> installer.install(VERSION))
                .isInstanceOf(IOException.class)
                .hasMessageStartingWith("cannot create the PostgreSQL binaries cache " + notADirectory.resolve(".cache/bluegreen/postgres"))
                .hasMessageEndingWith("; set BLUEGREEN_PG_CACHE to a writable directory");
    }

    private BinaryInstaller installer(Path localRepository) {
        URI remote = URI.create("http://127.0.0.1:" + repository.getAddress().getPort() + "/maven2/");
        return new BinaryInstaller(temp.resolve("cache"), localRepository, remote, AMD64);
    }

    private void serveJar(byte[] jar, String sha1Override) throws IOException {
        Path file = Files.write(temp.resolve("served.jar"), jar);
        String sha1 = sha1Override != null ? sha1Override : BinaryInstaller.sha1Of(file);
        served.put("/maven2/" + AMD64.jarPath(VERSION), jar);
        // Maven Central's .sha1 files sometimes carry the file name after the digest
        served.put("/maven2/" + AMD64.jarPath(VERSION) + ".sha1",
                (sha1 + "  " + file.getFileName()).getBytes(StandardCharsets.US_ASCII));
    }

    /** A jar laid out like zonky's, holding a two-file server. */
    private static byte[] serverJar() throws IOException {
        byte[] txz = new TarExtractorTest.Txz()
                .directory("bin/", 0755)
                .file("bin/postgres", 0755, "#!/bin/sh\n")
                .file("bin/initdb", 0755, "#!/bin/sh\n")
                .bytes();
        var bytes = new java.io.ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry("META-INF/MANIFEST.MF"));
            zip.write("Manifest-Version: 1.0\n".getBytes(StandardCharsets.US_ASCII));
            zip.putNextEntry(new ZipEntry(AMD64.archiveEntry()));
            zip.write(txz);
        }
        return bytes.toByteArray();
    }
}
