package dev.bluegreen.proxy.auth;

import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.ScramMechanism;
import com.ongres.scram.common.StringPreparation;
import dev.bluegreen.config.StoredSecret;
import java.security.SecureRandom;

/**
 * What a SCRAM server keeps of a password (RFC 5802 §3): salt, iteration count, StoredKey and
 * ServerKey. Derived once per user, because PBKDF2 is deliberately slow and a login must not pay it.
 */
public record ScramVerifier(byte[] salt, int iterations, byte[] storedKey, byte[] serverKey) {

    public static final int DEFAULT_ITERATIONS = 4096;
    static final int SALT_BYTES = 16;
    static final ScramMechanism MECHANISM = ScramMechanism.SCRAM_SHA_256;

    /** The verifier a SCRAM secret from the configuration holds, as PostgreSQL stores it. */
    public static ScramVerifier of(StoredSecret.Scram secret) {
        return new ScramVerifier(secret.salt(), secret.iterations(), secret.storedKey(), secret.serverKey());
    }

    public static ScramVerifier derive(String password, SecureRandom random) {
        byte[] salt = ScramFunctions.salt(SALT_BYTES, random);
        byte[] salted = ScramFunctions.saltedPassword(MECHANISM, StringPreparation.POSTGRESQL_PREPARATION,
                password.toCharArray(), salt, DEFAULT_ITERATIONS);
        return new ScramVerifier(salt, DEFAULT_ITERATIONS,
                ScramFunctions.storedKey(MECHANISM, ScramFunctions.clientKey(MECHANISM, salted)),
                ScramFunctions.serverKey(MECHANISM, salted));
    }
}
