package dev.bluegreen.proxy.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;

/** What channel binding binds a login to: RFC 5929's hash of the server's certificate, or nothing where it has none. */
class TlsEndPointTest {

    private static X509Certificate selfSigned(String keyAlgorithm, String signatureAlgorithm) throws Exception {
        KeyPair keys = KeyPairGenerator.getInstance(keyAlgorithm).generateKeyPair();
        X500Name name = new X500Name("CN=bluegreen-test");
        Instant now = Instant.now();
        return new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name, BigInteger.ONE,
                Date.from(now), Date.from(now.plus(1, ChronoUnit.DAYS)), name, keys.getPublic())
                .build(new JcaContentSignerBuilder(signatureAlgorithm).build(keys.getPrivate())));
    }

    @Test
    void aCertificateSignedWithSha256IsHashedWithSha256AndOneWithSha384WithSha384() throws Exception {
        X509Certificate rsa = selfSigned("RSA", "SHA256withRSA");
        X509Certificate ec = selfSigned("EC", "SHA384withECDSA");

        assertThat(TlsEndPoint.of(new Certificate[] {rsa}))
                .isEqualTo(MessageDigest.getInstance("SHA-256").digest(rsa.getEncoded()));
        assertThat(TlsEndPoint.of(new Certificate[] {ec}))
                .isEqualTo(MessageDigest.getInstance("SHA-384").digest(ec.getEncoded()));
    }

    /** No certificate, or one whose signature names no hash (Ed25519): nothing to bind to, so -PLUS is not offered. */
    @Test
    void noCertificateOrOneWithoutAHashBindsNothing() throws Exception {
        assertThat(TlsEndPoint.of(null)).isNull();
        assertThat(TlsEndPoint.of(new Certificate[0])).isNull();
        byte[] ed25519 = TlsEndPoint.of(new Certificate[] {selfSigned("Ed25519", "Ed25519")});
        assertThat(ed25519).isNull();
    }
}
