package dev.bluegreen.embedded;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Small helpers for the few external commands we need (getent, kill) and for who we are. */
final class Processes {

    private Processes() {
    }

    record Result(int exitCode, String output) {
    }

    /** Whether the JVM's effective user is root; /proc/self belongs to the effective uid. */
    static boolean runningAsRoot() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return "root".equals(System.getProperty("user.name"));
        }
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
        return run(List.of("kill", "-s", signal, Long.toString(pid)), Map.of()).exitCode() == 0;
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
