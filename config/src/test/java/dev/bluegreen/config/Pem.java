package dev.bluegreen.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * PEM files for tests: a real self-signed certificate (the loader parses certificates), and a block
 * shaped like a private key (the loader only looks for one; the proxy reads the key).
 */
final class Pem {

    private Pem() {}

    /** The certificate in {@code src/test/resources/pem/cert.pem}, as text. */
    static String certificateText() {
        try (InputStream in = Pem.class.getResourceAsStream("/pem/cert.pem")) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String privateKeyText() {
        return "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";
    }

    /** {@code file}, written with the test certificate. */
    static Path certificate(Path file) throws IOException {
        return Files.writeString(file, certificateText());
    }

    /** {@code file}, written with a private-key block. */
    static Path privateKey(Path file) throws IOException {
        return Files.writeString(file, privateKeyText());
    }
}
