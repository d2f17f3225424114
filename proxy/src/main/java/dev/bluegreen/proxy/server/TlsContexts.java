package dev.bluegreen.proxy.server;

import dev.bluegreen.config.BluegreenConfig;
import dev.bluegreen.config.ClientTls;
import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.TlsMode;
import dev.bluegreen.proxy.protocol.StartupPacket;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import javax.net.ssl.SSLException;

/**
 * Builds TLS contexts once at startup. Upstream: {@code require} encrypts without checking the
 * certificate (libpq's meaning), {@code verify-ca} checks the chain, {@code verify-full} the chain
 * and the host name (against the host the handler is created for).
 */
final class TlsContexts {

    private TlsContexts() {}

    static SslContext forClients(ClientTls tls) throws SSLException {
        if (tls == null) {
            return null;
        }
        // "postgresql" is the ALPN protocol PostgreSQL 17 clients send (always for direct TLS). As in Postgres 17, a
        // client that offers ALPN without it gets the no_application_protocol alert; one that offers no ALPN at all
        // (pgjdbc, libpq before 17) is served after an SSLRequest, and refused by the session for direct TLS
        return SslContextBuilder.forServer(tls.certFile().toFile(), tls.keyFile().toFile())
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.FATAL_ALERT,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, StartupPacket.DirectTls.ALPN_PROTOCOL))
                .build();
    }

    static Map<String, SslContext> forClusters(BluegreenConfig config) throws SSLException {
        Map<String, SslContext> contexts = new HashMap<>();
        for (Cluster cluster : Stream.of(config.blue(), config.green()).filter(c -> c != null).toList()) {
            if (cluster.tlsMode() == TlsMode.DISABLE) {
                continue;
            }
            // Netty's client contexts check the host name unless told otherwise: only verify-full should
            SslContextBuilder builder = SslContextBuilder.forClient()
                    .endpointIdentificationAlgorithm(cluster.tlsMode() == TlsMode.VERIFY_FULL ? "HTTPS" : null);
            if (cluster.tlsMode() == TlsMode.REQUIRE) {
                builder.trustManager(InsecureTrustManagerFactory.INSTANCE);
            } else if (cluster.caFile() != null) {
                builder.trustManager(cluster.caFile().toFile());
            }
            contexts.put(cluster.name(), builder.build());
        }
        return contexts;
    }
}
