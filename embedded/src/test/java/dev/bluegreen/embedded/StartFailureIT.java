package dev.bluegreen.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StartFailureIT {

    @Test
    void serverThatCannotStartFailsWithTheEndOfItsLogAndLeavesNothingRunning() {
        PgCluster.Builder broken = ItClusters.throwaway("broken").setting("max_connections", "plenty");

        assertThatThrownBy(broken::start)
                .isInstanceOf(IOException.class)
                .hasMessageContaining("exited during startup")
                .hasMessageContaining("invalid value for parameter \"max_connections\"");
        assertThat(ItClusters.processesOn(ItClusters.dir("broken"))).isEmpty();
    }

    /**
     * A failed start quotes its own attempt's log lines only: the log before it may hold an earlier run's
     * statements (a failed one is logged with its text), passwords in them included.
     */
    @Test
    void aFailedStartQuotesOnlyItsOwnLogLines() throws IOException {
        try (PgCluster cluster = ItClusters.throwaway("quotes-own-lines").start()) {
            assertThatThrownBy(() -> cluster.execute("postgres", "SELECT 'secret-of-an-earlier-run'::int"))
                    .hasMessageContaining("invalid input syntax");
        }
        Path dir = ItClusters.dir("quotes-own-lines");
        assertThat(Files.readString(dir.resolveSibling("quotes-own-lines.log"))).contains("secret-of-an-earlier-run");

        PgCluster.Builder broken = PgCluster.builder().name("quotes-own-lines").dataDir(dir).forTests()
                .setting("max_connections", "plenty");

        assertThatThrownBy(broken::start)
                .isInstanceOf(IOException.class)
                .hasMessageContaining("invalid value for parameter \"max_connections\"")
                .message().doesNotContain("secret-of-an-earlier-run");
        assertThat(ItClusters.processesOn(dir)).isEmpty();
    }

    @Test
    void aClusterThatRefusesTheSuperusersPasswordFailsAtOnceSayingWhatToDo() throws IOException {
        // Given a cluster created with one superuser password, stopped
        ItClusters.throwaway("other-password").superuserPassword("first").start().close();
        Path dir = ItClusters.dir("other-password");
        long logBefore = Files.size(dir.resolveSibling("other-password.log"));

        // When it starts again with another
        PgCluster.Builder withAnotherPassword = PgCluster.builder().name("other-password").dataDir(dir).forTests()
                .superuserPassword("second");

        // Then the first refusal ends the start, with a message that names the cluster, its data and the way out
        assertThatThrownBy(withAnotherPassword::start)
                .isInstanceOf(IOException.class)
                .hasMessageContaining("cluster other-password refused the superuser password")
                .hasMessageContaining("28P01")
                .hasMessageContaining("wipe " + dir);
        assertThat(ItClusters.processesOn(dir)).isEmpty();
        assertThat(LogTail.since(dir.resolveSibling("other-password.log"), logBefore))
                .containsOnlyOnce("password authentication failed");
    }

    @Test
    void aClusterCreatedWithAPasswordStartedWithoutOneFailsAtOnce() throws IOException {
        ItClusters.throwaway("no-password-given").superuserPassword("first").start().close();
        Path dir = ItClusters.dir("no-password-given");

        assertThatThrownBy(PgCluster.builder().name("no-password-given").dataDir(dir).forTests()::start)
                .isInstanceOf(IOException.class)
                .hasMessageContaining("cluster no-password-given asks for a password")
                .hasMessageContaining("08004")
                .hasMessageContaining("wipe " + dir);
        assertThat(ItClusters.processesOn(dir)).isEmpty();
    }

    @Test
    void aClusterWithoutThePostgresDatabaseFailsAtOnceSayingWhatToDo() throws IOException {
        // Given a cluster whose postgres database was dropped, stopped
        try (PgCluster cluster = ItClusters.throwaway("no-postgres-db").start()) {
            cluster.execute("template1", "DROP DATABASE postgres");
        }
        Path dir = ItClusters.dir("no-postgres-db");

        // When it starts again
        PgCluster.Builder again = PgCluster.builder().name("no-postgres-db").dataDir(dir).forTests();

        // Then the first probe ends the start
        assertThatThrownBy(again::start)
                .isInstanceOf(IOException.class)
                .hasMessageContaining("cluster no-postgres-db has no database \"postgres\" (3D000)")
                .hasMessageContaining("wipe " + dir);
        assertThat(ItClusters.processesOn(dir)).isEmpty();
    }

    @Test
    void portAlreadyTakenIsReportedAsSuch() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            // something else serves the port: it hangs up on whoever connects
            Thread.ofVirtual().start(() -> hangUpOnEveryone(taken));
            PgCluster.Builder onTakenPort = ItClusters.throwaway("taken-port").port(taken.getLocalPort());

            assertThatThrownBy(onTakenPort::start)
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("could not bind");
        }
    }

    /**
     * Another Postgres holds the port asked for: the new cluster's own server cannot bind it and exits, which is
     * reported as such, however the other one answers. Before, the first probe reached the other server: one that
     * let the superuser in counted as this cluster started (its data then read and written there), one with another
     * password was reported as this cluster's data having another password, to be wiped.
     */
    @ParameterizedTest(name = "the other server lets the superuser in: {0}")
    @ValueSource(booleans = {true, false})
    void anotherPostgresHoldingThePortIsReportedAsATakenPort(boolean sameSuperuser) throws IOException {
        try (PgCluster other = ItClusters.throwaway("holds-port-" + sameSuperuser).start()) {
            PgCluster.Builder onItsPort = ItClusters.throwaway("wants-port-" + sameSuperuser).port(other.port())
                    .superuser(other.superuser());
            if (sameSuperuser) {
                onItsPort.superuserPassword(other.superuserPassword());
            } else {
                onItsPort.superuserPassword(other.superuserPassword() + "-not");
            }

            assertThatThrownBy(onItsPort::start)
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("could not bind")
                    .hasMessageNotContaining("wipe");
            assertThat(other.isRunning()).isTrue();
        }
    }

    private static void hangUpOnEveryone(ServerSocket server) {
        while (!server.isClosed()) {
            try {
                server.accept().close();
            } catch (IOException closed) {
                return;
            }
        }
    }
}
