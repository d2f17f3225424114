package dev.bluegreen.config;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;

/**
 * What PostgreSQL stores for a password (in {@code pg_authid.rolpassword}, and what {@code pg_dumpall} writes), which
 * a user's {@code password} may give in place of the password itself, as PgBouncer's {@code auth_file} does. The forms
 * are PostgreSQL's, told apart as it tells them apart:
 *
 * <ul>
 *   <li>{@link Md5}: {@code md5} and 32 lowercase hex digits, md5 of the password followed by the user name;</li>
 *   <li>{@link Scram}: {@code SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey}, the three last in base64
 *       (RFC 5803), each key 32 bytes.</li>
 * </ul>
 *
 * Anything else is the password itself. Unlike PostgreSQL, which takes a value that begins as a SCRAM secret and does
 * not parse as one for a password, such a value is a problem here: no one means that as a password.
 */
public sealed interface StoredSecret {

    String SCRAM_PREFIX = "SCRAM-SHA-256$";

    /** md5(password || user name), as {@code md5} and 32 lowercase hex digits. It proves an md5 login only. */
    record Md5(String secret) implements StoredSecret {
        @Override
        public String toString() {
            return "Md5[***]";
        }
    }

    /**
     * A SCRAM-SHA-256 secret: it checks a client's SCRAM login, and proves one to a cluster that stores the same
     * secret, with the ClientKey the client's own login proved (the password itself is never known).
     */
    record Scram(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey) implements StoredSecret {
        public Scram {
            salt = salt.clone();
            storedKey = storedKey.clone();
            serverKey = serverKey.clone();
        }

        @Override
        public byte[] salt() {
            return salt.clone();
        }

        @Override
        public byte[] storedKey() {
            return storedKey.clone();
        }

        @Override
        public byte[] serverKey() {
            return serverKey.clone();
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Scram that && iterations == that.iterations && Arrays.equals(salt, that.salt)
                    && Arrays.equals(storedKey, that.storedKey) && Arrays.equals(serverKey, that.serverKey);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(storedKey);
        }

        @Override
        public String toString() {
            return "Scram[***]";
        }
    }

    /**
     * The stored secret {@code password} gives, or empty where it is the password itself.
     *
     * @throws IllegalArgumentException where it begins as a SCRAM secret and is not one; the message says what is
     *                                  wrong without repeating the value
     */
    static Optional<StoredSecret> of(Secret password) {
        String value = password.reveal();
        if (value.length() == 35 && value.startsWith("md5") && value.substring(3).chars()
                .allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return Optional.of(new Md5(value));
        }
        if (!value.startsWith(SCRAM_PREFIX)) {
            return Optional.empty();
        }
        String[] halves = value.substring(SCRAM_PREFIX.length()).split("\\$", -1);
        String[] counted = halves[0].split(":", -1);
        String[] keys = halves.length == 2 ? halves[1].split(":", -1) : new String[0];
        if (halves.length != 2 || counted.length != 2 || keys.length != 2) {
            throw new IllegalArgumentException("not a SCRAM-SHA-256 secret (expected " + SCRAM_PREFIX
                    + "iterations:salt$StoredKey:ServerKey)");
        }
        int iterations;
        try {
            iterations = Integer.parseInt(counted[0]);
        } catch (NumberFormatException e) {
            iterations = 0;
        }
        if (iterations < 1 || !counted[0].chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("not a SCRAM-SHA-256 secret: its iteration count is not a whole number"
                    + " from 1 to " + Integer.MAX_VALUE);
        }
        byte[] salt = base64(counted[1], "salt");
        if (salt.length == 0) {
            throw new IllegalArgumentException("not a SCRAM-SHA-256 secret: its salt is empty");
        }
        return Optional.of(new Scram(iterations, salt, key(keys[0], "StoredKey"), key(keys[1], "ServerKey")));
    }

    private static byte[] key(String text, String name) {
        byte[] key = base64(text, name);
        if (key.length != 32) {
            throw new IllegalArgumentException("not a SCRAM-SHA-256 secret: its " + name + " is " + key.length
                    + " bytes, not 32");
        }
        return key;
    }

    private static byte[] base64(String text, String name) {
        try {
            return Base64.getDecoder().decode(text.getBytes(StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a SCRAM-SHA-256 secret: its " + name + " is not base64");
        }
    }
}
