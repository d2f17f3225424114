package dev.bluegreen.proxy.verify;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.proxy.store.JdbcLogin;
import dev.bluegreen.proxy.store.StoreTables;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Whether blue and green, as configured, are one database, which dual-write would apply every write to twice.
 * The configuration refuses one endpoint written the same way twice; this asks the servers themselves, so it
 * also finds one server reached under two names, or through a pooler or a port forward: its system
 * identifier and the moment its postmaster started ({@link StoreTables.Server}). On one server, two clusters
 * are one database where some client database maps to the same database name on both.
 */
public final class TwoDatabases {

    private static final String APPLICATION_NAME = "bluegreen start check";
    /** The client database the check logs in to, mapped per cluster as a session's would be. */
    private static final String CLIENT_DATABASE = "postgres";

    private TwoDatabases() {}

    /** What the check found. */
    public sealed interface Finding {}

    /** Two servers, or one server with no client database reaching one database on both. */
    public record Distinct() implements Finding {}

    /** One database: {@code why} says which, for an operator. */
    public record OneDatabase(String why) implements Finding {}

    /** The check could not ask the servers: {@code why} says what stopped it. */
    public record NotAsked(String why) implements Finding {}

    /**
     * Logs in to both clusters as their configuration names (a cluster that names no user cannot be asked:
     * the proxy has no login of its own to use) and compares what each server says of itself.
     */
    public static Finding check(Cluster blue, Cluster green, Duration loginTimeout) {
        for (Cluster cluster : new Cluster[] {blue, green}) {
            if (cluster.user() == null) {
                return new NotAsked("clusters." + cluster.name() + " names no user to log in as");
            }
        }
        StoreTables.Server onBlue;
        StoreTables.Server onGreen;
        try {
            onBlue = server(blue, loginTimeout);
            onGreen = server(green, loginTimeout);
        } catch (SQLException e) {
            return new NotAsked(e.getMessage());
        }
        if (!onBlue.sameServerAs(onGreen)) {
            return new Distinct();
        }
        return sharedDatabase(blue, green)
                .<Finding>map(shared -> new OneDatabase("blue (" + blue.endpoint() + ") and green (" + green.endpoint()
                        + ") are one server (" + identity(onBlue) + "), and " + shared))
                .orElseGet(Distinct::new);
    }

    private static StoreTables.Server server(Cluster cluster, Duration loginTimeout) throws SQLException {
        int seconds = (int) Math.max(1, loginTimeout.toSeconds());
        try (Connection connection = DriverManager.getConnection(
                JdbcLogin.url(cluster, cluster.backendDatabase(CLIENT_DATABASE)),
                JdbcLogin.properties(cluster, seconds, seconds, APPLICATION_NAME))) {
            return StoreTables.Server.of(connection);
        } catch (SQLException e) {
            throw new SQLException("could not log in to cluster " + cluster.name() + " at " + cluster.endpoint() + ": "
                    + e.getMessage(), e.getSQLState(), e);
        }
    }

    private static String identity(StoreTables.Server server) {
        String started = "started " + Instant.EPOCH.plus(server.startedMicros(), ChronoUnit.MICROS);
        return server.systemIdentifier() == null ? started
                : "system identifier " + server.systemIdentifier() + ", " + started;
    }

    /**
     * On one server, a client database that reaches the same database on both clusters, described; none when
     * the mappings keep every client database apart (blue's {@code app} against green's {@code app_v2}).
     */
    static Optional<String> sharedDatabase(Cluster blue, Cluster green) {
        Set<String> mapped = new TreeSet<>(blue.databases().keySet());
        mapped.addAll(green.databases().keySet());
        for (String client : mapped) {
            String database = blue.backendDatabase(client);
            if (database.equals(green.backendDatabase(client))) {
                return Optional.of("client database " + client + " reaches database " + database + " on both");
            }
        }
        // a client database neither cluster maps: each cluster's fixed database, else one of the client's name
        String onBlue = blue.database();
        String onGreen = green.database();
        if (onBlue == null && onGreen == null) {
            return Optional.of("a client database reaches the database of its own name on both");
        }
        if (onBlue != null && onBlue.equals(onGreen)) {
            return Optional.of("client databases reach database " + onBlue + " on both");
        }
        String fixed = onBlue != null ? onBlue : onGreen;
        if ((onBlue == null || onGreen == null) && !mapped.contains(fixed)) {
            return Optional.of("client database " + fixed + " reaches database " + fixed + " on both");
        }
        return Optional.empty();
    }
}
