package dev.bluegreen.proxy.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bluegreen.config.HealthRule;
import dev.bluegreen.proxy.control.FollowerWrites;
import dev.bluegreen.proxy.control.HealthFigures;
import dev.bluegreen.proxy.control.HealthJudge;
import dev.bluegreen.proxy.control.HealthVerdict;
import dev.bluegreen.proxy.control.Plan;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.dualwrite.Divergence;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.routing.ClusterRole;
import dev.bluegreen.proxy.verify.ConsistencyCheck;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the admin API answers, as JSON documents with fixed keys in a fixed order. Built here by hand
 * rather than by annotating the domain types: the API is a contract with bgctl and scripts, and must
 * not change when a record gains a field. Enumerations are lower case ({@code "dual"}, {@code "blue"}),
 * instants ISO-8601 in UTC.
 */
final class Json {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    static byte[] write(Object document) {
        try {
            return MAPPER.writeValueAsBytes(document);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("maps of strings, numbers and lists always serialise", e);
        }
    }

    static Map<String, Object> error(String message) {
        return Map.of("error", message);
    }

    /** The routing state alone, as the history records it. */
    static Map<String, Object> routing(RoutingState state) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("epoch", state.epoch());
        json.put("phase", lower(state.phase()));
        json.put("leader", lower(state.leader()));
        json.put("followerWrites", lower(state.followerWrites()));
        json.put("weight", state.weight());
        json.put("followerInSync", state.followerInSync());
        json.put("frozen", state.frozen());
        json.put("finalized", state.finalized());
        if (state.owesVerify()) {
            json.put("unverifiedSince", state.unverifiedSince());
        }
        return json;
    }

    /** {@code GET /api/v1/state} and every command's answer: the routing state and what is running under it. */
    static Map<String, Object> state(RoutingState state, int sessions, List<String> barrierHolders) {
        Map<String, Object> json = routing(state);
        json.put("sessions", sessions);
        json.put("barrierHolders", barrierHolders);
        return json;
    }

    static Map<String, Object> history(RoutingControl.HistoryEntry entry) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("at", entry.at().toString());
        json.put("epoch", entry.epoch());
        json.put("actor", entry.actor());
        json.put("command", entry.command());
        json.put("reason", entry.reason());
        json.put("state", routing(entry.state()));
        return json;
    }

    static Map<String, Object> divergences(MigrationStats stats) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("count", stats.divergenceCount());
        json.put("divergences", stats.divergences().stream().map(Json::divergence).toList());
        json.put("nonDeterministic", stats.nonDeterministicStatements());
        return json;
    }

    static Map<String, Object> divergence(Divergence d) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("at", d.at().toString());
        json.put("session", d.session());
        json.put("leaderCluster", d.leaderCluster());
        json.put("statement", d.statement());
        json.put("leader", d.leader());
        json.put("follower", d.follower());
        json.put("difference", d.difference());
        return json;
    }

    static Map<String, Object> stats(MigrationStats stats) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("unitsServedBlue", stats.unitsServedBy(ClusterRole.BLUE));
        json.put("unitsServedGreen", stats.unitsServedBy(ClusterRole.GREEN));
        json.put("greenErrors", stats.greenErrors());
        json.put("readRetries", stats.readRetries());
        json.put("greenReadsOverdue", stats.greenReadsOverdue());
        json.put("mirrorDrops", stats.mirrorDrops());
        json.put("unorderedStatements", stats.unorderedStatements());
        json.put("cancelsTooLate", stats.cancelsTooLate());
        json.put("writesHeldForCommits", stats.writesHeldForCommits());
        json.put("insertsHeldForDraws", stats.insertsHeldForDraws());
        json.put("commitsHeldForWrites", stats.commitsHeldForWrites());
        json.put("commitWaitsRanOut", stats.commitWaitsRanOut());
        json.put("pinnedSessions", stats.pinnedSessions());
        json.put("twinsRemade", stats.twinsRemade());
        json.put("divergences", stats.divergenceCount());
        return json;
    }

    /** A rollout plan, with what only the running proxy knows: how long the step has baked, why it holds. */
    static Map<String, Object> plan(Plan plan, Duration baked, String holding) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("status", lower(plan.status()));
        json.put("steps", plan.steps());
        json.put("position", plan.position());
        json.put("weight", plan.weight());
        json.put("bakeSeconds", plan.bake().toSeconds());
        json.put("stepStartedAt", plan.stepStartedAt().toString());
        json.put("bakedSeconds", plan.status() == Plan.Status.RUNNING ? baked.toSeconds() : 0);
        json.put("holding", plan.status() == Plan.Status.RUNNING ? holding : null);
        json.put("note", plan.note());
        return json;
    }

    /** {@code GET /api/v1/health}: the verdict, the figures behind it, each rule's verdict. */
    static Map<String, Object> health(HealthVerdict verdict, Duration window) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("verdict", lower(verdict.overall()));
        json.put("windowSeconds", window.toSeconds());
        json.put("evaluatedAt", verdict.at().toString());
        HealthFigures f = verdict.figures();
        Map<String, Object> figures = new LinkedHashMap<>();
        Map<String, Object> clusters = new LinkedHashMap<>();
        for (ClusterRole role : ClusterRole.values()) {
            HealthFigures.Cluster c = f.clusters().get(role);
            Map<String, Object> cluster = new LinkedHashMap<>();
            cluster.put("units", c.units());
            cluster.put("unitsPerSecond", c.unitsPerSecond());
            cluster.put("served", c.served());
            cluster.put("followed", c.followed());
            cluster.put("errors", c.errors());
            cluster.put("errorRate", c.errorRate());
            cluster.put("read", latency(c.read()));
            cluster.put("write", latency(c.write()));
            clusters.put(lower(role), cluster);
        }
        figures.put("clusters", clusters);
        figures.put("errorRate", f.errorRate());
        figures.put("greenSamples", f.greenRan());
        figures.put("greenBlamed", f.greenBlamed());
        figures.put("latencyP95Ratio", HealthJudge.latencyRatio(f, false));
        figures.put("latencyP99Ratio", HealthJudge.latencyRatio(f, true));
        figures.put("divergences", f.divergences());
        json.put("figures", figures);
        json.put("rules", verdict.rules().stream().map(Json::rule).toList());
        return json;
    }

    private static Map<String, Object> latency(HealthFigures.Latency latency) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("count", latency.count());
        json.put("errors", latency.errors());
        json.put("p50Ms", latency.p50Ms());
        json.put("p95Ms", latency.p95Ms());
        json.put("p99Ms", latency.p99Ms());
        return json;
    }

    private static Map<String, Object> rule(HealthVerdict.RuleVerdict verdict) {
        HealthRule rule = verdict.rule();
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("name", rule.name());
        json.put("metric", rule.metric().configName());
        json.put("op", rule.op().symbol());
        json.put("threshold", rule.threshold());
        json.put("action", rule.action().configName());
        json.put("minSamples", rule.minSamples());
        json.put("value", verdict.value());
        json.put("samples", verdict.samples());
        json.put("verdict", lower(verdict.status()));
        return json;
    }

    static Map<String, Object> audit(AuditLog.Entry entry) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("at", entry.at().toString());
        json.put("remote", entry.remote());
        json.put("method", entry.method());
        json.put("path", entry.path());
        json.put("actor", entry.actor());
        json.put("status", entry.status());
        json.put("outcome", entry.outcome());
        return json;
    }

    static Map<String, Object> verify(ConsistencyCheck.Report report, boolean paid, boolean stillOwed) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("database", report.database());
        json.put("consistent", report.consistent());
        json.put("verifyOwedPaid", paid);
        json.put("verifyOwed", stillOwed);
        RoutingState at = report.state();
        // the cluster following under sync dual-write when the snapshots were taken: the one whose copy is checked
        json.put("follower", at.followerWrites() == FollowerWrites.SYNC ? lower(at.follower()) : null);
        json.put("rowCountsDiffer", report.rowCountsDiffer());
        json.put("snapshotAt", report.snapshotAt().toString());
        json.put("tookMillis", report.tookMillis());
        List<Map<String, Object>> tables = new ArrayList<>();
        for (ConsistencyCheck.TableResult table : report.tables()) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("table", table.table());
            entry.put("kind", lower(table.kind()));
            entry.put("status", table.status().text());
            entry.put("blue", side(table.blue()));
            entry.put("green", side(table.green()));
            tables.add(entry);
        }
        json.put("tables", tables);
        return json;
    }

    private static Map<String, Object> side(ConsistencyCheck.Side side) {
        if (side == null) {
            return null;
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("rows", side.rows());
        json.put("digest", side.digest());
        json.put("columns", side.columns());
        return json;
    }

    private static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
