package dev.bluegreen.proxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.bluegreen.config.BluegreenConfig;
import dev.bluegreen.config.ChannelBinding;
import dev.bluegreen.config.ClientTls;
import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.Health;
import dev.bluegreen.config.HostPort;
import dev.bluegreen.config.Limits;
import dev.bluegreen.config.Peering;
import dev.bluegreen.config.Routing;
import dev.bluegreen.config.Secret;
import dev.bluegreen.config.StateStoreConfig;
import dev.bluegreen.config.Timeouts;
import dev.bluegreen.config.TlsMode;
import dev.bluegreen.config.User;
import dev.bluegreen.embedded.PgCluster;
import dev.bluegreen.proxy.admin.AdminToken;
import dev.bluegreen.proxy.server.ProxyServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.awaitility.core.ConditionTimeoutException;

/** An in-process proxy on a free loopback port in front of a real cluster, configured per test. */
final class TestProxy implements AutoCloseable {

    private final ProxyServer server;
    private volatile boolean shutDown;

    private TestProxy(ProxyServer server) {
        this.server = server;
    }

    static Builder in(PgCluster blue) {
        return new Builder(blue);
    }

    int port() {
        return server.address().getPort();
    }

    ProxyServer server() {
        return server;
    }

    /** No divergence was recorded, and the follower is still in sync. */
    void stillAlike() {
        assertThat(server.migration().divergences()).isEmpty();
        assertThat(server.routing().current().followerInSync()).isTrue();
    }

    String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port() + "/" + database;
    }

    Connection connect(String user) throws SQLException {
        return connect(user, null, new Properties());
    }

    Connection connect(String user, String password, Properties extra) throws SQLException {
        Properties properties = new Properties();
        properties.putAll(extra);
        properties.setProperty("user", user);
        if (password != null) {
            properties.setProperty("password", password);
        }
        return DriverManager.getConnection(jdbcUrl("postgres"), properties);
    }

    /** The graceful shutdown SIGTERM starts, waiting up to {@code grace}; {@link #close()} does nothing after it. */
    void shutdown(Duration grace) throws InterruptedException {
        shutDown = true;
        server.shutdown(grace);
    }

    /**
     * Closes the proxy at once, as a test's end does, once green has answered the COMMITs it owes or 3 s have gone
     * (a test may have left green unable to answer). The clients' COMMITs were answered at blue's; green's may still be
     * on their way, and closing cuts them, so that a test reading green directly next would find them missing.
     */
    @Override
    public void close() {
        if (!shutDown) {
            try {
                // (looked at first at once: most tests owe nothing, and each closes its proxies)
                await().pollDelay(Duration.ZERO).atMost(Duration.ofSeconds(3)).until(() -> server.followerCommitsOwed() == 0);
            } catch (ConditionTimeoutException e) {
                // closed all the same: what green still owes is cut, as by a proxy that stops
            }
            server.close();
        }
    }

    static final class Builder {
        private final PgCluster blue;
        private String clusterHost = "127.0.0.1";
        private int clusterPort;
        private TlsMode tlsMode = TlsMode.DISABLE;
        private Path caFile;
        private String backendUser;
        private Secret backendPassword;
        private Map<String, String> databases = Map.of();
        private String blueDatabase;
        private String greenDatabase;
        private final List<User> users = new ArrayList<>();
        private ClientTls clientTls;
        private Limits limits = Limits.defaults();
        private Timeouts timeouts = Timeouts.defaults();
        private PgCluster green;
        private String greenHost = "127.0.0.1";
        private int greenPort;
        private Routing routing = Routing.defaults();
        private Health health = Health.defaults();
        private StateStoreConfig stateStore = StateStoreConfig.file();
        private Path stateDir;
        private int listenPort;
        private Peering peering = Peering.none();
        private ChannelBinding channelBinding = ChannelBinding.PREFER;

        private Builder(PgCluster blue) {
            this.blue = blue;
            this.clusterPort = blue.port();
        }

        Builder clusterAt(String host, int port) {
            this.clusterHost = host;
            this.clusterPort = port;
            return this;
        }

        Builder tls(TlsMode mode, Path caFile) {
            this.tlsMode = mode;
            this.caFile = caFile;
            return this;
        }

        Builder channelBinding(ChannelBinding binding) {
            this.channelBinding = binding;
            return this;
        }

        Builder backendLogin(String user, String password) {
            this.backendUser = user;
            this.backendPassword = password == null ? null : Secret.of(password);
            return this;
        }

        /** The database blue opens for every client database, and the one green opens. */
        Builder databasesOnEach(String onBlue, String onGreen) {
            this.blueDatabase = onBlue;
            this.greenDatabase = onGreen;
            return this;
        }

        Builder databases(Map<String, String> mapping) {
            this.databases = mapping;
            return this;
        }

        Builder user(User user) {
            users.add(user);
            return this;
        }

        Builder clientTls(ClientTls tls) {
            this.clientTls = tls;
            return this;
        }

        /** Green's host name as configured (its port stays the cluster's): a name that does not resolve, say. */
        Builder greenHost(String host) {
            this.greenHost = host;
            return this;
        }

        /** Green at another address than the cluster's: a server that is not Postgres, say. */
        Builder greenAt(String host, int port) {
            this.greenHost = host;
            this.greenPort = port;
            return this;
        }

        /** Puts green behind the proxy too, with the same login settings as blue. */
        Builder green(PgCluster green) {
            this.green = green;
            return this;
        }

        Builder limits(Limits limits) {
            this.limits = limits;
            return this;
        }

        /** How long shutdown lets transactions finish, and a closed session's follower answer its COMMIT. */
        Builder shutdownGrace(Duration grace) {
            this.timeouts = timeouts.withShutdownGrace(grace);
            return this;
        }

        /** How much longer than the leader the follower may take before it counts as lost. */
        Builder followerTimeout(Duration timeout) {
            this.timeouts = timeouts.withFollower(timeout);
            return this;
        }

        /** How long a leader COMMIT waits at most for other sessions' autocommit writes the leader is running. */
        Builder commitWait(Duration wait) {
            this.timeouts = timeouts.withCommitWait(wait);
            return this;
        }

        /** How long green may take to start answering a read it serves before blue runs it instead; zero for no bound. */
        Builder greenReadTimeout(Duration timeout) {
            this.timeouts = timeouts.withGreenRead(timeout);
            return this;
        }

        /** How long a connection to a cluster may take, and its server to confirm a cancel. */
        Builder connectTimeout(Duration timeout) {
            this.timeouts = timeouts.withConnect(timeout);
            return this;
        }

        Builder startupTimeout(Duration timeout) {
            this.timeouts = timeouts.withStartup(timeout);
            return this;
        }

        /** How long a socket may be silent before TCP keepalive probes start; zero for none. */
        Builder keepalive(Duration idle) {
            this.timeouts = timeouts.withKeepalive(idle);
            return this;
        }

        TestProxy start() throws Exception {
            Cluster cluster = new Cluster("blue", clusterHost, clusterPort, blueDatabase, databases, tlsMode, caFile,
                    backendUser, backendPassword, channelBinding);
            Cluster greenCluster = green == null ? null : new Cluster("green", greenHost, greenPort != 0 ? greenPort : green.port(), greenDatabase, databases,
                    TlsMode.DISABLE, null, backendUser, backendPassword);
            // the admin API on a free port too: several test proxies may run at once
            // a state directory of its own: the file store refuses a second proxy on one directory
            Path dir = stateDir != null ? stateDir
                    : Files.createTempDirectory(Files.createDirectories(Path.of("target", "state")), "proxy-");
            BluegreenConfig config = new BluegreenConfig(new HostPort("127.0.0.1", listenPort), cluster, greenCluster,
                    new HostPort("127.0.0.1", 0), users, clientTls, limits, timeouts, dir, routing, health, stateStore,
                    peering);
            return new TestProxy(adminToken == null ? ProxyServer.start(config) : ProxyServer.start(config, adminToken));
        }

        /** The SQL listener's port; a free one unless given. */
        Builder listenPort(int port) {
            this.listenPort = port;
            return this;
        }

        /** The other instances a cancel request may be meant for. */
        Builder peering(Peering peering) {
            this.peering = peering;
            return this;
        }

        /** The {@code health} section: the window and the rules that judge green. */
        Builder health(Health health) {
            this.health = health;
            return this;
        }

        /** Where the routing state lives; the file store in a fresh directory unless given. */
        Builder stateStore(StateStoreConfig store) {
            this.stateStore = store;
            return this;
        }

        /** The state directory (the file store's); a fresh one under target/state unless given. */
        Builder stateDir(Path dir) {
            this.stateDir = dir;
            return this;
        }

        /** The {@code routing} section: stickiness, tenant source and pins, barrier timeout, write functions. */
        Builder routing(Routing routing) {
            this.routing = routing;
            return this;
        }

        private AdminToken adminToken;

        /** The admin API's bearer token; without one the proxy resolves its own (environment, else state dir). */
        Builder adminToken(AdminToken token) {
            this.adminToken = token;
            return this;
        }
    }
}
