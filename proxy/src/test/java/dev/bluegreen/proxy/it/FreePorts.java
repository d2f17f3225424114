package dev.bluegreen.proxy.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Ports for listeners a test hands to a proxy it starts. The kernel may give the same ephemeral port to two
 * {@code new ServerSocket(0)} calls in a row once the first is closed, and a proxy given one port for both its
 * SQL listener and its admin API refuses to start (CI saw exactly that), so a port is handed out once per JVM.
 */
final class FreePorts {

    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

    private FreePorts() {
    }

    static int next() {
        for (int attempt = 0; attempt < 100; attempt++) {
            int port;
            try (ServerSocket socket = new ServerSocket(0)) {
                port = socket.getLocalPort();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (HANDED_OUT.add(port)) {
                return port;
            }
        }
        throw new IllegalStateException("the kernel kept offering ports this test run already handed out");
    }

    /**
     * A loopback port where nothing listens, held for as long as the socket is open: connections to it are refused,
     * and nothing else can bind it meanwhile (a closed {@code ServerSocket(0)}'s port may go to the very proxy under
     * test, whose listeners bind port 0).
     */
    static Socket refusing() throws IOException {
        Socket socket = new Socket();
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return socket;
    }
}
