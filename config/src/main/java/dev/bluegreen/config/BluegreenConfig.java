package dev.bluegreen.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A complete, validated proxy configuration, as {@link ConfigLoader#load} returns it. Immutable;
 * {@code toString} shows no secret.
 *
 * @param listen the SQL listener
 * @param blue today's cluster; null only in embedded mode before the embedded clusters are known
 * @param green the migration target; null when not configured
 * @param admin the admin HTTP API listener
 * @param users who may log in to the proxy; empty means trust on a loopback listener (a
 *     non-loopback listener without users is rejected when loading)
 * @param clientTls TLS offered to clients; null for none
 * @param stateDir where the file state store and other local state live
 * @param routing stickiness, tenant pins, the write barrier's timeout and the extra write functions
 * @param health the window and rules that judge green (DESIGN §6)
 * @param stateStore where the routing state is kept and shared
 * @param peering the other instances a cancel request may be meant for
 */
public record BluegreenConfig(
        HostPort listen,
        Cluster blue,
        Cluster green,
        HostPort admin,
        List<User> users,
        ClientTls clientTls,
        Limits limits,
        Timeouts timeouts,
        Path stateDir,
        Routing routing,
        Health health,
        StateStoreConfig stateStore,
        Peering peering) {

    public static final HostPort DEFAULT_LISTEN = new HostPort("127.0.0.1", 6432);
    public static final HostPort DEFAULT_ADMIN = new HostPort("127.0.0.1", 9432);
    public static final Path DEFAULT_STATE_DIR = Path.of("./.bluegreen");

    public BluegreenConfig {
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(admin, "admin");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(timeouts, "timeouts");
        Objects.requireNonNull(stateDir, "stateDir");
        Objects.requireNonNull(routing, "routing");
        Objects.requireNonNull(health, "health");
        Objects.requireNonNull(stateStore, "stateStore");
        Objects.requireNonNull(peering, "peering");
        users = users == null ? List.of() : List.copyOf(users);
    }

    /** A configuration of one instance, without peers. */
    public BluegreenConfig(HostPort listen, Cluster blue, Cluster green, HostPort admin, List<User> users,
                           ClientTls clientTls, Limits limits, Timeouts timeouts, Path stateDir, Routing routing,
                           Health health, StateStoreConfig stateStore) {
        this(listen, blue, green, admin, users, clientTls, limits, timeouts, stateDir, routing, health, stateStore,
                Peering.none());
    }

    /** The configured user with this name, if any (names are case-sensitive, as in Postgres). */
    public Optional<User> user(String name) {
        return users.stream().filter(u -> u.name().equals(name)).findFirst();
    }

    /** The same configuration with other clusters; embedded mode uses it once its clusters run. */
    public BluegreenConfig withClusters(Cluster blue, Cluster green) {
        return new BluegreenConfig(
                listen, blue, green, admin, users, clientTls, limits, timeouts, stateDir, routing, health, stateStore,
                peering);
    }

    /** The same configuration with other health rules. */
    public BluegreenConfig withHealth(Health newHealth) {
        return new BluegreenConfig(
                listen, blue, green, admin, users, clientTls, limits, timeouts, stateDir, routing, newHealth, stateStore,
                peering);
    }

    /** The same configuration with another state store. */
    public BluegreenConfig withStateStore(StateStoreConfig store) {
        return new BluegreenConfig(
                listen, blue, green, admin, users, clientTls, limits, timeouts, stateDir, routing, health, store,
                peering);
    }
}
