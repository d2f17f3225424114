package dev.bluegreen.config;

import java.util.Objects;
import java.util.Optional;

/**
 * A user a client may log in to the proxy as. The proxy terminates client authentication itself
 * and logs in to the clusters with each cluster's own credentials.
 *
 * @param password the password, or the secret PostgreSQL stores for it ({@link StoredSecret}); null only for
 *                 {@link AuthMethod#TRUST}. An md5 secret checks md5 logins only; with a SCRAM secret a client is
 *                 asked for SCRAM even where {@code auth} is md5, as PostgreSQL asks for it
 */
public record User(String name, AuthMethod auth, Secret password) {

    public User {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(auth, "auth");
        if (password == null && auth != AuthMethod.TRUST) {
            throw new IllegalArgumentException("a password is required for " + auth.configName());
        }
        if (password != null && auth == AuthMethod.SCRAM_SHA_256
                && StoredSecret.of(password).orElse(null) instanceof StoredSecret.Md5) {
            throw new IllegalArgumentException(MD5_SECRET_FOR_SCRAM);
        }
    }

    static final String MD5_SECRET_FOR_SCRAM = "an md5 secret cannot check a SCRAM-SHA-256 login; give the password,"
            + " its SCRAM-SHA-256 secret, or auth: md5";

    /** The secret the password is given as, or empty where it is the password itself (or there is none). */
    public Optional<StoredSecret> storedSecret() {
        return password == null ? Optional.empty() : StoredSecret.of(password);
    }

    /**
     * The method a client logging in as this user is asked for: SCRAM-SHA-256 for a SCRAM secret whatever
     * {@code auth} says, as PostgreSQL asks for SCRAM on an {@code md5} line of {@code pg_hba.conf} for a role whose
     * password it stores so (the secret cannot check an md5 answer).
     */
    public AuthMethod challenge() {
        return auth == AuthMethod.MD5 && storedSecret().orElse(null) instanceof StoredSecret.Scram
                ? AuthMethod.SCRAM_SHA_256 : auth;
    }
}
