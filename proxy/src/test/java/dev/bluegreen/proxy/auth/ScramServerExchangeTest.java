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

    /** A proof of the wrong length is a malformed message (08P01), as Postgres has it, not a wrong password. */
    @Test
    void aProofOfTheWrongLengthIsMalformed() throws Exception {
        ScramClientExchange client = new ScramClientExchange(List.of("SCRAM-SHA-256"), "correct horse");
        ScramServerExchange server = new ScramServerExchange(VERIFIER, RANDOM);
        String clientFinal = new String(client.clientFinal(server.clientFirst(client.clientFirst())), StandardCharsets.UTF_8);
        String shortProof = clientFinal.substring(0, clientFinal.lastIndexOf(",p=") + 3)
                + java.util.Base64.getEncoder().encodeToString(new byte[16]);

        assertThatThrownBy(() -> server.clientFinal(shortProof.getBytes(StandardCharsets.UTF_8)))
                .isInstanceOfSatisfying(ScramServerExchange.Failed.class, e -> assertThat(e.malformed()).isTrue());
    }

    @Test
    void channelBindingDataWithoutTheBoundMechanismIsRefused() {
        ScramServerExchange server = new ScramServerExchange(VERIFIER, RANDOM);

        assertThatThrownBy(() -> server.clientFirst("p=tls-server-end-point,,n=,r=abc".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(ScramServerExchange.Failed.class)
                .hasMessageContaining("selected SCRAM-SHA-256 without channel binding");
    }

    private static final byte[] END_POINT = "the proxy's certificate, hashed".getBytes(StandardCharsets.UTF_8);

    /** A client that binds its login to the connection logs in where the data it binds is the proxy's certificate's. */
    @Test
    void aLoginBoundToTheProxysCertificateLogsIn() throws Exception {
        ScramClientExchange client = new ScramClientExchange(List.of("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"),
                "correct horse", END_POINT);
        byte[] clientFirst = client.clientFirst();
        assertThat(client.mechanism()).isEqualTo("SCRAM-SHA-256-PLUS");
        assertThat(new String(clientFirst, StandardCharsets.UTF_8)).startsWith("p=tls-server-end-point,,");
        ScramServerExchange server = new ScramServerExchange(VERIFIER, RANDOM, END_POINT, true);

        client.serverFinal(server.clientFinal(client.clientFinal(server.clientFirst(clientFirst))));
    }

    /**
     * A login bound to another certificate, one a man in the middle presented to the client, fails: he cannot pass
     * it on to the proxy.
     */
    @Test
    void aLoginBoundToAnotherCertificateFails() throws Exception {
        ScramClientExchange client = new ScramClientExchange(List.of("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"),
                "correct horse", "a man in the middle's certificate".getBytes(StandardCharsets.UTF_8));
        ScramServerExchange server = new ScramServerExchange(VERIFIER, RANDOM, END_POINT, true);
        byte[] clientFinal = client.clientFinal(server.clientFirst(client.clientFirst()));

        assertThatThrownBy(() -> server.clientFinal(clientFinal)).isInstanceOf(ScramServerExchange.Failed.class)
                .hasMessageContaining("channel binding");
    }

    /**
     * The flag must agree with the mechanism chosen, and "y" (the client could bind, and thinks the server cannot) is a
     * downgrade where the proxy did offer SCRAM-SHA-256-PLUS; where it did not (no TLS), "y" is libpq's ordinary form.
     */
    @Test
    void theChannelBindingFlagMustAgreeWithTheMechanismAndWithWhatWasOffered() throws Exception {
        assertThatThrownBy(() -> new ScramServerExchange(VERIFIER, RANDOM, END_POINT, true)
                .clientFirst("n,,n=,r=abc".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(ScramServerExchange.Failed.class).hasMessageContaining("does not include channel binding data");
        assertThatThrownBy(() -> new ScramServerExchange(VERIFIER, RANDOM, END_POINT, true)
                .clientFirst("p=tls-unique,,n=,r=abc".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(ScramServerExchange.Failed.class).hasMessageContaining("unsupported SCRAM channel-binding type");
        assertThatThrownBy(() -> new ScramServerExchange(VERIFIER, RANDOM, END_POINT, false)
                .clientFirst("y,,n=,r=abc".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(ScramServerExchange.Failed.class).hasMessageContaining("negotiation error");

        ScramClientExchange notOffered = new ScramClientExchange(List.of("SCRAM-SHA-256"), "correct horse", END_POINT);
        byte[] clientFirst = notOffered.clientFirst();
        assertThat(new String(clientFirst, StandardCharsets.UTF_8)).startsWith("y,,");
        ScramServerExchange plain = new ScramServerExchange(VERIFIER, RANDOM);
        notOffered.serverFinal(plain.clientFinal(notOffered.clientFinal(plain.clientFirst(clientFirst))));
        ScramServerExchange offered = new ScramServerExchange(VERIFIER, RANDOM, END_POINT, false);
        assertThatThrownBy(() -> offered.clientFirst(clientFirst)).isInstanceOf(ScramServerExchange.Failed.class);
    }

    /** libpq's form: an empty SCRAM user name (the startup packet's counts) and the "y" flag it sends over TLS. */
    @Test
    void libpqsClientFirstMessageWithAnEmptyNameIsTakenAsAnyOther() throws Exception {
        for (String gs2Header : List.of("n,,", "y,,")) {
            ScramServerExchange server = new ScramServerExchange(VERIFIER, RANDOM);
            String clientFirst = gs2Header + "n=,r=rOprNGfwEbeRWgbNEkqO";

            String serverFirst = new String(server.clientFirst(clientFirst.getBytes(StandardCharsets.UTF_8)),
                    StandardCharsets.UTF_8);

            assertThat(serverFirst).startsWith("r=rOprNGfwEbeRWgbNEkqO").contains(",s=").endsWith(",i=4096");
        }
    }

    @Test
    void anAuthorizationIdentityAnUnknownFlagAndAnUnprintableNonceAreRefused() {
        for (String clientFirst : List.of("n,a=bob,n=,r=abc", "x,,n=,r=abc", "n,,n=,r=a\u00e9b", "n,,n=,r=",
                "n,,m=ext,n=,r=abc", "n,,r=abc,n=", "n,,n=")) {
            ScramServerExchange server = new ScramServerExchange(VERIFIER, RANDOM);
            assertThatThrownBy(() -> server.clientFirst(clientFirst.getBytes(StandardCharsets.UTF_8)))
                    .as(clientFirst).isInstanceOf(ScramServerExchange.Failed.class);
        }
    }

    @Test
    void aClientFinalMessageOutOfOrderIsRefused() throws Exception {
        ScramClientExchange client = new ScramClientExchange(List.of("SCRAM-SHA-256"), "correct horse");
        ScramServerExchange server = new ScramServerExchange(VERIFIER, RANDOM);
        String clientFinal = new String(client.clientFinal(server.clientFirst(client.clientFirst())), StandardCharsets.UTF_8);
        String[] parts = clientFinal.split(",");
        String swapped = parts[1] + "," + parts[0] + "," + parts[2];

        assertThatThrownBy(() -> server.clientFinal(swapped.getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(ScramServerExchange.Failed.class);
    }

    /** An unknown name is challenged like a known one, with a salt that does not change, and fails at the proof. */
    @Test
    void anImpostorExchangeLooksLikeAnyOtherAndAlwaysFails() throws Exception {
        byte[] secret = "thirty-two bytes of secret, ok!!".getBytes(StandardCharsets.UTF_8);
        String first = new String(ScramServerExchange.impostor("mallory", secret, RANDOM, null, false)
                .clientFirst("n,,n=,r=abc".getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
        String again = new String(ScramServerExchange.impostor("mallory", secret, RANDOM, null, false)
                .clientFirst("n,,n=,r=abc".getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
        String other = new String(ScramServerExchange.impostor("trent", secret, RANDOM, null, false)
                .clientFirst("n,,n=,r=abc".getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
        assertThat(salt(first)).isEqualTo(salt(again)).isNotEqualTo(salt(other));
        assertThat(salt(first)).hasSameSizeAs(salt(
                new String(new ScramServerExchange(VERIFIER, RANDOM).clientFirst("n,,n=,r=abc".getBytes(StandardCharsets.UTF_8)),
                        StandardCharsets.UTF_8)));

        ScramClientExchange client = new ScramClientExchange(List.of("SCRAM-SHA-256"), "any password");
        ScramServerExchange server = ScramServerExchange.impostor("mallory", secret, RANDOM, null, false);
        byte[] clientFinal = client.clientFinal(server.clientFirst(client.clientFirst()));
        assertThatThrownBy(() -> server.clientFinal(clientFinal))
                .isInstanceOf(ScramServerExchange.Failed.class)
                .hasMessageContaining("password authentication failed");
    }

    private static String salt(String serverFirst) {
        return serverFirst.replaceAll(".*,s=([^,]*),.*", "$1");
    }
}
