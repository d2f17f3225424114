package dev.bluegreen.bench;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The bluegreen proxy run from its executable jar in a JVM of its own, as users run it; the
 * harness's JVM would otherwise share its CPU, heap and JIT with the thing being measured.
 * Its stdout and stderr go to a log file, copied by a thread that also spots the ready line.
 */
final class ProxyProcess implements AutoCloseable {

    private static final String READY_PREFIX = "bluegreen listening on";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_GRACE = Duration.ofSeconds(20);

    private final Process process;
    private final Endpoint endpoint;
    private final Path log;

    private ProxyProcess(Process process, Endpoint endpoint, Path log) {
        this.process = process;
        this.endpoint = endpoint;
        this.log = log;
    }

    /**
     * Starts {@code java -jar proxyJar} in front of blue; {@link #awaitReady()} waits for it. The
     * admin listener and state directory are pinned too, so a proxy already running on this machine
     * with the defaults cannot get in the way.
     */
    static ProxyProcess launch(Path proxyJar, Endpoint blue, Path workDir) throws IOException {
        if (!Files.isRegularFile(proxyJar)) {
            throw new IllegalStateException("no proxy jar at " + proxyJar
                    + ": build it first with ./mvnw -DskipTests package (from the repository root)");
        }
        Files.createDirectories(workDir);
        // a private copy: a rebuild of proxy/target during a long run must not swap the jar under the JVM
        Path jar = Files.copy(proxyJar, workDir.resolve("bluegreen-proxy.jar"), StandardCopyOption.REPLACE_EXISTING);
        Path log = workDir.resolve("proxy.log");
        int port = Children.freePort();
        List<String> command = new ArrayList<>(List.of(currentJava(), "-jar", jar.toString(),
                "--listen", Children.LOOPBACK + ":" + port,
                "--admin", Children.LOOPBACK + ":" + Children.freePort(),
                "--state-dir", workDir.resolve("state").toString(),
                "--blue", blue.url()));
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        return new ProxyProcess(process, new Endpoint(Children.LOOPBACK, port, blue.user(), blue.database()), log);
    }

    /** The java binary running this harness, so the proxy gets the same JDK. */
    private static String currentJava() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /** Returns once the proxy printed its ready line; throws with its log if it exits or takes too long. */
    void awaitReady() {
        CompletableFuture<Void> ready = new CompletableFuture<>();
        Thread copier = Thread.ofPlatform().daemon().name("proxy-output").start(() -> copyOutput(ready));
        try {
            ready.get(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException("the proxy printed no '" + READY_PREFIX + "' line within "
                    + READY_TIMEOUT + "; last lines of " + log + ":\n" + Children.tail(log, 30));
        } catch (ExecutionException e) {
            throw new IllegalStateException("the proxy exited before it was ready (exit code "
                    + exitCodeOrUnknown() + "); last lines of " + log + ":\n" + Children.tail(log, 30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            copier.interrupt();
            throw new IllegalStateException("interrupted while waiting for the proxy", e);
        }
    }

    /** Drains the proxy's output into the log for as long as it runs, so it never blocks on a full pipe. */
    private void copyOutput(CompletableFuture<Void> ready) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
             BufferedWriter out = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
            String line;
            while ((line = in.readLine()) != null) {
                out.write(line);
                out.newLine();
                out.flush();
                if (line.startsWith(READY_PREFIX)) {
                    ready.complete(null);
                }
            }
        } catch (IOException e) {
            // the pipe closes when the process is killed; whatever was copied stays in the log
        } finally {
            ready.completeExceptionally(new IllegalStateException("proxy output ended"));
        }
    }

    private String exitCodeOrUnknown() {
        try {
            return process.waitFor(2, TimeUnit.SECONDS) ? Integer.toString(process.exitValue()) : "unknown, still running";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    Endpoint endpoint() {
        return endpoint;
    }

    long pid() {
        return process.pid();
    }

    /** SIGTERM (a graceful shutdown that exits 0), SIGKILL if it does not stop in time. */
    @Override
    public void close() {
        int exit = Children.stop(process, STOP_GRACE);
        if (exit != 0) {
            System.err.println("bench: the proxy stopped with exit code " + exit + "; see " + log);
        }
    }
}
