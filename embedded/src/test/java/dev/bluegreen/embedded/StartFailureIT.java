package dev.bluegreen.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

import org.junit.jupiter.api.Test;

class StartFailureIT {

    @Test
    void serverThatCannotStartFailsWithTheEndOfItsLogAndLeavesNothingRunning() {
        PgCluster.Builder broken = ItClusters.throwaway("broken").setting("max_connections", "plenty");

        assertThatThrownBy(broken::start)
                .isInstanceOf(IOException.class)
                .hasMessageContaining("exited during startup")
                .hasMessageContaining("invalid value for parameter \"max_connections\"");
        assertThat(ProcessHandle.allProcesses()
                .filter(process -> process.info().arguments()
                        .map(args -> String.join(" ", args).contains(ItClusters.dir("broken").toString()))
                        .orElse(false)))
                .isEmpty();
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
