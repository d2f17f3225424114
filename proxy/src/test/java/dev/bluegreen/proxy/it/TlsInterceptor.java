package dev.bluegreen.proxy.it;

import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A man in the middle between the proxy and a cluster, both ways over TLS: it answers the proxy's SSLRequest and
 * completes the handshake with a certificate of its own, opens TLS to the cluster as a client that checks nothing,
 * and passes every byte on, both ways, unchanged. What TLS mode {@code require} (no certificate check) lets through,
 * and what channel binding catches: the proxy binds its login to the interceptor's certificate, the cluster checks it
 * against its own.
 */
final class TlsInterceptor implements AutoCloseable {

    private static final int SSL_REQUEST_CODE = 80877103;

    private final ServerSocket server;
    private final int clusterPort;
    private final SSLContext asServer;
    private final SSLContext asClient;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    TlsInterceptor(int clusterPort, Certificates.Issued own) throws IOException {
        this.clusterPort = clusterPort;
        this.asServer = ((JdkSslContext) SslContextBuilder.forServer(own.certificate().toFile(), own.privateKey().toFile())
                .sslProvider(SslProvider.JDK).build()).context();
        this.asClient = ((JdkSslContext) SslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE)
                .sslProvider(SslProvider.JDK).build()).context();
        this.server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        this.acceptor = Thread.ofVirtual().start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket proxySide = server.accept();
                sockets.add(proxySide);
                Thread.ofVirtual().start(() -> intercept(proxySide));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void intercept(Socket proxySide) {
        try {
            DataInputStream in = new DataInputStream(proxySide.getInputStream());
            if (in.readInt() != 8 || in.readInt() != SSL_REQUEST_CODE) {
                proxySide.close();
                return;
            }
            proxySide.getOutputStream().write('S');
            SSLSocket toProxy = (SSLSocket) asServer.getSocketFactory().createSocket(proxySide, null, proxySide.getPort(), true);
            toProxy.setUseClientMode(false);
            toProxy.startHandshake();

            Socket clusterSide = new Socket(InetAddress.getLoopbackAddress(), clusterPort);
            sockets.add(clusterSide);
            clusterSide.getOutputStream().write(ByteBuffer.allocate(8).putInt(8).putInt(SSL_REQUEST_CODE).array());
            if (clusterSide.getInputStream().read() != 'S') {
                proxySide.close();
                clusterSide.close();
                return;
            }
            SSLSocket toCluster = (SSLSocket) asClient.getSocketFactory().createSocket(clusterSide, "127.0.0.1", clusterPort, true);
            toCluster.startHandshake();
            sockets.add(toProxy);
            sockets.add(toCluster);
            InputStream answers = toCluster.getInputStream();
            OutputStream toProxyOut = toProxy.getOutputStream();
            Thread.ofVirtual().start(() -> pump(answers, toProxyOut, toProxy));
            pump(toProxy.getInputStream(), toCluster.getOutputStream(), toCluster);
        } catch (IOException e) {
            closeQuietly(proxySide);
        }
    }

    /** Copies {@code from} to {@code to} until either side goes, then closes {@code peer}: a relay's one direction. */
    static void pump(InputStream from, OutputStream to, Socket peer) {
        try {
            from.transferTo(to);
        } catch (IOException e) {
            // one side went: so does the other
        } finally {
            closeQuietly(peer);
        }
    }

    static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() throws Exception {
        server.close();
        sockets.forEach(TlsInterceptor::closeQuietly);
        acceptor.join();
    }
}
