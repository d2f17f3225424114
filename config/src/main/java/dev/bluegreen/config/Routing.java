package dev.bluegreen.config;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * How reads are shared between blue and green and which statements count as writes (DESIGN §4), and how
 * long the write barrier waits (DESIGN §5). The weight itself is not configuration: operators change it
 * while the proxy runs.
 *
 * @param stickyKey what stays on one cluster while the weight holds still
 * @param tenantParameter the startup parameter that names a session's tenant, lower case:
 *     {@code application_name}, {@code user}, {@code database} or any other; a
 *     {@code SET bluegreen.tenant} in the session overrides it
 * @param tenantPins tenant name (matched exactly) → the cluster that serves its reads whenever the weight
 *     is strictly between 0 and 100, whatever the sticky key
 * @param writeBarrierTimeout how long {@code start}, {@code cutover} and a rollback after cutover wait
 *     for in-flight writes before giving up and changing nothing
 * @param writeFunctions the application's own functions that write ({@code name} or
 *     {@code schema.name}): a query that calls one is never served as a read
 * @param readAfterWrite whose reads are sure to see a write once its commit is acknowledged, while the
 *     follower serves reads: when it is every connection's, a commit's acknowledgement waits for the follower's
 */
public record Routing(
        StickyKey stickyKey,
        String tenantParameter,
        Map<String, ClusterName> tenantPins,
        Duration writeBarrierTimeout,
        Set<String> writeFunctions,
        ReadAfterWrite readAfterWrite) {

    /** The name a client may also {@code SET}, so one name covers startup and mid-session changes. */
    public static final String DEFAULT_TENANT_PARAMETER = "bluegreen.tenant";
    public static final Duration DEFAULT_WRITE_BARRIER_TIMEOUT = Duration.ofSeconds(10);

    public Routing {
        Objects.requireNonNull(stickyKey, "stickyKey");
        Objects.requireNonNull(tenantParameter, "tenantParameter");
        Objects.requireNonNull(writeBarrierTimeout, "writeBarrierTimeout");
        Objects.requireNonNull(readAfterWrite, "readAfterWrite");
        if (tenantParameter.isBlank()) {
            throw new IllegalArgumentException("the tenant's startup parameter needs a name");
        }
        if (writeBarrierTimeout.isNegative() || writeBarrierTimeout.isZero()) {
            throw new IllegalArgumentException("the write barrier timeout must be more than 0");
        }
        tenantPins = Map.copyOf(tenantPins);
        writeFunctions = Set.copyOf(writeFunctions);
    }

    /** This routing, with {@code readAfterWrite} instead of its own. */
    public Routing withReadAfterWrite(ReadAfterWrite readAfterWrite) {
        return new Routing(stickyKey, tenantParameter, tenantPins, writeBarrierTimeout, writeFunctions, readAfterWrite);
    }

    /** This routing, with a write barrier that gives up after {@code timeout} instead of its own. */
    public Routing withWriteBarrierTimeout(Duration timeout) {
        return new Routing(stickyKey, tenantParameter, tenantPins, timeout, writeFunctions, readAfterWrite);
    }

    /**
     * Session stickiness, tenants from {@code bluegreen.tenant}, no pins, a 10 s barrier, no extra write functions,
     * writes visible to every connection once acknowledged.
     */
    public static Routing defaults() {
        return new Routing(StickyKey.SESSION, DEFAULT_TENANT_PARAMETER, Map.of(), DEFAULT_WRITE_BARRIER_TIMEOUT,
                Set.of(), ReadAfterWrite.EVERYWHERE);
    }
}
