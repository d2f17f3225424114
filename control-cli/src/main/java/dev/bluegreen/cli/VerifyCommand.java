package dev.bluegreen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "verify", description = {
        "Compare every table of a database on blue and green.",
        "The proxy reads both clusters from snapshots it takes together behind the write barrier, then compares "
                + "each table's columns, row count and a digest of its rows, and each sequence's last value. "
                + "Exit code 0 when every one is the same, 4 when some differ or could not be read."})
final class VerifyCommand implements Callable<Integer> {

    /** The status of a sequence the role verify logs in as may not read: neither the same nor different. */
    private static final String NOT_READABLE = "not readable";

    @ParentCommand Bgctl bgctl;
    @Spec CommandSpec spec;

    @Option(names = "--database", paramLabel = "NAME",
            description = "The database, as clients name it (default: postgres, mapped as the proxy maps it).")
    String database;

    @Option(names = "--json", description = "Print the proxy's answer as JSON.")
    boolean json;

    @Override
    public Integer call() throws InterruptedException {
        ObjectNode body = AdminClient.JSON.createObjectNode();
        if (database != null) {
            body.put("database", database);
        }
        PrintWriter err = spec.commandLine().getErr();
        JsonNode report;
        try (AdminClient client = bgctl.client()) {
            report = client.verify(body, what -> {
                err.println("bgctl: the proxy is reading every table on both clusters...");
                err.flush();
            });
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? Json.pretty(report) + System.lineSeparator() : render(report));
        out.flush();
        return report.path("consistent").asBoolean(false) ? 0 : BgctlException.EXIT_DIFFERENT;
    }

    static String render(JsonNode report) {
        JsonNode tables = report.path("tables");
        Tally ofTables = new Tally("table", "tables");
        Tally ofSequences = new Tally("sequence", "sequences");
        JsonNode largeObjects = null; // one entry for all of them, its rows the objects
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"TABLE", "STATUS", "BLUE ROWS", "GREEN ROWS"});
        for (JsonNode table : tables) {
            String status = table.path("status").asText();
            String kind = table.path("kind").asText();
            if (kind.equals("large_objects")) {
                largeObjects = table;
            } else {
                // a proxy from before the kind was reported names tables and sequences alike
                (kind.equals("sequence") ? ofSequences : ofTables).count(status);
            }
            rows.add(new String[] {table.path("table").asText(), status, rowsOf(table.path("blue")), rowsOf(table.path("green"))});
        }
        StringBuilder out = new StringBuilder();
        out.append("database ").append(report.path("database").asText())
                .append(", snapshots taken together at ").append(Views.time(report.path("snapshotAt")))
                .append(", ").append(report.path("tookMillis").asLong()).append(" ms\n");
        if (tables.isEmpty()) {
            out.append("no tables or sequences to compare\n");
        } else {
            out.append(Views.table(rows));
        }
        boolean objectsDiffer = largeObjects != null && !largeObjects.path("status").asText().equals("same");
        if (ofTables.differing + ofTables.unread + ofSequences.differing + ofSequences.unread == 0 && !objectsDiffer) {
            List<String> alike = new ArrayList<>();
            for (Tally tally : List.of(ofTables, ofSequences)) {
                if (tally.total > 0 || tables.isEmpty() && tally == ofTables) {
                    alike.add(tally.total + " " + tally.noun(tally.total));
                }
            }
            if (largeObjects != null) {
                long objects = largeObjects.path("blue").path("rows").asLong();
                alike.add(objects + (objects == 1 ? " large object" : " large objects")
                        + (largeObjects.path("blue").path("columns").asText().contains("by OID only") ? " (by OID only)" : ""));
            }
            String last = alike.removeLast();
            out.append("blue and green are the same: ").append(alike.isEmpty() ? last : String.join(", ", alike) + " and " + last)
                    .append('\n');
        } else {
            List<String> found = new ArrayList<>();
            for (Tally tally : List.of(ofTables, ofSequences)) {
                if (tally.differing > 0) {
                    found.add(tally.differing + " of " + tally.total + " " + tally.noun(tally.total)
                            + (tally.total == 1 ? " differs" : " differ"));
                }
            }
            if (objectsDiffer) {
                found.add("the large objects differ");
            }
            for (Tally tally : List.of(ofTables, ofSequences)) {
                if (tally.unread > 0) {
                    found.add(tally.unread + " of " + tally.total + " " + tally.noun(tally.total)
                            + " not compared: the role verify logs in as may not read them"
                            + " (grant it SELECT on each one marked " + NOT_READABLE + ")");
                }
            }
            out.append(String.join("; ", found)).append('\n');
        }
        List<String> missingRows = new ArrayList<>();
        report.path("rowCountsDiffer").forEach(table -> missingRows.add(table.asText()));
        String follower = report.path("follower").asText("");
        if (!missingRows.isEmpty() && !follower.isEmpty()) {
            // said loudly, not acted on: the proxy leaves the routing state as it is (docs/control-plane.md)
            String leader = follower.equals("green") ? "blue" : "green";
            out.append("ROW COUNTS DIFFER in ").append(String.join(", ", missingRows)).append(": ").append(follower)
                    .append(", the follower, lacks rows ").append(leader).append(" has, or holds rows it lacks. Unless ")
                    .append(missingRows.size() == 1 ? "that table is" : "those tables are")
                    .append(" written to one cluster on purpose, ").append(follower).append(" must not serve reads (")
                    .append(follower.equals("green") ? "bgctl rollback" : "bgctl set-weight 100")
                    .append(") or become the writer until the clusters are alike again")
                    .append(follower.equals("green") ? " (bgctl abort, copy blue to green, bgctl start)" : "")
                    .append('\n');
        }
        if (report.path("verifyOwedPaid").asBoolean(false)) {
            out.append("the verify owed since a proxy stopped without shutting down is done: the follower may serve reads"
                    + " and become the writer again\n");
        } else if (report.path("verifyOwed").asBoolean(false)) {
            out.append("a verify is still owed since a proxy stopped without shutting down: it takes a check that finds"
                    + " the clusters alike in a database with tables, read after that stop\n");
        }
        for (JsonNode table : tables) {
            // the row counts do not show these differences: a sequence's next value and definition are in its
            // description, as a table's columns are
            String detail = switch (table.path("status").asText()) {
                case "columns differ" -> " columns";
                case "value differs", "definition differs" -> "";
                default -> null;
            };
            if (detail != null) {
                out.append('\n').append(table.path("table").asText()).append(detail).append('\n')
                        .append("  blue   ").append(table.path("blue").path("columns").asText()).append('\n')
                        .append("  green  ").append(table.path("green").path("columns").asText()).append('\n');
            }
        }
        return out.toString();
    }

    /** "-" where the table is missing, "?" where its rows were not read. */
    private static String rowsOf(JsonNode side) {
        if (side.isMissingNode() || side.isNull()) {
            return "-";
        }
        return side.path("rows").isNull() ? "?" : Views.count(side.path("rows"));
    }

    /** How many of one kind (tables, or sequences) the report holds, differ and could not be read. */
    private static final class Tally {
        private final String one;
        private final String many;
        long total;
        long differing;
        long unread;

        Tally(String one, String many) {
            this.one = one;
            this.many = many;
        }

        void count(String status) {
            total++;
            if (status.equals(NOT_READABLE)) {
                unread++;
            } else if (!status.equals("same")) {
                differing++;
            }
        }

        String noun(long count) {
            return count == 1 ? one : many;
        }
    }
}
