package dev.bluegreen.bench.driver;

import dev.bluegreen.config.BluegreenConfig;
import dev.bluegreen.config.ConfigException;
import dev.bluegreen.config.ConfigLoader;
import dev.bluegreen.config.Overrides;
import dev.bluegreen.config.Problem;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.routing.ClusterRole;
import dev.bluegreen.proxy.server.ProxyServer;
import io.netty.util.ResourceLeakDetector;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The bluegreen proxy under the harness's control, in a JVM of its own: started through the proxy's
 * Java API from the same flags {@code java -jar bluegreen-proxy.jar} takes (blue and green both
 * configured), it carries out routing commands read from stdin until the admin API exists, and answers
 * each with the routing state and the dual-write counters (see {@link ControlProtocol}). When stdin
 * closes (the harness finished, or died) it shuts the proxy down and exits 0.
 *
 * <pre>
 * java -cp benchmarks.jar dev.bluegreen.bench.driver.ProxyDriver \
 *     --listen H:P --admin H:P --state-dir DIR --blue URL --green URL
 * </pre>
 */
public final class ProxyDriver {

    static final String ACTOR = "pgbench-harness";
    private static final Set<String> FLAGS = Set.of("--listen", "--admin", "--state-dir", "--blue", "--green");

    private ProxyDriver() {
    }

    public static void main(String[] args) throws Exception {
        // as the proxy's own Main: leak sampling costs on every allocation and is off in production
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
        PrintStream out = System.out;
        BluegreenConfig config;
        try {
            config = ConfigLoader.load(null, overrides(List.of(args)), false);
        } catch (IllegalArgumentException e) {
            System.err.println("ProxyDriver: " + e.getMessage());
            System.exit(2);
            return;
        } catch (ConfigException e) {
            for (Problem problem : e.problems()) {
                System.err.println(problem);
            }
            System.exit(2);
            return;
        }
        ProxyServer server = ProxyServer.start(config);
        out.println("bluegreen listening on " + server.address().getHostString() + ":" + server.address().getPort()
                + " in front of blue at " + config.blue().endpoint() + " and green at " + config.green().endpoint());
        out.flush();

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            ControlProtocol.Reply reply;
            try {
                reply = handle(ControlProtocol.Command.parse(line), server.routing(), server.migration());
            } catch (RuntimeException e) {
                reply = new ControlProtocol.Refused("driver error: " + e);
            }
            out.println(reply.line());
            out.flush();
        }
        server.shutdown(config.timeouts().shutdownGrace());
        System.exit(0);
    }

    /**
     * The flags the proxy's Main takes, all required here: the harness always pins the listeners and
     * the state directory, so nothing of a proxy already running on the machine can get in the way.
     */
    static Overrides overrides(List<String> args) {
        Map<String, String> values = new HashMap<>();
        for (int i = 0; i < args.size(); i += 2) {
            String name = args.get(i);
            if (!FLAGS.contains(name)) {
                throw new IllegalArgumentException("unknown flag " + name);
            }
            if (i + 1 >= args.size()) {
                throw new IllegalArgumentException(name + " needs a value");
            }
            values.put(name, args.get(i + 1));
        }
        for (String flag : FLAGS) {
            if (!values.containsKey(flag)) {
                throw new IllegalArgumentException(flag + " is required");
            }
        }
        return new Overrides(values.get("--listen"), values.get("--blue"), values.get("--green"),
                values.get("--admin"), Path.of(values.get("--state-dir")));
    }

    /** Carries out one command; never throws for a refusal, which is the harness's to judge. */
    static ControlProtocol.Reply handle(ControlProtocol.Command command, RoutingControl routing, MigrationStats stats) {
        try {
            switch (command) {
                case ControlProtocol.Start start -> routing.start(ACTOR, null);
                case ControlProtocol.SetWeight weight -> routing.setWeight(ACTOR, weight.weight(), null);
                case ControlProtocol.Abort abort -> routing.abort(ACTOR, null);
                case ControlProtocol.Status status -> {
                    // nothing to change
                }
            }
        } catch (RoutingControl.Refused e) {
            return new ControlProtocol.Refused(e.getMessage());
        }
        return new ControlProtocol.Ok(state(routing.current(), stats));
    }

    static ControlProtocol.State state(RoutingState routing, MigrationStats stats) {
        return new ControlProtocol.State(routing.epoch(), routing.phase().name(), routing.weight(),
                routing.followerInSync(), stats.unitsServedBy(ClusterRole.BLUE), stats.unitsServedBy(ClusterRole.GREEN),
                stats.divergenceCount());
    }
}
