package dev.bluegreen.proxy.it;

import java.io.IOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A throwaway CA and certificates it signs, written as PEM files for Postgres, Netty and pgjdbc. */
final class Certificates {

    record Issued(Path certificate, Path privateKey) {}

    private final KeyPair caKeys;
    private final X509Certificate caCertificate;
    private final Path caFile;
    private final Path dir;

    private Certificates(Path dir, KeyPair caKeys, X509Certificate caCertificate, Path caFile) {
        this.dir = dir;
        this.caKeys = caKeys;
        this.caCertificate = caCertificate;
        this.caFile = caFile;
    }

    static Certificates newAuthority(Path dir, String name) throws Exception {
        Files.createDirectories(dir);
        KeyPair keys = keyPair();
        X500Name subject = new X500Name("CN=" + name);
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject, BigInteger.valueOf(System.nanoTime()),
                Date.from(Instant.now().minus(1, ChronoUnit.DAYS)), Date.from(Instant.now().plus(2, ChronoUnit.DAYS)),
                subject, keys.getPublic());
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        X509Certificate certificate = sign(builder, keys.getPrivate());
        Path caFile = dir.resolve(name + "-ca.pem");
        writePem(caFile, certificate);
        return new Certificates(dir, keys, certificate, caFile);
    }

    Path caFile() {
        return caFile;
    }

    /** A server certificate for these DNS names / IP addresses (SANs). */
    Issued issue(String fileStem, String commonName, GeneralName... subjectAltNames) throws Exception {
        KeyPair keys = keyPair();
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(caCertificate,
                BigInteger.valueOf(System.nanoTime()), Date.from(Instant.now().minus(1, ChronoUnit.DAYS)),
                Date.from(Instant.now().plus(2, ChronoUnit.DAYS)), new X500Name("CN=" + commonName), keys.getPublic());
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(subjectAltNames));
        X509Certificate certificate = sign(builder, caKeys.getPrivate());
        Path certFile = dir.resolve(fileStem + ".crt");
        Path keyFile = dir.resolve(fileStem + ".key");
        writePem(certFile, certificate);
        try (Writer writer = Files.newBufferedWriter(keyFile); JcaPEMWriter pem = new JcaPEMWriter(writer)) {
            pem.writeObject(new JcaPKCS8Generator(keys.getPrivate(), null));
        }
        return new Issued(certFile, keyFile);
    }

    static GeneralName ip(String address) {
        return new GeneralName(GeneralName.iPAddress, address);
    }

    static GeneralName dns(String name) {
        return new GeneralName(GeneralName.dNSName, name);
    }

    private static KeyPair keyPair() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        return generator.generateKeyPair();
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key) throws Exception {
        return new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withRSA").build(key)));
    }

    private static void writePem(Path file, Object object) throws IOException {
        try (Writer writer = Files.newBufferedWriter(file); JcaPEMWriter pem = new JcaPEMWriter(writer)) {
            pem.writeObject(object);
        }
    }
}
