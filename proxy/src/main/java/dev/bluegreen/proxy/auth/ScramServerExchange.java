package dev.bluegreen.proxy.auth;

import static dev.bluegreen.proxy.auth.ScramVerifier.MECHANISM;

import com.ongres.scram.common.ScramFunctions;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The server side of one SCRAM-SHA-256 login (RFC 5802, RFC 7677), bound to the TLS connection where the client chose
 * SCRAM-SHA-256-PLUS ({@code tls-server-end-point}, RFC 5929: the proxy's certificate):
 * client-first → server-first, client-final → server-final or failure.
 *
 * <pre>
 *   new ──clientFirst()──▶ challenged ──clientFinal()──▶ done (verified or not)
 * </pre>
 *
 * Postgres ignores the SCRAM user name (the startup packet's user is authoritative), and so do we.
 */
public final class ScramServerExchange {

    /** The client's proof was wrong, or its messages were malformed. */
    public static final class Failed extends Exception {
        private final boolean malformed;

        Failed(String message) {
            this(message, true);
        }

        private Failed(String message, boolean malformed) {
            super(message, null, false, false);
            this.malformed = malformed;
        }

        /** The proof did not match: a wrong password, or a user that does not exist (told apart by nothing). */
        static Failed wrongPassword() {
            return new Failed("password authentication failed", false);
        }

        /**
         * Whether the client broke the SCRAM exchange (a malformed or unexpected message, channel binding it
         * was not offered, a nonce not the server's), which Postgres answers as a protocol violation
         * (08P01), rather than gave a wrong password (28P01).
         */
        public boolean malformed() {
            return malformed;
        }
    }

    private final ScramVerifier verifier;
    private final SecureRandom random;
    private final boolean impostor;
    /** The proxy certificate's {@code tls-server-end-point} data where SCRAM-SHA-256-PLUS was offered; null if not. */
    private final byte[] endPoint;
    /** Whether the client chose SCRAM-SHA-256-PLUS. */
    private final boolean bound;
    private String clientFirstBare;
    private String serverFirst;
    private String nonce;
    private String expectedChannelBinding;
    private byte[] clientKey;

    public ScramServerExchange(ScramVerifier verifier, SecureRandom random) {
        this(verifier, random, false, null, false);
    }

    /**
     * @param endPoint the {@code tls-server-end-point} data of the certificate the proxy presented on this connection,
     *                 where it offered SCRAM-SHA-256-PLUS (over TLS); null where it did not
     * @param bound    whether the client chose SCRAM-SHA-256-PLUS
     */
    public ScramServerExchange(ScramVerifier verifier, SecureRandom random, byte[] endPoint, boolean bound) {
        this(verifier, random, false, endPoint, bound);
    }

    private ScramServerExchange(ScramVerifier verifier, SecureRandom random, boolean impostor, byte[] endPoint,
                                boolean bound) {
        if (bound && endPoint == null) {
            throw new IllegalArgumentException("SCRAM-SHA-256-PLUS chosen where it was not offered");
        }
        this.verifier = verifier;
        this.random = random;
        this.impostor = impostor;
        this.endPoint = endPoint == null ? null : endPoint.clone();
        this.bound = bound;
    }

    /**
     * An exchange for a user that does not exist: it challenges like any other, with a salt that is
     * the same on every attempt for that name, and fails at the proof. As in Postgres, an unknown
     * name cannot be told from a wrong password.
     */
    public static ScramServerExchange impostor(String user, byte[] secret, SecureRandom random, byte[] endPoint,
                                               boolean bound) {
        byte[] salt;
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            salt = Arrays.copyOf(mac.doFinal(user.getBytes(StandardCharsets.UTF_8)), ScramVerifier.SALT_BYTES);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
        byte[] unmatchable = ScramFunctions.salt(32, random);
        return new ScramServerExchange(new ScramVerifier(salt, ScramVerifier.DEFAULT_ITERATIONS, unmatchable, unmatchable),
                random, true, endPoint, bound);
    }

    /**
     * Takes the client-first message and returns the server-first message. The grammar is RFC 5802's,
     * read as Postgres reads it: the SCRAM user name is ignored (libpq sends it empty), an authorization identity is
     * refused, extensions after the nonce are ignored. The channel-binding flag must agree with the mechanism the
     * client chose: {@code p=tls-server-end-point} with SCRAM-SHA-256-PLUS, {@code n} or {@code y} without, and not
     * {@code y} where the proxy offered -PLUS (the client could bind and thinks the proxy cannot: someone between took
     * the offer away).
     *
     * <pre>
     *   client-first = ("n" / "y" / "p=" cb-name) "," "," "n=" name "," "r=" nonce *("," extension)
     * </pre>
     */
    public byte[] clientFirst(byte[] message) throws Failed {
        if (serverFirst != null) {
            throw new Failed("unexpected client-first message");
        }
        String text = new String(message, StandardCharsets.UTF_8);
        String[] parts = text.split(",", -1);
        if (parts.length < 4) {
            throw new Failed("malformed SCRAM client-first message");
        }
        if (parts[0].startsWith("p=")) {
            if (!bound) {
                throw new Failed("malformed SCRAM message: the client selected SCRAM-SHA-256 without channel binding,"
                        + " but the SCRAM message includes channel binding data");
            }
            if (!parts[0].equals("p=" + ScramClientExchange.TLS_SERVER_END_POINT)) {
                throw new Failed("unsupported SCRAM channel-binding type \"" + parts[0].substring(2) + "\"");
            }
        } else if (!parts[0].equals("n") && !parts[0].equals("y")) {
            throw new Failed("malformed SCRAM client-first message: channel binding flag " + parts[0]);
        } else if (bound) {
            throw new Failed("malformed SCRAM message: the client selected SCRAM-SHA-256-PLUS, but the SCRAM message"
                    + " does not include channel binding data");
        } else if (parts[0].equals("y") && endPoint != null) {
            throw new Failed("SCRAM channel binding negotiation error: the client supports channel binding but thinks"
                    + " the server does not; this server does");
        }
        if (!parts[1].isEmpty()) {
            throw new Failed("SCRAM authorization identity is not supported");
        }
        if (parts[2].startsWith("m=")) {
            throw new Failed("unsupported SCRAM extension " + parts[2]);
        }
        if (!parts[2].startsWith("n=") || !parts[3].startsWith("r=")) {
            throw new Failed("malformed SCRAM client-first message");
        }
        String clientNonce = parts[3].substring(2);
        if (clientNonce.isEmpty() || !clientNonce.chars().allMatch(c -> c >= 0x21 && c <= 0x7e)) {
            throw new Failed("malformed SCRAM client-first message: nonce");
        }
        String gs2Header = parts[0] + ",,";
        clientFirstBare = text.substring(gs2Header.length());
        byte[] header = gs2Header.getBytes(StandardCharsets.UTF_8);
        byte[] cbindInput = bound ? Arrays.copyOf(header, header.length + endPoint.length) : header;
        if (bound) {
            System.arraycopy(endPoint, 0, cbindInput, header.length, endPoint.length);
        }
        expectedChannelBinding = Base64.getEncoder().encodeToString(cbindInput);
        nonce = clientNonce + ScramFunctions.nonce(24, random);
        serverFirst = "r=" + nonce
                + ",s=" + Base64.getEncoder().encodeToString(verifier.salt())
                + ",i=" + verifier.iterations();
        return serverFirst.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Takes the client-final message, checks the proof, and returns the server-final message.
     *
     * <pre>
     *   client-final = "c=" channel-binding "," "r=" nonce *("," extension) "," "p=" proof
     * </pre>
     */
    public byte[] clientFinal(byte[] message) throws Failed {
        if (serverFirst == null) {
            throw new Failed("unexpected client-final message");
        }
        String text = new String(message, StandardCharsets.UTF_8);
        int proofAt = text.lastIndexOf(",p=");
        if (proofAt < 0) {
            throw new Failed("malformed SCRAM client-final message");
        }
        String withoutProof = text.substring(0, proofAt);
        String[] attributes = withoutProof.split(",", -1);
        if (attributes.length < 2 || !attributes[0].startsWith("c=") || !attributes[1].startsWith("r=")) {
            throw new Failed("malformed SCRAM client-final message");
        }
        if (!expectedChannelBinding.equals(attributes[0].substring(2)) || !nonce.equals(attributes[1].substring(2))) {
            throw new Failed("SCRAM channel binding or nonce mismatch");
        }
        byte[] proof;
        try {
            proof = Base64.getDecoder().decode(text.substring(proofAt + 3));
        } catch (IllegalArgumentException e) {
            throw new Failed("malformed SCRAM proof");
        }
        if (proof.length != verifier.storedKey().length) {
            throw new Failed("malformed SCRAM proof"); // Postgres: 08P01, not a wrong password
        }
        String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
        byte[] proven = provenClientKey(proof, authMessage);
        if (proven == null || impostor) {
            throw Failed.wrongPassword();
        }
        clientKey = proven;
        byte[] signature = ScramFunctions.serverSignature(MECHANISM, verifier.serverKey(), authMessage);
        return ("v=" + Base64.getEncoder().encodeToString(signature)).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The ClientKey the client proved, once its proof was right: with the configuration holding the role's SCRAM
     * secret rather than its password, it is what proves the proxy's own login as the role to a cluster that stores
     * the same secret (PgBouncer does the same). Null before.
     */
    public byte[] clientKey() {
        return clientKey == null ? null : clientKey.clone();
    }

    /** ClientKey = proof XOR ClientSignature; the proof is right when H(ClientKey) == StoredKey. Null if it is not. */
    private byte[] provenClientKey(byte[] proof, String authMessage) {
        byte[] clientSignature = ScramFunctions.clientSignature(MECHANISM, verifier.storedKey(), authMessage);
        byte[] key = new byte[proof.length];
        for (int i = 0; i < proof.length; i++) {
            key[i] = (byte) (proof[i] ^ clientSignature[i]);
        }
        return MessageDigest.isEqual(ScramFunctions.hash(MECHANISM, key), verifier.storedKey()) ? key : null;
    }
}
