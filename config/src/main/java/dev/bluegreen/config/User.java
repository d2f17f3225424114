package dev.bluegreen.config;

import java.util.Objects;

/**
 * A user a client may log in to the proxy as. The proxy terminates client authentication itself
 * and logs in to the clusters with each cluster's own credentials.
 *
 * @param password the plain-text password; null only for {@link AuthMethod#TRUST}
 */
public record User(String name, AuthMethod auth, Secret password) {

    public User {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(auth, "auth");
        if (password == null && auth != AuthMethod.TRUST) {
            throw new IllegalArgumentException("a password is required for " + auth.configName());
        }
    }
}
