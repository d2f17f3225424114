package dev.bluegreen.config;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.Base64;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks at load that a certificate or key file is PEM of the right kind, so that a wrong file is a
 * {@code path: problem} line and exit code 2 rather than a failure when the proxy builds its TLS contexts.
 * The blocks are found the way Netty's {@code PemReader} finds them, so a file Netty would read is never
 * refused here (text around the blocks, as in a CA bundle, is fine).
 */
final class PemFiles {

    /** A CA bundle is a few hundred KiB; anything far larger is not one. */
    static final int MAX_BYTES = 16 * 1024 * 1024;

    private static final Pattern CERTIFICATE = Pattern.compile(
            "-+BEGIN\\s[^-\\r\\n]*CERTIFICATE[^-\\r\\n]*-+(?:\\s|\\r|\\n)+([a-z0-9+/=\\r\\n]+)"
                    + "-+END\\s[^-\\r\\n]*CERTIFICATE[^-\\r\\n]*-+",
            Pattern.CASE_INSENSITIVE);
    /** Any private-key block; group 1 is its label ("PRIVATE KEY", "RSA PRIVATE KEY", …), group 2 its base64. */
    private static final Pattern PRIVATE_KEY = Pattern.compile(
            "-+BEGIN\\s([^-\\r\\n]*PRIVATE\\s+KEY[^-\\r\\n]*?)\\s*-+(?:\\s|\\r|\\n)+([a-z0-9+/=\\r\\n]+)"
                    + "-+END\\s[^-\\r\\n]*PRIVATE\\s+KEY[^-\\r\\n]*-+",
            Pattern.CASE_INSENSITIVE);
    private static final String CONVERT = "; convert it with openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8";

    private PemFiles() {}

    /**
     * Empty if {@code file} (readable, already checked) holds at least one PEM certificate and every one in
     * it is an X.509 certificate; else why not, naming the file as {@code name} says.
     */
    static Optional<String> notCertificates(Path file, String name) {
        String text;
        try {
            text = read(file);
        } catch (IOException e) {
            return Optional.of(name + ": " + e.getMessage());
        }
        Matcher m = CERTIFICATE.matcher(text);
        CertificateFactory x509;
        try {
            x509 = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException("every JVM has an X.509 certificate factory", e);
        }
        int found = 0;
        while (m.find()) {
            found++;
            try (InputStream der = new ByteArrayInputStream(Base64.getMimeDecoder().decode(m.group(1)))) {
                x509.generateCertificate(der);
            } catch (IllegalArgumentException | CertificateException | IOException e) {
                return Optional.of(name + ": certificate " + found + " in it is not a valid X.509 certificate");
            }
        }
        return found == 0
                ? Optional.of(name + ": not a PEM certificate file (no -----BEGIN CERTIFICATE----- block)")
                : Optional.empty();
    }

    /** Empty if {@code file} (readable, already checked) holds a PEM private key; else why not. */
    static Optional<String> notPrivateKey(Path file, String name) {
        String text;
        try {
            text = read(file);
        } catch (IOException e) {
            return Optional.of(name + ": " + e.getMessage());
        }
        Matcher key = PRIVATE_KEY.matcher(text);
        if (!key.find()) {
            return Optional.of(name + ": not a PEM private key file (no -----BEGIN PRIVATE KEY----- block)");
        }
        // the proxy reads keys with Netty, which takes unencrypted PKCS#8 only (no password is configured,
        // and the PKCS#1 and SEC1 forms openssl also writes need BouncyCastle)
        String label = key.group(1).replaceAll("\\s+", " ").toUpperCase(Locale.ROOT);
        return switch (label) {
            case "PRIVATE KEY" -> Optional.empty();
            case "ENCRYPTED PRIVATE KEY" -> Optional.of(name + ": an encrypted private key; the proxy takes an "
                    + "unencrypted PKCS#8 key (-----BEGIN PRIVATE KEY-----)" + CONVERT);
            default -> Optional.of(name + ": a " + label + " block; the proxy takes a PKCS#8 key "
                    + "(-----BEGIN PRIVATE KEY-----)" + CONVERT);
        };
    }

    /** The file's text; the exception's message is fit for a problem and names no path. */
    private static String read(Path file) throws IOException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        } catch (IOException | SecurityException e) {
            throw new IOException("cannot be read (" + e.getClass().getSimpleName() + ")");
        }
        if (bytes.length > MAX_BYTES) {
            throw new IOException("larger than 16MiB, which no certificate or key file is");
        }
        // PEM is ASCII; ISO-8859-1 maps every byte, so no decoding error can hide a block
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }
}
