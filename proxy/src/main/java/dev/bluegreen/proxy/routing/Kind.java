package dev.bluegreen.proxy.routing;

/**
 * What a statement may do to the data. Only a statement the classifier proves read-only is a
 * {@link #READ}; everything else, including what it cannot read, is a {@link #WRITE}, because routing a
 * write to one cluster only would make the twins differ while routing a read to both only costs time.
 */
public enum Kind {
    /** Proven not to change data or session state: may be served by either cluster alone. */
    READ,
    /** Changes, or may change, data or session state: goes to the leader, then the follower. */
    WRITE
}
