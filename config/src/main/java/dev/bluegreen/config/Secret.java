package dev.bluegreen.config;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Objects;

/**
 * A password or other credential. Its value leaves this object only through {@link #reveal()},
 * so that printing a configuration, a cluster or a user can never leak it.
 */
public final class Secret {

    private final String value;

    private Secret(String value) {
        this.value = Objects.requireNonNull(value, "value");
    }

    public static Secret of(String value) {
        return new Secret(value);
    }

    /** The secret value; call it only where the value is used, never to log or display it. */
    public String reveal() {
        return value;
    }

    @Override
    public String toString() {
        return "***";
    }

    /** By value, in time independent of where the values differ. */
    @Override
    public boolean equals(Object other) {
        return other instanceof Secret that
                && MessageDigest.isEqual(
                        value.getBytes(StandardCharsets.UTF_8), that.value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public int hashCode() {
        return value.hashCode();
    }
}
