package dev.bluegreen.embedded;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The first two lines of {@code postmaster.pid}: the postmaster's pid and its data directory.
 * Postgres writes it at start and removes it at a clean stop, so finding one means a server is
 * running or was killed without a chance to clean up.
 */
record PostmasterPidFile(long pid, Path dataDir) {

    static final String NAME = "postmaster.pid";

    static Optional<PostmasterPidFile> read(Path dataDir) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(dataDir.resolve(NAME));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        return parse(lines);
    }

    /**
     * Whether the postmaster {@code pid} has written "ready" in its {@code postmaster.pid} (the eighth line, since
     * PostgreSQL 10): it has bound its port and accepts connections. Only a server on this data directory writes
     * this file, so whatever answers on the port after it is that server, not another one holding the port (the
     * test {@code pg_ctl -w} makes).
     */
    static boolean ready(Path dataDir, long pid) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(dataDir.resolve(NAME));
        } catch (NoSuchFileException e) {
            return false;
        }
        return lines.size() >= 8 && parse(lines).map(file -> file.pid() == pid).orElse(false)
                && lines.get(7).strip().equals("ready");
    }

    static Optional<PostmasterPidFile> parse(List<String> lines) {
        if (lines.size() < 2) {
            return Optional.empty(); // caught while postgres was still writing it
        }
        try {
            return Optional.of(new PostmasterPidFile(Long.parseLong(lines.get(0).strip()), Path.of(lines.get(1).strip())));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
