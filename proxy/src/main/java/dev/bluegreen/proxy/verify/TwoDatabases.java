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
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Whether blue and green, as configured, share a database, which dual-write would apply writes to twice.
 * The configuration refuses one endpoint written the same way twice; this asks the servers themselves, so
 * it also finds one server reached under two names, or through a pooler or a port forward: its system
 * identifier and the moment its postmaster started ({@link StoreTables.Server}).
 *
 * <p>Two logins for the client database {@code postgres}, one on each side, tell whether the servers are one.
 * On one server, the configurations are read for a database that blue opens for some client database and
 * green opens for some client database (the same one or another: either way one session's writes to
 * green land where another's to blue do), and each such database is logged in to on both sides to see
 * whether the server opens one database for the two names (a pooler may rename).
 */
public final class TwoDatabases {

    private static final String APPLICATION_NAME = "bluegreen start check";
    /** The client database the first logins name, mapped per cluster as a session's would be. */
    private static final String CLIENT_DATABASE = "postgres";
    private static final String UNMAPPED = "every client database it leaves unmapped";

    private TwoDatabases() {}

    /** What the check found. */
    public sealed interface Finding {}

    /** Two servers, or one server opening no database for both sides. */
    public record Distinct() implements Finding {}

    /** A database both sides open: {@code why} says which, for an operator. */
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
        try {
            StoreTables.Server onBlue = server(blue, blue.backendDatabase(CLIENT_DATABASE), loginTimeout);
            StoreTables.Server onGreen = server(green, green.backendDatabase(CLIENT_DATABASE), loginTimeout);
            String servers = "blue (" + blue.endpoint() + ") and green (" + green.endpoint() + ") are one server ("
                    + identity(onBlue) + ")";
            if (onBlue.sameAs(onGreen)) {
                return new OneDatabase(servers + ", and client database " + CLIENT_DATABASE + " reaches database "
                        + onBlue.database() + " there through both");
            }
            if (!onBlue.sameServerAs(onGreen)) {
                return new Distinct();
            }
            Optional<Shared> shared = sharedDatabase(blue, green);
            if (shared.isEmpty()) {
                return new Distinct();
            }
            String database = shared.get().database();
            if (database != null && !server(blue, database, loginTimeout).sameAs(server(green, database, loginTimeout))) {
                return new Distinct(); // a pooler in front opens two databases for the one name
            }
            return new OneDatabase(servers + ", and " + shared.get().why());
        } catch (SQLException e) {
            return new NotAsked(e.getMessage());
        }
    }

    /**
     * A database both configurations open, by name, and for which client databases; {@code database} is null
     * where it is any name (both sides pass client database names through).
     */
    record Shared(String database, String why) {}

    /**
     * A database name blue opens for some client database and green for some client database, the same or
     * another; none when no name is opened by both (blue's {@code app} against green's {@code app_v2}).
     */
    static Optional<Shared> sharedDatabase(Cluster blue, Cluster green) {
        Set<String> named = new TreeSet<>(blue.databases().values());
        named.addAll(green.databases().values());
        if (blue.database() != null) {
            named.add(blue.database());
        }
        if (green.database() != null) {
            named.add(green.database());
        }
        for (String database : named) {
            String forBlue = clientFor(blue, database);
            String forGreen = clientFor(green, database);
            if (forBlue != null && forGreen != null) {
                String why = !forBlue.equals(forGreen)
                        ? "database " + database + " is opened on blue for " + forBlue + " and on green for " + forGreen
                        : forBlue.equals(UNMAPPED) ? "every client database neither side maps reaches database " + database
                                + " on both"
                        : forBlue + " reaches database " + database + " on both";
                return Optional.of(new Shared(database, why));
            }
        }
        // a name neither side has a word for: each passes it through, if neither has a database of its own
        if (blue.database() == null && green.database() == null) {
            return Optional.of(new Shared(null, "a client database neither side maps reaches the database "
                    + "of its own name on both"));
        }
        return Optional.empty();
    }

    /** Which client databases {@code cluster} opens {@code database} for, described; null for none. */
    private static String clientFor(Cluster cluster, String database) {
        for (Map.Entry<String, String> mapped : cluster.databases().entrySet()) {
            if (mapped.getValue().equals(database)) {
                return "client database " + mapped.getKey();
            }
        }
        if (cluster.database() != null) {
            return cluster.database().equals(database) ? UNMAPPED : null;
        }
        return cluster.databases().containsKey(database) ? null : "client database " + database;
    }

    private static StoreTables.Server server(Cluster cluster, String database, Duration loginTimeout) throws SQLException {
        int seconds = (int) Math.max(1, loginTimeout.toSeconds());
        try (Connection connection = DriverManager.getConnection(JdbcLogin.url(cluster, database),
                JdbcLogin.properties(cluster, seconds, seconds, APPLICATION_NAME))) {
            return StoreTables.Server.of(connection);
        } catch (SQLException e) {
            throw new SQLException("could not log in to cluster " + cluster.name() + " at " + cluster.endpoint() + "/"
                    + database + ": " + e.getMessage(), e.getSQLState(), e);
        }
    }

    private static String identity(StoreTables.Server server) {
        String started = "postmaster started " + Instant.EPOCH.plus(server.startedMicros(), ChronoUnit.MICROS);
        return server.systemIdentifier() == null ? started
                : "system identifier " + server.systemIdentifier() + ", " + started;
    }
}
