package dev.bluegreen.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The unprivileged user a root harness runs PgBouncer as (PgBouncer, like Postgres, refuses root):
 * {@code nobody}, or {@code BLUEGREEN_PG_USER} as for the embedded clusters.
 */
record RunAs(String name, int uid, int gid) {

    static RunAs lookup() {
        String name = System.getenv().getOrDefault("BLUEGREEN_PG_USER", "nobody");
        String entry;
        try {
            Process getent = new ProcessBuilder("getent", "passwd", name).redirectErrorStream(true).start();
            entry = new String(getent.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (getent.waitFor() != 0) {
                throw new IllegalStateException("no such user: " + name + " (set BLUEGREEN_PG_USER to an unprivileged user)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not run getent", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while looking up " + name, e);
        }
        String[] fields = entry.split(":");
        int uid = Integer.parseInt(fields[2]);
        if (uid == 0) {
            throw new IllegalStateException("user " + name + " is root; pick an unprivileged one with BLUEGREEN_PG_USER");
        }
        return new RunAs(name, uid, Integer.parseInt(fields[3]));
    }

    /** {@code command} run as this user; setpriv execs it, so the child's pid is the program's own. */
    List<String> wrap(List<String> command) {
        List<String> wrapped = new ArrayList<>(List.of(
                "setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--"));
        wrapped.addAll(command);
        return wrapped;
    }

    /** Hands a file or directory to this user. */
    void own(Path path) throws IOException {
        Files.setAttribute(path, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(path, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
    }
}
