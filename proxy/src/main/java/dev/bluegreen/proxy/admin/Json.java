package dev.bluegreen.proxy.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.dualwrite.Divergence;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.routing.ClusterRole;
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
        json.put("mirrorDrops", stats.mirrorDrops());
        json.put("unorderedStatements", stats.unorderedStatements());
        json.put("pinnedSessions", stats.pinnedSessions());
        json.put("divergences", stats.divergenceCount());
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

    private static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
