package dev.bluegreen.config;

import java.util.Locale;

/** One of the two clusters by its place in the migration, as the configuration names them. */
public enum ClusterName {
    /** Today's cluster. */
    BLUE,
    /** The migration target. */
    GREEN;

    /** The spelling used in YAML: {@code blue}, {@code green}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
