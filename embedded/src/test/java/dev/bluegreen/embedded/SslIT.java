package dev.bluegreen.embedded;

import static dev.bluegreen.embedded.ItClusters.queryOne;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Properties;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SslIT {

    @Test
    void enableSslTurnsTlsOnAndSslmodeRequireConnects(@TempDir Path pem) throws Exception {
        // Given a cluster without TLS and a self-signed certificate for 127.0.0.1
        SelfSigned selfSigned = SelfSigned.writeTo(pem);
        try (PgCluster cluster = ItClusters.throwaway("ssl").start()) {
            assertThat(queryOne(cluster, "SHOW ssl")).isEqualTo("off");

            // When
            cluster.enableSsl(selfSigned.cert(), selfSigned.key());

            // Then
            assertThat(queryOne(cluster, "SHOW ssl")).isEqualTo("on");
            try (Connection tls = connectRequiringTls(cluster)) {
                assertThat(queryOne(tls, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).isEqualTo("t");
            }
        }
    }

    @Test
    void tlsStaysOnAfterARestart(@TempDir Path pem) throws Exception {
        SelfSigned selfSigned = SelfSigned.writeTo(pem);
        try (PgCluster cluster = ItClusters.throwaway("ssl-restart").start()) {
            cluster.enableSsl(selfSigned.cert(), selfSigned.key());

            cluster.restart();

            try (Connection tls = connectRequiringTls(cluster)) {
                assertThat(queryOne(tls, "SHOW ssl")).isEqualTo("on");
            }
        }
    }

    private static Connection connectRequiringTls(PgCluster cluster) throws SQLException {
        Properties properties = new Properties();
        properties.setProperty("user", cluster.superuser());
        properties.setProperty("sslmode", "require");
        return DriverManager.getConnection(cluster.jdbcUrl("postgres"), properties);
    }

    /** A throwaway RSA key and certificate, PEM-encoded the way postgres reads them. */
    record SelfSigned(Path cert, Path key) {

        static SelfSigned writeTo(Path dir) throws GeneralSecurityException, OperatorCreationException, IOException {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            KeyPair keyPair = generator.generateKeyPair();
            X500Name subject = new X500Name("CN=127.0.0.1");
            Instant now = Instant.now();
            X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(
                    new JcaX509v3CertificateBuilder(subject, BigInteger.valueOf(now.toEpochMilli()),
                            Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(1))),
                            subject, keyPair.getPublic())
                            .build(new JcaContentSignerBuilder("SHA256withRSA").build(keyPair.getPrivate())));
            SelfSigned files = new SelfSigned(dir.resolve("server.crt"), dir.resolve("server.key"));
            writePem(files.cert(), certificate);
            writePem(files.key(), keyPair.getPrivate());
            return files;
        }

        private static void writePem(Path file, Object object) throws IOException {
            try (Writer writer = Files.newBufferedWriter(file); JcaPEMWriter pem = new JcaPEMWriter(writer)) {
                pem.writeObject(object);
            }
        }
    }
}
