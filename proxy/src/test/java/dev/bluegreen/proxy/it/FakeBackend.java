package dev.bluegreen.proxy.it;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A scripted Postgres server for faults a real one cannot be made to commit: it logs any client in
 * (with trust, or as a login script says), waits for one Query, then misbehaves as told.
 */
final class FakeBackend implements AutoCloseable {

    /** What to answer the first Query with; the socket is closed afterwards. */
    interface Misbehaviour {
        void answer(OutputStream out) throws IOException;
    }

    /** The authentication exchange after the StartupMessage, up to and including AuthenticationOk. */
    interface Login {
        void run(DataInputStream in, OutputStream out) throws IOException;
    }

    private final ServerSocket server;
    private final Thread thread;

    FakeBackend(Misbehaviour misbehaviour) throws IOException {
        this(trust(), misbehaviour);
    }

    FakeBackend(Login login, Misbehaviour misbehaviour) throws IOException {
        server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        thread = Thread.ofVirtual().start(() -> serve(login, misbehaviour));
    }

    static Login trust() {
        return (in, out) -> out.write(authentication(0, new byte[0]));
    }

    /** An {@code R} message: the request code, then its data. */
    static byte[] authentication(int code, byte[] data) {
        return message('R', ByteBuffer.allocate(4 + data.length).putInt(code).put(data).array());
    }

    /** Reads one typed message from the client and returns its body. */
    static byte[] readMessage(DataInputStream in) throws IOException {
        in.readUnsignedByte();
        byte[] body = new byte[in.readInt() - 4];
        in.readFully(body);
        return body;
    }

    int port() {
        return server.getLocalPort();
    }

    /** The next connection to this server after the session's own (a CancelRequest's), for a misbehaviour to serve. */
    Socket acceptNext() throws IOException {
        return server.accept();
    }

    private void serve(Login login, Misbehaviour misbehaviour) {
        try (Socket socket = server.accept()) {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            byte[] startup = new byte[in.readInt() - 4];
            in.readFully(startup);
            login.run(in, out);
            out.write(message('S', "server_version\00016.0\0".getBytes(StandardCharsets.UTF_8)));
            out.write(message('K', ByteBuffer.allocate(8).putInt(1234).putInt(5678).array()));
            out.write(message('Z', new byte[] {'I'}));
            out.flush();
            in.readUnsignedByte();
            byte[] query = new byte[in.readInt() - 4];
            in.readFully(query);
            misbehaviour.answer(out);
            out.flush();
        } catch (IOException e) {
            // the test sees the outcome through the proxy
        }
    }

    static byte[] message(char type, byte[] body) {
        return RawClient.message(type, body);
    }

    @Override
    public void close() throws IOException {
        server.close();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
