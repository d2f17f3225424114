package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A result far larger than memory should hold streams through: when the client stops reading, the
 * proxy stops reading from blue (blue ends up waiting on ClientWrite) instead of buffering the rest.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class LargeResultIT {

    private static final int ROWS = 110_000;
    private static final int ROW_BYTES = 1000;

    @Test
    void aHundredMegabyteResultStreamsWithoutTheProxyHoldingIt(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        try (TestProxy proxy = TestProxy.in(blue).start(); RawClient client = new RawClient(proxy.port())) {
            ByteBufAllocatorMetric memory = ((ByteBufAllocatorMetricProvider) proxy.server().allocator()).metric();
            client.loggedIn(blue.superuser());
            long baseline = used(memory);
            String sql = "select repeat('x', " + ROW_BYTES + ") from generate_series(1, " + ROWS + ")";

            client.send(RawClient.query(sql));
            long bytes = 0;
            while (bytes < 1_000_000) {
                bytes += client.read().body().length;
            }
            // the client stops reading: blue must end up blocked on writing to us
            await().atMost(Duration.ofSeconds(30)).until(() -> waitingOnClientWrite(blue, sql));
            long heldWhileStalled = used(memory) - baseline;

            RawClient.Message message;
            int dataRows = 0;
            while ((message = client.read()).type() != 'C') {
                if (message.type() == 'D') {
                    dataRows++;
                }
                bytes += message.body().length + 5;
            }
            assertThat(new String(message.body(), StandardCharsets.UTF_8)).startsWith("SELECT " + ROWS);
            assertThat(client.read().type()).isEqualTo('Z');

            assertThat(bytes).isGreaterThan(100L * 1024 * 1024);
            assertThat(dataRows).isGreaterThan(ROWS - 1100);
            assertThat(heldWhileStalled).as("bytes the proxy holds while the client is stalled")
                    .isLessThan(32L * 1024 * 1024);
        }
    }

    /**
     * One row longer than a proxy should hold (64 MiB here; Postgres allows a field of 1 GiB) is relayed as it
     * arrives: a client that stops reading part way through it leaves blue waiting on ClientWrite while the proxy
     * holds a small part of the row, and the row then arrives whole and intact. Before, the proxy read the whole row
     * before handing any of it on.
     */
    @Test
    void aSingleRowOfSixtyFourMegabytesIsRelayedAsItArrivesNotHeldWhole(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        int length = 64 * 1024 * 1024;
        int first = 1024 * 1024;
        try (TestProxy proxy = TestProxy.in(blue).start(); RawClient client = new RawClient(proxy.port())) {
            ByteBufAllocatorMetric memory = ((ByteBufAllocatorMetricProvider) proxy.server().allocator()).metric();
            client.loggedIn(blue.superuser());
            long baseline = used(memory);
            String sql = "select repeat('y', " + length + ") as long_row";

            client.send(RawClient.query(sql));
            assertThat(client.read().type()).isEqualTo('T');
            java.nio.ByteBuffer header = java.nio.ByteBuffer.wrap(client.readBytes(11));
            assertThat((char) header.get()).isEqualTo('D');
            assertThat(header.getInt()).isEqualTo(length + 10);
            assertThat(header.getShort()).isEqualTo((short) 1);
            assertThat(header.getInt()).isEqualTo(length);
            assertThat(new String(client.readBytes(first), StandardCharsets.US_ASCII)).matches("y+");
            // the client stops reading: blue must end up blocked on writing to us, with most of the row still to send
            await().atMost(Duration.ofSeconds(30)).until(() -> waitingOnClientWrite(blue, sql));
            long heldWhileStalled = used(memory) - baseline;

            assertThat(new String(client.readBytes(length - first), StandardCharsets.US_ASCII)).matches("y+");
            assertThat(client.typesUntilReady()).isEqualTo("CZ");
            assertThat(heldWhileStalled).as("bytes the proxy holds while the client is stalled").isLessThan(16L * 1024 * 1024);
        }
    }

    /**
     * A {@code bytea} value and a {@code COPY TO STDOUT} row eight times {@code limits.max_message_size} reach pgjdbc
     * intact through a relaying proxy: the limit bounds what the proxy holds of a message, and it holds no more than a
     * read of such a row.
     */
    @Test
    void valuesLongerThanTheMessageLimitReachPgjdbcIntactThroughTheRelay(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        String value = "decode(repeat('00ff', 4 * 1024 * 1024), 'hex')";
        try (TestProxy proxy = TestProxy.in(blue)
                .limits(new dev.bluegreen.config.Limits(1000, 1024 * 1024,
                        dev.bluegreen.config.Limits.DEFAULT_MAX_STARTUP_PACKET_BYTES)).start();
             Connection c = proxy.connect(blue.superuser());
             Statement s = c.createStatement()) {
            byte[] bytes;
            try (ResultSet rs = s.executeQuery("select " + value)) {
                assertThat(rs.next()).isTrue();
                bytes = rs.getBytes(1);
            }
            assertThat(bytes).hasSize(8 * 1024 * 1024);
            assertThat(java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("MD5").digest(bytes)))
                    .isEqualTo(ClusterData.text(blue, "select md5(" + value + ")"));

            java.io.ByteArrayOutputStream copied = new java.io.ByteArrayOutputStream();
            long rows = c.unwrap(org.postgresql.PGConnection.class).getCopyAPI()
                    .copyOut("copy (select repeat('z', 8 * 1024 * 1024)) to stdout", copied);
            assertThat(rows).isOne();
            assertThat(copied.toString(StandardCharsets.US_ASCII)).hasSize(8 * 1024 * 1024 + 1).matches("z+\n");
        }
    }

    /**
     * A session the proxy ends with an error (here a message it refuses) while its client reads nothing, a
     * large result backed up behind it: the error cannot go out, and the connection closes anyway once
     * timeouts.startup has passed. Before, it waited for the write to finish, for as long as the client
     * pleased, holding the socket and the result's buffers and no longer counted as a connection.
     */
    @Test
    void aSessionEndedWhileItsClientReadsNothingClosesWithinTheStartupTimeout(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        try (TestProxy proxy = TestProxy.in(blue).startupTimeout(Duration.ofSeconds(1)).start();
             RawClient client = new RawClient(proxy.port()).loggedIn(blue.superuser())) {
            String sql = "select repeat('y', " + ROW_BYTES + ") from generate_series(1, " + ROWS + ")";
            client.send(RawClient.query(sql));
            await().atMost(Duration.ofSeconds(30)).until(() -> waitingOnClientWrite(blue, sql));

            assertThat(established(proxy.port(), client.localPort())).as("the kernel's table lists the connection").isTrue();
            client.send(RawClient.message('!', new byte[3]));
            // the client neither reads nor sends: only the proxy's own socket says whether it closed
            await().atMost(Duration.ofSeconds(10)).until(() -> !established(proxy.port(), client.localPort()));
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.server().sessionCount() == 0);
        }
    }

    /**
     * A client that pipelines far more than it reads and then dies: by then blue is blocked writing answers the proxy
     * no longer reads, and the proxy holds requests blue is not reading. Its server connection must end with it, as
     * a direct one would: a Terminate queued behind those requests, with blue never read again, would leave blue's
     * backend waiting on ClientWrite for good, holding its connection, and the proxy counting it.
     */
    @Test
    void aClientThatDiesWithRequestsBackedUpLeavesNoServerConnectionBehind(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        String name = "backed-up-" + System.nanoTime();
        try (TestProxy proxy = TestProxy.in(blue).start()) {
            int connectionsBefore = proxy.server().backendConnections("blue");
            RawClient client = new RawClient(proxy.port(), 16 * 1024);
            client.startup(Map.of("user", blue.superuser(), "database", "postgres", "application_name", name));
            client.readUntil('Z');
            byte[] request = RawClient.query("select repeat('z', 100000) /* " + "p".repeat(8000) + " */");
            AtomicLong sent = new AtomicLong();
            Thread writer = new Thread(() -> {
                try {
                    for (int i = 0; i < 16_000; i++) { // 128 MB: far more than every buffer on the way holds
                        client.send(request);
                        sent.addAndGet(request.length);
                    }
                } catch (IOException e) {
                    // the reset below ends the write it is blocked in
                }
            }, "backed-up-writer");
            writer.setDaemon(true);
            writer.start();

            await().atMost(Duration.ofSeconds(30)).until(() -> backends(blue, name, "ClientWrite") == 1);
            long[] seen = {-1};
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                long now = sent.get(); // the writer is blocked once a second passes without it sending anything
                boolean blocked = now == seen[0];
                seen[0] = now;
                return blocked;
            });
            assertThat(sent.get()).as("the writer is held up by the buffers, not done").isLessThan(16_000L * request.length);

            client.reset();
            writer.join(Duration.ofSeconds(15));
            await().atMost(Duration.ofSeconds(30)).until(() -> backends(blue, name, null) == 0);
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.server().backendConnections("blue") == connectionsBefore);
        }
    }

    /** Blue's backends of the sessions named {@code applicationName}, only those waiting on {@code waitEvent} unless null. */
    private static int backends(PgCluster blue, String applicationName, String waitEvent) throws SQLException {
        try (Connection direct = blue.connect("postgres");
             PreparedStatement s = direct.prepareStatement("select count(*) from pg_stat_activity where application_name = ?"
                     + " and (?::text is null or wait_event = ?::text)")) {
            s.setString(1, applicationName);
            s.setString(2, waitEvent);
            s.setString(3, waitEvent);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** Whether the proxy's end of the connection from {@code clientPort} is still open, from the kernel's table. */
    private static boolean established(int proxyPort, int clientPort) throws IOException {
        String local = String.format(":%04X ", proxyPort);
        String remote = String.format(":%04X ", clientPort);
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            for (String line : Files.readAllLines(Path.of(table))) {
                String[] fields = line.trim().split("\\s+");
                if (fields.length > 3 && (fields[1] + " ").endsWith(local) && (fields[2] + " ").endsWith(remote)) {
                    return fields[3].equals("01"); // TCP_ESTABLISHED
                }
            }
        }
        return false;
    }

    private static long used(ByteBufAllocatorMetric memory) {
        return memory.usedDirectMemory() + memory.usedHeapMemory();
    }

    private static boolean waitingOnClientWrite(PgCluster blue, String sql) throws SQLException {
        try (Connection direct = blue.connect("postgres"); Statement s = direct.createStatement();
             ResultSet rs = s.executeQuery("select count(*) from pg_stat_activity where wait_event = 'ClientWrite' and query = '"
                     + sql.replace("'", "''") + "'")) {
            rs.next();
            return rs.getInt(1) == 1;
        }
    }
}
