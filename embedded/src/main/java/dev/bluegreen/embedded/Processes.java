package dev.bluegreen.embedded;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Small helpers for the few external commands we need (getent, the shell's kill, setsid) and for who we are. */
final class Processes {

    private static final Logger log = LoggerFactory.getLogger(Processes.class);
    private static final Duration EXIT_POLL = Duration.ofMillis(25);
    private static final Optional<Path> SETSID = onPath("setsid");
    private static volatile boolean setsidMissingLogged;

    private Processes() {
    }

    record Result(int exitCode, String output) {
    }

    /** Whether the JVM's effective user is root; /proc/self belongs to the effective uid. */
    static boolean runningAsRoot() {
        try {
            return ownUid() == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /** The JVM's effective uid. */
    static int ownUid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    /** Runs a short command to completion and returns its combined output. */
    static Result run(List<String> command, Map<String, String> extraEnv) {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(extraEnv);
        try {
            Process process = builder.start();
            process.getOutputStream().close();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return new Result(process.waitFor(), output);
        } catch (IOException e) {
            throw new UncheckedIOException("could not run " + command.getFirst(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + command.getFirst(), e);
        }
    }

    /**
     * Sends a signal by name ("INT", "QUIT", "HUP"). Java can only send TERM and KILL, and TERM is
     * the one postgres treats as a smart shutdown that waits for every client to leave.
     */
    static boolean signal(long pid, String signal) {
        return run(Signals.command(pid, signal), Map.of()).exitCode() == 0;
    }

    /** Alive and not a zombie: an orphan's zombie lingers until init reaps it, and some container inits never do. */
    static boolean isRunning(ProcessHandle process) {
        return process.isAlive() && !isZombie(process.pid());
    }

    /**
     * Waits up to {@code timeout} for the process to exit; returns whether it did. A child's
     * exit completes {@code onExit()} at once; for a leftover (not our child) the JDK only polls
     * with a growing back-off, and never sees a zombie exit, so we look for ourselves every few
     * milliseconds.
     */
    static boolean awaitExit(ProcessHandle process, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (isRunning(process)) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                process.onExit().get(Math.min(TimeUnit.NANOSECONDS.toMillis(left), EXIT_POLL.toMillis()) + 1, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // look again
            } catch (ExecutionException e) {
                throw new IllegalStateException("waiting for pid " + process.pid(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return !isRunning(process);
            }
        }
        return true;
    }

    private static boolean isZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // "pid (comm) S ...": the state follows the last ')', since comm may hold spaces and parentheses
            int close = stat.lastIndexOf(')');
            return close > 0 && close + 2 < stat.length() && stat.charAt(close + 2) == 'Z';
        } catch (IOException e) {
            return false; // gone already, or no /proc: isAlive() has the answer
        }
    }

    /**
     * How initdb and postgres are started: as the server user, in a session of their own, output
     * appended to {@code logFile}, nothing on stdin, in a clean environment.
     */
    static ProcessBuilder server(ServerUser user, List<String> command, Path logFile) throws IOException {
        NoFollow.refuseLink(logFile, "log file"); // Redirect.appendTo follows links
        ProcessBuilder builder = new ProcessBuilder(inOwnSession(user.wrap(command)))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        serverEnvironment(builder.environment());
        return builder;
    }

    /**
     * {@code command} behind {@code setsid} (util-linux) when the machine has it. A child of the JVM
     * is in the JVM's process group, which a terminal's Ctrl-C signals as a whole: postgres would
     * take that SIGINT as a fast shutdown and cut open transactions before the proxy had drained
     * them. In a session of its own it only stops when the JVM stops it. setsid execs the command
     * (it forks only when the caller leads a process group, which a child of the JVM never does),
     * so the child's pid stays the command's.
     */
    static List<String> inOwnSession(List<String> command) {
        if (SETSID.isEmpty()) {
            if (!setsidMissingLogged) {
                setsidMissingLogged = true;
                log.warn("setsid not found on PATH: the servers share the JVM's process group, so a Ctrl-C in the terminal reaches them directly");
            }
            return command;
        }
        List<String> wrapped = new ArrayList<>();
        wrapped.add(SETSID.get().toString());
        wrapped.addAll(command);
        return wrapped;
    }

    private static Optional<Path> onPath(String executable) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        return Stream.of(path.split(File.pathSeparator))
                .filter(dir -> !dir.isBlank())
                .map(dir -> Path.of(dir, executable))
                .filter(Files::isExecutable)
                .findFirst();
    }

    /**
     * Cleans the environment a server process inherits: PG* variables (PGDATA, PGPORT, PGOPTIONS...)
     * would quietly change what initdb and postgres do, and a C locale keeps their output stable.
     */
    static void serverEnvironment(Map<String, String> env) {
        env.keySet().removeIf(name -> name.startsWith("PG") || name.startsWith("LC_") || name.equals("LANG"));
        env.put("LC_ALL", "C");
    }
}
