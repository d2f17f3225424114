package dev.bluegreen.proxy.server;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.Secret;
import dev.bluegreen.config.TlsMode;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.SuperuserPasswordFile;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The embedded default: blue on PostgreSQL 16 and green on PostgreSQL 18 (the major-version upgrade
 * this product exists for), with their data under the state directory so that a second run reuses it.
 * The superuser password is generated on first run and kept beside the data, readable by its owner only.
 */
public final class EmbeddedClusters implements AutoCloseable {

    public static final String BLUE_VERSION = "16.9.0";
    public static final String GREEN_VERSION = "18.1.0";
    private static final String SUPERUSER = "postgres";

    private final PgCluster blue;
    private final PgCluster green;
    private final String password;

    private EmbeddedClusters(PgCluster blue, PgCluster green, String password) {
        this.blue = blue;
        this.green = green;
        this.password = password;
    }

    public static EmbeddedClusters start(Path stateDir) throws IOException {
        Path dir = stateDir.toAbsolutePath().normalize().resolve("embedded");
        Files.createDirectories(dir);
        // never a new password for clusters that exist: they accept only the one they were created with
        String password = SuperuserPasswordFile.readOrCreate(dir.resolve("superuser-password"),
                List.of(dir.resolve("blue"), dir.resolve("green")));
        PgCluster blue = PgCluster.builder().name("blue").version(BLUE_VERSION).dataDir(dir.resolve("blue"))
                .superuser(SUPERUSER).superuserPassword(password).start();
        try {
            PgCluster green = PgCluster.builder().name("green").version(GREEN_VERSION).dataDir(dir.resolve("green"))
                    .superuser(SUPERUSER).superuserPassword(password).start();
            return new EmbeddedClusters(blue, green, password);
        } catch (IOException | RuntimeException e) {
            blue.close();
            throw e;
        }
    }

    public Cluster blueCluster() {
        return asCluster(blue);
    }

    public Cluster greenCluster() {
        return asCluster(green);
    }

    private Cluster asCluster(PgCluster cluster) {
        return new Cluster(cluster.name(), cluster.host(), cluster.port(), null, Map.of(), TlsMode.DISABLE, null,
                SUPERUSER, Secret.of(password));
    }

    /** What to print once everything runs: where the clusters are and how to connect. */
    /** {@code trustsEveryone}: no users are configured, so every local client is trusted (a sandbox). */
    public String banner(InetSocketAddress proxy, boolean trustsEveryone) {
        String host = proxy.getHostString();
        int port = proxy.getPort();
        String trust = trustsEveryone
                ? "Every local client is trusted, and works on both clusters as " + SUPERUSER + " whatever user it names:"
                        + System.lineSeparator() + "  a sandbox for this machine. Configure users (docs/configuration.md) for anything else."
                : "Clients log in as the configured users.";
        return String.join(System.lineSeparator(),
                "bluegreen is running on its embedded default",
                "  blue   PostgreSQL " + blue.version() + " at " + blue.host() + ":" + blue.port() + "  (data " + blue.dataDir() + ")",
                "  green  PostgreSQL " + green.version() + " at " + green.host() + ":" + green.port() + "  (data " + green.dataDir() + ")",
                "",
                "Connect your application to the proxy:",
                "  psql \"postgresql://" + SUPERUSER + "@" + host + ":" + port + "/postgres\"",
                "  jdbc:postgresql://" + host + ":" + port + "/postgres?user=" + SUPERUSER,
                trust,
                "",
                "Ctrl-C stops the proxy and both clusters.");
    }

    @Override
    public void close() {
        try {
            green.close();
        } finally {
            blue.close();
        }
    }

}
