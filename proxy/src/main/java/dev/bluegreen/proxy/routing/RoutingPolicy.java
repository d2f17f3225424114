package dev.bluegreen.proxy.routing;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Chooses the cluster that serves a unit's reads (DESIGN §4.1): green when the sticky key's bucket is
 * below the weight, blue otherwise, with tenant pins consulted first. Pure and immutable; a new policy is
 * built when the pin list changes.
 *
 * <p>Monotonic by construction: a key's bucket never changes, so raising the weight can only move keys
 * from blue to green, and a key that went green stays green until the weight falls below its bucket.
 *
 * <p>Weights 0 and 100 are absolute and override every pin. Weight 0 is rollback, blue alone, or a green
 * out of sync; weight 100 is cutover or green alone after finalize; in those states one cluster must not
 * serve reads. Strictly between them the control plane guarantees both clusters may serve, and pins
 * shape who goes where. To canary one pinned tenant before anyone else, set weight 1.
 */
public final class RoutingPolicy {

    public static final int BUCKETS = 100;

    private static final RoutingPolicy WITHOUT_PINS = new RoutingPolicy(Map.of());

    private final Map<String, ClusterRole> tenantPins;

    /** @param tenantPins tenant name (matched exactly) → the cluster it is pinned to */
    public RoutingPolicy(Map<String, ClusterRole> tenantPins) {
        this.tenantPins = Map.copyOf(tenantPins);
    }

    public static RoutingPolicy withoutPins() {
        return WITHOUT_PINS;
    }

    public Map<String, ClusterRole> tenantPins() {
        return tenantPins;
    }

    /**
     * @param stickyKey the unit's key ({@link StickyKeys#unitKey})
     * @param weight    0–100, green's share
     * @param tenant    the session's tenant, if known
     */
    public RouteDecision route(long stickyKey, int weight, Optional<String> tenant) {
        checkWeight(weight);
        if (weight > 0 && weight < BUCKETS) {
            Optional<ClusterRole> pin = tenant.map(tenantPins::get);
            if (pin.isPresent()) {
                return new RouteDecision(pin.get(), RouteDecision.Basis.TENANT_PIN);
            }
        }
        return new RouteDecision(serve(stickyKey, weight), RouteDecision.Basis.WEIGHT);
    }

    /** Green when {@code bucket(key) < weight}: a key's bucket is fixed, so raising the weight never moves it back. */
    public static ClusterRole serve(long stickyHash, int weight) {
        checkWeight(weight);
        return bucket(stickyHash) < weight ? ClusterRole.GREEN : ClusterRole.BLUE;
    }

    /**
     * The key's bucket, 0..99, uniform over keys. The key is mixed first, so sequential session ids and
     * similar tenant names spread as well as random keys do.
     */
    public static int bucket(long stickyHash) {
        return (int) Long.remainderUnsigned(Hashing.mix64(stickyHash), BUCKETS);
    }

    private static void checkWeight(int weight) {
        if (weight < 0 || weight > BUCKETS) {
            throw new IllegalArgumentException("weight must be 0..100, was " + weight);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RoutingPolicy other && tenantPins.equals(other.tenantPins);
    }

    @Override
    public int hashCode() {
        return Objects.hash(tenantPins);
    }
}
