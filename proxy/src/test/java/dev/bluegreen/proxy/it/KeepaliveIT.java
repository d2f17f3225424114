package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code timeouts.keepalive}: the proxy's end of a client's connection and of its cluster connection
 * both have a keepalive timer running, set to the configured silence, so that a peer whose machine
 * vanished is noticed. Read from the kernel's own socket table, not from the proxy's settings.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class KeepaliveIT {

    /** {@code /proc/net/tcp} gives timers in USER_HZ clock ticks, 100 a second on Linux. */
    private static final int TICKS_PER_SECOND = 100;
    private static final int TIMER_RETRANSMIT = 1;
    private static final int TIMER_KEEPALIVE = 2;

    @Test
    void clientAndClusterSocketsProbeAfterTheConfiguredSilence(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        try (TestProxy proxy = TestProxy.in(blue).keepalive(Duration.ofSeconds(1000)).start();
             Connection client = proxy.connect(blue.superuser())) {
            int backendPort = backendPort(client);

            Socket toClient = settled(proxy.port(), OptionalPort.ANY);
            Socket toBlue = settled(backendPort, OptionalPort.of(blue.port()));

            // the kernel's default would be 7200 s; with no keepalive there is no timer at all
            assertThat(toClient.timer()).isEqualTo(TIMER_KEEPALIVE);
            assertThat(toClient.secondsLeft()).isBetween(900L, 1000L);
            assertThat(toBlue.timer()).isEqualTo(TIMER_KEEPALIVE);
            assertThat(toBlue.secondsLeft()).isBetween(900L, 1000L);
        }
    }

    @Test
    void zeroLeavesKeepaliveOff(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        try (TestProxy proxy = TestProxy.in(blue).keepalive(Duration.ZERO).start();
             Connection client = proxy.connect(blue.superuser())) {
            int backendPort = backendPort(client);

            assertThat(settled(proxy.port(), OptionalPort.ANY).timer()).isZero();
            assertThat(settled(backendPort, OptionalPort.of(blue.port())).timer()).isZero();
        }
    }

    /** The local port of the proxy's connection to the cluster, as the cluster sees it. */
    private static int backendPort(Connection client) throws SQLException {
        try (Statement s = client.createStatement();
             ResultSet rs = s.executeQuery("select client_port from pg_stat_activity where pid = pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private record OptionalPort(int port) {
        static final OptionalPort ANY = new OptionalPort(-1);

        static OptionalPort of(int port) {
            return new OptionalPort(port);
        }

        boolean matches(int other) {
            return port < 0 || port == other;
        }
    }

    private record Socket(int timer, long ticksLeft) {
        long secondsLeft() {
            return ticksLeft / TICKS_PER_SECOND;
        }
    }

    /**
     * The socket once everything it sent is acknowledged: until then the kernel shows the retransmit
     * timer in the keepalive timer's place.
     */
    private static Socket settled(int localPort, OptionalPort remotePort) {
        return await().atMost(Duration.ofSeconds(10)).until(() -> socket(localPort, remotePort).orElseThrow(),
                socket -> socket.timer() != TIMER_RETRANSMIT);
    }

    /** The established socket with this local port (and remote port), from the kernel's table. */
    private static Optional<Socket> socket(int localPort, OptionalPort remotePort) throws IOException {
        for (Path table : List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"))) {
            if (!Files.exists(table)) {
                continue;
            }
            try (Stream<String> lines = Files.lines(table)) {
                Optional<Socket> found = lines.skip(1).map(String::trim).map(line -> line.split("\\s+"))
                        .filter(f -> f[3].equals("01")) // ESTABLISHED
                        .filter(f -> port(f[1]) == localPort && remotePort.matches(port(f[2])))
                        .map(f -> new Socket(Integer.parseInt(f[5].substring(0, 2), 16),
                                Long.parseLong(f[5].substring(3), 16)))
                        .findFirst();
                if (found.isPresent()) {
                    return found;
                }
            }
        }
        return Optional.empty();
    }

    private static int port(String address) {
        return Integer.parseInt(address.substring(address.indexOf(':') + 1), 16);
    }
}
