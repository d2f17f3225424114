package dev.bluegreen.proxy.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Our server side against an independent client implementation (ongres SCRAM, as used by pgjdbc). */
class ScramServerExchangeTest {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ScramVerifier VERIFIER = ScramVerifier.derive("correct horse", RANDOM);

    @Test
    void theRightPasswordLogsInAndTheServerProvesItKnowsIt() throws Exception {
        ScramClientExchange client = new ScramClientExchange(List.of("SCRAM-SHA-256"), "correct horse");
        ScramServerExchange server = new ScramServerExchange(VERIFIER, RANDOM);

        byte[] serverFirst = server.clientFirst(client.clientFirst());
        byte[] serverFinal = server.clientFinal(client.clientFinal(serverFirst));

        client.serverFinal(serverFinal); // throws if the server signature is wrong
        assertThat(new String(serverFinal, StandardCharsets.UTF_8)).startsWith("v=");
    }

    @Test
    void aWrongPasswordFails() throws Exception {
        ScramClientExchange client = new ScramClientExchange(List.of("SCRAM-SHA-256"), "battery staple");
        ScramServerExchange server = new ScramServerExchange(VERIFIER, RANDOM);

        byte[] serverFirst = server.clientFirst(client.clientFirst());
        byte[] clientFinal = client.clientFinal(serverFirst);

        assertThatThrownBy(() -> server.clientFinal(clientFinal))
                .isInstanceOf(ScramServerExchange.Failed.class)
                .hasMessageContaining("password authentication failed");
    }

    @Test
    void aReplayedNonceFails() throws Exception {
        ScramClientExchange client = new ScramClientExchange(List.of("SCRAM-SHA-256"), "correct horse");
        ScramServerExchange first = new ScramServerExchange(VERIFIER, RANDOM);
        byte[] clientFirst = client.clientFirst();
        byte[] clientFinal = client.clientFinal(first.clientFirst(clientFirst));
        ScramServerExchange second = new ScramServerExchange(VERIFIER, RANDOM);
        second.clientFirst(clientFirst);

        assertThatThrownBy(() -> second.clientFinal(clientFinal)).isInstanceOf(ScramServerExchange.Failed.class);
    }

    @Test
    void garbageIsAFailureNotACrash() {
        ScramServerExchange server = new ScramServerExchange(VERIFIER, RANDOM);

        assertThatThrownBy(() -> server.clientFirst("hello".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(ScramServerExchange.Failed.class);
        assertThatThrownBy(() -> server.clientFinal("c=biws,r=x,p=AAAA".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(ScramServerExchange.Failed.class);
    }

    @Test
    void channelBindingIsRefused() {
        ScramServerExchange server = new ScramServerExchange(VERIFIER, RANDOM);

        assertThatThrownBy(() -> server.clientFirst("p=tls-server-end-point,,n=,r=abc".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(ScramServerExchange.Failed.class);
    }
}
