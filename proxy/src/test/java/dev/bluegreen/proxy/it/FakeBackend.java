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
 * A scripted Postgres server for faults a real one cannot be made to commit: it logs any client in,
 * waits for one Query, then misbehaves as told.
 */
final class FakeBackend implements AutoCloseable {

    /** What to answer the first Query with; the socket is closed afterwards. */
    interface Misbehaviour {
        void answer(OutputStream out) throws IOException;
    }

    private final ServerSocket server;
    private final Thread thread;

    FakeBackend(Misbehaviour misbehaviour) throws IOException {
        server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        thread = Thread.ofVirtual().start(() -> serve(misbehaviour));
    }

    int port() {
        return server.getLocalPort();
    }

    private void serve(Misbehaviour misbehaviour) {
        try (Socket socket = server.accept()) {
            DataInputStream in = new DataInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            byte[] startup = new byte[in.readInt() - 4];
            in.readFully(startup);
            out.write(message('R', ByteBuffer.allocate(4).putInt(0).array()));
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
