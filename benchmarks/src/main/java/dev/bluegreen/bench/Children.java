package dev.bluegreen.bench;

import dev.bluegreen.embedded.Signals;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** The little the harness needs to manage the programs it starts: ports, stopping, log tails. */
final class Children {

    static final String LOOPBACK = "127.0.0.1";

    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    private static final List<Path> SETSID = List.of(Path.of("/usr/bin/setsid"), Path.of("/bin/setsid"));

    private Children() {
    }

    /**
     * A port free right now on the loopback and not handed out before by this process (the kernel may offer the
     * same one twice in a row, and a proxy given one port for SQL and admin refuses to start); someone may take it
     * before we bind, which start-up reports.
     */
    static int freePort() throws IOException {
        for (int attempt = 0; attempt < 100; attempt++) {
            try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK))) {
                if (HANDED_OUT.add(socket.getLocalPort())) {
                    return socket.getLocalPort();
                }
            }
        }
        throw new IOException("the kernel kept offering loopback ports this run already handed out");
    }

    /** Whether something accepts TCP connections on the loopback port. */
    static boolean accepts(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(LOOPBACK, port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** SIGTERM, then SIGKILL after {@code grace}; returns the exit code, or -1 if it had to be killed. */
    static int stop(Process process, Duration grace) {
        if (!process.isAlive()) {
            return process.exitValue();
        }
        process.destroy();
        return awaitExit(process, grace);
    }

    /**
     * A signal Java cannot send itself ("INT", "HUP"), then SIGTERM and SIGKILL as in {@link #stop}
     * if the process is still there after {@code grace}.
     */
    static int stop(Process process, String signal, Duration grace) {
        if (!process.isAlive()) {
            return process.exitValue();
        }
        try {
            new ProcessBuilder(Signals.command(process.pid(), signal))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        } catch (IOException e) {
            return stop(process, grace);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return stop(process, grace);
        }
        try {
            if (process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                return process.exitValue();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return stop(process, grace);
    }

    private static int awaitExit(Process process, Duration grace) {
        try {
            if (process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                return process.exitValue();
            }
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            return -1;
        }
    }

    /** The last lines of a log, for error messages. */
    static String tail(Path log, int lines) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log at " + log + ")";
        }
    }

    /**
     * {@code command} as the first process of a session of its own, when util-linux's {@code setsid}
     * is installed. With the scheduler's autogroups on ({@code /proc/sys/kernel/sched_autogroup_enabled}
     * is 1), a session is one scheduling entity: a relay started in pgbench's session would share
     * pgbench's, which a service and its clients never do. Postgres puts each backend in a session of
     * its own already. A child of the JVM leads no process group, so {@code setsid} execs in place
     * and the pid stays the program's.
     */
    static List<String> inOwnSession(List<String> command) {
        Optional<Path> setsid = SETSID.stream().filter(Files::isExecutable).findFirst();
        if (setsid.isEmpty()) {
            return command;
        }
        List<String> wrapped = new ArrayList<>(command.size() + 1);
        wrapped.add(setsid.get().toString());
        wrapped.addAll(command);
        return wrapped;
    }

    /** Whether the JVM runs as root; /proc/self belongs to the effective uid. */
    static boolean runningAsRoot() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }
}
