package dev.bluegreen.proxy.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.ongres.scram.common.exception.ScramException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The client side's memo of derived keys, against our server side (itself tested against ongres's client). */
class ScramClientExchangeTest {

    private static final SecureRandom RANDOM = new SecureRandom();

    private static void logIn(String password, ScramVerifier verifier) throws Exception {
        ScramClientExchange client = new ScramClientExchange(List.of("SCRAM-SHA-256"), password);
        ScramServerExchange server = new ScramServerExchange(verifier, RANDOM);
        byte[] serverFinal = server.clientFinal(client.clientFinal(server.clientFirst(client.clientFirst())));
        client.serverFinal(serverFinal);
    }

    /** A server asking for billions of rounds would stall the event loop for minutes: the login fails at once. */
    @Test
    void aServerAskingForMoreIterationsThanTheLimitIsRefusedBeforeAnyDerivation() throws Exception {
        ScramClientExchange client = new ScramClientExchange(List.of("SCRAM-SHA-256"), "pw-" + UUID.randomUUID());
        String clientFirst = new String(client.clientFirst(), StandardCharsets.UTF_8);
        String nonce = clientFirst.substring(clientFirst.indexOf("r=") + 2);
        long before = ScramClientExchange.derivations();

        String serverFirst = "r=" + nonce + "server,s=" + Base64.getEncoder().encodeToString(new byte[16])
                + ",i=" + Integer.MAX_VALUE;

        assertThatThrownBy(() -> client.clientFinal(serverFirst.getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(ScramException.class)
                .hasMessageContaining("the cluster asks for 2147483647 SCRAM-SHA-256 iterations")
                .hasMessageContaining("at most 1000000");
        assertThat(ScramClientExchange.derivations()).isEqualTo(before);
    }

    @Test
    void keysAreDerivedOncePerPasswordAndSalt() throws Exception {
        String password = "pw-" + UUID.randomUUID(); // no other test shares its entries
        ScramVerifier role = ScramVerifier.derive(password, RANDOM);
        long before = ScramClientExchange.derivations();

        for (int i = 0; i < 5; i++) {
            logIn(password, role);
        }

        assertThat(ScramClientExchange.derivations() - before).isOne();
    }

    @Test
    void aPasswordSetAgainHasANewSaltAndIsDerivedAgain() throws Exception {
        String password = "pw-" + UUID.randomUUID();
        logIn(password, ScramVerifier.derive(password, RANDOM));
        long before = ScramClientExchange.derivations();

        logIn(password, ScramVerifier.derive(password, RANDOM)); // ALTER ROLE ... PASSWORD: same password, new salt

        assertThat(ScramClientExchange.derivations() - before).isOne();
    }

    @Test
    void remembersNothingThatLetsAWrongPasswordIn() throws Exception {
        String password = "pw-" + UUID.randomUUID();
        ScramVerifier role = ScramVerifier.derive(password, RANDOM);
        logIn(password, role);

        assertThatThrownBy(() -> logIn("not " + password, role)).isInstanceOf(ScramServerExchange.Failed.class);
        logIn(password, role);
    }

    @Test
    void aServerThatDoesNotKnowThePasswordIsCaught() throws Exception {
        String password = "pw-" + UUID.randomUUID();
        ScramVerifier impostor = ScramVerifier.derive("something else", RANDOM);
        ScramClientExchange client = new ScramClientExchange(List.of("SCRAM-SHA-256"), password);
        ScramServerExchange server = new ScramServerExchange(impostor, RANDOM);
        byte[] clientFinal = client.clientFinal(server.clientFirst(client.clientFirst()));

        assertThatThrownBy(() -> server.clientFinal(clientFinal)).isInstanceOf(ScramServerExchange.Failed.class);
        assertThatThrownBy(() -> client.serverFinal("v=AAAA".getBytes())).isInstanceOf(ScramException.class);
    }

    /**
     * With the role's SCRAM secret configured instead of its password, the ClientKey a client's login to the proxy
     * proved logs the proxy in to a cluster that stores the same secret, and the cluster still has to prove it knows
     * it; no password is ever derived.
     */
    @Test
    void theClientKeyAClientProvedLogsInToAClusterStoringTheSameSecret() throws Exception {
        String password = "pw-" + UUID.randomUUID();
        ScramVerifier stored = ScramVerifier.derive(password, RANDOM); // as the cluster stores it, and the configuration
        ScramServerExchange proxy = new ScramServerExchange(stored, RANDOM);
        assertThat(proxy.clientKey()).isNull();
        logIn(password, proxy);
        byte[] clientKey = proxy.clientKey();
        long before = ScramClientExchange.derivations();

        ScramClientExchange passedOn = ScramClientExchange.withKeys(List.of("SCRAM-SHA-256"), stored, clientKey, null);
        ScramServerExchange cluster = new ScramServerExchange(stored, RANDOM);
        passedOn.serverFinal(cluster.clientFinal(passedOn.clientFinal(cluster.clientFirst(passedOn.clientFirst()))));

        assertThat(ScramClientExchange.derivations()).isEqualTo(before);
        ScramClientExchange toAnImpostor = ScramClientExchange.withKeys(List.of("SCRAM-SHA-256"), stored, clientKey, null);
        ScramServerExchange impostor = new ScramServerExchange(new ScramVerifier(stored.salt(), stored.iterations(),
                stored.storedKey(), ScramVerifier.derive("other", RANDOM).serverKey()), RANDOM);
        byte[] accepted = impostor.clientFinal(toAnImpostor.clientFinal(impostor.clientFirst(toAnImpostor.clientFirst())));
        assertThatThrownBy(() -> toAnImpostor.serverFinal(accepted)).isInstanceOf(ScramException.class);
    }

    /** A cluster that stores the same password under another salt (set again there) cannot be proven with the keys. */
    @Test
    void aClusterStoringAnotherSecretForThePasswordIsToldApartBeforeAnyProof() throws Exception {
        String password = "pw-" + UUID.randomUUID();
        ScramVerifier configured = ScramVerifier.derive(password, RANDOM);
        ScramServerExchange proxy = new ScramServerExchange(configured, RANDOM);
        logIn(password, proxy);

        ScramClientExchange passedOn = ScramClientExchange.withKeys(List.of("SCRAM-SHA-256"), configured, proxy.clientKey(), null);
        ScramServerExchange cluster = new ScramServerExchange(ScramVerifier.derive(password, RANDOM), RANDOM);
        byte[] serverFirst = cluster.clientFirst(passedOn.clientFirst());

        assertThatThrownBy(() -> passedOn.clientFinal(serverFirst)).isInstanceOf(ScramClientExchange.OtherSecret.class)
                .hasMessageContaining("another salt or iteration count");
    }

    private static void logIn(String password, ScramServerExchange server) throws Exception {
        ScramClientExchange client = new ScramClientExchange(List.of("SCRAM-SHA-256"), password);
        client.serverFinal(server.clientFinal(client.clientFinal(server.clientFirst(client.clientFirst()))));
    }
}
