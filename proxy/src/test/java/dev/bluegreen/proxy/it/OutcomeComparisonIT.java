package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.dualwrite.OutcomeRecorder;
import dev.bluegreen.proxy.dualwrite.StatementOutcome;
import dev.bluegreen.proxy.protocol.Direction;
import dev.bluegreen.proxy.protocol.FrameBatch;
import dev.bluegreen.proxy.protocol.FrameDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The comparison dual-write relies on (DESIGN §5), on real answers: the same SQL sent to blue
 * (PostgreSQL 16) and green (18), their frames decoded by the proxy's own decoder and recorded.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class OutcomeComparisonIT {

    private static PgCluster blue;
    private static PgCluster green;

    @BeforeAll
    static void sameRowsInADifferentPhysicalOrder(TestClusters clusters) {
        blue = clusters.blue();
        green = clusters.green();
        for (PgCluster cluster : List.of(blue, green)) {
            cluster.execute("postgres", "drop table if exists digest_t", "create table digest_t (id int, v text)");
        }
        blue.execute("postgres", "insert into digest_t values (1, 'a'), (2, 'b'), (3, 'c')");
        green.execute("postgres", "insert into digest_t values (3, 'c'), (1, 'a'), (2, 'b')");
    }

    /** Runs {@code sql} as one simple Query on the cluster and records its answer. */
    private static List<StatementOutcome> answer(PgCluster cluster, String sql) throws Exception {
        OutcomeRecorder recorder = new OutcomeRecorder();
        EmbeddedChannel decoder = new EmbeddedChannel(new FrameDecoder(Direction.BACKEND, 1 << 20));
        try (RawClient client = new RawClient(cluster.port())) {
            client.startup(Map.of("user", cluster.superuser(), "database", "postgres"));
            client.readUntil('Z');
            client.send(RawClient.query(sql));
            while (!recorder.unitComplete()) {
                RawClient.Message message = client.read();
                ByteBuf wire = Unpooled.wrappedBuffer(RawClient.message(message.type(), message.body()));
                decoder.writeInbound(wire);
                FrameBatch batch;
                while ((batch = decoder.readInbound()) != null) {
                    recorder.record(batch);
                    batch.release();
                }
            }
        }
        assertFalse(decoder.finish());
        return recorder.outcomes();
    }

    private static String difference(String sql) throws Exception {
        List<StatementOutcome> leader = answer(blue, sql);
        List<StatementOutcome> follower = answer(green, sql);
        assertThat(follower).hasSameSizeAs(leader);
        StringBuilder differences = new StringBuilder();
        for (int i = 0; i < leader.size(); i++) {
            String difference = follower.get(i).differenceFrom(leader.get(i));
            if (difference != null) {
                differences.append(i).append(": ").append(difference).append('\n');
            }
        }
        return differences.toString();
    }

    @Test
    void theSameRowsInAnotherOrderAreNoDifference() throws Exception {
        List<StatementOutcome> outcomes = answer(blue, "select * from digest_t; select count(*) from digest_t");

        assertThat(outcomes).extracting(StatementOutcome::commandTag).containsExactly("SELECT 3", "SELECT 1");
        assertThat(outcomes.get(0).rows()).isEqualTo(3);
        assertThat(difference("select * from digest_t; select count(*) from digest_t; select 1 where false")).isEmpty();
    }

    @Test
    void aChangedRowIsADifference() throws Exception {
        green.execute("postgres", "update digest_t set v = 'changed' where id = 2");
        try {
            assertThat(difference("select * from digest_t")).isEqualTo("0: row contents differ (3 rows)\n");
        } finally {
            green.execute("postgres", "update digest_t set v = 'b' where id = 2");
        }
    }

    @Test
    void anErrorOnOneSideIsADifferenceAndTheSameErrorIsNot() throws Exception {
        blue.execute("postgres", "create table if not exists only_on_blue (id int)");

        assertThat(difference("select * from only_on_blue")).isEqualTo("0: leader SELECT 0, follower error 42P01\n");
        assertThat(difference("select 1/0")).isEmpty();
    }

    @Test
    void aDifferentRowCountShowsInTheCommandTag() throws Exception {
        green.execute("postgres", "insert into digest_t values (0, 'extra')");
        try {
            assertThat(difference("update digest_t set v = v where id < 3"))
                    .isEqualTo("0: command tag: leader UPDATE 2, follower UPDATE 3\n");
        } finally {
            green.execute("postgres", "delete from digest_t where id = 0");
        }
    }
}
