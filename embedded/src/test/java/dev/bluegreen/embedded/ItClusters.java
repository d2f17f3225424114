package dev.bluegreen.embedded;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/** Where this module's own integration tests put clusters of their own, and a one-value query. */
final class ItClusters {

    private ItClusters() {
    }

    /** Under target/ so that {@code mvn clean} removes it and nobody can reach it when we are root. */
    static Path dir(String name) {
        return Path.of(System.getProperty("user.dir"), "target", "embedded-clusters", "it", name);
    }

    static PgCluster.Builder throwaway(String name) {
        return PgCluster.builder().name(name).dataDir(dir(name)).forTests().wipeDataDir();
    }

    /** Live processes whose command line names {@code dir}: a postmaster on it, or an initdb into it. */
    static List<ProcessHandle> processesOn(Path dir) {
        return ProcessHandle.allProcesses()
                .filter(process -> process.info().arguments()
                        .map(args -> String.join(" ", args).contains(dir.toString()))
                        .orElse(false))
                .toList();
    }

    static String queryOne(PgCluster cluster, String sql) throws SQLException {
        try (Connection connection = cluster.connect("postgres")) {
            return queryOne(connection, sql);
        }
    }

    static String queryOne(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
