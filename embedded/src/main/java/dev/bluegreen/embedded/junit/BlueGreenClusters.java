package dev.bluegreen.embedded.junit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

import dev.bluegreen.embedded.PgCluster;

/**
 * Hands a {@link TestClusters} to any constructor, lifecycle or test method that declares one.
 *
 * <p>The pair starts on first use and is shared by every test class of the run: it lives in the
 * root context's store, which closes it when the run ends (the JVM shutdown hook in
 * {@code PgCluster} is the backup). Data goes under {@link #clustersRoot()}, wiped when the pair
 * starts, so a run never sees the previous run's tables. A second run of the
 * same module while one runs is refused by the data directories' locks, rather than stopping the
 * first run's clusters.
 */
public final class BlueGreenClusters implements ParameterResolver {

    static final String BLUE_VERSION = "16.9.0";
    static final String GREEN_VERSION = "18.1.0";
    /** The system property naming the directory the shared pair lives under, where it is set. */
    public static final String ROOT_PROPERTY = "bluegreen.test.clusters";
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(BlueGreenClusters.class);

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == TestClusters.class;
    }

    @Override
    public TestClusters resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return extensionContext.getRoot().getStore(NAMESPACE)
                .computeIfAbsent(SharedPair.class, key -> SharedPair.start(clustersRoot()), SharedPair.class)
                .clusters();
    }

    /**
     * A cluster of its own for a test that needs one (a different version, settings it will
     * break): wiped, started with test settings, and the caller's to close.
     */
    public static PgCluster fresh(String name, String version, Path dir) throws IOException {
        return PgCluster.builder().name(name).version(version).dataDir(dir).forTests().wipeDataDir().start();
    }

    /**
     * Where the shared pair lives: the system property {@value #ROOT_PROPERTY} where it is set (each of several test JVMs
     * of one module gives its own, so that each has a pair of its own), {@code <user.dir>/target/embedded-clusters}
     * otherwise.
     */
    static Path clustersRoot() {
        String root = System.getProperty(ROOT_PROPERTY);
        return root != null && !root.isBlank() ? Path.of(root)
                : Path.of(System.getProperty("user.dir"), "target", "embedded-clusters");
    }

    /** The started pair, closed by JUnit with the root store. */
    private record SharedPair(TestClusters clusters) implements AutoCloseable {

        /**
         * Starts both side by side, on threads of their own: the common pool may have a single
         * worker on a small CI machine, which would start them one after the other.
         */
        static SharedPair start(Path root) {
            Executor ownThread = task -> Thread.ofPlatform().name("embedded-start").daemon().start(task);
            CompletableFuture<PgCluster> blue = CompletableFuture.supplyAsync(
                    () -> fresh("blue", BLUE_VERSION, root.resolve("blue")), ownThread);
            CompletableFuture<PgCluster> green = CompletableFuture.supplyAsync(
                    () -> fresh("green", GREEN_VERSION, root.resolve("green")), ownThread);
            try {
                return new SharedPair(new TestClusters(blue.join(), green.join()));
            } catch (CompletionException e) {
                // whichever did start must not outlive the failure
                blue.thenAccept(PgCluster::close);
                green.thenAccept(PgCluster::close);
                throw e.getCause() instanceof RuntimeException runtime ? runtime : e;
            }
        }

        private static PgCluster fresh(String name, String version, Path dir) {
            try {
                return BlueGreenClusters.fresh(name, version, dir);
            } catch (IOException e) {
                throw new UncheckedIOException("could not start the " + name + " test cluster", e);
            }
        }

        @Override
        public void close() {
            try {
                clusters.blue().close();
            } finally {
                clusters.green().close();
            }
        }
    }
}
