package dev.bluegreen.embedded;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Mirrors the builder's {@code -c} settings into {@code bluegreen.conf}, included from
 * postgresql.conf.
 *
 * <p>The command line stays what decides (it outranks every file and ALTER SYSTEM). The mirror is
 * there for reloads: a reload compares postgresql.conf with the running values, and initdb wrote
 * {@code max_connections = 100} there, so a server started with {@code -c max_connections=300}
 * would log "contains errors" on every reload. With the mirror included last, the files agree.
 */
final class SettingsFile {

    static final String NAME = "bluegreen.conf";
    static final String INCLUDE = "include_if_exists = '" + NAME + "'";

    private SettingsFile() {
    }

    static void write(Path dataDir, Map<String, String> settings, ServerUser user) throws IOException {
        Path mirror = dataDir.resolve(NAME);
        NoFollow.write(mirror, lines(settings));
        user.own(mirror);
        Path conf = dataDir.resolve("postgresql.conf");
        if (!NoFollow.read(conf).lines().toList().contains(INCLUDE)) {
            NoFollow.append(conf, "\n# added by bluegreen embedded: mirrors the -c settings it starts the server with\n"
                    + INCLUDE + "\n");
        }
    }

    static List<String> lines(Map<String, String> settings) {
        List<String> lines = new ArrayList<>();
        lines.add("# written by bluegreen embedded at every start; edits are overwritten");
        settings.forEach((key, value) -> lines.add(key + " = '" + value.replace("'", "''") + "'"));
        return lines;
    }
}
