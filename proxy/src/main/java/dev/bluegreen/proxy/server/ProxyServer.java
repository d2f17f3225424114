package dev.bluegreen.proxy.server;

import dev.bluegreen.config.AuthMethod;
import dev.bluegreen.config.BluegreenConfig;
import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.Routing;
import dev.bluegreen.config.StoredSecret;
import dev.bluegreen.config.User;
import dev.bluegreen.proxy.admin.AdminApi;
import dev.bluegreen.proxy.admin.AdminServer;
import dev.bluegreen.proxy.admin.AdminToken;
import dev.bluegreen.proxy.auth.ScramVerifier;
import dev.bluegreen.proxy.control.Autopilot;
import dev.bluegreen.proxy.control.HealthWindows;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.control.StateStore;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.metrics.ProxyMetrics;
import dev.bluegreen.proxy.protocol.StartupDecoder;
import dev.bluegreen.proxy.routing.Classifier;
import dev.bluegreen.proxy.routing.ClusterRole;
import dev.bluegreen.proxy.routing.RoutingPolicy;
import dev.bluegreen.proxy.routing.StickyKeys;
import dev.bluegreen.proxy.routing.StickyMode;
import dev.bluegreen.proxy.routing.TenantSource;
import dev.bluegreen.proxy.session.EventsHandler;
import dev.bluegreen.proxy.session.HostLookups;
import dev.bluegreen.proxy.session.Migration;
import dev.bluegreen.proxy.session.SessionServices;
import dev.bluegreen.proxy.session.Transport;
import dev.bluegreen.proxy.verify.ConsistencyCheck;
import dev.bluegreen.proxy.verify.TwoDatabases;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutorGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running proxy: the SQL listener and the event loops its sessions run on, and the admin API beside
 * them on a loop of its own. A backend connection is registered on its client's event loop, so a
 * session's traffic never crosses threads.
 */
public final class ProxyServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);
    private static final int CLASSIFIER_CACHE_ENTRIES = 10_000;
    /** Threads that wait for cluster host name lookups, so that the event loops never do. */
    private static final int LOOKUP_THREADS = 2;

    private final EventLoopGroup acceptor;
    private final EventLoopGroup workers;
    private final EventExecutorGroup lookups;
    private final Channel listener;
    private final SessionServices services;
    private final ByteBufAllocator allocator;
    private final AdminServer admin;
    private final Autopilot autopilot;
    private volatile boolean graceEnded;

    private ProxyServer(EventLoopGroup acceptor, EventLoopGroup workers, EventExecutorGroup lookups, Channel listener,
                        SessionServices services, ByteBufAllocator allocator, AdminServer admin, Autopilot autopilot) {
        this.acceptor = acceptor;
        this.workers = workers;
        this.lookups = lookups;
        this.listener = listener;
        this.services = services;
        this.allocator = allocator;
        this.admin = admin;
        this.autopilot = autopilot;
    }

    /**
     * Binds the listeners, with the admin token from {@code BLUEGREEN_ADMIN_TOKEN} or else a fresh one
     * written into the state directory once the state store is open and the directory's lock held.
     */
    public static ProxyServer start(BluegreenConfig config) throws Exception {
        RoutingControl control = openState(config,
                AdminToken.given(null, System.getenv(AdminToken.ENVIRONMENT_VARIABLE)).isEmpty());
        AdminToken adminToken;
        try {
            adminToken = AdminToken.resolve(null, System.getenv(AdminToken.ENVIRONMENT_VARIABLE), config.stateDir());
        } catch (IOException | RuntimeException e) {
            control.close();
            throw e;
        }
        return start(config, adminToken, control);
    }

    /** Binds the listeners; throws if the configuration's files are unusable or a port is taken. */
    public static ProxyServer start(BluegreenConfig config, AdminToken adminToken) throws Exception {
        return start(config, adminToken, openState(config, false));
    }

    /**
     * Opens the configured state store and loads the routing state. The {@code file} store, which keeps the
     * state there, always takes the state directory's lock, and fails when another proxy holds it; with the
     * {@code postgres} store the lock is taken when {@code writesStateDir} (a generated admin token, the
     * embedded clusters), so that replicas given their token need no writable directory. Call this before
     * writing anything into the state directory.
     */
    public static RoutingControl openState(BluegreenConfig config, boolean writesStateDir) throws StateStore.Failure {
        return StateStores.openControl(config, writesStateDir);
    }

    /**
     * Binds the listeners on the routing state {@code control} (from {@link #openState}), which the server
     * owns from here: it is closed when the server stops, or at once if the start fails.
     */
    public static ProxyServer start(BluegreenConfig config, AdminToken adminToken, RoutingControl control)
            throws Exception {
        Transport transport = Transport.best();
        ByteBufAllocator allocator = PooledByteBufAllocator.DEFAULT;
        SecureRandom random = new SecureRandom();
        RoutingState stored = control.current();
        if ((stored.dualWrite() || stored.leader() == ClusterRole.GREEN) && config.green() == null) {
            control.close();
            throw new IllegalStateException("the stored routing state needs green (phase "
                    + stored.phase().name().toLowerCase(Locale.ROOT) + ", epoch " + stored.epoch()
                    + ") but no green cluster is configured; configure it, or use another state store");
        }
        SessionServices services = null;
        Autopilot autopilot = null;
        EventLoopGroup acceptor = null;
        EventLoopGroup workers = null;
        EventExecutorGroup lookups = null;
        try {
            lookups = new DefaultEventExecutorGroup(LOOKUP_THREADS, new DefaultThreadFactory("bluegreen-lookup", true));
            services = new SessionServices(config, transport, new HostLookups(lookups), allocator,
                    TlsContexts.forClients(config.clientTls()), TlsContexts.forClusters(config),
                    scramVerifiers(config, random), random, newMigration(config, control));
            if (config.green() == null) {
                services.migration().withoutGreen();
            } else {
                control.checkBeforeDualWrite(twoDatabases(config));
            }
            HealthWindows windows = new HealthWindows(config.health().window());
            services.migration().stats().addListener(windows);
            autopilot = new Autopilot(control, windows, config.health(), Clock.systemUTC(), Autopilot.DEFAULT_TICK);
            acceptor = transport.newGroup(1);
            workers = transport.newGroup(Runtime.getRuntime().availableProcessors());
            SessionServices sessions = services;
            int maxStartup = config.limits().maxStartupPacketBytes();
            int maxMessage = config.limits().maxMessageBytes();
            Duration keepalive = config.timeouts().keepalive();
            ChannelFuture bound = new ServerBootstrap()
                    .group(acceptor, workers)
                    .channel(transport.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .childOption(ChannelOption.ALLOCATOR, allocator)
                    .childOption(ChannelOption.RCVBUF_ALLOCATOR, Transport.receiveSizes())
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            Transport.keepalive(ch, keepalive);
                            ch.pipeline()
                                    .addLast("startup", new StartupDecoder(maxStartup, maxMessage))
                                    .addLast("session", EventsHandler.forClient(sessions));
                        }
                    })
                    .bind(config.listen().host(), config.listen().port())
                    .awaitUninterruptibly();
            if (!bound.isSuccess()) {
                // Netty's message names neither the address nor which of the two listeners it was
                throw new IOException("cannot listen on " + config.listen() + ": " + bound.cause().getMessage()
                        + " (another address: --listen HOST:PORT, or listen in the configuration)", bound.cause());
            }
            Channel listener = bound.channel();
            Migration migration = services.migration();
            ProxyMetrics metrics = ProxyMetrics.prometheus(migration.control(), migration.stats(), services::sessionCount,
                    services::backendConnections);
            AdminServer admin = AdminServer.start(config.admin(),
                    new AdminApi(adminToken, autopilot, migration.stats(), services::sessionCount, metrics)
                            .verifyWith(new ConsistencyCheck(config.blue(), config.green(), config.stateStore(),
                                    control, config.timeouts().connect(), config.timeouts().keepalive(),
                                    Clock.systemUTC())),
                    transport.newGroup(1), transport.serverChannel());
            autopilot.start();
            ProxyServer server = new ProxyServer(acceptor, workers, lookups, listener, services, allocator, admin, autopilot);
            log.info("listening address={} transport={} blue={} admin={} adminToken={} stateStore={} instance={}",
                    server.address(), transport.name(), config.blue().endpoint(), admin.address(), adminToken.source(),
                    config.stateStore().describe(), control.instance());
            List<String> trusted = config.users().stream().filter(u -> u.auth() == AuthMethod.TRUST).map(User::name).toList();
            if (!server.address().getAddress().isLoopbackAddress() && !trusted.isEmpty()) {
                // allowed, as in pg_hba.conf, but worth a word: anyone who can reach the listener is them
                log.warn("users with auth trust on a listener beyond loopback address={} users={}: anyone who reaches"
                        + " it logs in as them without a password", server.address(), trusted);
            }
            return server;
        } catch (Exception | Error e) {
            if (acceptor != null) {
                acceptor.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            }
            if (workers != null) {
                workers.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            }
            if (lookups != null) {
                lookups.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            }
            if (autopilot != null) {
                autopilot.close();
            }
            if (services != null) {
                services.migration().close();
            }
            control.close();
            throw e;
        }
    }

    /**
     * Blue alone until an operator starts dual-write; stickiness, pins, the write barrier's timeout
     * (DESIGN §5) and the extra write functions come from the configuration's {@code routing} section.
     */
    private static Migration newMigration(BluegreenConfig config, RoutingControl control) {
        Routing routing = config.routing();
        StickyMode mode = switch (routing.stickyKey()) {
            case SESSION -> StickyMode.SESSION;
            case TENANT -> StickyMode.TENANT;
            case NONE -> StickyMode.NONE;
        };
        Map<String, ClusterRole> pins = new HashMap<>();
        routing.tenantPins().forEach((tenant, cluster) -> pins.put(tenant, switch (cluster) {
            case BLUE -> ClusterRole.BLUE;
            case GREEN -> ClusterRole.GREEN;
        }));
        return new Migration(control, new MigrationStats(),
                new Classifier(CLASSIFIER_CACHE_ENTRIES, routing.writeFunctions()), new RoutingPolicy(pins),
                new StickyKeys(mode, new TenantSource(routing.tenantParameter())), routing.readAfterWrite());
    }

    /**
     * {@code start}'s check that blue and green share no database ({@link TwoDatabases}). One it cannot make (a
     * cluster naming no user, a login that fails) lets dual-write begin, with a warning in the log and in the
     * command's answer, which bgctl prints.
     */
    private static RoutingControl.DualWriteCheck twoDatabases(BluegreenConfig config) {
        Cluster blue = config.blue();
        Cluster green = config.green();
        Duration loginTimeout = config.timeouts().connect();
        return () -> switch (TwoDatabases.check(blue, green, loginTimeout)) {
            case TwoDatabases.OneDatabase one -> RoutingControl.DualWriteCheck.Answer.refuse(one.why() + "; dual-write"
                    + " would apply writes twice to that database: point green (clusters.green or --green) at the new"
                    + " cluster, or give each side a database of its own (clusters.*.database, clusters.*.databases)");
            case TwoDatabases.NotAsked notAsked -> {
                log.warn("dual-write begins without checking that blue and green share no database: {}", notAsked.why());
                yield RoutingControl.DualWriteCheck.Answer.unchecked("dual-write began without checking that blue and"
                        + " green share no database: " + notAsked.why() + " (docs/configuration.md)");
            }
            case TwoDatabases.Distinct distinct -> RoutingControl.DualWriteCheck.Answer.GO;
        };
    }

    /**
     * SCRAM verifiers are derived once here (PBKDF2 is slow on purpose, and no login should pay for it), or read from
     * the SCRAM secret a user's password is given as.
     */
    private static Map<String, ScramVerifier> scramVerifiers(BluegreenConfig config, SecureRandom random) {
        Map<String, ScramVerifier> verifiers = new HashMap<>();
        for (User user : config.users()) {
            if (user.challenge() == AuthMethod.SCRAM_SHA_256) {
                verifiers.put(user.name(), user.storedSecret().orElse(null) instanceof StoredSecret.Scram secret
                        ? ScramVerifier.of(secret) : ScramVerifier.derive(user.password().reveal(), random));
            }
        }
        return verifiers;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    public InetSocketAddress adminAddress() {
        return admin.address();
    }

    /**
     * The routing state and the operator's commands (start, set-weight, cutover, rollback, finalize,
     * abort, shadow). Call from any thread but an event loop: commands that need the write barrier wait.
     */
    public RoutingControl routing() {
        return services.migration().control();
    }

    /** Health verdicts, rollout plans, and where the operator's commands enter. */
    public Autopilot autopilot() {
        return autopilot;
    }

    /** Divergences, retries, drops and the other figures the dual-write engine keeps. */
    public MigrationStats migration() {
        return services.migration().stats();
    }

    public int sessionCount() {
        return services.sessionCount();
    }

    /** The leader's commits whose follower COMMIT has not answered yet, every session's (docs/dual-write.md). */
    public int followerCommitsOwed() {
        return services.migration().followerCommitsOwed();
    }

    /** Server connections open to the cluster named {@code blue} or {@code green}, as the metrics export them. */
    public int backendConnections(String cluster) {
        return services.backendConnections(cluster);
    }

    /** The buffer allocator every channel uses; tests read its metrics to prove nothing piles up. */
    public ByteBufAllocator allocator() {
        return allocator;
    }

    /**
     * Refuses new sessions, lets each session finish its current transaction for up to {@code grace},
     * then stops listening, closes whatever is left and stops the event loops.
     */
    public void shutdown(Duration grace) throws InterruptedException {
        log.info("shutting down sessions={} grace={}", services.sessionCount(), grace);
        // the listener stays open while sessions drain, as Postgres's postmaster does: a new session is
        // refused with 57P03, and a cancel (the query timeout of a session finishing its transaction)
        // still reaches its query
        services.drain();
        long deadline = System.nanoTime() + grace.toNanos();
        while (services.sessionsDraining() > 0 && System.nanoTime() < deadline && !graceEnded) {
            TimeUnit.MILLISECONDS.sleep(20);
        }
        listener.close().sync();
        if (services.sessionsDraining() > 0) {
            log.warn("grace period over, closing sessions={}", services.sessionsDraining());
        }
        services.terminateAll(); // what is left: the sessions the grace did not see end, and refusals under way
        // a session still running a statement cancels it first and closes once the server has signalled it
        // (a cancel may take the connect timeout to connect, and as long again for the server to answer): the
        // event loops must still run meanwhile
        long cancelled = System.nanoTime() + 2 * services.config().timeouts().connect().toNanos();
        while (services.sessionCount() > 0 && System.nanoTime() < cancelled) {
            TimeUnit.MILLISECONDS.sleep(20);
        }
        // the admin API stays up while sessions drain, so an operator can watch them go
        admin.close();
        autopilot.close();
        stopLoops();
        services.migration().close();
        routing().close();
    }

    /**
     * Ends a {@link #shutdown}'s grace now (a second SIGTERM or Ctrl-C): the sessions still open are closed as
     * when it runs out, their running statements cancelled first.
     */
    public void endGraceNow() {
        if (!graceEnded) {
            graceEnded = true;
            log.info("grace ended early sessions={}", services.sessionsDraining());
        }
    }

    /** Closes everything now. */
    @Override
    public void close() {
        listener.close().syncUninterruptibly();
        admin.close();
        autopilot.close();
        services.terminateAll();
        try {
            stopLoops();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            services.migration().close();
            routing().close();
        }
    }

    private void stopLoops() throws InterruptedException {
        // a short quiet period lets the final error messages reach their clients
        workers.shutdownGracefully(100, 2000, TimeUnit.MILLISECONDS).await(5, TimeUnit.SECONDS);
        acceptor.shutdownGracefully(0, 1000, TimeUnit.MILLISECONDS).await(5, TimeUnit.SECONDS);
        lookups.shutdownGracefully(0, 1000, TimeUnit.MILLISECONDS).await(5, TimeUnit.SECONDS);
    }
}
