package dev.bluegreen.proxy.routing;

/** The two clusters by role in the migration: blue is today's, green the one being moved to. */
public enum ClusterRole {
    BLUE,
    GREEN;

    public ClusterRole other() {
        return this == BLUE ? GREEN : BLUE;
    }
}
