package dev.bluegreen.proxy.auth;

import com.ongres.scram.common.ClientFirstMessage;
import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.exception.ScramParseException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The server side of one SCRAM-SHA-256 login (RFC 5802, RFC 7677) without channel binding:
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
        Failed(String message) {
            super(message, null, false, false);
        }
    }

    private final ScramVerifier verifier;
    private final SecureRandom random;
    private String clientFirstBare;
    private String serverFirst;
    private String nonce;
    private String expectedChannelBinding;

    public ScramServerExchange(ScramVerifier verifier, SecureRandom random) {
        this.verifier = verifier;
        this.random = random;
    }

    /** Takes the client-first message and returns the server-first message. */
    public byte[] clientFirst(byte[] message) throws Failed {
        if (serverFirst != null) {
            throw new Failed("unexpected client-first message");
        }
        String text = new String(message, StandardCharsets.UTF_8);
        ClientFirstMessage parsed;
        try {
            parsed = ClientFirstMessage.parseFrom(text);
        } catch (ScramParseException | IllegalArgumentException e) {
            throw new Failed("malformed SCRAM client-first message");
        }
        if (parsed.isChannelBindingRequired()) {
            throw new Failed("channel binding is not supported by bluegreen");
        }
        int headerEnd = text.indexOf(',', text.indexOf(',') + 1);
        String gs2Header = text.substring(0, headerEnd + 1);
        clientFirstBare = text.substring(headerEnd + 1);
        expectedChannelBinding = Base64.getEncoder().encodeToString(gs2Header.getBytes(StandardCharsets.UTF_8));
        nonce = parsed.getClientNonce() + ScramFunctions.nonce(24, random);
        serverFirst = "r=" + nonce
                + ",s=" + Base64.getEncoder().encodeToString(verifier.salt())
                + ",i=" + verifier.iterations();
        return serverFirst.getBytes(StandardCharsets.UTF_8);
    }

    /** Takes the client-final message, checks the proof, and returns the server-final message. */
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
        String channelBinding = null;
        String finalNonce = null;
        for (String attribute : withoutProof.split(",")) {
            if (attribute.startsWith("c=")) {
                channelBinding = attribute.substring(2);
            } else if (attribute.startsWith("r=")) {
                finalNonce = attribute.substring(2);
            }
        }
        if (!expectedChannelBinding.equals(channelBinding) || !nonce.equals(finalNonce)) {
            throw new Failed("SCRAM channel binding or nonce mismatch");
        }
        byte[] proof;
        try {
            proof = Base64.getDecoder().decode(text.substring(proofAt + 3));
        } catch (IllegalArgumentException e) {
            throw new Failed("malformed SCRAM proof");
        }
        String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
        if (proof.length != verifier.storedKey().length
                || !verifyProof(proof, authMessage)) {
            throw new Failed("password authentication failed");
        }
        byte[] signature = ScramFunctions.serverSignature(ScramVerifier.MECHANISM, verifier.serverKey(), authMessage);
        return ("v=" + Base64.getEncoder().encodeToString(signature)).getBytes(StandardCharsets.UTF_8);
    }

    private boolean verifyProof(byte[] proof, String authMessage) {
        // ClientKey = proof XOR ClientSignature; the proof is right when H(ClientKey) == StoredKey.
        byte[] clientSignature = ScramFunctions.clientSignature(ScramVerifier.MECHANISM, verifier.storedKey(), authMessage);
        byte[] clientKey = new byte[proof.length];
        for (int i = 0; i < proof.length; i++) {
            clientKey[i] = (byte) (proof[i] ^ clientSignature[i]);
        }
        return MessageDigest.isEqual(ScramFunctions.hash(ScramVerifier.MECHANISM, clientKey), verifier.storedKey());
    }
}
