package dev.bluegreen.proxy.session;

import dev.bluegreen.config.BluegreenConfig;
import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.StoredSecret;
import dev.bluegreen.config.User;
import dev.bluegreen.proxy.auth.BackendCredential;
import dev.bluegreen.proxy.auth.ScramServerExchange;
import dev.bluegreen.proxy.auth.ScramVerifier;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What every session shares, built once by the server: configuration, TLS contexts, derived SCRAM
 * verifiers, cancel keys and the set of live sessions (for limits and graceful shutdown).
 */
public final class SessionServices {

    private final BluegreenConfig config;
    private final Transport transport;
    private final HostLookups lookups;
    private final ByteBufAllocator allocator;
    private final SslContext clientTls;
    private final Map<String, SslContext> clusterTls;
    private final Map<String, ScramVerifier> scramVerifiers;
    private final SecureRandom random;
    private final CancelKeys cancelKeys;
    private final CancelPeers cancelPeers;
    /** Keys the salts offered to unknown user names: stable per name while the proxy runs, unguessable. */
    private final byte[] impostorSecret;
    private final Migration migration;
    private final Set<ClientSession> sessions = ConcurrentHashMap.newKeySet();
    private final Set<ClientSession> followersDraining = ConcurrentHashMap.newKeySet();
    private final Map<String, AtomicInteger> backendConnections = new ConcurrentHashMap<>();
    private final TypeCatalogs typeCatalogs;
    private volatile boolean draining;
    private volatile List<ClientSession> drained = List.of();

    public SessionServices(BluegreenConfig config, Transport transport, HostLookups lookups,
                           ByteBufAllocator allocator, SslContext clientTls,
                           Map<String, SslContext> clusterTls, Map<String, ScramVerifier> scramVerifiers, SecureRandom random,
                           Migration migration) {
        this.config = config;
        this.transport = transport;
        this.lookups = lookups;
        this.allocator = allocator;
        this.typeCatalogs = new TypeCatalogs(allocator, config.timeouts().startup());
        this.clientTls = clientTls;
        this.clusterTls = Map.copyOf(clusterTls);
        this.scramVerifiers = Map.copyOf(scramVerifiers);
        this.random = random;
        this.cancelKeys = new CancelKeys(random, config.peering().id());
        this.cancelPeers = new CancelPeers(config.peering(), transport, lookups, config.timeouts().connect());
        this.impostorSecret = new byte[32];
        random.nextBytes(impostorSecret);
        this.migration = migration;
        migration.control().onChange(state -> sessions.forEach(session -> {
            try {
                session.routingChanged();
            } catch (RejectedExecutionException e) {
                // its event loop is shutting down, and the session with it; the others still hear of the change
            }
        }));
        // a barrier reopens once the sessions have followed the change it let in: their channels on the new leader
        migration.control().settleBeforeReopen(state -> CompletableFuture.allOf(
                sessions.stream().map(ClientSession::routingSettled).toArray(CompletableFuture[]::new)));
    }

    public BluegreenConfig config() {
        return config;
    }

    public Migration migration() {
        return migration;
    }

    Transport transport() {
        return transport;
    }

    HostLookups lookups() {
        return lookups;
    }

    /** Each cluster's types per database, for copies of client messages that name them by OID. */
    TypeCatalogs typeCatalogs() {
        return typeCatalogs;
    }

    ByteBufAllocator allocator() {
        return allocator;
    }

    Optional<SslContext> clientTls() {
        return Optional.ofNullable(clientTls);
    }

    /** The TLS context for a cluster, absent when its mode is {@code disable}. */
    Optional<SslContext> clusterTls(Cluster cluster) {
        return Optional.ofNullable(clusterTls.get(cluster.name()));
    }

    Optional<User> user(String name) {
        return config.user(name);
    }

    /**
     * A SCRAM login for {@code user}; for a name with no SCRAM verifier, one that fails at the proof. {@code endPoint}
     * and {@code bound} as {@link ScramServerExchange#ScramServerExchange(ScramVerifier, SecureRandom, byte[], boolean)}.
     */
    ScramServerExchange scramExchange(String user, byte[] endPoint, boolean bound) {
        ScramVerifier verifier = scramVerifiers.get(user);
        return verifier != null ? new ScramServerExchange(verifier, random, endPoint, bound)
                : ScramServerExchange.impostor(user, impostorSecret, random, endPoint, bound);
    }

    /**
     * What proves a login as {@code user} to {@code cluster}: the cluster's own password where it names its own user,
     * otherwise the client's configured password or the secret given for it (a SCRAM secret with the ClientKey the
     * client's login proved, null where it logged in otherwise). Null where none is configured.
     */
    BackendCredential backendCredential(Cluster cluster, String user, byte[] clientKey) {
        if (cluster.user() != null) {
            return cluster.password() == null ? null : new BackendCredential.Password(cluster.password().reveal());
        }
        User configured = config.user(user).orElse(null);
        if (configured == null || configured.password() == null) {
            return null;
        }
        return switch (configured.storedSecret().orElse(null)) {
            case null -> new BackendCredential.Password(configured.password().reveal());
            case StoredSecret.Md5 md5 -> new BackendCredential.Md5Secret(md5.secret());
            case StoredSecret.Scram scram -> clientKey == null ? null
                    : new BackendCredential.ScramKeys(scramVerifiers.get(user), clientKey);
        };
    }

    SecureRandom random() {
        return random;
    }

    CancelKeys cancelKeys() {
        return cancelKeys;
    }

    CancelPeers cancelPeers() {
        return cancelPeers;
    }

    /** Every connection counts from its first byte (the limit itself is applied to StartupMessages). */
    void register(ClientSession session) {
        sessions.add(session);
    }

    void unregister(ClientSession session) {
        sessions.remove(session);
    }

    /**
     * A closed session left its follower to finish what the leader did (the end of its last transaction,
     * queued shadow writes): a shutdown waits for that as it waits for an open session.
     */
    void followerDraining(ClientSession session) {
        followersDraining.add(session);
    }

    void followerDrained(ClientSession session) {
        followersDraining.remove(session);
    }

    public int sessionCount() {
        return sessions.size();
    }

    void backendOpened(Cluster cluster) {
        backendConnections.computeIfAbsent(cluster.name(), name -> new AtomicInteger()).incrementAndGet();
    }

    void backendClosed(Cluster cluster) {
        backendConnections.get(cluster.name()).decrementAndGet();
    }

    /** Server connections open to the cluster named {@code blue} or {@code green}. */
    public int backendConnections(String cluster) {
        AtomicInteger open = backendConnections.get(cluster);
        return open == null ? 0 : open.get();
    }

    boolean isDraining() {
        return draining;
    }

    /**
     * Asks every session to close once its current transaction ends; new sessions are refused from
     * now on, while cancel requests still get through.
     */
    public void drain() {
        draining = true;
        drained = List.copyOf(sessions);
        drained.forEach(ClientSession::drain);
    }

    /**
     * How many of the sessions open when {@link #drain()} was called are still open, and how many closed
     * ones still have a follower finishing their work.
     */
    public int sessionsDraining() {
        return (int) drained.stream().filter(sessions::contains).count() + followersDraining.size();
    }

    /** Closes every session now, telling each client why. */
    public void terminateAll() {
        sessions.forEach(ClientSession::terminate);
    }
}
