package dev.bluegreen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code bgctl status}: the routing state, the rollout plan, the dual-write counters and green's
 * health at a glance, once or redrawn every second. While watching, an unreachable proxy is shown in
 * the frame and retried (a restart should not end the watch); a refused token ends it. A proxy without
 * {@code GET /api/v1/health} (older than this bgctl) is shown without the health part.
 */
@Command(name = "status", description = {
        "The routing state, the rollout plan, the dual-write figures and green's health at a glance.",
        "Phase, leader, weight, follower in sync, frozen, epoch, sessions, barrier holders; the rollout plan "
                + "(status, step and weights, bake progress, why it holds or why it ended); units served by each "
                + "cluster and green's share, green errors, read retries, divergences, mirror drops; then, over "
                + "the proxy's health window, each cluster's units/s, error rate and read and write latency "
                + "p50/p95/p99, green's error rate, latency ratios and divergences, the overall verdict and each "
                + "rule's verdict (a firing rule marked with ! and its value against its threshold). "
                + "With --json: {\"state\": ..., \"stats\": ..., \"health\": ...} as the proxy sent them "
                + "(health null from a proxy without a health endpoint)."})
final class StatusCommand implements Callable<Integer> {

    static final Duration REFRESH = Duration.ofSeconds(1);
    /** Cursor home, then erase the screen: each frame replaces the last. */
    static final String CLEAR = "\033[H\033[2J";
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

    @ParentCommand Bgctl bgctl;
    @Spec CommandSpec spec;

    @Option(names = "--watch", description = "Redraw every second until Ctrl-C (with --json: one JSON line per second).")
    boolean watch;

    @Option(names = "--json", description = "Print the state and the figures as JSON.")
    boolean json;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        try (AdminClient client = bgctl.client()) {
            if (!watch) {
                ObjectNode snapshot = snapshot(client);
                out.print(json ? Json.pretty(snapshot) + System.lineSeparator()
                        : render(snapshot));
                out.flush();
                return 0;
            }
            try {
                watch(client, out);
            } catch (InterruptedException stopped) {
                Thread.currentThread().interrupt();
            }
            return 0;
        }
    }

    private void watch(AdminClient client, PrintWriter out) throws InterruptedException {
        PrintWriter err = spec.commandLine().getErr();
        while (!Thread.currentThread().isInterrupted()) {
            ObjectNode snapshot = null;
            String problem = null;
            try {
                snapshot = snapshot(client);
            } catch (BgctlException e) {
                if (!e.passing()) {
                    throw e;
                }
                problem = e.getMessage();
            }
            if (json) {
                if (snapshot != null) {
                    out.println(Json.line(snapshot));
                } else {
                    err.println("bgctl: " + problem);
                    err.flush();
                }
            } else {
                out.print(CLEAR + "bgctl status - " + client.target().url() + " - " + LocalTime.now().format(CLOCK)
                        + " - every " + REFRESH.toSeconds() + " s, Ctrl-C to stop\n\n"
                        + (snapshot != null ? render(snapshot) : problem + "\n(retrying)\n"));
            }
            out.flush();
            Thread.sleep(REFRESH.toMillis());
        }
    }

    private static ObjectNode snapshot(AdminClient client) throws InterruptedException {
        JsonNode state = client.get("state");
        JsonNode stats = client.get("stats");
        JsonNode health = client.getIfServed("health");
        ObjectNode snapshot = AdminClient.JSON.createObjectNode();
        snapshot.set("state", state);
        snapshot.set("stats", stats);
        // null rather than absent: the shape stays the same for scripts whatever the proxy's age
        snapshot.set("health", health != null ? health : NullNode.getInstance());
        return snapshot;
    }

    private static String render(ObjectNode snapshot) {
        return Views.status(snapshot.get("state"), snapshot.get("stats"), snapshot.get("health"));
    }
}
