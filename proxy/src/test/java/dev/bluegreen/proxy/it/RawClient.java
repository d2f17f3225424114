package dev.bluegreen.proxy.it;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A client that speaks the protocol byte by byte, for what real drivers never send: garbage, lies
 * about lengths, stalls. Reads are bounded by a socket timeout, so a test never hangs. Its message
 * builders serve tests that hand units mode's readers the messages themselves too.
 */
public final class RawClient implements AutoCloseable {

    record Message(char type, byte[] body) {
        /** The fields of an ErrorResponse or NoticeResponse. */
        Map<Character, String> fields() {
            Map<Character, String> fields = new LinkedHashMap<>();
            int i = 0;
            while (i < body.length && body[i] != 0) {
                char code = (char) body[i++];
                int end = i;
                while (body[end] != 0) {
                    end++;
                }
                fields.put(code, new String(body, i, end - i, StandardCharsets.UTF_8));
                i = end + 1;
            }
            return fields;
        }

        String sqlState() {
            return fields().get('C');
        }
    }

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    RawClient(int port) throws IOException {
        this(port, 0);
    }

    /** A client whose socket takes in at most about {@code receiveBuffer} bytes it has not read (0: the default). */
    RawClient(int port, int receiveBuffer) throws IOException {
        socket = new Socket();
        if (receiveBuffer > 0) {
            socket.setReceiveBufferSize(receiveBuffer); // before connecting, so that the window is set by it
        }
        socket.connect(new InetSocketAddress("127.0.0.1", port));
        socket.setSoTimeout(15_000);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    int localPort() {
        return socket.getLocalPort();
    }

    RawClient send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    RawClient startup(Map<String, String> parameters) throws IOException {
        return send(startupPacket(3 << 16, parameters));
    }

    static byte[] startupPacket(int protocol, Map<String, String> parameters) {
        StringBuilder pairs = new StringBuilder();
        parameters.forEach((k, v) -> pairs.append(k).append('\0').append(v).append('\0'));
        pairs.append('\0');
        byte[] body = pairs.toString().getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + body.length).putInt(8 + body.length).putInt(protocol).put(body).array();
    }

    public static byte[] message(char type, byte[] body) {
        return ByteBuffer.allocate(5 + body.length).put((byte) type).putInt(4 + body.length).put(body).array();
    }

    static byte[] query(String sql) {
        return message('Q', (sql + "\0").getBytes(StandardCharsets.UTF_8));
    }

    /** The strings as the protocol writes them, each ending in a zero byte. */
    static byte[] cstrings(String... values) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String value : values) {
            out.writeBytes(value.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return out.toByteArray();
    }

    /** A Parse of the unnamed statement, its parameter types left to the server. */
    static byte[] parse(String sql) {
        return parse("", sql);
    }

    /** A Parse of statement {@code name}, its parameter types left to the server. */
    static byte[] parse(String name, String sql) {
        byte[] strings = cstrings(name, sql);
        return message('P', ByteBuffer.allocate(strings.length + 2).put(strings).putShort((short) 0).array());
    }

    /** A Bind of the unnamed statement to the unnamed portal, no parameters, rows in text. */
    static byte[] bind() {
        return bind("");
    }

    /** A Bind of {@code statement} to the unnamed portal, no parameters, rows in text. */
    static byte[] bind(String statement) {
        return bind("", statement);
    }

    /** A Bind of {@code statement} to {@code portal}, no parameters, rows in text. */
    public static byte[] bind(String portal, String statement) {
        byte[] names = cstrings(portal, statement);
        return message('B', ByteBuffer.allocate(names.length + 6).put(names).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0).array());
    }

    /** A Describe of prepared statement {@code name}. */
    static byte[] describeStatement(String name) {
        return message('D', concat(new byte[] {'S'}, cstrings(name)));
    }

    /** An Execute of the unnamed portal, every row. */
    static byte[] execute() {
        return execute("");
    }

    /** An Execute of {@code portal}, every row. */
    public static byte[] execute(String portal) {
        byte[] name = cstrings(portal);
        return message('E', ByteBuffer.allocate(name.length + 4).put(name).putInt(0).array());
    }

    static byte[] sync() {
        return message('S', new byte[0]);
    }

    static byte[] flush() {
        return message('H', new byte[0]);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    void shutdownOutput() throws IOException {
        socket.shutdownOutput();
    }

    int readByte() throws IOException {
        return in.read();
    }

    /** The next {@code n} bytes, whatever messages they belong to. */
    byte[] readBytes(int n) throws IOException {
        byte[] bytes = new byte[n];
        in.readFully(bytes);
        return bytes;
    }

    Message read() throws IOException {
        char type = (char) in.readUnsignedByte();
        int length = in.readInt();
        byte[] body = new byte[length - 4];
        in.readFully(body);
        return new Message(type, body);
    }

    /** Reads until a message of this type, returning it. */
    Message readUntil(char type) throws IOException {
        while (true) {
            Message message = read();
            if (message.type() == type) {
                return message;
            }
        }
    }

    /**
     * Reads an answer up to its ReadyForQuery: the first column of its first row as text, "error SQLSTATE" when
     * it failed, "no row" when it had none.
     */
    String firstValue() throws IOException {
        String value = "no row";
        for (Message m = read(); m.type() != 'Z'; m = read()) {
            if (m.type() == 'E') {
                value = "error " + m.sqlState();
            } else if (m.type() == 'D' && value.equals("no row")) {
                ByteBuffer row = ByteBuffer.wrap(m.body());
                row.getShort();
                byte[] text = new byte[row.getInt()];
                row.get(text);
                value = new String(text, StandardCharsets.UTF_8);
            }
        }
        return value;
    }

    /** Reads an answer up to its ReadyForQuery: its command tags, comma-separated, or the fields of the error that ended it. */
    String commandTags() throws IOException {
        List<String> tags = new ArrayList<>();
        String error = null;
        for (Message m = read(); m.type() != 'Z'; m = read()) {
            if (m.type() == 'C') {
                tags.add(new String(m.body(), 0, m.body().length - 1, StandardCharsets.UTF_8));
            } else if (m.type() == 'E') {
                error = m.fields().toString();
            }
        }
        return error != null ? error : String.join(",", tags);
    }

    /** Logs in with trust and waits for ReadyForQuery. */
    RawClient loggedIn(String user) throws IOException {
        startup(Map.of("user", user, "database", "postgres"));
        readUntil('Z');
        return this;
    }

    /** The bytes that have arrived and are not read yet. */
    int unread() throws IOException {
        return in.available();
    }

    /** The messages up to and with the next ReadyForQuery. */
    List<Message> untilReady() throws IOException {
        List<Message> messages = new ArrayList<>();
        for (Message m = read(); ; m = read()) {
            messages.add(m);
            if (m.type() == 'Z') {
                return messages;
            }
        }
    }

    /** The types of the messages up to and with the next ReadyForQuery, in order ("CZ", "ECZ"). */
    String typesUntilReady() throws IOException {
        StringBuilder types = new StringBuilder();
        for (Message m = read(); ; m = read()) {
            types.append(m.type());
            if (m.type() == 'Z') {
                return types.toString();
            }
        }
    }

    /** True once the peer has closed the connection (read returns end of stream). */
    boolean isClosedByPeer() throws IOException {
        try {
            while (true) {
                if (in.read() < 0) {
                    return true;
                }
            }
        } catch (EOFException e) {
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset by peer
        }
    }

    /**
     * Sends a CancelRequest quoting {@code key} (a BackendKeyData's body) on a connection of its own, as
     * libpq does, and returns once the proxy has closed that connection: it has read the request.
     */
    static void cancel(int port, byte[] key) throws IOException {
        try (RawClient canceller = new RawClient(port)) {
            canceller.send(ByteBuffer.allocate(8 + key.length).putInt(8 + key.length).putInt(80877102).put(key).array());
            if (!canceller.isClosedByPeer()) {
                throw new IOException("the proxy kept the cancel connection open");
            }
        }
    }

    /** Ends the connection with a reset, as a client that crashed or was killed does. */
    void reset() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
