package dev.bluegreen.proxy.routing;

import java.util.Objects;

/**
 * Which cluster serves a unit's reads, and why (for metrics and for a user asking why their tenant is
 * on green).
 */
public record RouteDecision(ClusterRole serving, Basis basis) {

    public enum Basis {
        /** The key's bucket against the weight. */
        WEIGHT,
        /** The tenant's pin, which the weight did not override. */
        TENANT_PIN
    }

    public RouteDecision {
        Objects.requireNonNull(serving, "serving");
        Objects.requireNonNull(basis, "basis");
    }
}
