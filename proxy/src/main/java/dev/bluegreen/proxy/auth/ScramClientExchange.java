package dev.bluegreen.proxy.auth;

import com.ongres.scram.client.ScramClient;
import com.ongres.scram.common.StringPreparation;
import com.ongres.scram.common.exception.ScramException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The client side of a SCRAM-SHA-256 login to a cluster, on top of the ongres SCRAM client. */
public final class ScramClientExchange {

    public static final String MECHANISM = "SCRAM-SHA-256";

    private final ScramClient client;

    /** @param serverMechanisms what the server offered; we pick SCRAM-SHA-256 without channel binding */
    public ScramClientExchange(List<String> serverMechanisms, String password) throws ScramException {
        if (!serverMechanisms.contains(MECHANISM)) {
            throw new ScramException("server offers none of the supported SASL mechanisms: " + serverMechanisms);
        }
        this.client = ScramClient.builder()
                .advertisedMechanisms(List.of(MECHANISM))
                .username("*")
                .password(password.toCharArray())
                .stringPreparation(StringPreparation.POSTGRESQL_PREPARATION)
                .build();
    }

    public byte[] clientFirst() {
        return client.clientFirstMessage().toString().getBytes(StandardCharsets.UTF_8);
    }

    public byte[] clientFinal(byte[] serverFirst) throws ScramException {
        client.serverFirstMessage(new String(serverFirst, StandardCharsets.UTF_8));
        return client.clientFinalMessage().toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Checks the server's signature: a server that cannot prove it knows the password is an impostor. */
    public void serverFinal(byte[] serverFinal) throws ScramException {
        client.serverFinalMessage(new String(serverFinal, StandardCharsets.UTF_8));
    }
}
