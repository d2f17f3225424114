package dev.bluegreen.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts one server version's binaries in a cache directory, once per machine.
 *
 * <p>Invariant: {@code <cacheRoot>/<version>} either does not exist or holds a complete install.
 * Extraction happens in a sibling temp directory that is renamed into place, under a file lock
 * (other JVMs) and a per-version lock (other threads of this JVM, which a file lock does not stop).
 */
final class BinaryInstaller {

    private static final Logger log = LoggerFactory.getLogger(BinaryInstaller.class);
    private static final ConcurrentHashMap<Path, ReentrantLock> IN_JVM_LOCKS = new ConcurrentHashMap<>();

    private final Path cacheRoot;
    private final Path localRepository;
    private final URI remoteRepository;
    private final Platform platform;

    /**
     * @param cacheRoot        holds one directory per version
     * @param localRepository  a Maven local repository, searched before downloading
     * @param remoteRepository a Maven repository base URL
     */
    BinaryInstaller(Path cacheRoot, Path localRepository, URI remoteRepository, Platform platform) {
        this.cacheRoot = cacheRoot.toAbsolutePath().normalize();
        this.localRepository = localRepository;
        this.remoteRepository = remoteRepository;
        this.platform = platform;
    }

    Path install(String version) throws IOException {
        Path target = cacheRoot.resolve(version);
        if (Processes.runningAsRoot() && cacheRoot.startsWith(Dirs.SHARED_ROOT)) {
            // root runs what it finds here, as the server user: only from a tree nobody else could have put there
            Dirs.createTrusted(Dirs.SHARED_ROOT, cacheRoot);
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                Dirs.requireTrusted(target);
            }
        }
        if (isComplete(target)) {
            return target;
        }
        try {
            Dirs.createOpen(cacheRoot);
        } catch (FileSystemException e) {
            // a service user whose home is /nonexistent would otherwise read only a path
            throw new IOException("cannot create the PostgreSQL binaries cache " + cacheRoot + " (" + e.getMessage()
                    + "); set " + PostgresBinaries.CACHE_ENV + " to a writable directory", e);
        }
        ReentrantLock threadLock = IN_JVM_LOCKS.computeIfAbsent(target, k -> new ReentrantLock());
        threadLock.lock();
        try (FileChannel channel = FileChannel.open(cacheRoot.resolve(version + ".lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            channel.lock(); // released when the channel closes, also if this JVM dies
            if (isComplete(target)) {
                return target; // the holder of the lock before us did the work
            }
            Dirs.deleteTree(target); // a half-copied tree left by hand or by an older tool
            deleteLeftoversOf(version);
            extractInto(version, target);
            return target;
        } finally {
            threadLock.unlock();
        }
    }

    /** Staging and download files of a JVM that died mid-install; only a lock holder makes them. */
    private void deleteLeftoversOf(String version) throws IOException {
        try (var siblings = Files.list(cacheRoot)) {
            for (Path sibling : (Iterable<Path>) siblings::iterator) {
                String fileName = sibling.getFileName().toString();
                if (fileName.startsWith(version + ".extracting-") || fileName.startsWith(version + ".download-")) {
                    Dirs.deleteTree(sibling);
                }
            }
        }
    }

    static boolean isComplete(Path installDir) {
        return Files.isExecutable(installDir.resolve("bin/postgres")) && Files.isExecutable(installDir.resolve("bin/initdb"));
    }

    private void extractInto(String version, Path target) throws IOException {
        Path staging = Files.createTempDirectory(cacheRoot, version + ".extracting-");
        Path downloaded = null;
        try {
            Path jar = localJar(version);
            if (!Files.isRegularFile(jar)) {
                downloaded = download(version);
                jar = downloaded;
            }
            long started = System.nanoTime();
            try (ZipFile zip = new ZipFile(jar.toFile())) {
                ZipEntry entry = zip.getEntry(platform.archiveEntry());
                if (entry == null) {
                    throw new IOException(jar + " has no entry " + platform.archiveEntry());
                }
                try (InputStream txz = zip.getInputStream(entry)) {
                    TarExtractor.extractTxz(txz, staging);
                }
            }
            // createTempDirectory made it 0700, but a root JVM's server user has to read the install too
            Files.setPosixFilePermissions(staging, Dirs.OPEN);
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            log.info("postgres binaries installed version={} dir={} unpack_ms={}",
                    version, target, Duration.ofNanos(System.nanoTime() - started).toMillis());
        } finally {
            Dirs.deleteTree(staging);
            if (downloaded != null) {
                Files.deleteIfExists(downloaded);
            }
        }
    }

    Path localJar(String version) {
        return localRepository.resolve(platform.jarPath(version));
    }

    /** Downloads the jar beside the cache and checks it against the repository's .sha1. */
    private Path download(String version) throws IOException {
        URI jarUri = URI.create(remoteRepository.toString().replaceAll("/+$", "") + "/" + platform.jarPath(version));
        HttpClient http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(30))
                .build();
        Path file = Files.createTempFile(cacheRoot, version + ".download-", ".jar");
        try {
            log.info("downloading postgres binaries version={} url={}", version, jarUri);
            HttpResponse<Path> response = send(http, jarUri, HttpResponse.BodyHandlers.ofFile(file));
            expectOk(response, jarUri);
            HttpResponse<String> sha1 = send(http, URI.create(jarUri + ".sha1"), HttpResponse.BodyHandlers.ofString());
            expectOk(sha1, URI.create(jarUri + ".sha1"));
            String expected = sha1.body().strip().split("\\s+")[0].toLowerCase(Locale.ROOT);
            String actual = sha1Of(file);
            if (!expected.equals(actual)) {
                throw new IOException("checksum mismatch for " + jarUri + ": expected sha1 " + expected + ", got " + actual);
            }
            return file;
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
    }

    private static <T> HttpResponse<T> send(HttpClient http, URI uri, HttpResponse.BodyHandler<T> handler) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(5)).GET().build();
        try {
            return http.send(request, handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while downloading " + uri, e);
        }
    }

    private static void expectOk(HttpResponse<?> response, URI uri) throws IOException {
        if (response.statusCode() != 200) {
            throw new IOException("GET " + uri + " answered HTTP " + response.statusCode());
        }
    }

    static String sha1Of(Path file) throws IOException {
        MessageDigest sha1;
        try {
            sha1 = MessageDigest.getInstance("SHA-1");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-1", e);
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha1)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(sha1.digest());
    }
}
