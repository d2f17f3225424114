package dev.bluegreen.proxy;

import dev.bluegreen.config.BluegreenConfig;
import dev.bluegreen.config.ConfigException;
import dev.bluegreen.config.ConfigLoader;
import dev.bluegreen.config.HostPort;
import dev.bluegreen.config.Overrides;
import dev.bluegreen.config.Problem;
import dev.bluegreen.proxy.admin.AdminToken;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.StateStore;
import dev.bluegreen.proxy.server.EmbeddedClusters;
import dev.bluegreen.proxy.server.ProxyServer;
import io.netty.util.ResourceLeakDetector;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code java -jar bluegreen-proxy.jar}: loads the configuration (file, then flags), opens the state store
 * (the {@code file} store locks the state directory), then writes a fresh admin token if none is given,
 * optionally starts the embedded clusters, runs the proxy until SIGTERM or SIGINT, then shuts down
 * gracefully and exits 0.
 * Exit codes: 0 clean stop, 1 could not start, 2 invalid configuration or usage.
 */
@Command(name = "bluegreen-proxy", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        sortOptions = false, usageHelpAutoWidth = true,
        description = "PostgreSQL wire-protocol proxy for moving a live application from a blue cluster to a green one.")
public final class Main implements Callable<Integer> {

    @Option(names = "--config", paramLabel = "FILE", description = "YAML configuration file (see docs/configuration.md).")
    Path configFile;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "SQL listener (default 127.0.0.1:6432).")
    String listen;

    @Option(names = "--blue", paramLabel = "URL", description = "Blue cluster: postgresql://user[:pass]@host:port/db")
    String blue;

    @Option(names = "--green", paramLabel = "URL", description = "Green cluster: postgresql://user[:pass]@host:port/db")
    String green;

    @Option(names = "--admin", paramLabel = "HOST:PORT", description = "Admin API listener (default 127.0.0.1:9432).")
    String admin;

    @Option(names = "--admin-token-file", paramLabel = "FILE", description = "Bearer token the admin API requires "
            + "(default: $BLUEGREEN_ADMIN_TOKEN, else a fresh token written to <state-dir>/admin-token, mode 600).")
    Path adminTokenFile;

    @Option(names = "--state-dir", paramLabel = "DIR", description = "Local state (default ./.bluegreen).")
    Path stateDir;

    @Option(names = "--state-store", paramLabel = "file|URL", description = "Where the routing state lives: file "
            + "(default: <state-dir>/state.json, one proxy) or postgresql://user[:pass]@host:port/db, a database that "
            + "several proxy instances share.")
    String stateStore;

    @Option(names = "--embedded", description = "Start two local clusters (blue: PostgreSQL 16, green: 18) under the "
            + "state directory and proxy to them. A second run reuses their data.")
    boolean embedded;

    public static void main(String[] args) {
        // Leak sampling costs on every allocation; tests run with paranoid detection instead. An
        // operator chasing a leak can still turn it on with -Dio.netty.leakDetection.level.
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
        System.exit(new CommandLine(new Main()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        BluegreenConfig config;
        try {
            config = ConfigLoader.load(configFile, new Overrides(listen, blue, green, admin, stateDir, stateStore), embedded);
        } catch (ConfigException e) {
            PrintWriter err = new PrintWriter(System.err, true);
            for (Problem problem : e.problems()) {
                err.println(problem);
            }
            return 2;
        }
        AdminToken givenToken;
        try {
            givenToken = AdminToken.given(adminTokenFile, System.getenv(AdminToken.ENVIRONMENT_VARIABLE)).orElse(null);
        } catch (IOException e) {
            System.err.println(e.getMessage());
            return 2;
        }
        RoutingControl control;
        try {
            control = ProxyServer.openState(config, givenToken == null || embedded);
        } catch (StateStore.Failure e) {
            System.err.println("bluegreen: cannot start: " + e.getMessage());
            return 1;
        }
        // From here this process holds the state directory's lock if it will write there (always with the file
        // store): only now may it write a token there or start the embedded clusters whose data live there. A second proxy refused above has
        // touched neither, so the running one keeps its token and its clusters.
        boolean controlHandedOver = false;
        try {
            AdminToken adminToken;
            try {
                adminToken = givenToken != null ? givenToken : AdminToken.generate(config.stateDir());
            } catch (IOException e) {
                System.err.println("bluegreen: cannot start: " + e.getMessage());
                return 1;
            }

            CountDownLatch stop = new CountDownLatch(1);
            AtomicReference<ProxyServer> running = new AtomicReference<>();
            AtomicInteger signals = new AtomicInteger();
            StopSignals.onStop(() -> {
                // counted before the server is looked at: the main thread sets the server before it reads the
                // count, so one of the two sees the other's write
                int signalled = signals.incrementAndGet();
                stop.countDown();
                ProxyServer server = running.get();
                if (signalled > 1 && server != null) {
                    server.endGraceNow(); // a second signal: the operator will not wait for the grace
                }
            });

            EmbeddedClusters started = null;
            if (embedded) {
                String taken = taken(config.listen(), "--listen");
                if (taken == null) {
                    taken = taken(config.admin(), "--admin");
                }
                if (taken != null) {
                    // found before initdb and two servers' start, not after them
                    System.err.println("bluegreen: cannot start: " + taken);
                    return 1;
                }
                try {
                    started = EmbeddedClusters.start(config.stateDir());
                } catch (IOException | RuntimeException e) {
                    System.err.println("bluegreen: cannot start the embedded clusters: " + e.getMessage());
                    return 1;
                }
                if (stop.getCount() == 0) {
                    // SIGTERM or Ctrl-C while the clusters started (initdb takes seconds): stop them again
                    // rather than open the listeners, print the banner and only then shut down
                    started.close();
                    return 0;
                }
            }
            try (EmbeddedClusters clusters = started) {
                if (clusters != null) {
                    config = config.withClusters(clusters.blueCluster(), clusters.greenCluster());
                }
                ProxyServer server;
                controlHandedOver = true; // the server closes it, also when it fails to start
                try {
                    server = ProxyServer.start(config, adminToken, control);
                } catch (Exception e) {
                    System.err.println("bluegreen: cannot start: " + e.getMessage());
                    return 1;
                }
                if (clusters != null) {
                    System.out.println(clusters.banner(server.address(), config.users().isEmpty()));
                } else {
                    System.out.println("bluegreen listening on " + server.address().getHostString() + ":"
                            + server.address().getPort() + " in front of blue at " + config.blue().endpoint());
                }
                running.set(server);
                if (signals.get() > 1) {
                    server.endGraceNow(); // the second signal came while the server started
                }
                String adminHost = server.adminAddress().getHostString();
                System.out.println("admin API on http://" + (adminHost.contains(":") ? "[" + adminHost + "]" : adminHost)
                        + ":" + server.adminAddress().getPort() + " (token: " + adminToken.source() + ")");
                stop.await();
                server.shutdown(config.timeouts().shutdownGrace());
            }
            return 0;
        } finally {
            if (!controlHandedOver) {
                control.close();
            }
        }
    }

    /**
     * Why this process cannot listen on {@code at} (another process does), naming the flag that moves it, or null.
     * A quick bind and release: the listener itself is opened later.
     */
    private static String taken(HostPort at, String flag) {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(at.host(), at.port()));
            return null;
        } catch (IOException e) {
            return "cannot listen on " + at + ": " + e.getMessage() + " (another address: " + flag + " HOST:PORT)";
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"bluegreen-proxy " + (version == null ? "development" : version)};
        }
    }
}
