package dev.bluegreen.config;

import java.util.Locale;

/**
 * Whose reads are sure to see a write once its client has been told it committed, while the follower
 * serves reads (DESIGN §4, §5): every connection's, or the writing session's own.
 */
public enum ReadAfterWrite {
    /**
     * Every connection's (the default): while the follower serves a share of reads, a commit is
     * acknowledged only once the follower has committed it too, as a single server would make it visible
     * to every later read. Costs each write transaction the follower's commit.
     */
    EVERYWHERE,
    /**
     * The writing session's own: a commit is acknowledged once the leader has committed it, and the
     * session's next unit waits for the follower's commit; a read another connection sends right after the
     * acknowledgement may be served by the follower before that commit has landed there.
     */
    SESSION;

    /** The spelling used in YAML: {@code everywhere}, {@code session}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
