package dev.bluegreen.embedded;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A cluster started by a JVM of its own, for what another process does to a data directory: it
 * holds the directory while it runs, and leaves a leftover server when it is killed.
 *
 * <p>The child runs {@link #main}: it starts a throwaway cluster, prints {@code ready <postmaster
 * pid> <port>}, and stops the cluster and exits when its stdin closes.
 */
final class ClusterInAnotherJvm implements AutoCloseable {

    private static final String READY = "ready ";

    private final Process jvm;
    private final Path output;
    private final long postmasterPid;
    private final int port;

    private ClusterInAnotherJvm(Process jvm, Path output, long postmasterPid, int port) {
        this.jvm = jvm;
        this.output = output;
        this.postmasterPid = postmasterPid;
        this.port = port;
    }

    public static void main(String[] args) throws IOException {
        try (PgCluster cluster = PgCluster.builder().name(args[0]).dataDir(Path.of(args[1])).forTests().wipeDataDir().start()) {
            System.out.println(READY + cluster.pid() + " " + cluster.port());
            System.out.flush();
            System.in.transferTo(OutputStream.nullOutputStream()); // until the parent closes it
        }
    }

    /** Starts the child and returns once its cluster answers. */
    static ClusterInAnotherJvm start(String name, Path dataDir) throws IOException {
        Path output = dataDir.resolveSibling(name + ".jvm.out");
        Files.createDirectories(output.getParent());
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process jvm = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                ClusterInAnotherJvm.class.getName(), name, dataDir.toString())
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
        try {
            String ready = await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50))
                    .until(() -> readyLine(jvm, output), Optional::isPresent).orElseThrow();
            String[] fields = ready.substring(READY.length()).split(" ");
            return new ClusterInAnotherJvm(jvm, output, Long.parseLong(fields[0]), Integer.parseInt(fields[1]));
        } catch (RuntimeException e) {
            jvm.destroyForcibly();
            throw e;
        }
    }

    private static Optional<String> readyLine(Process jvm, Path output) throws IOException {
        List<String> lines = Files.readAllLines(output);
        Optional<String> ready = lines.stream().filter(line -> line.startsWith(READY)).findFirst();
        if (ready.isEmpty() && !jvm.isAlive()) {
            throw new IllegalStateException("the other JVM exited with " + jvm.exitValue() + ":\n" + String.join("\n", lines));
        }
        return ready;
    }

    long pid() {
        return jvm.pid();
    }

    long postmasterPid() {
        return postmasterPid;
    }

    String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres";
    }

    /** SIGKILL: no shutdown hook runs, so its server is left running. */
    void kill() throws InterruptedException {
        jvm.destroyForcibly();
        jvm.waitFor();
    }

    /** Asks it to stop its cluster and exit; kills it if it has not within a minute. */
    @Override
    public void close() {
        try {
            jvm.getOutputStream().close();
            if (!jvm.waitFor(1, TimeUnit.MINUTES)) {
                jvm.destroyForcibly();
                throw new IllegalStateException("the other JVM did not exit; its output is in " + output);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            jvm.destroyForcibly();
        }
    }
}
