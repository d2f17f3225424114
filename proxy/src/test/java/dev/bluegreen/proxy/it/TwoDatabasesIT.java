package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.Secret;
import dev.bluegreen.config.TlsMode;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.verify.TwoDatabases;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code start}'s check against real servers: blue's server reached a second way (a port forward, as a
 * pooler or a second DNS name would be) is found to be blue's, and a database both sides open on it is
 * named; two clusters, or one server with a database for each side, go ahead; no login, no check.
 */
@ExtendWith(BlueGreenClusters.class)
class TwoDatabasesIT {

    private static final Duration LOGIN = Duration.ofSeconds(5);

    private static Cluster side(String name, PgCluster server, int port, String database, Map<String, String> databases) {
        String password = server.superuserPassword();
        return new Cluster(name, "127.0.0.1", port, database, databases, TlsMode.DISABLE, null, server.superuser(),
                password == null ? null : Secret.of(password));
    }

    @Test
    void twoClustersShareNothing(TestClusters clusters) {
        Cluster blue = side("blue", clusters.blue(), clusters.blue().port(), null, Map.of());
        Cluster green = side("green", clusters.green(), clusters.green().port(), null, Map.of());

        assertThat(TwoDatabases.check(blue, green, LOGIN)).isEqualTo(new TwoDatabases.Distinct());
    }

    @Test
    void blueReachedThroughAPortForwardIsOneDatabaseWithBlue(TestClusters clusters) throws Exception {
        PgCluster server = clusters.blue();
        try (InterceptingRelay forward = new InterceptingRelay(server.port(), "select 'never sent'")) {
            Cluster blue = side("blue", server, server.port(), null, Map.of());
            Cluster green = side("green", server, forward.port(), null, Map.of());

            TwoDatabases.Finding finding = TwoDatabases.check(blue, green, LOGIN);

            assertThat(finding).isInstanceOf(TwoDatabases.OneDatabase.class);
            assertThat(((TwoDatabases.OneDatabase) finding).why())
                    .startsWith("blue (127.0.0.1:" + server.port() + ") and green (127.0.0.1:" + forward.port()
                            + ") are one server (")
                    .contains("postmaster started ")
                    .endsWith("), and client database postgres reaches database postgres there through both");
        }
    }

    @Test
    void oneServerWithADatabaseForEachSideSharesNothingUnlessAMappingCrossesOver(TestClusters clusters)
            throws Exception {
        PgCluster server = clusters.blue();
        String twin = ClusterData.unique("two_dbs_twin");
        server.execute("postgres", "create database " + twin);
        try (InterceptingRelay forward = new InterceptingRelay(server.port(), "select 'never sent'")) {
            Cluster blue = side("blue", server, server.port(), "postgres", Map.of());
            Cluster green = side("green", server, forward.port(), twin, Map.of());
            // a client database "legacy" that blue sends to green's database: its writes there are green's
            Cluster blueCrossing = side("blue", server, server.port(), "postgres", Map.of("legacy", twin));

            TwoDatabases.Finding apart = TwoDatabases.check(blue, green, LOGIN);
            TwoDatabases.Finding crossing = TwoDatabases.check(blueCrossing, green, LOGIN);

            assertThat(apart).isEqualTo(new TwoDatabases.Distinct());
            assertThat(crossing).isInstanceOf(TwoDatabases.OneDatabase.class);
            assertThat(((TwoDatabases.OneDatabase) crossing).why()).endsWith("database " + twin
                    + " is opened on blue for client database legacy and on green for every client database it leaves"
                    + " unmapped");
        } finally {
            server.execute("postgres", "drop database " + twin + " with (force)");
        }
    }

    @Test
    void withoutALoginTheCheckIsNotMade(TestClusters clusters) throws Exception {
        PgCluster server = clusters.blue();
        Cluster blue = side("blue", server, server.port(), null, Map.of());
        Cluster anonymous = new Cluster("green", "127.0.0.1", server.port(), null, Map.of(), TlsMode.DISABLE, null, null,
                null);
        int nothing;
        try (ServerSocket free = new ServerSocket(0)) {
            nothing = free.getLocalPort();
        }
        Cluster away = side("green", server, nothing, null, Map.of());

        assertThat(TwoDatabases.check(blue, anonymous, LOGIN))
                .isEqualTo(new TwoDatabases.NotAsked("clusters.green names no user to log in as"));
        assertThat(TwoDatabases.check(blue, away, LOGIN)).isInstanceOfSatisfying(TwoDatabases.NotAsked.class,
                notAsked -> assertThat(notAsked.why())
                        .startsWith("could not log in to cluster green at 127.0.0.1:" + nothing + "/postgres: "));
    }
}
