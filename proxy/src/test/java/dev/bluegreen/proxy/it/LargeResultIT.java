package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
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
