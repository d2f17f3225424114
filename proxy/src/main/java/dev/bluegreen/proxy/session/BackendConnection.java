package dev.bluegreen.proxy.session;

import com.ongres.scram.common.exception.ScramException;
import dev.bluegreen.config.ChannelBinding;
import dev.bluegreen.config.Cluster;
import dev.bluegreen.proxy.auth.BackendCredential;
import dev.bluegreen.proxy.auth.Md5;
import dev.bluegreen.proxy.auth.ScramClientExchange;
import dev.bluegreen.proxy.auth.TlsEndPoint;
import dev.bluegreen.proxy.protocol.Authentication;
import dev.bluegreen.proxy.protocol.BackendKeyData;
import dev.bluegreen.proxy.protocol.ErrorResponse;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrameBatch;
import dev.bluegreen.proxy.protocol.FrameDecoder;
import dev.bluegreen.proxy.protocol.FramePart;
import dev.bluegreen.proxy.protocol.PasswordMessage;
import dev.bluegreen.proxy.protocol.ProtocolViolation;
import dev.bluegreen.proxy.protocol.StartupPacket;
import dev.bluegreen.proxy.protocol.Terminate;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One server connection of a client session, to one cluster: connect, optional TLS, log in with the
 * proxy's credentials for that cluster, collect the startup messages, then relay frames.
 *
 * <pre>
 *  Connecting ─▶ [AwaitingSslAnswer ─S─▶ Handshaking] ─▶ Authenticating ─AuthOk─▶ Starting ─Z─▶ Ready
 *                                                            │ SASL                ▲ AuthOk
 *                                                            ▼                     │
 *                            SaslFirstSent ─SASLContinue─▶ SaslFinalSent ─SASLFinal─▶ ServerVerified
 *       └──────────────── any failure: listener.backendStartupFailed ──────────────▶ Closed
 * </pre>
 *
 * Once SCRAM has begun, only a SASLFinal whose server signature verifies leads to AuthenticationOk:
 * a server that says Ok before proving it knows the password (an impostor, or a man in the middle
 * that learnt nothing from the exchange) is refused.
 *
 * Runs on its client's event loop, so the session and its backends never need a lock.
 */
final class BackendConnection implements ChannelEvents {

    private static final Logger log = LoggerFactory.getLogger(BackendConnection.class);

    /** What the owning session hears from this connection, all on the event loop. */
    interface Listener {
        /** Login done: {@code startupFrames} (ParameterStatus, notices) and the final ReadyForQuery are the caller's to release. */
        void backendReady(BackendConnection backend, List<Frame> startupFrames, Frame readyForQuery);

        /** Could not connect or log in; {@code error} is what the client should see. */
        void backendStartupFailed(BackendConnection backend, ErrorResponse error);

        /** Frames after startup; the listener owns them. */
        void backendFrames(BackendConnection backend, FrameBatch frames);

        /**
         * Whether the session relays a long DataRow or CopyData from this connection as it is, part by part as reads
         * bring it ({@link #backendPart}), rather than have it held whole; asked at each such message's header.
         */
        boolean relaysInParts(BackendConnection backend);

        /** Part of a long message, where {@link #relaysInParts} said so at its header; the listener owns it. */
        void backendPart(BackendConnection backend, FramePart part);

        void backendReadComplete(BackendConnection backend);

        void backendWritabilityChanged(BackendConnection backend, boolean writable);

        /** The connection broke after startup (closed by the server, protocol violation). */
        void backendLost(BackendConnection backend, String reason);
    }

    private sealed interface State {
        record Connecting() implements State {}
        record AwaitingSslAnswer() implements State {}
        record Handshaking() implements State {}
        /** Waiting for the cluster's authentication request, or for AuthenticationOk after a password. */
        record Authenticating() implements State {}
        /** SCRAM client-first sent; only SASLContinue may follow. */
        record SaslFirstSent(ScramClientExchange scram) implements State {}
        /** SCRAM client-final sent; only a SASLFinal carrying the server's signature may follow. */
        record SaslFinalSent(ScramClientExchange scram) implements State {}
        /** The server proved it knows the password; AuthenticationOk may follow. */
        record ServerVerified() implements State {}
        record Starting(List<Frame> frames) implements State {}
        record Ready() implements State {}
        record Closed() implements State {}
    }

    /** How often a cancel meant for requests that were held is sent at most, and the wait before each resend. */
    static final int HELD_CANCEL_SENDS = 5;
    static final long HELD_CANCEL_RESEND_MILLIS = 100;

    private final SessionServices services;
    private final Cluster cluster;
    private final Map<String, String> startupParameters;
    private final String user;
    /** Null where the configuration gives none. */
    private final BackendCredential credential;
    private final Listener listener;
    private final List<Frame> pendingNotices = new ArrayList<>();
    private State state = new State.Connecting();
    private Channel channel;
    private BackendKeyData keyData;
    /** Reads of the server's answers: whether the backend has sent anything since a moment. */
    private long answersRead;
    /** Cancels sent to this backend that its server has not yet confirmed; what is written meanwhile waits. */
    private int cancelsInFlight;
    /** A flush was asked for while a cancel was in flight: done once the last one has settled. */
    private boolean flushHeld;
    /** Cancels asked for while requests were held: meant for those, so sent once they have gone out. */
    private List<Consumer<Boolean>> cancelsAfterHeld = new ArrayList<>();
    /**
     * The server sent a FATAL (or PANIC) error once ready: it closes the connection next (a shutdown,
     * {@code pg_terminate_backend}, {@code idle_session_timeout}), and whoever received the error knows why.
     */
    private boolean endAnnounced;
    /** Fails the login if the cluster has not finished it in time; cancelled once it has, or the connection closed. */
    private ScheduledFuture<?> loginDeadline;

    private BackendConnection(SessionServices services, Cluster cluster, Map<String, String> startupParameters,
                              String user, BackendCredential credential, Listener listener) {
        this.services = services;
        this.cluster = cluster;
        this.startupParameters = startupParameters;
        this.user = user;
        this.credential = credential;
        this.listener = listener;
    }

    /**
     * Starts connecting on {@code loop}; the outcome arrives at the listener.
     *
     * @param startupParameters what to send in the StartupMessage (user and database already mapped)
     * @param credential        what proves the login as {@code user} on this cluster, or null when none is configured
     */
    static BackendConnection open(SessionServices services, EventLoop loop, Cluster cluster,
                                  Map<String, String> startupParameters, BackendCredential credential, Listener listener) {
        BackendConnection backend = new BackendConnection(services, cluster, startupParameters,
                startupParameters.get("user"), credential, listener);
        backend.connect(loop);
        return backend;
    }

    Cluster cluster() {
        return cluster;
    }

    private void connect(EventLoop loop) {
        Bootstrap bootstrap = new Bootstrap()
                .group(loop)
                .channel(services.transport().socketChannel())
                .resolver(services.lookups())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOCATOR, services.allocator())
                .option(ChannelOption.RCVBUF_ALLOCATOR, Transport.receiveSizes())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) services.config().timeouts().connect().toMillis())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        Transport.keepalive(ch, services.config().timeouts().keepalive());
                        ch.pipeline().addLast("backend", new EventsHandler(BackendConnection.this));
                    }
                });
        // a cluster that accepts the connection but never finishes the login (a dead server behind a load
        // balancer) must not hold the session for good: a twin's login has no client waiting to time it out
        Duration loginTimeout = services.config().timeouts().startup();
        loginDeadline = loop.schedule(() -> failStartup(ErrorResponse.fatal("08006", "cluster " + cluster.name() + " at "
                + cluster.host() + ":" + cluster.port() + " did not finish the login within "
                + loginTimeout.toMillis() + " ms")), loginTimeout.toMillis(), TimeUnit.MILLISECONDS);
        bootstrap.connect(HostLookups.address(cluster.host(), cluster.port())).addListener((ChannelFutureListener) future -> {
            if (future.isSuccess()) {
                services.backendOpened(cluster);
                future.channel().closeFuture().addListener(closed -> services.backendClosed(cluster));
            } else {
                String why = future.cause() == null ? "unknown error" : future.cause().getMessage();
                // later, not now: a connect that fails at once (a name that does not resolve) fails inside
                // connect(), before the session has even been handed this connection
                loop.execute(() -> failStartup(ErrorResponse.fatal("08006", "could not connect to cluster "
                        + cluster.name() + " at " + cluster.host() + ":" + cluster.port() + ": " + why)));
            }
        });
    }

    // --- channel events ------------------------------------------------------------------------

    @Override
    public void onActive(Channel channel) {
        this.channel = channel;
        if (state instanceof State.Closed) {
            channel.close(); // the session closed while the connect was in progress
            return;
        }
        if (!(state instanceof State.Connecting)) {
            return;
        }
        if (services.clusterTls(cluster).isPresent()) {
            state = new State.AwaitingSslAnswer();
            channel.writeAndFlush(StartupPacket.SslRequest.encode(channel.alloc()));
        } else {
            startLogin();
        }
    }

    @Override
    public void onRead(Object message) {
        answersRead++;
        try {
            if (message instanceof FramePart part && state instanceof State.Ready) {
                listener.backendPart(this, part);
                return;
            }
            if (message instanceof FrameBatch batch) {
                if (state instanceof State.Ready) {
                    relay(batch);
                    return;
                }
                if (!(state instanceof State.Closed)) {
                    onStartupFrames(batch);
                }
            } else if (message instanceof ByteBuf answer && state instanceof State.AwaitingSslAnswer) {
                onSslAnswer(answer);
            } else if (!(state instanceof State.Closed)) {
                throw new ProtocolViolation("unexpected message from cluster " + cluster.name() + " in state " + state);
            }
            ReferenceCountUtil.release(message);
        } catch (ProtocolViolation e) {
            ReferenceCountUtil.release(message);
            violation(e.getMessage());
        }
    }

    /**
     * Ready: hand the frames on, after checking the one thing a server can get wrong that we must catch.
     * Takes the batch on every path, throwing nothing: it may be a slice of its own (the rest of the read
     * that ended the login), which no caller would know to release.
     */
    private void relay(FrameBatch batch) {
        String problem = batch.contains('E') ? errorResponseProblem(batch) : null;
        if (problem != null) {
            batch.release();
            lose("protocol violation from cluster " + cluster.name() + ": " + problem);
            return;
        }
        listener.backendFrames(this, batch);
    }

    /**
     * What is wrong with the batch's ErrorResponses, or null: each must decode and carry a SQLSTATE. Notes a
     * FATAL one ({@link #endAnnounced}).
     */
    private String errorResponseProblem(FrameBatch batch) {
        List<Frame> frames = batch.frames();
        try {
            boolean fatal = false;
            for (Frame frame : frames) {
                if (frame.type() != 'E') {
                    continue;
                }
                ErrorResponse error = ErrorResponse.decode(frame);
                if (error.sqlState() == null) {
                    return "ErrorResponse without SQLSTATE";
                }
                fatal |= error.endsSession();
            }
            endAnnounced |= fatal; // only for a batch that goes on to the session
            return null;
        } catch (ProtocolViolation e) {
            return "malformed ErrorResponse: " + e.getMessage();
        } finally {
            frames.forEach(Frame::release);
        }
    }

    /**
     * Startup frames often come in one read (AuthenticationOk, ParameterStatus…, BackendKeyData,
     * ReadyForQuery), so each is handled in whatever state the previous one left; anything after
     * ReadyForQuery is relayed.
     */
    private void onStartupFrames(FrameBatch batch) {
        List<Frame> frames = batch.frames();
        try {
            int offset = batch.content().readerIndex();
            for (Frame frame : frames) {
                switch (state) {
                    case State.Authenticating auth -> onAuthentication(frame);
                    case State.SaslFirstSent auth -> onAuthentication(frame);
                    case State.SaslFinalSent auth -> onAuthentication(frame);
                    case State.ServerVerified auth -> onAuthentication(frame);
                    case State.Starting starting -> onStarting(starting, frame);
                    case State.Ready ready -> {
                        relay(batch.from(offset));
                        return;
                    }
                    case State.Closed closed -> {
                        return;
                    }
                    default -> throw new ProtocolViolation("unexpected message from cluster " + cluster.name() + " in state " + state);
                }
                offset += frame.content().readableBytes();
            }
        } finally {
            frames.forEach(Frame::release);
        }
    }

    @Override
    public void onReadComplete() {
        if (state instanceof State.Ready) {
            listener.backendReadComplete(this);
        }
    }

    @Override
    public void onWritabilityChanged(boolean writable) {
        listener.backendWritabilityChanged(this, writable);
    }

    @Override
    public void onUserEvent(Object event) {
        if (event instanceof SslHandshakeCompletionEvent handshake && state instanceof State.Handshaking) {
            if (handshake.isSuccess()) {
                startLogin();
            } else {
                failStartup(ErrorResponse.fatal("08006", "TLS handshake with cluster " + cluster.name() + " failed: "
                        + rootMessage(handshake.cause())));
            }
        } else if (event instanceof FrameDecoder.TruncatedStream) {
            violation("cluster " + cluster.name() + " closed the connection in the middle of a message");
        }
    }

    @Override
    public void onException(Throwable cause) {
        if (cause instanceof DecoderException && cause.getCause() instanceof ProtocolViolation violation) {
            violation((violation.overLimit() ? "cluster " : "protocol violation from cluster ") + cluster.name() + ": "
                    + violation.getMessage());
        } else if (state instanceof State.Handshaking) {
            // the handshake completion event carries the reason
            log.debug("backend TLS error cluster={} cause={}", cluster.name(), cause.toString());
        } else if (cause instanceof ClosedChannelException) {
            onInactive(); // a write that found the connection closed: the server closed it, as onInactive says next
        } else {
            lose("connection to cluster " + cluster.name() + " failed: " + rootMessage(cause));
        }
    }

    @Override
    public void onInactive() {
        lose("cluster " + cluster.name() + " closed the connection unexpectedly");
    }

    // --- startup --------------------------------------------------------------------------------

    private void onSslAnswer(ByteBuf answer) {
        if (answer.readableBytes() != 1) {
            throw new ProtocolViolation("cluster " + cluster.name() + " sent unexpected data in answer to SSLRequest");
        }
        byte code = answer.readByte();
        if (code != 'S') {
            failStartup(ErrorResponse.fatal("08006", "cluster " + cluster.name() + " does not accept TLS, but its tls mode is "
                    + cluster.tlsMode().name().toLowerCase().replace('_', '-')));
            return;
        }
        state = new State.Handshaking();
        SslContext context = services.clusterTls(cluster).orElseThrow();
        SslHandler handler = context.newHandler(channel.alloc(), cluster.host(), cluster.port());
        channel.pipeline().addFirst("tls", handler);
    }

    private void startLogin() {
        state = new State.Authenticating();
        channel.pipeline().addBefore("backend", "frames", FrameDecoder.fromServer(services.config().limits().maxMessageBytes(),
                () -> state instanceof State.Ready && listener.relaysInParts(this)));
        channel.writeAndFlush(StartupPacket.StartupMessage.encode(channel.alloc(), startupParameters));
    }

    private void onAuthentication(Frame frame) {
        switch (frame.type()) {
            case 'R' -> onAuthenticationRequest(Authentication.decode(frame));
            case 'E' -> failStartup(startupError(frame));
            case 'N' -> pendingNotices.add(wellFormed(frame).retain());
            case 'v' -> log.debug("cluster negotiated protocol version cluster={}", cluster.name());
            default -> throw new ProtocolViolation("unexpected message '" + (char) frame.type() + "' during authentication");
        }
    }

    private void onAuthenticationRequest(Authentication request) {
        try {
            switch (state) {
                case State.Authenticating auth -> onFirstRequest(request);
                case State.SaslFirstSent sasl when request instanceof Authentication.SaslContinue next -> {
                    state = new State.SaslFinalSent(sasl.scram());
                    send(PasswordMessage.encodeSaslResponse(channel.alloc(), sasl.scram().clientFinal(next.data())));
                }
                case State.SaslFinalSent sasl when request instanceof Authentication.SaslFinal last -> {
                    sasl.scram().serverFinal(last.data());
                    state = new State.ServerVerified();
                }
                case State.ServerVerified verified when request instanceof Authentication.Ok -> authenticated();
                default -> {
                    if (request instanceof Authentication.Ok) {
                        failStartup(ErrorResponse.fatal("08006", "cluster " + cluster.name()
                                + " accepted the login before completing the SCRAM exchange: it never proved it knows the password"
                                + " of user \"" + user + "\", so bluegreen does not trust it"));
                        return;
                    }
                    throw new ProtocolViolation("unexpected authentication message from cluster " + cluster.name()
                            + " during the SCRAM exchange");
                }
            }
        } catch (MissingPassword e) {
            // bluegreen's configuration lacks it, not the client's password that is wrong (pgjdbc says 08004 too)
            failStartup(ErrorResponse.fatal("08004", e.getMessage()));
        } catch (ScramClientExchange.OtherSecret e) {
            failStartup(ErrorResponse.fatal("08004", "cluster " + cluster.name() + " cannot be logged in to as \"" + user
                    + "\" with the configured SCRAM-SHA-256 secret: " + e.getMessage()));
        } catch (ScramException | IllegalArgumentException e) {
            // the SCRAM library refuses an empty or malformed server message with IllegalArgumentException; a
            // wrong password is the server's ErrorResponse, never this: the cluster broke the exchange, or
            // could not prove it knows the password (a wrong signature)
            failStartup(ErrorResponse.fatal("08006", "SCRAM authentication with cluster " + cluster.name() + " failed: " + e.getMessage()));
        }
    }

    private void onFirstRequest(Authentication request) throws MissingPassword, ScramException {
        byte[] endPoint = cluster.channelBinding() == ChannelBinding.DISABLE ? null : serverEndPoint();
        if (cluster.channelBinding() == ChannelBinding.REQUIRE && !(request instanceof Authentication.Sasl sasl
                && endPoint != null && sasl.mechanisms().contains(ScramClientExchange.MECHANISM_PLUS))) {
            // libpq's channel_binding=require: anything else could be someone between asking for less
            failStartup(ErrorResponse.fatal("08006", "cluster " + cluster.name() + " asks for " + describe(request)
                    + ", but its channel_binding is require: only SCRAM-SHA-256-PLUS over TLS binds the login to the"
                    + " connection (a man in the middle could ask for anything else)"));
            return;
        }
        switch (request) {
            case Authentication.Ok ok -> authenticated();
            case Authentication.CleartextPassword cleartext ->
                    send(PasswordMessage.encodePassword(channel.alloc(), requirePassword("password")));
            case Authentication.Md5Password md5 -> send(PasswordMessage.encodePassword(channel.alloc(),
                    credential instanceof BackendCredential.Md5Secret stored ? Md5.responseFromSecret(stored.secret(), md5.salt())
                            : Md5.response(user, requirePassword("md5"), md5.salt())));
            case Authentication.Sasl sasl -> {
                ScramClientExchange scram = credential instanceof BackendCredential.ScramKeys keys
                        ? ScramClientExchange.withKeys(sasl.mechanisms(), keys.secret(), keys.clientKey(), endPoint)
                        : new ScramClientExchange(sasl.mechanisms(), requirePassword("SCRAM-SHA-256"), endPoint);
                state = new State.SaslFirstSent(scram);
                byte[] first = scram.clientFirst();
                send(new PasswordMessage.SaslInitialResponse(scram.mechanism(), first).encode(channel.alloc()));
            }
            case Authentication.Unsupported unsupported -> failStartup(ErrorResponse.fatal("28000",
                    "cluster " + cluster.name() + " asks for an authentication method bluegreen does not support (code "
                            + unsupported.code() + ")"));
            default -> throw new ProtocolViolation("unexpected authentication message from cluster " + cluster.name());
        }
    }

    /** The channel-binding data of the certificate the cluster presented, or null where the connection is not TLS. */
    private byte[] serverEndPoint() {
        SslHandler tls = channel.pipeline().get(SslHandler.class);
        return tls == null ? null : TlsEndPoint.peer(tls.engine().getSession());
    }

    private static String describe(Authentication request) {
        return switch (request) {
            case Authentication.Ok ok -> "no password (trust)";
            case Authentication.CleartextPassword cleartext -> "the password in clear";
            case Authentication.Md5Password md5 -> "an md5 password";
            case Authentication.Sasl sasl -> "SASL " + String.join(", ", sasl.mechanisms())
                    + (sasl.mechanisms().contains(ScramClientExchange.MECHANISM_PLUS)
                            ? " with no TLS certificate of its own the proxy could bind the login to" : "");
            default -> "an authentication method bluegreen does not support";
        };
    }

    private void authenticated() {
        state = new State.Starting(new ArrayList<>(pendingNotices));
        pendingNotices.clear();
    }

    private void onStarting(State.Starting starting, Frame frame) {
        switch (frame.type()) {
            case 'S', 'N' -> starting.frames().add(wellFormed(frame).retain());
            case 'K' -> keyData = BackendKeyData.decode(frame);
            case 'E' -> failStartup(startupError(frame));
            case 'Z' -> {
                state = new State.Ready();
                loginDeadline.cancel(false);
                listener.backendReady(this, starting.frames(), frame.retain());
            }
            default -> throw new ProtocolViolation("unexpected message '" + (char) frame.type() + "' during startup");
        }
    }

    /**
     * A ParameterStatus or NoticeResponse of the login, which reaches the client as it is: one the proxy cannot
     * read is the cluster's protocol violation (08006), not something to pass on.
     */
    private Frame wellFormed(Frame frame) {
        if (frame.type() == 'N') {
            try {
                ErrorResponse.decode(frame); // a notice has an error's fields
            } catch (ProtocolViolation e) {
                throw new ProtocolViolation("protocol violation from cluster " + cluster.name() + ": malformed NoticeResponse: "
                        + e.getMessage());
            }
        } else if (SqlReading.parameterStatus(frame.content(), frame.content().readerIndex(),
                frame.content().readableBytes()) == null) {
            throw new ProtocolViolation("protocol violation from cluster " + cluster.name() + ": malformed ParameterStatus");
        }
        return frame;
    }

    /** The server's own error, unless it broke the protocol by leaving out the SQLSTATE. */
    private ErrorResponse startupError(Frame frame) {
        ErrorResponse error = ErrorResponse.decode(frame);
        if (error.sqlState() == null) {
            return ErrorResponse.fatal("08006", "protocol violation from cluster " + cluster.name() + ": ErrorResponse without SQLSTATE");
        }
        return error;
    }

    private String requirePassword(String method) throws MissingPassword {
        String asked = "cluster " + cluster.name() + " asks for a " + method + " password for user \"" + user + "\", but ";
        return switch (credential) {
            case BackendCredential.Password given -> given.password();
            case null -> throw new MissingPassword(asked + "none is configured");
            case BackendCredential.Md5Secret stored -> throw new MissingPassword(asked + "only its md5 secret is"
                    + " configured: configure the password itself, or store the role's password there as md5");
            case BackendCredential.ScramKeys stored -> throw new MissingPassword(asked + "only its SCRAM-SHA-256 secret is"
                    + " configured: configure the password itself, or store the role's password there as that secret"
                    + " (a pg_hba.conf line of md5 or scram-sha-256 then asks for SCRAM)");
        };
    }

    private static final class MissingPassword extends Exception {
        MissingPassword(String message) {
            super(message, null, false, false);
        }
    }

    // --- relay ----------------------------------------------------------------------------------

    void write(ByteBuf message) {
        channel.write(message, channel.voidPromise());
    }

    /**
     * Sends what was written, unless a cancel sent to this backend is still unconfirmed: a signal that reaches
     * the backend once it has begun on the next request cancels that request instead of the one meant (the
     * client's late cancel would otherwise land on the proxy's own next request, or on a follower's write).
     * Held until the cancel settles; a backend signalled while it waits for its next request ignores it.
     */
    void flush() {
        if (cancelsInFlight > 0) {
            flushHeld = true;
            return;
        }
        channel.flush();
    }

    boolean isWritable() {
        return channel != null && channel.isWritable();
    }

    void setAutoRead(boolean autoRead) {
        if (channel != null) {
            channel.config().setAutoRead(autoRead);
        }
    }

    /**
     * Sends the server's cancel key on a fresh connection, as a client would, to the address this
     * connection went to: a name that resolves to several servers must not send it to another one.
     */
    void cancel() {
        cancel(confirmed -> { });
    }

    /**
     * {@link #cancel()}, then {@code onSettled} on this connection's event loop: true once the server has closed
     * the cancel connection, which it does after signalling the backend; false when the cancel could not be
     * sent, or the server kept the connection open past the connect timeout (the proxy then closes it). A
     * backend signalled while it waits for its next request ignores the signal; one signalled after it has been
     * sent that request cancels it instead: until the cancel settles, what is written to this connection is
     * held ({@link #flush}), and sent after {@code onSettled} has run. Asked for while requests are held, the
     * cancel is meant for those: it is sent once they have gone out ({@link #cancelUntilAnswered}).
     */
    void cancel(Consumer<Boolean> onSettled) {
        if (flushHeld && keyData != null && channel != null && channel.isActive()) {
            // the request to cancel may be one still held: sent now, the cancel would find the backend idle
            cancelsAfterHeld.add(onSettled);
            return;
        }
        send(onSettled);
    }

    private void send(Consumer<Boolean> onSettled) {
        if (keyData == null || channel == null || !channel.isActive()) {
            onSettled.accept(false);
            return;
        }
        BackendKeyData key = keyData;
        cancelsInFlight++;
        Consumer<Boolean> settled = confirmed -> {
            try {
                onSettled.accept(confirmed);
            } finally {
                cancelSettled();
            }
        };
        try {
            ClusterCancel.send(services, cluster, channel.eventLoop(), channel.remoteAddress(), key, settled);
        } catch (RuntimeException e) {
            log.warn("cancel request not sent cluster={} cause={}", cluster.name(), rootMessage(e));
            settled.accept(false);
        }
    }

    /** Tells one that waited for a cancel how it went; one that fails does not keep the news from the others. */
    private void settle(Consumer<Boolean> waiting, boolean confirmed) {
        try {
            waiting.accept(confirmed);
        } catch (RuntimeException e) {
            log.warn("after a cancel cluster={}", cluster.name(), e);
        }
    }

    private void cancelSettled() {
        if (--cancelsInFlight > 0 || !flushHeld) {
            return;
        }
        flushHeld = false;
        channel.flush();
        if (!cancelsAfterHeld.isEmpty()) {
            List<Consumer<Boolean>> waiting = cancelsAfterHeld;
            cancelsAfterHeld = new ArrayList<>();
            cancelUntilAnswered(answersRead, HELD_CANCEL_SENDS, confirmed -> waiting.forEach(each -> settle(each, confirmed)));
        }
    }

    /**
     * Sends a cancel meant for the requests that have just gone out, and sends it again while the backend has answered
     * nothing since ({@code answersBefore}), {@code sends} times at most. Sent right after them, the signal can reach
     * the backend before it has read them, and a backend waiting for a request ignores it: the server's child that
     * signals can win that race on a busy machine, and the request would then run to its end. A backend that has
     * answered nothing has not ended them (their answer ends with ReadyForQuery). What is written meanwhile waits, as
     * behind any cancel, so no resend can reach a request sent after them.
     */
    private void cancelUntilAnswered(long answersBefore, int sends, Consumer<Boolean> onSettled) {
        cancelsInFlight++; // held until this decides, past the send's own confirmation
        send(confirmed -> {
            if (!confirmed || sends <= 1 || answersRead != answersBefore) {
                settleHold(onSettled, confirmed);
                return;
            }
            channel.eventLoop().schedule(() -> {
                if (answersRead == answersBefore && channel.isActive()) {
                    log.debug("cancel sent again, the backend having answered nothing cluster={} resend={}",
                            cluster.name(), HELD_CANCEL_SENDS - sends + 1);
                    cancelUntilAnswered(answersBefore, sends - 1, onSettled);
                    cancelSettled();
                } else {
                    settleHold(onSettled, true);
                }
            }, HELD_CANCEL_RESEND_MILLIS, TimeUnit.MILLISECONDS);
        });
    }

    private void settleHold(Consumer<Boolean> onSettled, boolean confirmed) {
        try {
            onSettled.accept(confirmed);
        } finally {
            cancelSettled();
        }
    }

    /** Ends the connection politely (Terminate) if it is logged in, and forgets about it. */
    void close() {
        State previous = state;
        state = new State.Closed();
        loginDeadline.cancel(false);
        releaseFrames(previous);
        if (channel == null) {
            return;
        }
        if (previous instanceof State.Ready && channel.isActive()) {
            channel.writeAndFlush(Terminate.encode(channel.alloc())).addListener(ChannelFutureListener.CLOSE);
        } else {
            channel.close();
        }
    }

    /**
     * Drops the connection at once, without the Terminate that {@link #close} queues behind whatever is still
     * unsent: for a cluster given up on, which may not be reading what was sent to it.
     */
    void abandon() {
        State previous = state;
        state = new State.Closed();
        loginDeadline.cancel(false);
        releaseFrames(previous);
        if (channel != null) {
            channel.close();
        }
    }

    /** Runs {@code action} on the event loop once the connection has closed, for whatever reason. */
    void whenClosed(Runnable action) {
        if (channel == null) {
            action.run();
        } else {
            channel.closeFuture().addListener(closed -> action.run());
        }
    }

    // --- failure --------------------------------------------------------------------------------

    private void violation(String message) {
        if (state instanceof State.Ready) {
            lose(message);
        } else {
            failStartup(ErrorResponse.fatal("08006", message));
        }
    }

    private void failStartup(ErrorResponse error) {
        if (state instanceof State.Closed || state instanceof State.Ready) {
            return;
        }
        close();
        listener.backendStartupFailed(this, error);
    }

    /**
     * Whether the server sent a FATAL error after the login, and so the reason it is about to close (or has
     * closed) the connection.
     */
    boolean endAnnounced() {
        return endAnnounced;
    }

    private void lose(String reason) {
        if (state instanceof State.Closed) {
            return;
        }
        if (!(state instanceof State.Ready)) {
            failStartup(ErrorResponse.fatal("08006", reason));
            return;
        }
        state = new State.Closed();
        if (channel != null) {
            channel.close();
        }
        listener.backendLost(this, reason);
    }

    private void send(ByteBuf message) {
        channel.writeAndFlush(message, channel.voidPromise());
    }

    private void releaseFrames(State previous) {
        if (previous instanceof State.Starting starting) {
            starting.frames().forEach(Frame::release);
        }
        pendingNotices.forEach(Frame::release);
        pendingNotices.clear();
    }

    static String rootMessage(Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }

    @Override
    public String toString() {
        return "backend[" + cluster.name() + "]";
    }
}
