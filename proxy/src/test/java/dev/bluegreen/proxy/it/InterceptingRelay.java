package dev.bluegreen.proxy.it;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay between the proxy and a real cluster that acts at the moment a given statement would run there
 * for the {@code nth} time: the Query with that text, or the Bind of a statement parsed with it (unnamed or
 * named, as drivers reuse their prepared COMMIT and ROLLBACK). By default it cuts that connection, both ways,
 * and the statement is not passed on: a cluster lost while it runs one particular statement, which a real server
 * cannot be made to do at will. {@link #holdingAnswers} passes the statement on and holds back everything the
 * cluster answers on that connection until {@link #release}: an answer slow to reach the proxy, after the
 * cluster has done the work. {@link #holdingRequest} holds the statement itself, and what follows it on that
 * connection, until {@link #release}: a request slow to reach the cluster. Everything else passes through
 * unchanged.
 */
final class InterceptingRelay implements AutoCloseable {

    private enum Action { CUT, HOLD_ANSWERS, HOLD_REQUEST }

    private final ServerSocket server;
    private final int clusterPort;
    private final String statement;
    private final int nth;
    private final AtomicInteger runs = new AtomicInteger();
    private final AtomicInteger cuts = new AtomicInteger();
    private final Action action;
    private final CountDownLatch released = new CountDownLatch(1);
    private final List<Socket> open = new CopyOnWriteArrayList<>();

    InterceptingRelay(int clusterPort, String statement) throws IOException {
        this(clusterPort, statement, 1);
    }

    InterceptingRelay(int clusterPort, String statement, int nth) throws IOException {
        this(clusterPort, statement, nth, Action.CUT);
    }

    /** Passes the first run of {@code statement} on, and holds that connection's answers until {@link #release}. */
    static InterceptingRelay holdingAnswers(int clusterPort, String statement) throws IOException {
        return new InterceptingRelay(clusterPort, statement, 1, Action.HOLD_ANSWERS);
    }

    /** Holds the first run of {@code statement}, and what follows it on its connection, until {@link #release}. */
    static InterceptingRelay holdingRequest(int clusterPort, String statement) throws IOException {
        return new InterceptingRelay(clusterPort, statement, 1, Action.HOLD_REQUEST);
    }

    private InterceptingRelay(int clusterPort, String statement, int nth, Action action) throws IOException {
        this.action = action;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.clusterPort = clusterPort;
        this.statement = statement.toLowerCase(Locale.ROOT);
        this.nth = nth;
        Thread.ofVirtual().start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    /** How many connections were cut, or had their answers held back. */
    int cuts() {
        return cuts.get();
    }

    /** Lets the answers held back go on. */
    void release() {
        released.countDown();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket cluster = new Socket(InetAddress.getLoopbackAddress(), clusterPort);
                open.add(client);
                open.add(cluster);
                AtomicBoolean holding = new AtomicBoolean();
                Thread.ofVirtual().start(() -> relayAnswers(cluster, client, holding));
                Thread.ofVirtual().start(() -> relayRequests(client, cluster, holding));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    /** The cluster's answers, byte for byte; once {@code holding}, only after {@link #release}. */
    private void relayAnswers(Socket from, Socket to, AtomicBoolean holding) {
        try (from; to) {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            byte[] buffer = new byte[8192];
            for (int read = in.read(buffer); read >= 0; read = in.read(buffer)) {
                if (holding.get()) {
                    released.await();
                }
                out.write(buffer, 0, read);
            }
        } catch (IOException e) {
            // one side went away: both are closed
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The proxy's messages, one at a time: the untyped startup packet, then typed messages. */
    private void relayRequests(Socket client, Socket cluster, AtomicBoolean holding) {
        try (client; cluster) {
            DataInputStream in = new DataInputStream(client.getInputStream());
            OutputStream out = cluster.getOutputStream();
            int startupLength = in.readInt();
            out.write(ByteBuffer.allocate(4).putInt(startupLength).array());
            out.write(in.readNBytes(startupLength - 4));
            Set<String> parsedIt = new HashSet<>(); // the names of statements parsed with the text, "" too
            while (true) {
                int type = in.read();
                if (type < 0) {
                    return;
                }
                int length = in.readInt();
                byte[] body = in.readNBytes(length - 4);
                if (runsIt(type, body, parsedIt) && runs.incrementAndGet() == nth) {
                    cuts.incrementAndGet();
                    switch (action) {
                        case CUT -> {
                            return; // closes both
                        }
                        case HOLD_ANSWERS -> holding.set(true); // before the statement goes: its answer cannot slip through
                        case HOLD_REQUEST -> released.await();
                    }
                }
                out.write(type);
                out.write(ByteBuffer.allocate(4).putInt(length).array());
                out.write(body);
            }
        } catch (IOException e) {
            // one side went away: both are closed
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether the message runs the statement: a Query of it, or a Bind of a statement parsed with it. */
    private boolean runsIt(int type, byte[] body, Set<String> parsedIt) {
        switch (type) {
            case 'Q' -> {
                return matches(cstring(body, 0));
            }
            case 'P' -> {
                String name = cstring(body, 0);
                if (matches(cstring(body, indexOfNul(body, 0) + 1))) {
                    parsedIt.add(name);
                } else {
                    parsedIt.remove(name);
                }
                return false;
            }
            case 'B' -> {
                return parsedIt.contains(cstring(body, indexOfNul(body, 0) + 1)); // the statement, after the portal
            }
            default -> {
                return false;
            }
        }
    }

    private boolean matches(String text) {
        return text.strip().toLowerCase(Locale.ROOT).equals(statement);
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
        release();
        server.close();
        for (Socket socket : open) {
            socket.close();
        }
    }
}
