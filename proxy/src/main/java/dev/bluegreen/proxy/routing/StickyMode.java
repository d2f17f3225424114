package dev.bluegreen.proxy.routing;

/** What a unit's sticky key is made of, and so what stays on one cluster while the weight holds still. */
public enum StickyMode {
    /** The session: all of a session's read units go to one cluster (the default). */
    SESSION,
    /** The tenant ({@link TenantSource}, or {@code SET bluegreen.tenant}); the session when there is none. */
    TENANT,
    /** Nothing: every unit is placed on its own, so a session's reads may alternate between clusters. */
    NONE
}
