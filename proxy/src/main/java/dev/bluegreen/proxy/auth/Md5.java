package dev.bluegreen.proxy.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Postgres md5 authentication: {@code "md5" + md5hex(md5hex(password + user) + salt)}. */
public final class Md5 {

    private Md5() {}

    public static String response(String user, String password, byte[] salt) {
        String inner = hex(concat(password.getBytes(StandardCharsets.UTF_8), user.getBytes(StandardCharsets.UTF_8)));
        return "md5" + hex(concat(inner.getBytes(StandardCharsets.US_ASCII), salt));
    }

    /** Constant-time check of a client's answer. */
    public static boolean verify(String user, String password, byte[] salt, String clientResponse) {
        byte[] expected = response(user, password, salt).getBytes(StandardCharsets.US_ASCII);
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
