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
}
