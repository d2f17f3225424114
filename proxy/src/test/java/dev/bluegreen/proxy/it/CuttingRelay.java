package dev.bluegreen.proxy.it;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay between the proxy and a real cluster that cuts a connection, both ways, at the moment a
 * given statement would reach the cluster: a Query or Parse whose text is that statement is not
 * passed on. For a cluster lost while it runs one particular statement, which a real server cannot be
 * made to do at will. Everything else passes through unchanged.
 */
final class CuttingRelay implements AutoCloseable {

    private final ServerSocket server;
    private final int clusterPort;
    private final String statement;
    private final AtomicInteger cuts = new AtomicInteger();
    private final List<Socket> open = new CopyOnWriteArrayList<>();

    CuttingRelay(int clusterPort, String statement) throws IOException {
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.clusterPort = clusterPort;
        this.statement = statement.toLowerCase(Locale.ROOT);
        Thread.ofVirtual().start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    /** How many connections were cut. */
    int cuts() {
        return cuts.get();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket cluster = new Socket(InetAddress.getLoopbackAddress(), clusterPort);
                open.add(client);
                open.add(cluster);
                Thread.ofVirtual().start(() -> copy(cluster, client));
                Thread.ofVirtual().start(() -> relayRequests(client, cluster));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    /** The cluster's answers, byte for byte. */
    private static void copy(Socket from, Socket to) {
        try (from; to) {
            from.getInputStream().transferTo(to.getOutputStream());
        } catch (IOException e) {
            // one side went away: both are closed
        }
    }

    /** The proxy's messages, one at a time: the untyped startup packet, then typed messages. */
    private void relayRequests(Socket client, Socket cluster) {
        try (client; cluster) {
            DataInputStream in = new DataInputStream(client.getInputStream());
            OutputStream out = cluster.getOutputStream();
            int startupLength = in.readInt();
            out.write(ByteBuffer.allocate(4).putInt(startupLength).array());
            out.write(in.readNBytes(startupLength - 4));
            while (true) {
                int type = in.read();
                if (type < 0) {
                    return;
                }
                int length = in.readInt();
                byte[] body = in.readNBytes(length - 4);
                if (cuts(type, body)) {
                    cuts.incrementAndGet();
                    return; // closes both
                }
                out.write(type);
                out.write(ByteBuffer.allocate(4).putInt(length).array());
                out.write(body);
            }
        } catch (IOException e) {
            // one side went away: both are closed
        }
    }

    private boolean cuts(int type, byte[] body) {
        String text = switch (type) {
            case 'Q' -> cstring(body, 0);
            case 'P' -> cstring(body, indexOfNul(body, 0) + 1); // after the statement name
            default -> null;
        };
        return text != null && text.strip().toLowerCase(Locale.ROOT).equals(statement);
    }

    private static int indexOfNul(byte[] body, int from) {
        for (int i = from; i < body.length; i++) {
            if (body[i] == 0) {
                return i;
            }
        }
        return body.length;
    }

    private static String cstring(byte[] body, int from) {
        return new String(body, from, Math.max(0, indexOfNul(body, from) - from), StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket socket : open) {
            socket.close();
        }
    }
}
