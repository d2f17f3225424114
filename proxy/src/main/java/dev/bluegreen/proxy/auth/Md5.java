package dev.bluegreen.proxy.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Postgres md5 authentication: {@code "md5" + md5hex(md5hex(password + user) + salt)}. The inner part, with
 * {@code md5} before it, is what Postgres stores for such a password (its secret), and all a login needs.
 */
public final class Md5 {

    private Md5() {}

    /** The secret Postgres stores for {@code password} of {@code user}: {@code "md5" + md5hex(password + user)}. */
    public static String secret(String user, String password) {
        return "md5" + hex(concat(password.getBytes(StandardCharsets.UTF_8), user.getBytes(StandardCharsets.UTF_8)));
    }

    public static String response(String user, String password, byte[] salt) {
        return responseFromSecret(secret(user, password), salt);
    }

    /** The answer to a challenge with {@code salt}, from the stored {@code secret} ({@code md5} and 32 hex digits). */
    public static String responseFromSecret(String secret, byte[] salt) {
        return "md5" + hex(concat(secret.substring(3).getBytes(StandardCharsets.US_ASCII), salt));
    }

    /** Constant-time check of a client's answer against the stored {@code secret}. */
    public static boolean verify(String secret, byte[] salt, String clientResponse) {
        byte[] expected = responseFromSecret(secret, salt).getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(expected, clientResponse.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static String hex(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK always has MD5", e);
        }
    }
}
