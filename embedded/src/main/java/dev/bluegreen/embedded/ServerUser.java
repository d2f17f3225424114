package dev.bluegreen.embedded;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The operating-system user the server processes run as.
 *
 * <p>Postgres refuses to run as root, so a root JVM hands the server to an unprivileged user
 * ({@code nobody}, or {@code BLUEGREEN_PG_USER}); any other JVM runs it as itself. Every file the
 * server must own goes through {@link #own}, and every command through {@link #wrap}.
 */
sealed interface ServerUser {

    /** Env var naming the user a root JVM runs the server as. */
    String USER_ENV = "BLUEGREEN_PG_USER";

    static ServerUser current() {
        if (!Processes.runningAsRoot()) {
            return new Self();
        }
        return Unprivileged.lookup(System.getenv().getOrDefault(USER_ENV, "nobody"));
    }

    /** The command line that runs {@code command} as this user. */
    List<String> wrap(List<String> command);

    /** Makes this user the owner of {@code path} (not following a symlink). */
    void own(Path path) throws IOException;

    /** Whether this user may look up names inside {@code dir} (the x bit that applies to it). */
    boolean canTraverse(Path dir) throws IOException;

    /** Makes this user the owner of everything under {@code root}, e.g. a data dir another user initialised. */
    void ownTree(Path root) throws IOException;

    /** The JVM's own user: nothing to switch, nothing to hand over. */
    record Self() implements ServerUser {
        @Override
        public List<String> wrap(List<String> command) {
            return command;
        }

        @Override
        public void own(Path path) {
        }

        @Override
        public boolean canTraverse(Path dir) {
            return Files.isExecutable(dir);
        }

        @Override
        public void ownTree(Path root) {
        }

        @Override
        public String toString() {
            return "user " + System.getProperty("user.name");
        }
    }

    /** Another user, switched to with {@code setpriv} (util-linux) because the JVM is root. */
    record Unprivileged(String name, int uid, int gid) implements ServerUser {

        static Unprivileged lookup(String name) {
            // getent answers through NSS, so users from LDAP or sssd work as well as /etc/passwd
            Processes.Result result = Processes.run(List.of("getent", "passwd", name), Map.of());
            if (result.exitCode() != 0) {
                throw new IllegalStateException("no such user: " + name + " (set " + USER_ENV + " to an existing unprivileged user)");
            }
            String[] fields = result.output().strip().split(":");
            int uid = Integer.parseInt(fields[2]);
            if (uid == 0) {
                throw new IllegalStateException("user " + name + " is root; postgres needs an unprivileged user");
            }
            return new Unprivileged(name, uid, Integer.parseInt(fields[3]));
        }

        @Override
        public List<String> wrap(List<String> command) {
            List<String> wrapped = new ArrayList<>(List.of(
                    "setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--"));
            wrapped.addAll(command);
            return wrapped;
        }

        @Override
        public void own(Path path) throws IOException {
            Files.setAttribute(path, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(path, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
        }

        @Override
        public boolean canTraverse(Path dir) throws IOException {
            Map<String, Object> attributes = Files.readAttributes(dir, "unix:mode,uid,gid");
            int mode = (Integer) attributes.get("mode");
            // exactly one class of bits applies: owner, else group (--clear-groups leaves only the primary), else other
            if ((Integer) attributes.get("uid") == uid) {
                return (mode & 0100) != 0;
            }
            if ((Integer) attributes.get("gid") == gid) {
                return (mode & 0010) != 0;
            }
            return (mode & 0001) != 0;
        }

        /** Cheap in the common case: when this user owns the top, it owns what it created below. */
        @Override
        public void ownTree(Path root) throws IOException {
            if ((Integer) Files.getAttribute(root, "unix:uid", LinkOption.NOFOLLOW_LINKS) == uid) {
                return;
            }
            try (Stream<Path> paths = Files.walk(root)) {
                for (Path path : (Iterable<Path>) paths::iterator) {
                    own(path);
                }
            }
        }

        @Override
        public String toString() {
            return "user " + name + " (uid " + uid + ")";
        }
    }
}
