package dev.bluegreen.proxy.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.ongres.scram.client.ScramClient;
import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.ScramMechanism;
import com.ongres.scram.common.ServerFirstMessage;
import com.ongres.scram.common.StringPreparation;
import com.ongres.scram.common.exception.ScramException;
import com.ongres.scram.common.util.TlsServerEndpoint;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * The client side of a SCRAM-SHA-256 login to a cluster, on top of the ongres SCRAM client.
 *
 * <p>The keys a login proves itself with are derived from the password, the role's salt and an iteration count
 * (PBKDF2, 4,096 rounds of HMAC-SHA-256 by default: milliseconds of CPU). A cluster hands out the same salt
 * for a role until its password changes, so the keys are remembered by password, salt and count, as PgBouncer
 * does: a pool of connections opened at once, or reopened after a failover, derives them once per role and
 * cluster (logins racing on two event loops may each derive them). A new salt (the
 * password was set again) is a new entry; an entry unused for an hour goes.
 */
public final class ScramClientExchange {

    public static final String MECHANISM = "SCRAM-SHA-256";
    /** SCRAM-SHA-256 bound to the TLS connection ({@code tls-server-end-point}, RFC 5929 and 5802). */
    public static final String MECHANISM_PLUS = "SCRAM-SHA-256-PLUS";
    static final String TLS_SERVER_END_POINT = TlsServerEndpoint.TLS_SERVER_END_POINT;

    /**
     * The most iterations a cluster may ask for. The keys are derived on the event loop the login runs on, a
     * million rounds in about half a second, once per role, salt and count; the count comes from the server
     * (PostgreSQL's {@code scram_iterations}, 4,096 by default, allows up to 2^31 - 1), and a server, or a man in
     * the middle under {@code require}, asking for billions would stall every session on that loop for minutes.
     */
    static final int MAX_ITERATIONS = 1_000_000;

    private static final int NONCE_LENGTH = 24;
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * What the keys are a function of, the password by its SHA-256 (a password changed in the configuration does
     * not stay in memory with its entry). The memo is of a pure function, so it is shared by every session.
     */
    private record KeyInputs(String passwordDigest, String salt, int iterations) {
    }

    private record Keys(byte[] clientKey, byte[] serverKey) {
    }

    private static final Cache<KeyInputs, Keys> KEYS = Caffeine.newBuilder()
            .maximumSize(1_024)
            .expireAfterAccess(Duration.ofHours(1))
            .executor(Runnable::run)
            .build();
    private static final LongAdder DERIVATIONS = new LongAdder();

    /**
     * The cluster's salt or iteration count is not the configured SCRAM secret's: the keys the client proved cannot
     * prove this login. The configuration's doing (or the cluster's), not a wrong password.
     */
    public static final class OtherSecret extends ScramException {
        OtherSecret(String message) {
            super(message);
        }
    }

    /** Null where the exchange proves keys given whole. */
    private final String password;
    /** The configured secret whose keys prove the login, with {@link #clientKey}; null where a password does. */
    private final ScramVerifier secret;
    private final byte[] clientKey;
    /** The server certificate's {@code tls-server-end-point} data to bind the login to; null to bind none. */
    private final byte[] channelBinding;
    /** What of the server's offer the client may choose from: SCRAM-SHA-256, and its -PLUS where it binds. */
    private final List<String> choices;
    private final String nonce = ScramFunctions.nonce(NONCE_LENGTH, RANDOM);
    private String clientFirst;
    private ScramClient client;

    /** @param serverMechanisms what the server offered; we pick SCRAM-SHA-256 without channel binding */
    public ScramClientExchange(List<String> serverMechanisms, String password) throws ScramException {
        this(serverMechanisms, password, null);
    }

    /**
     * @param serverMechanisms what the server offered
     * @param channelBinding   the {@code tls-server-end-point} data of the certificate the server presented on this
     *                         connection, to bind the login to where the server offers SCRAM-SHA-256-PLUS (where it
     *                         does not, the client says it could have bound: a server that does bind then refuses, as
     *                         someone between must have taken the offer away); null to bind none
     */
    public ScramClientExchange(List<String> serverMechanisms, String password, byte[] channelBinding)
            throws ScramException {
        this(serverMechanisms, password, null, null, channelBinding);
    }

    private ScramClientExchange(List<String> serverMechanisms, String password, ScramVerifier secret, byte[] clientKey,
                                byte[] channelBinding) throws ScramException {
        if (!serverMechanisms.contains(MECHANISM) && !(channelBinding != null && serverMechanisms.contains(MECHANISM_PLUS))) {
            throw new ScramException("server offers none of the supported SASL mechanisms: " + serverMechanisms);
        }
        this.password = password;
        this.secret = secret;
        this.clientKey = clientKey;
        this.channelBinding = channelBinding == null ? null : channelBinding.clone();
        this.choices = serverMechanisms.stream()
                .filter(m -> m.equals(MECHANISM) || (channelBinding != null && m.equals(MECHANISM_PLUS))).toList();
    }

    /**
     * A login proven with the keys of a configured SCRAM secret, the ClientKey being the one a client's own login to
     * the proxy proved: the cluster must store the same secret (its salt and iteration count are checked at the
     * server-first message, its ServerKey by the server's signature).
     */
    public static ScramClientExchange withKeys(List<String> serverMechanisms, ScramVerifier secret, byte[] clientKey,
                                               byte[] channelBinding) throws ScramException {
        return new ScramClientExchange(serverMechanisms, null, secret, clientKey.clone(), channelBinding);
    }

    /** The mechanism chosen, for the SASLInitialResponse: SCRAM-SHA-256-PLUS where the login is bound. */
    public String mechanism() {
        return client.getScramMechanism().getName();
    }

    public byte[] clientFirst() {
        // the keys depend on the salt the server sends next: a client built now serves only to say hello
        ScramClient.FinalBuildStage hello = password != null ? withUser().password(password.toCharArray())
                : withUser().clientAndServerKey(clientKey, secret.serverKey());
        client = build(hello);
        clientFirst = client.clientFirstMessage().toString();
        return clientFirst.getBytes(StandardCharsets.UTF_8);
    }

    public byte[] clientFinal(byte[] serverFirstBytes) throws ScramException {
        String serverFirst = new String(serverFirstBytes, StandardCharsets.UTF_8);
        ServerFirstMessage parsed = ServerFirstMessage.parseFrom(serverFirst, nonce);
        Keys keys;
        if (password != null) {
            if (parsed.getIterationCount() > MAX_ITERATIONS) {
                throw new ScramException("the cluster asks for " + parsed.getIterationCount() + " SCRAM-SHA-256 iterations,"
                        + " more than the proxy derives (at most " + MAX_ITERATIONS + ": longer would stall every session"
                        + " on its event loop); lower scram_iterations and set the role's password again");
            }
            keys = keys(password, parsed.getSalt(), parsed.getIterationCount());
        } else if (parsed.getIterationCount() == secret.iterations()
                && Arrays.equals(Base64.getDecoder().decode(parsed.getSalt()), secret.salt())) {
            keys = new Keys(clientKey, secret.serverKey());
        } else {
            throw new OtherSecret("the cluster stores another SCRAM secret for the role than the configured one (another"
                    + " salt or iteration count): store the configured secret there (ALTER ROLE … PASSWORD"
                    + " 'SCRAM-SHA-256$…'), or configure the password itself");
        }
        client = build(withUser().clientAndServerKey(keys.clientKey(), keys.serverKey()));
        if (!client.clientFirstMessage().toString().equals(clientFirst)) {
            throw new ScramException("SCRAM client-first message not reproduced"); // the nonce is ours: cannot happen
        }
        client.serverFirstMessage(serverFirst);
        return client.clientFinalMessage().toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Checks the server's signature: a server that cannot prove it knows the password is an impostor. */
    public void serverFinal(byte[] serverFinal) throws ScramException {
        client.serverFinalMessage(new String(serverFinal, StandardCharsets.UTF_8));
    }

    /** How many times keys were derived from a password in this process; for tests. */
    static long derivations() {
        return DERIVATIONS.sum();
    }

    private ScramClient.PasswordBuildStage withUser() {
        return ScramClient.builder().advertisedMechanisms(choices).username("*");
    }

    private ScramClient build(ScramClient.FinalBuildStage stage) {
        ScramClient.FinalBuildStage bound = channelBinding == null ? stage
                : stage.channelBinding(TLS_SERVER_END_POINT, channelBinding);
        return bound.stringPreparation(StringPreparation.POSTGRESQL_PREPARATION).nonceSupplier(() -> nonce).build();
    }

    /**
     * The keys from the memo, or derived on the calling event loop outside the memo's lock (a login on another
     * loop never waits for this one's PBKDF2; two loops logging in at once may each derive them).
     */
    private static Keys keys(String password, String salt, int iterations) {
        KeyInputs inputs = new KeyInputs(digest(password), salt, iterations);
        Keys keys = KEYS.getIfPresent(inputs);
        if (keys == null) {
            DERIVATIONS.increment();
            byte[] salted = ScramFunctions.saltedPassword(ScramMechanism.SCRAM_SHA_256,
                    StringPreparation.POSTGRESQL_PREPARATION, password.toCharArray(), Base64.getDecoder().decode(salt),
                    iterations);
            keys = new Keys(ScramFunctions.clientKey(ScramMechanism.SCRAM_SHA_256, salted),
                    ScramFunctions.serverKey(ScramMechanism.SCRAM_SHA_256, salted));
            KEYS.put(inputs, keys);
        }
        return keys;
    }

    private static String digest(String password) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(password.getBytes(StandardCharsets.UTF_8));
            return Base64.getEncoder().encodeToString(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }
}
