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
                + "each table's columns, row count and a digest of its rows. Exit code 0 when every table is the same, "
                + "4 when some differ."})
final class VerifyCommand implements Callable<Integer> {

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
        long differing = 0;
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"TABLE", "STATUS", "BLUE ROWS", "GREEN ROWS"});
        for (JsonNode table : tables) {
            String status = table.path("status").asText();
            differing += status.equals("same") ? 0 : 1;
            rows.add(new String[] {table.path("table").asText(), status, rowsOf(table.path("blue")), rowsOf(table.path("green"))});
        }
        StringBuilder out = new StringBuilder();
        out.append("database ").append(report.path("database").asText())
                .append(", snapshots taken together at ").append(Views.time(report.path("snapshotAt")))
                .append(", ").append(report.path("tookMillis").asLong()).append(" ms\n");
        if (tables.isEmpty()) {
            out.append("no tables to compare\n");
        } else {
            out.append(Views.table(rows));
        }
        out.append(differing == 0 ? "blue and green are the same: " + tables.size() + (tables.size() == 1 ? " table\n" : " tables\n")
                : differing + " of " + tables.size() + " tables differ\n");
        for (JsonNode table : tables) {
            if (table.path("status").asText().equals("columns differ")) {
                out.append('\n').append(table.path("table").asText()).append(" columns\n")
                        .append("  blue   ").append(table.path("blue").path("columns").asText()).append('\n')
                        .append("  green  ").append(table.path("green").path("columns").asText()).append('\n');
            }
        }
        return out.toString();
    }

    private static String rowsOf(JsonNode side) {
        return side.isMissingNode() || side.isNull() ? "-" : Views.count(side.path("rows"));
    }
}
