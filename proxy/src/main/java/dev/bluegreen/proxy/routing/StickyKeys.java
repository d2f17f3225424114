package dev.bluegreen.proxy.routing;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Derives a unit's sticky key under the configured {@link StickyMode}. The key is an opaque long that
 * {@link RoutingPolicy#bucket} spreads over 100 buckets; what it is made of decides what stays together:
 * the session, the tenant, or nothing at all.
 *
 * <p>Tenant keys hash the tenant's name with a fixed function, so every proxy instance behind a load
 * balancer, and every restart, places a tenant in the same bucket. Session keys only need to be stable for
 * the session's life.
 */
public final class StickyKeys {

    /** Keeps unit keys apart from session keys even when the numbers coincide. */
    private static final long UNIT_SALT = 0x9e3779b97f4a7c15L;

    private final StickyMode mode;
    /** The setting a client {@code SET}s to name its tenant mid-session (a custom setting: the server keeps it too). */
    public static final String TENANT_SETTING = "bluegreen.tenant";

    private final TenantSource tenantSource;

    public StickyKeys(StickyMode mode, TenantSource tenantSource) {
        this.mode = Objects.requireNonNull(mode, "mode");
        this.tenantSource = Objects.requireNonNull(tenantSource, "tenantSource");
    }

    public StickyMode mode() {
        return mode;
    }

    public TenantSource tenantSource() {
        return tenantSource;
    }

    /**
     * A session's tenant: what it last {@code SET bluegreen.tenant} to, else what its startup parameters
     * say. Pins apply to it in every mode; only {@link StickyMode#TENANT} also keys on it.
     *
     * @param setTenant the value of the session's latest {@code SET bluegreen.tenant}, empty if none or reset
     */
    public Optional<String> tenant(Map<String, String> startupParameters, Optional<String> setTenant) {
        return tenant(setTenant, tenantSource.tenantOf(startupParameters));
    }

    /**
     * {@link #tenant(Map, Optional)} for a caller that has already read its startup parameters with
     * {@link TenantSource#tenantOf} (they do not change during a session) and keeps the answer.
     */
    public Optional<String> tenant(Optional<String> setTenant, Optional<String> startupTenant) {
        return setTenant.filter(t -> !t.isBlank()).or(() -> startupTenant);
    }

    /**
     * The sticky key of one unit.
     *
     * @param sessionId    the proxy's id for the session, unique among live sessions
     * @param unitSequence the unit's number within the session
     * @param tenant       the session's tenant at the start of the unit ({@link #tenant})
     */
    public long unitKey(long sessionId, long unitSequence, Optional<String> tenant) {
        return switch (mode) {
            case SESSION -> ofSession(sessionId);
            // a session without a tenant keeps its units together rather than scattering them
            case TENANT -> tenant.map(StickyKeys::ofTenant).orElseGet(() -> ofSession(sessionId));
            case NONE -> ofUnit(sessionId, unitSequence);
        };
    }

    public static long ofSession(long sessionId) {
        return Hashing.mix64(sessionId);
    }

    public static long ofTenant(String tenant) {
        return Hashing.text64(tenant);
    }

    public static long ofUnit(long sessionId, long unitSequence) {
        return Hashing.mix64(Hashing.mix64(sessionId ^ UNIT_SALT) + unitSequence);
    }
}
