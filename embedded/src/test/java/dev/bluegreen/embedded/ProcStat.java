package dev.bluegreen.embedded;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** The state, process group and session of a process, from {@code /proc/<pid>/stat}. */
record ProcStat(long pid, char state, long processGroup, long session) {

    static ProcStat of(long pid) {
        return read(pid).orElseThrow(() -> new IllegalStateException("no process " + pid));
    }

    /** Empty once the process is gone. */
    static Optional<ProcStat> read(long pid) {
        String stat;
        try {
            stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (IOException gone) {
            return Optional.empty();
        }
        // "pid (comm) state ppid pgrp session ...": comm may hold spaces, so count from the last ')'
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Optional.of(new ProcStat(pid, fields[0].charAt(0), Long.parseLong(fields[2]), Long.parseLong(fields[3])));
    }

    /**
     * Whether it runs: a stopped orphan stays a zombie until init reaps it, and some container
     * inits never do, so ProcessHandle.isAlive() would still say yes.
     */
    static boolean isRunning(long pid) {
        return read(pid).filter(stat -> stat.state() != 'Z').isPresent();
    }
}
