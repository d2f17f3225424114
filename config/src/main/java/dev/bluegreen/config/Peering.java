package dev.bluegreen.config;

import java.util.Map;
import java.util.Objects;

/**
 * Several proxy instances behind one TCP load balancer, told of each other so that a CancelRequest reaches
 * the instance whose session it cancels: it opens a connection of its own, which the balancer may send to
 * any instance. Each instance mints its sessions' cancel keys with its {@code id} in them; one that receives
 * a key minted by another forwards the request to that instance's SQL listener, as PgBouncer's peering does.
 *
 * @param id    this instance, 1–{@value #MAX_ID}; 0 when peering is off
 * @param peers every other instance by its id: where its SQL listener is reachable from this one
 */
public record Peering(int id, Map<Integer, HostPort> peers) {

    public static final int MAX_ID = 255;

    public Peering {
        Objects.requireNonNull(peers, "peers");
        if (id < 0 || id > MAX_ID) {
            throw new IllegalArgumentException("a peer id is 1.." + MAX_ID + ", was " + id);
        }
        if (id == 0 && !peers.isEmpty()) {
            throw new IllegalArgumentException("peers need this instance's own id");
        }
        if (peers.containsKey(id) || peers.keySet().stream().anyMatch(p -> p < 1 || p > MAX_ID)) {
            throw new IllegalArgumentException("peer ids are 1.." + MAX_ID + " and not this instance's own");
        }
        peers = Map.copyOf(peers);
    }

    /** No peering: one instance, or cancel requests served only where they land. */
    public static Peering none() {
        return new Peering(0, Map.of());
    }

    public boolean enabled() {
        return id != 0;
    }
}
