package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.ClusterData.onBoth;
import static dev.bluegreen.proxy.it.ClusterData.unique;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.it.ProxyProcessIT.ProxyProcess;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The routing state is durable (DESIGN §2): a proxy killed with SIGKILL in the middle of a rollout plan
 * comes back on the same leader, plan step and epoch, with dual-write still on; and since it may have cut
 * a follower COMMIT off unreported, green's reads go back to blue, and stay there until bgctl verify has
 * found the clusters alike.
 */
@ExtendWith(BlueGreenClusters.class)
class RestartIT {

    private static final String TOKEN = "restart-token";

    @Test
    void aProxyKilledMidPlanComesBackOnTheSameEpochWeightLeaderAndStep(TestClusters clusters, @TempDir Path dir)
            throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String table = unique("restart_items");
        // a database of its own, so that verify reads only what this test wrote
        String database = unique("restart");
        onBoth(blue, green, "create database " + database);
        blue.execute(database, "create table " + table + " (id int primary key)");
        green.execute(database, "create table " + table + " (id int primary key)");
        Path tokenFile = Files.writeString(dir.resolve("token"), TOKEN);
        int sqlPort = FreePorts.next();
        int adminPort = FreePorts.next();
        String[] args = {"--listen", "127.0.0.1:" + sqlPort, "--admin", "127.0.0.1:" + adminPort,
            "--blue", "postgresql://" + blue.superuser() + "@127.0.0.1:" + blue.port() + "/" + database,
            "--green", "postgresql://" + green.superuser() + "@127.0.0.1:" + green.port() + "/" + database,
            "--state-dir", dir.resolve("state").toString(), "--admin-token-file", tokenFile.toString()};
        AdminHttp api = new AdminHttp(new InetSocketAddress("127.0.0.1", adminPort), TOKEN);

        JsonNode before;
        try (ProxyProcess first = new ProxyProcess(args)) {
            first.awaitLine("admin API on", Duration.ofSeconds(60));
            api.command("start", null);
            api.command("rollout", "{\"steps\": [10, 50, 100], \"bakeSeconds\": 3600}");
            before = api.state();
            first.process.destroyForcibly(); // SIGKILL: no shutdown hook, no last write
            first.awaitExit(Duration.ofSeconds(30));
        }

        try (ProxyProcess second = new ProxyProcess(args)) {
            second.awaitLine("admin API on", Duration.ofSeconds(60));
            JsonNode after = api.state();

            for (String field : new String[] {"phase", "leader", "followerWrites", "followerInSync"}) {
                assertThat(after.path(field)).as(field).isEqualTo(before.path(field));
            }
            assertThat(before.path("weight").asInt()).isEqualTo(10);
            assertThat(after.path("weight").asInt()).as("green's reads rolled back at startup").isZero();
            assertThat(after.path("epoch").asLong()).as("two changes: the rollback, the verify owed")
                    .isEqualTo(before.path("epoch").asLong() + 2);
            assertThat(after.path("unverifiedSince").asLong()).isEqualTo(after.path("epoch").asLong() - 1);
            for (String field : new String[] {"steps", "position", "bakeSeconds", "stepStartedAt"}) {
                assertThat(after.path("plan").path(field)).as("plan." + field).isEqualTo(before.path("plan").path(field));
            }
            assertThat(after.path("plan").path("status").asText()).isEqualTo("rolled_back");
            try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + sqlPort + "/postgres?user="
                    + blue.superuser()); Statement s = c.createStatement()) {
                s.execute("insert into " + table + " values (1)");
            }
            assertThat(count(blue, database, table)).isEqualTo(1);
            assertThat(count(green, database, table)).as("dual-write still on").isEqualTo(1);

            AdminHttp.Answer refused = api.post("set-weight", "{\"weight\": 10}");
            assertThat(refused.status()).isEqualTo(409);
            assertThat(refused.body().path("error").asText()).contains("only once bgctl verify has found the clusters alike");
            AdminHttp.Answer verify = api.verify("{}");
            assertThat(verify.status()).as("%s", verify.body()).isEqualTo(200);
            assertThat(verify.body().path("consistent").asBoolean()).as("%s", verify.body()).isTrue();
            assertThat(verify.body().path("verifyOwedPaid").asBoolean()).isTrue();
            assertThat(verify.body().path("verifyOwed").asBoolean()).isFalse();
            assertThat(api.state().has("unverifiedSince")).isFalse();
            assertThat(api.command("set-weight", "{\"weight\": 10}").path("weight").asInt()).isEqualTo(10);
            assertThat(api.get("/api/v1/history")).extracting(entry -> entry.path("command").asText())
                    .contains("start", "rollout [10, 50, 100] bake 3600s: set-weight 10", "verify owed", "rollback",
                            "verified", "set-weight 10");
        }
    }

    private static long count(PgCluster cluster, String database, String table) throws Exception {
        try (Connection c = cluster.connect(database); Statement s = c.createStatement();
             java.sql.ResultSet rs = s.executeQuery("select count(*) from " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
