package dev.bluegreen.config;

import java.util.Locale;

/**
 * What keeps a client's reads together on one cluster while the weight holds still (DESIGN §4.1): a read
 * goes to green when its key's bucket (0–99) is below the weight.
 */
public enum StickyKey {
    /** The session: every read of a session goes to the same cluster (the default). */
    SESSION,
    /** The tenant ({@link Routing#tenantParameter()} or {@code SET bluegreen.tenant}); the session when none. */
    TENANT,
    /** Nothing: every read is placed on its own, so green serves the weight's share of all reads. */
    NONE;

    /** The spelling used in YAML: {@code session}, {@code tenant}, {@code none}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
