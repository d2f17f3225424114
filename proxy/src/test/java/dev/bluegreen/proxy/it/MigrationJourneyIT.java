package dev.bluegreen.proxy.it;

import static dev.bluegreen.proxy.it.ClusterData.contents;
import static dev.bluegreen.proxy.it.ClusterData.onBoth;
import static dev.bluegreen.proxy.it.ClusterData.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bluegreen.config.Health;
import dev.bluegreen.config.HealthRule;
import dev.bluegreen.config.HealthRule.Action;
import dev.bluegreen.config.HealthRule.Comparison;
import dev.bluegreen.config.HealthRule.Metric;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.embedded.junit.BlueGreenClusters;
import dev.bluegreen.embedded.junit.TestClusters;
import dev.bluegreen.proxy.NoLeaks;
import dev.bluegreen.proxy.admin.AdminToken;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The operator's whole journey (DESIGN §2, §6), driven through the admin HTTP API while an application
 * writes and reads through the proxy: start, a health-gated rollout to 100, cutover, rollback, a second
 * rollout, cutover again, finalize. No client sees an error, and at every change of leader the tables
 * read the same on blue and green.
 */
@ExtendWith({BlueGreenClusters.class, NoLeaks.class})
class MigrationJourneyIT {

    private static final String TOKEN = "journey-token";
    /** Rules a short test can satisfy: enough samples come in a few seconds of this load. */
    static final Health QUICK = new Health(Duration.ofSeconds(5), List.of(
            new HealthRule("error_rate > 0.05", Metric.ERROR_RATE, Comparison.GREATER, 0.05, Action.PAUSE, 20),
            new HealthRule("error_rate > 0.10", Metric.ERROR_RATE, Comparison.GREATER, 0.10, Action.ROLLBACK, 20),
            new HealthRule("divergences > 0", Metric.DIVERGENCES, Comparison.GREATER, 0, Action.ROLLBACK, 0)));

    @Test
    void theWholeJourneyUnderTrafficLosesNothingAndNoClientSeesAnError(TestClusters clusters) throws Exception {
        PgCluster blue = clusters.blue();
        PgCluster green = clusters.green();
        String items = unique("journey_items");
        String counters = unique("journey_counters");
        onBoth(blue, green,
                "create table " + items + " (id bigint primary key, session int not null, v text not null)",
                "create table " + counters + " (id int primary key, n bigint not null)",
                "insert into " + counters + " select g, 0 from generate_series(1, 4) g");
        List<String> compared = new ArrayList<>();
        try (TestProxy proxy = TestProxy.in(blue).green(green).health(QUICK).adminToken(AdminToken.of(TOKEN)).start();
             MixedLoad load = new MixedLoad(proxy, blue.superuser(), items, counters, 6)) {
            AdminHttp api = new AdminHttp(proxy.server().adminAddress(), TOKEN);

            // the sessions are connected already: they get their twins at their first unit after start
            assertThat(api.command("start", "{\"reason\": \"journey\"}").path("phase").asText()).isEqualTo("dual");
            load.go();
            load.awaitProgress(50);
            rolloutToTheEnd(api, "[25, 50, 100]");
            load.awaitProgress(50);
            compared.add(sameOnBoth(load, blue, green, items, counters, "before cutover"));

            assertThat(api.command("cutover", null).path("leader").asText()).isEqualTo("green");
            load.awaitProgress(100);
            compared.add(sameOnBoth(load, blue, green, items, counters, "after cutover"));

            JsonNode rolledBack = api.command("rollback", "{\"reason\": \"proving the way back\"}");
            assertThat(rolledBack.path("leader").asText()).isEqualTo("blue");
            assertThat(rolledBack.path("weight").asInt()).isZero();
            load.awaitProgress(100);
            compared.add(sameOnBoth(load, blue, green, items, counters, "after rollback"));

            // dual-write stayed on through the rollback: going again is a new rollout, not a new start
            rolloutToTheEnd(api, "[50, 100]");
            assertThat(api.command("cutover", null).path("leader").asText()).isEqualTo("green");
            load.awaitProgress(100);
            compared.add(sameOnBoth(load, blue, green, items, counters, "before finalize"));

            JsonNode finalized = api.command("finalize", null);
            assertThat(finalized.path("phase").asText()).isEqualTo("green");
            load.awaitProgress(100);
            load.stop();

            assertThat(load.errors()).as("client-visible errors").isEmpty();
            assertThat(compared).hasSize(4);
            assertThat(ClusterData.numbers(green, "select id from " + items + " order by id"))
                    .as("every insert a client saw commit, and nothing else, on green")
                    .containsExactlyElementsOf(new TreeSet<>(load.committed()));
            assertThat(ClusterData.number(green, "select sum(n) from " + counters)).isEqualTo(load.increments());
            assertThat(api.get("/api/v1/divergences").path("count").asLong()).isZero();
            List<String> commands = new ArrayList<>();
            api.get("/api/v1/history").forEach(entry -> commands.add(entry.path("actor").asText() + " "
                    + entry.path("command").asText()));
            assertThat(commands).containsSubsequence("admin-api@127.0.0.1 start",
                    "plan set-weight 50", "plan set-weight 100", "plan rollout done",
                    "admin-api@127.0.0.1 cutover", "admin-api@127.0.0.1 rollback",
                    "plan set-weight 100", "admin-api@127.0.0.1 cutover", "admin-api@127.0.0.1 finalize");
        }
    }

    /** Starts a rollout with one-second bakes and waits until the proxy has stepped it to its end. */
    private static void rolloutToTheEnd(AdminHttp api, String steps) {
        JsonNode started = api.command("rollout", "{\"steps\": " + steps + ", \"bakeSeconds\": 1}");
        assertThat(started.path("plan").path("status").asText()).isEqualTo("running");
        await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
            JsonNode plan = api.state().path("plan");
            assertThat(plan.path("status").asText()).as("plan %s", plan).isEqualTo("done");
        });
        assertThat(api.state().path("weight").asInt()).isEqualTo(100);
    }

    /** Holds the application between rounds and reads both clusters directly: they must be identical. */
    private static String sameOnBoth(MixedLoad load, PgCluster blue, PgCluster green, String items, String counters,
                                     String when) throws Exception {
        try {
            load.quiesce();
        } catch (AssertionError stuck) {
            throw new AssertionError(when + ": " + stuck.getMessage() + "\nblue:\n" + ClusterData.activity(blue)
                    + "\ngreen:\n" + ClusterData.activity(green), stuck);
        }
        try {
            String blueItems = contents(blue, items, "id");
            assertThat(contents(green, items, "id")).as("%s on green, %s", items, when).isEqualTo(blueItems);
            assertThat(contents(green, counters, "id")).as("%s on green, %s", counters, when)
                    .isEqualTo(contents(blue, counters, "id"));
            return when;
        } finally {
            load.release();
        }
    }
}
