package dev.bluegreen.proxy.auth;

import com.ongres.scram.common.util.TlsServerEndpoint;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The {@code tls-server-end-point} channel-binding data of a TLS connection (RFC 5929): a hash of the server's
 * certificate, which SCRAM-SHA-256-PLUS folds into the proof, so that a login passed on through a man in the middle,
 * who presents a certificate of his own, fails.
 */
public final class TlsEndPoint {

    private TlsEndPoint() {
    }

    /** Of the certificate this side presented (the proxy, to a client); null where it presented none usable. */
    public static byte[] local(SSLSession session) {
        return of(session.getLocalCertificates());
    }

    /** Of the certificate the server presented (a cluster, to the proxy); null where it presented none usable. */
    public static byte[] peer(SSLSession session) {
        try {
            return of(session.getPeerCertificates());
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    static byte[] of(Certificate[] chain) {
        if (chain == null || chain.length == 0 || !(chain[0] instanceof X509Certificate certificate)) {
            return null;
        }
        try {
            byte[] data = TlsServerEndpoint.getChannelBindingData(certificate);
            return data == null || data.length == 0 ? null : data;
        } catch (CertificateEncodingException | RuntimeException e) {
            return null; // a signature algorithm whose hash is not known (Ed25519): bind nothing, as libpq does
        }
    }
}
