package dev.bluegreen.bench;

import dev.bluegreen.bench.driver.ControlProtocol;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The bluegreen proxy in a JVM of its own, as users run it; the harness's JVM would otherwise share
 * its CPU, heap and JIT with the thing being measured. Either the executable jar in front of blue, or
 * (for dual-write) the same proxy started by {@link ControlProtocol#DRIVER_CLASS} in front of blue and
 * green, which takes routing commands on its stdin. Its output goes to a log file, copied by a thread
 * that also spots the ready line and the driver's replies.
 */
final class ProxyProcess implements AutoCloseable {

    private static final String READY_PREFIX = "bluegreen listening on";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_GRACE = Duration.ofSeconds(20);
    /** The proxy's write barrier gives up after 10 s; a command never legitimately takes longer. */
    private static final Duration REPLY_TIMEOUT = Duration.ofSeconds(30);

    private final Process process;
    private final Endpoint endpoint;
    private final Path log;
    private final Writer commands; // null for the executable jar, which takes none
    private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();

    private ProxyProcess(Process process, Endpoint endpoint, Path log, boolean controlled) {
        this.process = process;
        this.endpoint = endpoint;
        this.log = log;
        this.commands = controlled
                ? new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8))
                : null;
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
        return start(List.of("-jar", jar.toString()), blue, List.of(), workDir, false);
    }

    /**
     * Starts the proxy with green configured too, under the driver's control, from this harness's own
     * class path (the benchmarks jar holds the proxy); {@link #control} sends it routing commands.
     */
    static ProxyProcess launchDriver(Endpoint blue, Endpoint green, Path workDir) throws IOException {
        Files.createDirectories(workDir);
        String classPath = System.getProperty("java.class.path");
        Path single = Path.of(classPath);
        if (!classPath.contains(File.pathSeparator) && Files.isRegularFile(single)) {
            // a private copy, for the same reason as the proxy jar's
            classPath = Files.copy(single, workDir.resolve("benchmarks.jar"), StandardCopyOption.REPLACE_EXISTING)
                    .toString();
        }
        // the executable jar's manifest says Enable-Native-Access (Netty's epoll); -cp needs the flag
        return start(List.of("--enable-native-access=ALL-UNNAMED", "-cp", classPath, ControlProtocol.DRIVER_CLASS),
                blue, List.of("--green", green.url()), workDir, true);
    }

    private static ProxyProcess start(List<String> program, Endpoint blue, List<String> extraFlags, Path workDir,
                                      boolean controlled) throws IOException {
        Path log = workDir.resolve("proxy.log");
        int port = Children.freePort();
        List<String> command = new ArrayList<>();
        command.add(currentJava());
        command.addAll(program);
        command.addAll(List.of(
                "--listen", Children.LOOPBACK + ":" + port,
                "--admin", Children.LOOPBACK + ":" + Children.freePort(),
                // a fresh state directory: the routing state is durable, and each run starts from blue alone
                "--state-dir", Files.createTempDirectory(Files.createDirectories(workDir), "state-").toString(),
                "--blue", blue.url()));
        command.addAll(extraFlags);
        ProcessBuilder builder = new ProcessBuilder(Children.inOwnSession(command)).redirectErrorStream(true);
        if (!controlled) {
            builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        Process process = builder.start();
        return new ProxyProcess(process, new Endpoint(Children.LOOPBACK, port, blue.user(), blue.database()), log,
                controlled);
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
                } else if (line.startsWith(ControlProtocol.PREFIX)) {
                    replies.add(line);
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

    /**
     * Sends one command to the driver and returns its reply: the state after it, or why the proxy
     * refused. Fails if the driver is gone or silent, which ends the harness's run.
     */
    synchronized ControlProtocol.Reply control(ControlProtocol.Command command) {
        if (commands == null) {
            throw new IllegalStateException("the proxy jar takes no commands; launch the driver for that");
        }
        replies.clear();
        try {
            commands.write(command.line());
            commands.write('\n');
            commands.flush();
            String reply = replies.poll(REPLY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (reply == null) {
                throw new IllegalStateException("the proxy driver did not answer '" + command.line() + "' within "
                        + REPLY_TIMEOUT + (process.isAlive() ? "" : " (it exited with " + exitCodeOrUnknown() + ")")
                        + "; last lines of " + log + ":\n" + Children.tail(log, 30));
            }
            return ControlProtocol.Reply.parse(reply);
        } catch (IOException e) {
            throw new IllegalStateException("could not send '" + command.line() + "' to the proxy driver (exit code "
                    + exitCodeOrUnknown() + "); last lines of " + log + ":\n" + Children.tail(log, 30), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the proxy driver", e);
        }
    }

    /**
     * A graceful shutdown that exits 0: for the driver, the end of its stdin; for the jar, SIGTERM.
     * SIGKILL if it does not stop in time.
     */
    @Override
    public void close() {
        if (commands != null) {
            try {
                commands.close();
                process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (IOException e) {
                // already gone; stop() below finds out
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        int exit = Children.stop(process, STOP_GRACE);
        if (exit != 0) {
            System.err.println("bench: the proxy stopped with exit code " + exit + "; see " + log);
        }
    }
}
