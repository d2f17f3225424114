package dev.bluegreen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The admin API's answers as text for people. Pure functions of the JSON: a field this version does
 * not know is still shown (under its JSON name), a field that is missing is left out, so bgctl and a
 * newer or older proxy can be mixed.
 */
final class Views {

    private static final Set<String> STATE_FIELDS = Set.of("epoch", "phase", "leader", "followerWrites", "weight",
            "followerInSync", "frozen", "finalized", "sessions", "barrierHolders", "instance", "plan", "unsaved",
            "unverifiedSince");
    /** What a proxy whose state store failed says of a rollback it put in force all the same. */
    private static final String NOT_SAVED = "NOT SAVED: the state store failed; in force on this instance only,"
            + " the proxy keeps trying (a restart now would undo it)";
    private static final Set<String> STATS_FIELDS = Set.of("unitsServedBlue", "unitsServedGreen", "greenErrors",
            "readRetries", "greenReadsOverdue", "mirrorDrops", "unorderedStatements", "pinnedSessions", "twinsRemade",
            "divergences");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ISO_INSTANT;

    private Views() {}

    /** {@code text} with each control character written as an escape ({@code \\n}, {@code \\x1b}), for a terminal. */
    static String printable(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isISOControl(c)) {
                if (out == null) {
                    out = new StringBuilder(text.length() + 8).append(text, 0, i);
                }
                out.append(switch (c) {
                    case '\n' -> "\\n";
                    case '\r' -> "\\r";
                    case '\t' -> "\\t";
                    default -> String.format(Locale.ROOT, "\\x%02x", (int) c);
                });
            } else if (out != null) {
                out.append(c);
            }
        }
        return out == null ? text : out.toString();
    }

    private static String printable(JsonNode node) {
        return printable(node.asText());
    }

    /**
     * {@code bgctl status}: the routing state with its rollout plan and the engine's counters, one fact
     * per line, then green's health when the proxy judges it ({@code health} is null from a proxy
     * older than {@code GET /api/v1/health}).
     */
    static String status(JsonNode state, JsonNode stats, JsonNode health) {
        Lines lines = new Lines();
        if (state.has("phase")) {
            String phase = lower(state.get("phase"));
            String writes = state.has("followerWrites") ? lower(state.get("followerWrites")) : null;
            lines.add("phase", writes == null || writes.equals("off") ? phase
                    : phase + " (follower writes " + writes + (writes.equals("async") ? ": shadow mode)" : ")"));
        }
        lines.addIf(state, "leader", "leader", Views::lower);
        lines.addIf(state, "weight", "weight", w -> w.asText() + " % of reads to green");
        lines.addIf(state, "followerInSync", "follower in sync", Views::yesNo);
        lines.addIf(state, "frozen", "frozen", Views::yesNo);
        if (state.path("finalized").asBoolean(false)) {
            lines.add("finalized", "yes: blue is retired");
        }
        if (state.path("unverifiedSince").asLong(0) > 0) {
            lines.add("verify owed", "since epoch " + state.get("unverifiedSince").asText() + ": a proxy stopped without"
                    + " shutting down with dual-write on; until bgctl verify finds the clusters alike, the follower serves"
                    + " no reads and does not become the writer");
        }
        lines.addIf(state, "epoch", "epoch", JsonNode::asText);
        if (hasUnsaved(state)) {
            List<String> changes = new ArrayList<>();
            state.get("unsaved").forEach(change -> changes.add(change.asText()));
            lines.add("unsaved", String.join("; ", changes) + ": " + NOT_SAVED);
        }
        lines.addIf(state, "instance", "instance", JsonNode::asText);
        lines.addIf(state, "sessions", "sessions", Views::count);
        lines.addIf(state, "barrierHolders", "barrier holders", Views::holders);
        PlanView.addTo(lines, state.get("plan"), state.path("phase").asText("dual"), state.get("weight"));
        if (stats != null) {
            if (stats.has("unitsServedBlue") || stats.has("unitsServedGreen")) {
                lines.add("units served", units(stats.path("unitsServedBlue").asLong(0),
                        stats.path("unitsServedGreen").asLong(0)));
            }
            lines.addIf(stats, "greenErrors", "green errors", Views::count);
            lines.addIf(stats, "readRetries", "read retries", Views::count);
            lines.addIf(stats, "greenReadsOverdue", "green reads overdue", Views::count);
            lines.addIf(stats, "divergences", "divergences", Views::count);
            lines.addIf(stats, "mirrorDrops", "mirror drops", Views::count);
            lines.addIf(stats, "unorderedStatements", "unordered statements", Views::count);
            lines.addIf(stats, "pinnedSessions", "pinned sessions", Views::count);
            lines.addIf(stats, "twinsRemade", "twins remade", Views::count);
        }
        // what a newer proxy adds shows as it comes
        extras(state, STATE_FIELDS, "", lines);
        if (stats != null) {
            extras(stats, STATS_FIELDS, "", lines);
        }
        return health == null || !health.isObject() ? lines.toString()
                : lines + "\n" + HealthView.render(health);
    }

    /** One line after a command: the state it left in force. */
    static String summary(JsonNode state) {
        List<String> parts = new ArrayList<>();
        if (state.has("epoch")) {
            parts.add("epoch " + state.get("epoch").asText());
        }
        if (state.has("phase")) {
            parts.add("phase " + lower(state.get("phase")));
        }
        if (state.has("leader")) {
            parts.add("leader " + lower(state.get("leader")));
        }
        if (state.has("weight")) {
            parts.add("weight " + state.get("weight").asText());
        }
        if (state.has("followerInSync")) {
            parts.add(state.get("followerInSync").asBoolean() ? "follower in sync" : "follower not in sync");
        }
        if (state.path("frozen").asBoolean(false)) {
            parts.add("frozen");
        }
        if (state.path("finalized").asBoolean(false)) {
            parts.add("finalized");
        }
        JsonNode plan = state.path("plan");
        if (plan.isObject()) {
            String step = PlanView.step(plan);
            parts.add("plan " + PlanView.status(plan) + (step != null ? " at step " + step : ""));
        }
        if (hasUnsaved(state)) {
            parts.add(NOT_SAVED);
        }
        return String.join(", ", parts);
    }

    private static boolean hasUnsaved(JsonNode state) {
        JsonNode unsaved = state.path("unsaved");
        return unsaved.isArray() && !unsaved.isEmpty();
    }

    /** {@code bgctl history}: every change of state, oldest first, with who did it and why. */
    static String history(JsonNode entries) {
        if (!entries.isArray() || entries.isEmpty()) {
            return "no changes of state recorded\n";
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"AT", "EPOCH", "ACTOR", "COMMAND", "RESULT", "REASON"});
        for (JsonNode entry : entries) {
            JsonNode state = entry.path("state");
            rows.add(new String[] {
                    time(entry.path("at")),
                    entry.path("epoch").asText(""),
                    entry.path("actor").asText(""),
                    entry.path("command").asText(""),
                    state.isObject() ? summaryWithoutEpoch(state) : "",
                    entry.path("reason").isNull() ? "" : entry.path("reason").asText(""),
            });
        }
        return table(rows);
    }

    /** {@code bgctl divergences}: each one in full, then the statements only counted as non-deterministic. */
    static String divergences(JsonNode answer) {
        StringBuilder out = new StringBuilder();
        JsonNode list = answer.path("divergences");
        if (!list.isArray() || list.isEmpty()) {
            out.append("no divergences\n");
        } else {
            long total = answer.path("count").asLong(list.size());
            out.append(list.size()).append(list.size() == 1 ? " divergence" : " divergences")
                    .append(total > list.size() ? String.format(Locale.ROOT, ", the most recent of %,d", total) : "")
                    .append(" (oldest first)\n");
            for (JsonNode d : list) {
                out.append('\n').append(time(d.path("at")));
                if (d.has("session")) {
                    out.append("  session ").append(d.get("session").asText());
                }
                if (d.has("leaderCluster")) {
                    out.append("  leader ").append(lower(d.get("leaderCluster")));
                }
                out.append('\n');
                Lines detail = new Lines("  ");
                // the statement is a client's SQL, and the outcomes may quote a server's message about it: a
                // control character in them must not reach the operator's terminal as one
                detail.addIf(d, "statement", "statement", Views::printable);
                detail.addIf(d, "leader", "leader did", Views::printable);
                detail.addIf(d, "follower", "follower did", Views::printable);
                detail.addIf(d, "difference", "difference", Views::printable);
                extras(d, Set.of("at", "session", "leaderCluster", "statement", "leader", "follower", "difference"),
                        "", detail);
                out.append(detail);
            }
        }
        JsonNode counted = answer.path("nonDeterministic");
        if (counted.isObject() && !counted.isEmpty()) {
            out.append("\nnon-deterministic statements (may differ between the clusters; counted, not divergences)\n");
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"COUNT", "STATEMENT"});
            for (Map.Entry<String, JsonNode> e : counted.properties()) {
                rows.add(new String[] {count(e.getValue()), printable(e.getKey())});
            }
            out.append(table(rows));
        }
        return out.toString();
    }

    private static String summaryWithoutEpoch(JsonNode state) {
        String summary = summary(state);
        return summary.startsWith("epoch ") ? summary.substring(summary.indexOf(", ") + 2) : summary;
    }

    private static String units(long blue, long green) {
        long total = blue + green;
        String share = total == 0 ? "none served yet"
                : String.format(Locale.ROOT, "green's share %.1f %%", 100.0 * green / total);
        return String.format(Locale.ROOT, "blue %,d, green %,d; %s", blue, green, share);
    }

    private static String holders(JsonNode holders) {
        if (!holders.isArray()) {
            return holders.asText();
        }
        if (holders.isEmpty()) {
            return "none";
        }
        List<String> names = new ArrayList<>();
        holders.forEach(h -> names.add(h.isValueNode() ? h.asText() : h.toString()));
        return holders.size() + ": " + String.join(", ", names);
    }

    /** Fields outside {@code known}, flattened to {@code a.b.c}; arrays of values on one line. */
    static void extras(JsonNode node, Set<String> known, String prefix, Lines lines) {
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            if (known.contains(field.getKey())) {
                continue;
            }
            String name = prefix + field.getKey();
            JsonNode value = field.getValue();
            if (value.isObject() && !value.isEmpty()) {
                extras(value, Set.of(), name + ".", lines);
            } else if (value.isNull()) {
                lines.add(name, "-");
            } else {
                lines.add(name, value.isValueNode() ? plain(value) : value.toString());
            }
        }
    }

    private static String plain(JsonNode value) {
        if (value.isBoolean()) {
            return yesNo(value);
        }
        if (value.isIntegralNumber()) {
            return count(value);
        }
        return value.asText();
    }

    private static String lower(JsonNode node) {
        return node.asText().toLowerCase(Locale.ROOT);
    }

    private static String yesNo(JsonNode node) {
        return node.asBoolean() ? "yes" : "no";
    }

    static String count(JsonNode node) {
        return node.isIntegralNumber() ? String.format(Locale.ROOT, "%,d", node.asLong()) : node.asText();
    }

    /**
     * An ISO-8601 text is shown as it is; a number as epoch seconds (with a fraction, as Jackson's
     * default for an {@code Instant}) or, when it is too large for that, epoch milliseconds.
     */
    static String time(JsonNode at) {
        if (at.isNumber()) {
            double value = at.asDouble();
            Instant instant = value > 1e11
                    ? Instant.ofEpochMilli((long) value)
                    : Instant.ofEpochSecond((long) value, (long) ((value - Math.floor(value)) * 1e9));
            return TIME.format(instant.truncatedTo(ChronoUnit.MILLIS));
        }
        return at.isMissingNode() || at.isNull() ? "" : at.asText();
    }

    static String table(List<String[]> rows) {
        int columns = rows.get(0).length;
        int[] widths = new int[columns];
        for (String[] row : rows) {
            for (int c = 0; c < columns; c++) {
                widths[c] = Math.max(widths[c], row[c].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < columns; c++) {
                line.append(c == columns - 1 ? row[c] : pad(row[c], widths[c] + 2));
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
        return out.toString();
    }

    static String pad(String text, int width) {
        return text + " ".repeat(Math.max(0, width - text.length()));
    }
}
