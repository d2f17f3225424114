package dev.bluegreen.config;

import java.util.Locale;
import java.util.Optional;

/** A value spelled in configuration by a name of its own ({@code scram-sha-256}, {@code verify-full}, {@code prefer}). */
interface ConfigName {

    /** The spelling used in YAML and in URLs. */
    String configName();

    /** The one of {@code values} spelled {@code s}, trimmed and in any case; empty where none is. */
    static <E extends ConfigName> Optional<E> find(E[] values, String s) {
        String wanted = s.trim().toLowerCase(Locale.ROOT);
        for (E value : values) {
            if (value.configName().equals(wanted)) {
                return Optional.of(value);
            }
        }
        return Optional.empty();
    }
}
