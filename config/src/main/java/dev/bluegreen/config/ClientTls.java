package dev.bluegreen.config;

import java.util.Objects;
import java.nio.file.Path;

/**
 * TLS offered to clients on the SQL listener.
 *
 * @param certFile the server certificate chain (PEM)
 * @param keyFile its private key (PEM, PKCS#8)
 * @param required whether a client that does not ask for TLS is refused
 */
public record ClientTls(Path certFile, Path keyFile, boolean required) {

    public ClientTls {
        Objects.requireNonNull(certFile, "certFile");
        Objects.requireNonNull(keyFile, "keyFile");
    }
}
