package dev.bluegreen.proxy.session;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.StoredSecret;
import dev.bluegreen.config.User;
import dev.bluegreen.proxy.auth.Md5;
import dev.bluegreen.proxy.auth.ScramClientExchange;
import dev.bluegreen.proxy.auth.ScramServerExchange;
import dev.bluegreen.proxy.auth.TlsEndPoint;
import dev.bluegreen.proxy.protocol.Authentication;
import dev.bluegreen.proxy.protocol.BackendKeyData;
import dev.bluegreen.proxy.protocol.ErrorResponse;
import dev.bluegreen.proxy.protocol.Frame;
import dev.bluegreen.proxy.protocol.FrameBatch;
import dev.bluegreen.proxy.protocol.FramePart;
import dev.bluegreen.proxy.protocol.FrameDecoder;
import dev.bluegreen.proxy.protocol.FrontendMessages;
import dev.bluegreen.proxy.protocol.NegotiateProtocolVersion;
import dev.bluegreen.proxy.protocol.PasswordMessage;
import dev.bluegreen.proxy.protocol.ProtocolViolation;
import dev.bluegreen.proxy.protocol.ReadyForQuery;
import dev.bluegreen.proxy.protocol.StartupDecoder;
import dev.bluegreen.proxy.protocol.StartupPacket;
import dev.bluegreen.proxy.protocol.TypeOidTranslation;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import dev.bluegreen.proxy.control.FollowerWrites;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.control.WriteBarrier;
import dev.bluegreen.proxy.routing.Classification;
import dev.bluegreen.proxy.routing.ClusterRole;
import dev.bluegreen.proxy.routing.Trait;
import dev.bluegreen.proxy.dualwrite.OneLine;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection and the server connection(s) it owns. The client side is an explicit state
 * machine; each backend runs its own ({@link BackendConnection}).
 *
 * <pre>
 *  AwaitingStartup ──SSLRequest──▶ (TLS) ──▶ AwaitingStartup
 *        │  └──TLS ClientHello──▶ DirectTlsHandshake ──handshake with ALPN "postgresql"──▶ AwaitingStartup
 *        │ StartupMessage
 *        ▼
 *  AwaitingPassword / AwaitingSaslInitial ─▶ AwaitingSaslResponse      (trust skips these)
 *        │ authenticated: AuthenticationOk sent
 *        ▼
 *  ConnectingBackend ──backend ReadyForQuery──▶ Ready ──Terminate / error / drain──▶ Closed
 * </pre>
 *
 * A client may pipeline messages behind its login (a Query right behind the StartupMessage or the
 * password); Postgres reads them after its ReadyForQuery, and so does the session: what arrives in
 * {@code ConnectingBackend} waits in {@link #pending}, the client is not read meanwhile, and {@code Ready}
 * starts with it.
 *
 * Everything runs on the client channel's event loop, which its backends share. Invariant: a frame
 * read in {@code Ready} or {@code ConnectingBackend} is either forwarded (ownership passes to the peer
 * channel), queued in {@link #pending} (released when the session closes) or released.
 */
public final class ClientSession implements ChannelEvents, BackendConnection.Listener {

    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);
    private static final AtomicLong IDS = new AtomicLong();
    /** Waiting client frames beyond which the client is not read until they drain. */
    private static final int MAX_PENDING_FRAMES = 4096;
    /** The largest unit the relay keeps while it runs, for a barrier that may close meanwhile (see {@link #relayedUnit}). */
    private static final int MAX_KEPT_UNIT_BYTES = 64 * 1024;
    /**
     * A shadow-mode session that lost its twin tries for a new one after this many {@code timeouts.connect}
     * (30 s by default): often enough that a green back after a restart soon gets every session's writes
     * again, seldom enough that a green still down costs each session's unit a failed login only now and then.
     */
    static final int SHADOW_TWIN_RETRY_CONNECT_TIMEOUTS = 6;
    /**
     * Bytes of waiting client frames beyond which the client is not read until they drain: a frame may be as
     * large as {@code limits.max_message_size}, so a count alone would let a pipelining client queue gigabytes
     * while the write barrier holds its next unit back.
     */
    static final long MAX_PENDING_BYTES = 1024 * 1024;

    private sealed interface State {
        record AwaitingStartup() implements State {}
        /** TLS from the first byte: the handshake must agree on ALPN "postgresql" before any startup packet counts. */
        record DirectTlsHandshake() implements State {}
        record AwaitingPassword(StartupPacket.StartupMessage startup, User user, byte[] salt) implements State {}
        /** {@code user} is the startup packet's, configured or not: an unknown one fails at the proof. */
        /** {@code endPoint}: the proxy certificate's channel-binding data where the client is on TLS, else null. */
        record AwaitingSaslInitial(StartupPacket.StartupMessage startup, String user, byte[] endPoint) implements State {}
        record AwaitingSaslResponse(StartupPacket.StartupMessage startup, String user, ScramServerExchange exchange) implements State {}
        record ConnectingBackend(StartupPacket.StartupMessage startup) implements State {}
        record Ready() implements State {}
        record Closed() implements State {}
    }

    private final long id = IDS.incrementAndGet();
    private final SessionServices services;
    private Channel channel;
    private State state = new State.AwaitingStartup();
    /** Bounds the client's part of the startup, up to its authentication; the cluster's login has a deadline of its own. */
    private ScheduledFuture<?> startupTimeout;
    /** The one connection relayed to, in relay mode; null in units mode. */
    private BackendConnection backend;
    /**
     * The clusters whose catalogs the client may have learned type OIDs from: the one it relays to, and
     * every cluster that answered one of its reads of the system catalogs under dual-write. A type the
     * database defined has other OIDs on each cluster; see {@link #outgoing}.
     */
    private final EnumSet<ClusterRole> typesLearnedFrom = EnumSet.noneOf(ClusterRole.class);
    /** Units mode (dual-write); null while relaying. */
    private Units units;
    /** A twin logging in for {@link #units}. */
    private BackendConnection twinConnecting;
    /** Client frames waiting: for the write barrier, for a twin, or for their turn in units mode. Each retained. */
    private final ArrayDeque<Frame> pending = new ArrayDeque<>();
    private StartupPacket.StartupMessage startup;
    /**
     * The ClientKey the client's SCRAM login proved, for the proxy's own logins as its role where the configuration
     * gives the role's SCRAM secret rather than its password (a twin logs in later, so it is kept for the session);
     * null for other logins.
     */
    private byte[] scramClientKey;
    private Map<String, String> tenantParameters = Map.of();
    private WriteBarrier.Pass pass;
    /** The routing state this session last acted on; a different instance means something changed. */
    private RoutingState seen;
    /**
     * In shadow mode, when a relayed session whose twin was lost or could not be made tries for a new one
     * (0: it does not): without this it would mirror nothing until the routing state changed.
     */
    private long twinRetryAtNanos;
    /**
     * While a shadow-mode session relays without a twin ({@link #twinRetryAtNanos} set): the names of the
     * statements it prepared that change no data ({@code ""} the unnamed one; reads, {@code BEGIN}, {@code SET}),
     * so that a write it relays, which green misses, is counted as a mirror drop; null otherwise.
     */
    private Set<String> readingStatementsUnmirrored;
    /** A plain read passed a closing write barrier without entering it and has not yet been answered. */
    private boolean readOutsideBarrier;
    /**
     * The unit the relay sent from idle, still unanswered, with nothing sent behind it (retained, from
     * {@link #relayedUnitFrom} to {@link #relayedUnitTo}; null otherwise): should a barrier start to close while
     * it runs, it is read then, and a plain read leaves the barrier (DESIGN §5: reads are never held). Kept
     * rather than read on the way, so that the relay reads no SQL while no barrier closes.
     */
    private ByteBuf relayedUnit;
    private int relayedUnitFrom;
    private int relayedUnitTo;
    /**
     * The last Parse of the unnamed statement relayed, while the statement lasts (a Query ends it): a client may
     * bind it in a later round trip (a Describe first), and should that be the first unit in units mode, the
     * twin must be given it, and the leader given it again after the proxy's own queries ended it there.
     */
    private ByteBuf relayedUnnamedParse;
    /** Counted among the pinned sessions already: each units mode it enters learns it again. */
    private boolean pinnedCounted;
    /**
     * Whether anything ran on the session's server, relayed or as a unit before it went back to relaying: it
     * may hold state (settings, prepared statements, a role) that a twin must get from a snapshot.
     */
    private boolean mayHoldState;
    /** How the server reads this session's SQL text; kept current by units mode, which reads SQL. */
    private final SqlReading sqlReading = new SqlReading();
    /**
     * What the first server reported at login of the settings that decide what a value reads as
     * ({@link SqlReading#decidesReading}), in ASCII (so that the twin's startup packet carries them as they
     * came): every twin logs in with them.
     */
    private final Map<String, String> leaderReading = new LinkedHashMap<>();
    private BackendKeyData cancelKey;
    /**
     * Requests sent whose answer has not come back yet, oldest first, by message type (boxed bytes are
     * cached: nothing is allocated): Queries, Syncs and function calls until their ReadyForQuery, and
     * Parse, Bind, Describe, Execute and Close until their own completion. The latter say what a
     * ReadyForQuery answers after an error: one still waiting failed, and the server skipped everything
     * after it up to the next Sync, a Query or function call sent in the batch too.
     */
    private final ArrayDeque<Byte> outstanding = new ArrayDeque<>();
    /** In {@link #outstanding}: a Sync sent among COPY data, which the server answers only after a failed COPY. */
    private static final byte SYNC_IN_COPY = '~';
    /** An Execute went out since the last ReadyForQuery (a client may run one and wait on Flush alone). */
    private boolean executeSent;
    /** Extended-protocol messages went out since the last Sync: the client is in the middle of a batch. */
    private boolean batchOpen;
    /**
     * Where a COPY FROM STDIN stands. From the server's CopyInResponse until its next ReadyForQuery the COPY is a
     * unit in progress: the client's data, CopyDone and the Sync after it are still to come.
     */
    private enum CopyIn {
        /** No COPY FROM STDIN in progress. */
        NONE,
        /**
         * The server reads what the client sends as COPY data, until the client's CopyDone or CopyFail. It ignores
         * a Sync or Flush among them, so such a Sync waits in {@link #outstanding} as {@link #SYNC_IN_COPY}:
         * dropped when the COPY completes, answered by a ReadyForQuery should the server have failed the COPY
         * before it read the Sync (then it answers the Sync: which side of the failure a Sync was read on cannot
         * be known here, and a Sync left over errs toward a session seen busy, never one seen idle early).
         */
        DATA,
        /** The client has ended the data; the server's answer and ReadyForQuery are still to come. */
        ENDED
    }

    private CopyIn copyIn = CopyIn.NONE;
    /** CopyDone or CopyFail messages the client sent ahead of the CopyInResponse of the COPY they end. */
    private int copyEndsAhead;
    private ReadyForQuery transactionStatus = ReadyForQuery.IDLE;
    /** Close as soon as the session is idle outside a transaction (graceful shutdown). */
    private boolean closeWhenIdle;
    /** The server connection whose FATAL error the relay forwarded to the client: its loss needs no error of ours. */
    private BackendConnection endRelayedFrom;
    /** Set once the session is to close ({@link #terminate}): the client is no longer relayed. */
    private boolean terminating;
    /** The running statement is being cancelled so that the session can close ({@link #terminate}). */
    private boolean cancellingToClose;
    /** Scratch for the frame visitors, which are built once so the relay allocates nothing per read. */
    private int terminateAt;
    private int readyAt;
    private final FrameBatch.Visitor clientFrameVisitor = this::onClientFrame;
    /** The batch {@link #clientFrameVisitor} is visiting. */
    private FrameBatch relayedFrames;
    private final FrameBatch.Visitor backendFrameVisitor = this::onBackendFrame;
    /** The batch {@link #backendFrameVisitor} is visiting. */
    private FrameBatch backendBatch;
    /** While {@link #backendBatch} is read: where its answers' type OIDs are to be the client's ({@link #answersFrom}). */
    private TypeOidTranslation.Types relayAnswerTypes;
    /**
     * A long message is being relayed part by part and its last part has not gone out: nothing else may be written
     * to the client until it has (a message of the proxy's there would be read as the rest of it).
     */
    private boolean midMessage;

    ClientSession(SessionServices services) {
        this.services = services;
    }

    // --- channel events ------------------------------------------------------------------------

    @Override
    public void onActive(Channel channel) {
        this.channel = channel;
        services.register(this);
        pass = services.migration().control().barrier().pass(barrierName, this::barrierClosing);
        long millis = services.config().timeouts().startup().toMillis();
        startupTimeout = channel.eventLoop().schedule(this::onStartupTimeout, millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void onRead(Object message) {
        if (state instanceof State.Closed) {
            discard(message); // what was decoded from the same read as the reason to close
            return;
        }
        try {
            switch (message) {
                case FrameBatch batch when state instanceof State.Ready -> {
                    relayToBackend(batch);
                    return;
                }
                case FrameBatch batch -> onStartupFrames(batch);
                case StartupPacket.SslRequest ssl -> onSslRequest();
                case StartupPacket.DirectTls direct -> {
                    onDirectTls(direct);
                    return;
                }
                case StartupPacket.GssEncRequest gss -> channel.writeAndFlush(channel.alloc().buffer(1).writeByte('N'));
                case StartupPacket.CancelRequest cancel -> onCancelRequest(cancel);
                case StartupPacket.StartupMessage startup -> onStartupMessage(startup);
                case StartupDecoder.UnsupportedProtocol unsupported -> closeWith(ErrorResponse.fatal("0A000",
                        "unsupported frontend protocol " + unsupported.majorVersion() + "." + unsupported.minorVersion()
                                + ": bluegreen supports 3.0"));
                default -> throw new ProtocolViolation("unexpected message " + message.getClass().getSimpleName());
            }
            ReferenceCountUtil.release(message);
        } catch (ProtocolViolation e) {
            ReferenceCountUtil.release(message);
            closeWith(ErrorResponse.fatal("08P01", e.getMessage()));
        }
    }

    private static void discard(Object message) {
        if (message instanceof StartupPacket.DirectTls direct) {
            direct.handshakeBytes().release();
        } else {
            ReferenceCountUtil.release(message);
        }
    }

    @Override
    public void onReadComplete() {
        if (state instanceof State.Ready && backend != null) {
            backend.flush();
        }
    }

    /** The session's id, the sticky key of its units by default. */
    long id() {
        return id;
    }

    Map<String, String> startupParameters() {
        return tenantParameters;
    }

    /** The database the client asked for, as it named it; empty before its startup packet. */
    String database() {
        return startup == null ? "" : startup.database();
    }

    @Override
    public void onWritabilityChanged(boolean writable) {
        if (!(state instanceof State.Ready)) {
            return;
        }
        if (units != null) {
            units.setAutoRead(writable);
        } else if (backend != null) {
            backend.setAutoRead(writable);
        }
    }

    @Override
    public void onUserEvent(Object event) {
        if (event instanceof FrameDecoder.TruncatedStream truncated) {
            closeWith(ErrorResponse.fatal("08P01", "incomplete message from client: the connection ended "
                    + truncated.bufferedBytes() + " bytes into a message"));
        } else if (event instanceof ChannelInputShutdownEvent) {
            // the end of the client's stream: a client that only shut down its sending side cannot be told from
            // one that has gone, and what it is owed is not waited for (as PgBouncer does; a closed session's
            // unfinished work is bounded by the shutdown grace)
            close();
        } else if (event instanceof SslHandshakeCompletionEvent handshake && state instanceof State.DirectTlsHandshake) {
            onDirectTlsHandshake(handshake);
        }
    }

    @Override
    public void onException(Throwable cause) {
        if (cause instanceof DecoderException && cause.getCause() instanceof ProtocolViolation violation) {
            closeWith(ErrorResponse.fatal("08P01", violation.getMessage()));
        } else if (cause instanceof IOException || cause instanceof DecoderException) {
            log.debug("client connection error session={} cause={}", id, cause.toString());
            close();
        } else {
            log.warn("unexpected error session={}", id, cause);
            closeWith(ErrorResponse.fatal("XX000", "internal error in bluegreen"));
        }
    }

    @Override
    public void onInactive() {
        close();
    }

    // --- startup and client authentication ------------------------------------------------------

    private void onSslRequest() {
        if (!(state instanceof State.AwaitingStartup)) {
            throw new ProtocolViolation("unexpected SSLRequest");
        }
        // inside direct TLS, as in Postgres: no second TLS (a repeated request the decoder has already refused)
        if (services.clientTls().isEmpty() || channel.pipeline().get(SslHandler.class) != null) {
            channel.writeAndFlush(channel.alloc().buffer(1).writeByte('N'));
            return;
        }
        // The answer must leave unencrypted, and the handshake start right after it: we are on the event
        // loop, so the write reaches the socket's queue before the TLS handler joins the pipeline.
        channel.writeAndFlush(channel.alloc().buffer(1).writeByte('S'));
        channel.pipeline().addFirst("tls", services.clientTls().get().newHandler(channel.alloc()));
    }

    /**
     * Direct TLS: put TLS in front and replay the bytes already read through it. Reading pauses until
     * the replay, so later bytes cannot overtake the ClientHello.
     */
    private void onDirectTls(StartupPacket.DirectTls direct) {
        if (!(state instanceof State.AwaitingStartup) || services.clientTls().isEmpty()) {
            direct.handshakeBytes().release();
            log.debug("direct TLS refused session={}", id);
            close(); // a TLS client cannot read a protocol error
            return;
        }
        state = new State.DirectTlsHandshake();
        channel.config().setAutoRead(false);
        channel.pipeline().addFirst("tls", services.clientTls().get().newHandler(channel.alloc()));
        channel.eventLoop().execute(() -> {
            channel.pipeline().fireChannelRead(direct.handshakeBytes());
            channel.pipeline().fireChannelReadComplete();
            channel.config().setAutoRead(true);
        });
    }

    /**
     * Postgres 17 refuses direct TLS unless the client named the protocol with ALPN (a client that offered
     * other protocols only has already had the no_application_protocol alert). The handshake's outcome
     * arrives before any data decrypted after it, so no startup packet is read first. Closed without a
     * message, as Postgres does: the client did not say it speaks the Postgres protocol.
     */
    private void onDirectTlsHandshake(SslHandshakeCompletionEvent handshake) {
        if (!handshake.isSuccess()) {
            return; // the handshake's exception closes the connection
        }
        SslHandler tls = channel.pipeline().get(SslHandler.class);
        if (tls == null || !StartupPacket.DirectTls.ALPN_PROTOCOL.equals(tls.applicationProtocol())) {
            log.debug("direct TLS without ALPN \"postgresql\" refused session={}", id);
            close();
            return;
        }
        state = new State.AwaitingStartup();
    }

    private void onCancelRequest(StartupPacket.CancelRequest request) {
        Optional<ClientSession> session = services.cancelKeys().find(request.processId(), request.secretKey());
        if (session.isPresent()) {
            session.get().channel.eventLoop().execute(session.get()::cancelRunningQuery);
        } else {
            // a key another instance minted, the load balancer having sent its cancel here (peering)
            services.cancelPeers().forward(request, services.cancelKeys().instanceOf(request.processId()),
                    channel.eventLoop());
        }
        close();
    }

    private void onStartupMessage(StartupPacket.StartupMessage startup) {
        // refused only now, as Postgres does: a CancelRequest, on a connection of its own, must get
        // through when the proxy is full or shutting down, which is when timeouts fire
        if (services.sessionCount() > services.config().limits().maxClientConnections()) {
            closeWith(ErrorResponse.fatal("53300", "sorry, too many clients already"));
            return;
        }
        if (services.isDraining()) {
            closeWith(ErrorResponse.fatal("57P03", "the proxy is shutting down"));
            return;
        }
        if (services.config().clientTls() != null && services.config().clientTls().required()
                && channel.pipeline().get(SslHandler.class) == null) {
            closeWith(ErrorResponse.fatal("28000", "bluegreen requires TLS: connect with sslmode=require"));
            return;
        }
        String userName = startup.user();
        if (userName == null || userName.isEmpty()) {
            closeWith(ErrorResponse.fatal("28000", "no PostgreSQL user name specified in startup packet"));
            return;
        }
        if (startup.asksForReplication()) {
            // forwarded, it would open a replication connection as the proxy's cluster role
            closeWith(ErrorResponse.fatal("0A000", "replication connections are not supported through bluegreen:"
                    + " connect to the cluster directly"));
            return;
        }
        List<String> protocolOptions = startup.parameters().keySet().stream().filter(k -> k.startsWith("_pq_.")).toList();
        if (startup.minorVersion() > 0 || !protocolOptions.isEmpty()) {
            channel.write(new NegotiateProtocolVersion(StartupPacket.PROTOCOL_3_0, protocolOptions).encode(channel.alloc()));
        }
        User user = services.user(userName).orElse(null);
        if (user == null) {
            if (services.config().users().isEmpty()) {
                authenticated(startup);  // no users configured: trust, which config allows on loopback only
            } else {
                challengeScram(startup, userName); // fails at the proof, so that names cannot be probed
            }
            return;
        }
        switch (user.challenge()) {
            case TRUST -> authenticated(startup);
            case MD5 -> {
                byte[] salt = new byte[4];
                services.random().nextBytes(salt);
                state = new State.AwaitingPassword(startup, user, salt);
                channel.writeAndFlush(new Authentication.Md5Password(salt).encode(channel.alloc()));
            }
            case SCRAM_SHA_256 -> challengeScram(startup, userName);
        }
    }

    /**
     * Asks for SCRAM-SHA-256, and on TLS first for SCRAM-SHA-256-PLUS (as Postgres offers them): a client that binds its
     * login to the connection (libpq does where offered, pgjdbc with {@code channelBinding}) proves it saw the proxy's
     * certificate, so no one between could pass its login on.
     */
    private void challengeScram(StartupPacket.StartupMessage startup, String userName) {
        SslHandler tls = channel.pipeline().get(SslHandler.class);
        byte[] endPoint = tls == null ? null : TlsEndPoint.local(tls.engine().getSession());
        state = new State.AwaitingSaslInitial(startup, userName, endPoint);
        List<String> mechanisms = endPoint == null ? List.of(ScramClientExchange.MECHANISM)
                : List.of(ScramClientExchange.MECHANISM_PLUS, ScramClientExchange.MECHANISM);
        channel.writeAndFlush(new Authentication.Sasl(mechanisms).encode(channel.alloc()));
    }

    private void onStartupFrames(FrameBatch batch) {
        List<Frame> frames = batch.frames();
        int next = 0;
        try {
            while (next < frames.size() && !(state instanceof State.Closed)) {
                if (state instanceof State.ConnectingBackend) {
                    waitForReady(frames.subList(next, frames.size()));
                    next = frames.size();
                    return;
                }
                Frame frame = frames.get(next++);
                try {
                    onStartupFrame(frame);
                } finally {
                    frame.release();
                }
            }
        } finally {
            frames.subList(next, frames.size()).forEach(Frame::release);
        }
    }

    /**
     * Messages pipelined behind the login wait, in order, for the session to be ready; they are bounded
     * by the message limit and by what one read brings, since the client is not read again until then.
     */
    private void waitForReady(List<Frame> frames) {
        pending.addAll(frames);
        channel.config().setAutoRead(false);
    }

    private void onStartupFrame(Frame frame) {
        if (frame.type() != PasswordMessage.TYPE
                || !(state instanceof State.AwaitingPassword || state instanceof State.AwaitingSaslInitial
                || state instanceof State.AwaitingSaslResponse)) {
            throw new ProtocolViolation("unexpected message '" + (char) frame.type() + "' during startup");
        }
        try {
            switch (state) {
                case State.AwaitingPassword awaiting -> {
                    String answer = PasswordMessage.decodePassword(frame);
                    User user = awaiting.user();
                    String secret = user.storedSecret().orElse(null) instanceof StoredSecret.Md5 stored ? stored.secret()
                            : Md5.secret(user.name(), user.password().reveal());
                    if (Md5.verify(secret, awaiting.salt(), answer)) {
                        authenticated(awaiting.startup());
                    } else {
                        authenticationFailed(awaiting.user().name());
                    }
                }
                case State.AwaitingSaslInitial awaiting -> {
                    PasswordMessage.SaslInitialResponse initial = PasswordMessage.SaslInitialResponse.decode(frame);
                    boolean bound = awaiting.endPoint() != null && ScramClientExchange.MECHANISM_PLUS.equals(initial.mechanism());
                    if (!bound && !ScramClientExchange.MECHANISM.equals(initial.mechanism())) {
                        // as Postgres answers a mechanism it did not offer (SCRAM-SHA-256-PLUS without TLS)
                        closeWith(ErrorResponse.fatal("08P01", "client selected an invalid SASL authentication mechanism"));
                        return;
                    }
                    ScramServerExchange exchange = services.scramExchange(awaiting.user(), awaiting.endPoint(), bound);
                    byte[] serverFirst = exchange.clientFirst(initial.data());
                    state = new State.AwaitingSaslResponse(awaiting.startup(), awaiting.user(), exchange);
                    channel.writeAndFlush(new Authentication.SaslContinue(serverFirst).encode(channel.alloc()));
                }
                case State.AwaitingSaslResponse awaiting -> {
                    byte[] serverFinal = awaiting.exchange().clientFinal(PasswordMessage.decodeSaslResponse(frame));
                    scramClientKey = awaiting.exchange().clientKey();
                    channel.write(new Authentication.SaslFinal(serverFinal).encode(channel.alloc()));
                    authenticated(awaiting.startup());
                }
                default -> throw new IllegalStateException("unreachable: " + state);
            }
        } catch (ScramServerExchange.Failed e) {
            String userName = switch (state) {
                case State.AwaitingSaslInitial s -> s.user();
                case State.AwaitingSaslResponse s -> s.user();
                default -> "?";
            };
            if (e.malformed()) {
                // the same for a user that exists and one that does not: the exchange broke before any proof
                log.info("client SCRAM exchange malformed session={} user={} problem=\"{}\"", id, userName, e.getMessage());
                closeWith(ErrorResponse.fatal("08P01", e.getMessage()));
            } else {
                authenticationFailed(userName);
            }
        }
    }

    private void authenticationFailed(String userName) {
        log.info("client authentication failed session={} user={}", id, userName);
        closeWith(ErrorResponse.fatal("28P01", "password authentication failed for user \"" + userName + "\""));
    }

    private void authenticated(StartupPacket.StartupMessage startup) {
        channel.writeAndFlush(new Authentication.Ok().encode(channel.alloc()));
        // the client has done its part: a cluster slow to log in is the cluster's failure, and its login
        // deadline, which starts now with the same length, says so by name instead of blaming the client
        startupTimeout.cancel(false);
        if (channel.pipeline().get(FrameDecoder.class) instanceof FrameDecoder decoder) {
            decoder.authenticated(); // the configured message limit from now on, no longer the password's
        }
        state = new State.ConnectingBackend(startup);
        this.startup = startup;
        this.tenantParameters = startup.parameters();
        seen = services.migration().control().current();
        Cluster cluster = cluster(seen.leader());
        if (cluster == null) {
            cluster = services.config().blue();
        }
        backend = openBackend(cluster);
        typesLearnedFrom.add(roleOf(backend));
        relayedTypesChanged();
        if (twinWanted(seen)) {
            seen = null; // the first unit boundary takes the slow path and makes the twin
        }
    }

    private Cluster cluster(ClusterRole role) {
        return role == ClusterRole.BLUE ? services.config().blue() : services.config().green();
    }

    /** Logs in to {@code cluster} as this client would, with the proxy's credentials for it. */
    private BackendConnection openBackend(Cluster cluster) {
        String backendUser = cluster.user() != null ? cluster.user() : startup.user();
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("user", backendUser);
        parameters.put("database", cluster.backendDatabase(startup.database()));
        startup.parameters().forEach((name, value) -> {
            if (!name.startsWith("_pq_.") && !name.equals("replication")) { // replication here says false
                parameters.putIfAbsent(name, value);
            }
        });
        // a twin reads values as the leader did at login, whatever its own server's defaults (its configuration,
        // ALTER DATABASE ... SET): '03/04/2026' or '2026-03-04 10:00' would otherwise be stored as another date or
        // instant there, under the same command tag. Given at login, they are also what RESET and DISCARD ALL go
        // back to, on both; a value the twin's server refuses fails its login.
        leaderReading.forEach((name, value) -> {
            parameters.keySet().removeIf(given -> given.equalsIgnoreCase(name));
            parameters.put(name, value);
        });
        return BackendConnection.open(services, channel.eventLoop(), cluster, parameters,
                services.backendCredential(cluster, startup.user(), scramClientKey), this);
    }

    private void onStartupTimeout() {
        if (!(state instanceof State.Ready) && !(state instanceof State.Closed)) {
            log.info("startup timed out session={}", id);
            closeWith(ErrorResponse.fatal("08P01", "startup did not complete within "
                    + services.config().timeouts().startup().toMillis() + " ms"));
        }
    }

    // --- backend events -------------------------------------------------------------------------

    @Override
    public void backendReady(BackendConnection ready, List<Frame> startupFrames, Frame readyForQuery) {
        if (ready == twinConnecting && units != null && state instanceof State.Ready) {
            twinConnecting = null;
            startupFrames.forEach(Frame::release); // the client heard the leader's
            readyForQuery.release();
            units.twinReady(ready);
            return;
        }
        if (!(state instanceof State.ConnectingBackend)) {
            startupFrames.forEach(Frame::release);
            readyForQuery.release();
            return;
        }
        for (Frame frame : startupFrames) {
            if (frame.type() == 'S') {
                ByteBuf all = frame.content();
                String[] setting = SqlReading.parameterStatus(all, all.readerIndex(), all.readableBytes());
                if (setting != null) {
                    sqlReading.reported(setting[0], setting[1]);
                    if (SqlReading.decidesReading(setting[0]) && !SqlReading.notAscii(setting[1])) {
                        leaderReading.put(setting[0], setting[1]);
                    }
                }
            }
            channel.write(frame.content(), channel.voidPromise());
        }
        cancelKey = services.cancelKeys().mint(this);
        channel.write(cancelKey.encode(channel.alloc()), channel.voidPromise());
        transactionStatus = ReadyForQuery.decode(readyForQuery);
        channel.writeAndFlush(readyForQuery.content(), channel.voidPromise());
        state = new State.Ready();
        log.debug("session ready session={} cluster={}", id, ready.cluster().name());
        if (!pending.isEmpty() && relayBoundary(null)) {
            relayPending(); // what the client pipelined behind its login; otherwise units mode or the barrier takes it
        } else {
            followRoutingIfIdle(); // a change published while it logged in to the cluster that led then
        }
    }

    @Override
    public void backendStartupFailed(BackendConnection failed, ErrorResponse error) {
        if (failed == twinConnecting && units != null) {
            twinConnecting = null;
            units.twinFailed(roleOf(failed), error.message());
            return;
        }
        log.info("backend login failed session={} cluster={} sqlstate={} message={}",
                id, failed.cluster().name(), error.sqlState(), error.message());
        closeWith(error);
    }

    @Override
    public void backendFrames(BackendConnection from, FrameBatch frames) {
        if (units != null) {
            units.onBackendFrames(from, frames); // also after close, while shadow writes drain
            return;
        }
        if (!(state instanceof State.Ready)) {
            frames.release();
            return;
        }
        if (from != backend) {
            frames.release();
            return;
        }
        readyAt = -1;
        backendBatch = frames;
        // (rare: a session that began on blue, relayed to green after finalize, is shown blue's OIDs)
        relayAnswerTypes = relayTranslatesTypes ? answersFrom(roleOf(from)) : null;
        frames.forEach(backendFrameVisitor);
        backendBatch = null;
        relayAnswerTypes = null;
        if (readyAt >= 0) {
            transactionStatus = ReadyForQuery.of(frames.content().getByte(readyAt + Frame.HEADER_LENGTH));
            executeSent = false;
        }
        channel.write(frames.content(), channel.voidPromise());
        if (from.endAnnounced()) {
            endRelayedFrom = from; // its FATAL error is on its way to the client
        }
        if (!channel.isWritable()) {
            from.setAutoRead(false);
        }
        if (readyAt >= 0 && isIdle()) {
            forgetRelayedUnit();
            services.migration().control().barrier().exit(pass);
            boolean readPassedBarrier = readOutsideBarrier;
            readOutsideBarrier = false;
            if (closeWhenIdle) {
                channel.flush();
                terminate();
            } else if (readPassedBarrier && pending.isEmpty()) {
                followRoutingIfIdle(); // the change the read went past may have been published meanwhile
            } else if (readPassedBarrier && onlyCopyData(pending)) {
                // what a client sent of a COPY the server has already failed: it starts no unit (see relayToBackend)
                while (!pending.isEmpty()) {
                    pending.poll().release();
                }
                pendingDrained();
                followRoutingIfIdle();
            } else if (readPassedBarrier && (pending.peek().type() == 'X' || relayBoundary(null))) {
                relayPending(); // what came while the read ran: a unit of its own at the barrier
            }
        }
    }

    /**
     * While the session relays (no twin), a long DataRow or CopyData goes to the client part by part: the relay
     * reads neither, and holding one whole would cost its length (up to 1 GiB) in memory.
     */
    @Override
    public boolean relaysInParts(BackendConnection from) {
        return units == null && state instanceof State.Ready && from == backend;
    }

    @Override
    public void backendPart(BackendConnection from, FramePart part) {
        if (state instanceof State.Closed || from != backend) {
            part.release();
            return;
        }
        if (units != null) {
            // units mode begins at a ReadyForQuery, after the message's last part: cannot happen
            part.release();
            throw new IllegalStateException("a part of a relayed message reached units mode: session " + id);
        }
        midMessage = !part.last();
        CancelAnswerFilter.writePart(channel, part.content());
        if (!channel.isWritable()) {
            from.setAutoRead(false);
        }
    }

    /** Matches answers to the outstanding requests, and remembers the last ReadyForQuery. */
    private boolean onBackendFrame(byte type, int offset, int length) {
        if (relayAnswerTypes != null && (type == 'T' || type == 't' || type == 'D')) {
            // (the client reads the catalog of the cluster relayed to: its columns' tables are named as they are)
            answered(roleOf(backend), TypeOidTranslation.answer(backendBatch.content(), type, offset, length,
                    relayAnswerTypes, false));
        }
        switch (type) {
            case 'Z' -> {
                readyAt = offset;
                answered();
                copyIn = CopyIn.NONE;
                if (copyEndsAhead > 0 && !copyMayStart()) {
                    copyEndsAhead = 0; // no COPY is still to start that the client may have ended ahead
                }
            }
            case '1' -> completed('P');
            case '2' -> completed('B');
            case '3' -> completed('C');
            // RowDescription and CommandComplete answer a Query too, when it is the oldest request
            case 'n', 'T' -> completed('D');
            case 'C' -> {
                completed('E');
                if (copyIn != CopyIn.NONE) {
                    // a COPY FROM STDIN completed: the server read every Sync among its data as data, and answers none
                    outstanding.removeIf(request -> request == SYNC_IN_COPY);
                }
            }
            case 'I', 's' -> completed('E');
            // client_encoding and standard_conforming_strings: how the session's SQL is to be read
            case 'S' -> sqlReading.reported(backendBatch.content(), offset, length);
            case 'G' -> {
                if (copyEndsAhead > 0) {
                    copyEndsAhead--; // the client has sent this COPY's end already
                    copyIn = CopyIn.ENDED;
                } else {
                    copyIn = CopyIn.DATA;
                }
                if (oldestIs('E')) {
                    // COPY FROM STDIN started by an Execute: the server ignores a Sync while it copies in, so
                    // the one that closed the batch (libpq sends one then, and another after CopyDone) gets no
                    // ReadyForQuery of its own (copyIn keeps the session busy until the COPY's, whichever Sync
                    // that is: a client may send its data before it hears CopyInResponse)
                    Iterator<Byte> requests = outstanding.iterator();
                    requests.next();
                    if (requests.hasNext() && requests.next() == 'S') {
                        requests.remove();
                    }
                }
            }
            default -> { }
        }
        return true;
    }

    private void completed(char request) {
        if (oldestIs(request)) {
            outstanding.poll();
        }
    }

    private boolean oldestIs(char request) {
        return outstanding.peek() instanceof Byte oldest && oldest == request;
    }

    /** A ReadyForQuery answers the oldest Sync, Query or function call. */
    private void answered() {
        Byte oldest = outstanding.poll();
        if (oldest != null && oldest != 'S' && oldest != SYNC_IN_COPY && oldest != 'Q' && oldest != 'F') {
            // an extended-protocol request that never completed failed, and the server skipped what came
            // after it up to the next Sync, which is what this ReadyForQuery answers
            while (oldest != null && oldest != 'S' && oldest != SYNC_IN_COPY) {
                oldest = outstanding.poll();
            }
        }
    }

    @Override
    public void backendReadComplete(BackendConnection from) {
        channel.flush();
    }

    @Override
    public void backendWritabilityChanged(BackendConnection from, boolean writable) {
        if (units != null) {
            units.backendWritabilityChanged(from, writable);
        }
        if (state instanceof State.Ready && (units == null || units.gatesReading(from))) {
            channel.config().setAutoRead(writable && backendsWritable());
        }
    }

    /** Whether the server connections that pace the client take more (with twins, {@link Units#writable}). */
    private boolean backendsWritable() {
        return units != null ? units.writable() : backend == null || backend.isWritable();
    }

    @Override
    public void backendLost(BackendConnection lost, String reason) {
        if (units != null) {
            units.backendLost(lost, reason);
            return;
        }
        if (lost != backend) {
            return;
        }
        if (lost == endRelayedFrom) {
            // the client has the server's own FATAL error (relayed as it came): Postgres sends one, not two
            log.info("backend ended the session session={} cluster={}", id, lost.cluster().name());
            closeAfterFlush();
            return;
        }
        log.warn("backend lost session={} cluster={} reason={}", id, lost.cluster().name(), reason);
        closeWith(ErrorResponse.fatal("08006", reason)); // (after a message cut short, the end of the stream alone)
    }

    // --- relay ----------------------------------------------------------------------------------

    private void relayToBackend(FrameBatch frames) {
        if (terminating) {
            frames.release(); // the session is closing: what the client sends now would run unanswered
            return;
        }
        if (units == null && pending.isEmpty() && isIdle() && onlyCopyData(frames)) {
            // what a client sent of a COPY the server has already failed: the server drops it without a word,
            // so it starts no unit, and must not enter the write barrier, which only an answer would leave
            frames.release();
            return;
        }
        boolean startsUnit = isIdle();
        if (units != null || !pending.isEmpty() || readOutsideBarrier || (startsUnit && !relayBoundary(frames))) {
            List<Frame> list = frames.frames();
            frames.release();
            if (units != null) {
                units.onClientFrames(list);
                if (units != null && units.mayHoldClient()) {
                    holdClient(); // units run one at a time: a client far ahead of them waits in its socket
                }
            } else {
                pending.addAll(list);
                holdClient();
            }
            return;
        }
        mayHoldState = true;
        terminateAt = -1;
        relayedFrames = frames;
        try {
            frames.forEach(clientFrameVisitor); // a malformed message throws: onRead ends the session
        } finally {
            relayedFrames = null;
        }
        if (relayTranslatesTypes && (frames.contains('P') || frames.contains('F')
                || (relayBindsTranslate && frames.contains('B')))) {
            // rare: the client may hold OIDs from the other cluster's catalog (it read green's under dual-write, or
            // began on blue before finalize made green the cluster it relays to), which a Parse or FunctionCall may name
            forgetRelayedUnit();
            List<Frame> list = frames.frames();
            frames.release();
            boolean terminated = false;
            for (Frame frame : list) {
                terminated |= frame.type() == 'X';
                if (terminated) {
                    frame.release(); // the Terminate, and anything after it, which the server would not read
                } else {
                    backend.write(outgoing(frame.type(), frame.content(), roleOf(backend)));
                }
            }
        } else if (terminateAt >= 0) {
            ByteBuf all = frames.content();
            if (terminateAt > all.readerIndex()) {
                backend.write(all.retainedSlice(all.readerIndex(), terminateAt - all.readerIndex()));
            }
            frames.release();
        } else {
            if (startsUnit && !readOutsideBarrier && mayBeARead(frames.content())) {
                rememberRelayedUnit(frames.content());
            } else {
                forgetRelayedUnit(); // what is running is no longer one unit the relay can read whole
            }
            backend.write(frames.content());
        }
        if (terminateAt >= 0) {
            close(); // what came before the Terminate is forwarded: the session ends politely
            return;
        }
        if (!backend.isWritable()) {
            channel.config().setAutoRead(false);
        }
    }

    /** Whether every message is CopyData, CopyDone or CopyFail: one look when the first is not. */
    private static boolean onlyCopyData(FrameBatch frames) {
        ByteBuf all = frames.content();
        int offset = all.readerIndex();
        while (offset < all.writerIndex()) {
            if (!isCopyMessage(all.getByte(offset))) {
                return false;
            }
            offset += all.getInt(offset + 1) + 1;
        }
        return true;
    }

    /** {@link #onlyCopyData(FrameBatch)} of the messages waiting in {@link #pending}. */
    private static boolean onlyCopyData(ArrayDeque<Frame> frames) {
        for (Frame frame : frames) {
            if (!isCopyMessage(frame.type())) {
                return false;
            }
        }
        return true;
    }

    private static boolean isCopyMessage(byte type) {
        return type == FrontendMessages.COPY_DATA || type == FrontendMessages.COPY_DONE || type == FrontendMessages.COPY_FAIL;
    }

    /**
     * Whether a Query or Parse reads the system catalogs ({@link Trait#CATALOG}), or a Bind binds a statement units mode
     * found to ({@link #relayCatalogStatements}).
     */
    private boolean readsCatalogs(byte type, ByteBuf all, int offset, int length) {
        try {
            return switch (type) {
                case FrontendMessages.QUERY -> readsCatalogs(FrontendMessages.querySql(all, offset, length, sqlReading.encoding()));
                case FrontendMessages.PARSE -> readsCatalogs(FrontendMessages.parseSql(all, offset, length, sqlReading.encoding()));
                case FrontendMessages.BIND -> relayCatalogStatements.contains(FrontendMessages.bindStatement(all, offset, length));
                default -> false;
            };
        } catch (ProtocolViolation malformed) {
            return false; // relayed as it is: the server answers it with the error
        }
    }

    private boolean readsCatalogs(String sql) {
        return sqlReading.classify(services.migration().classifier(), sql).has(Trait.CATALOG);
    }

    /**
     * The one cluster whose type OIDs the client may hold: the one its session began on, while every read of the
     * catalogs it made was answered there too. Null once it may hold either's.
     */
    ClusterRole typesSource() {
        return typesLearnedFrom.size() == 1 ? typesLearnedFrom.iterator().next() : null;
    }

    /**
     * For what {@code from} answers: its types, and their OIDs on the one cluster whose OIDs the client may hold, where
     * that is another cluster and both catalogs have been read ({@link TypeOidTranslation#answer}). Null otherwise: the
     * answer reaches the client as it is.
     */
    TypeOidTranslation.Types answersFrom(ClusterRole from) {
        ClusterRole source = typesSource();
        return source == null || source == from ? null : typesBetween(from, source, false);
    }

    /**
     * The statements the session prepared in units mode that read the system catalogs ({@code ""} the unnamed one), kept
     * for a session relaying to a cluster whose OIDs it does not hold ({@link #relayTranslatesTypes}): one bound there
     * reads that cluster's catalog ({@link #readsCatalogs}). A statement prepared while relaying so reads it at once.
     */
    private Set<String> relayCatalogStatements = Set.of();

    /**
     * What {@link TypeOidTranslation#answer} found in an answer {@code from} gave: a type only that cluster has, which
     * the client can look up only there (it may hold that cluster's OIDs now); or a type, relation or column the
     * catalogs, as read, lack (made on the clusters directly since), for which both are read again in the background,
     * together, as {@link TypeCatalogs#rereadForAnswers} allows. Until then answers name such a type as the server did,
     * and such a column by no table.
     */
    void answered(ClusterRole from, int found) {
        if ((found & TypeOidTranslation.NAMES_TYPE_OTHER_LACKS) != 0) {
            learnsTypesFrom(from);
        }
        if ((found & TypeOidTranslation.NAMES_UNREAD) != 0
                && services.typeCatalogs().rereadForAnswers(cluster(from), database(from))) {
            for (ClusterRole role : ClusterRole.values()) {
                if (cluster(role) != null) {
                    readCatalog(role, () -> { });
                }
            }
        }
    }

    /** The client read {@code role}'s catalog: the type OIDs it holds may be that cluster's. */
    void learnsTypesFrom(ClusterRole role) {
        typesLearnedFrom.add(role);
        relayedTypesChanged();
    }

    /**
     * The cluster relayed to is not the one cluster whose type OIDs the client may hold: what the relay sends it goes
     * through {@link #outgoing}.
     */
    private boolean relayTranslatesTypes;
    /** And its Binds too: the cluster relayed to refuses other OIDs in binary values (as far as was known then). */
    private boolean relayBindsTranslate;

    private void relayedTypesChanged() {
        relayTranslatesTypes = backend != null && typesSource() != roleOf(backend);
        relayBindsTranslate = relayTranslatesTypes && typesTo(roleOf(backend), true) != null;
    }

    /**
     * What {@code to} is sent of a client's message of {@code type}, {@code content}'s reference handed over. An OID
     * from one cluster names another type, or none, on the other: a Parse naming a type the database defined, or a Bind
     * of binary arrays or records of such types, goes unchanged where the client can have learned those OIDs alone.
     * Elsewhere it is given {@code to}'s OIDs for the same types where both catalogs have been read
     * ({@link #awaitsTypeCatalogs}); otherwise, or once the client has read both clusters' catalogs, a Parse's type is
     * left out for the server to infer (as when a client names none), and a Bind goes unchanged.
     */
    ByteBuf outgoing(byte type, ByteBuf content, ClusterRole to) {
        if (type == FrontendMessages.FUNCTION_CALL) {
            return typesSource() == null || typesSource() == to ? content : calling(content, to);
        }
        if (type == FrontendMessages.BIND) {
            ByteBuf translated = typesSource() == null || typesSource() == to ? null
                    : TypeOidTranslation.bind(channel.alloc(), content, content.readerIndex(), content.readableBytes(),
                            () -> typesTo(to, true));
            if (translated == null) {
                return content;
            }
            content.release();
            return translated;
        }
        if (type != FrontendMessages.PARSE || typesSource() == to) {
            return content;
        }
        int offset = content.readerIndex();
        int length = content.readableBytes();
        int typesAt;
        try {
            typesAt = FrontendMessages.databaseTypesAt(content, offset, length);
        } catch (ProtocolViolation malformed) {
            return content; // as sent: the server refuses it
        }
        if (typesAt < 0) {
            return content;
        }
        TypeOidTranslation.Types types = typesTo(to, false);
        ByteBuf portable = types != null ? TypeOidTranslation.parse(channel.alloc(), content, offset, length, typesAt, types)
                : FrontendMessages.withPortableTypes(channel.alloc(), content, offset, length, typesAt);
        content.release();
        return portable;
    }

    /**
     * A FunctionCall's copy for {@code to} ({@code content}'s reference handed over), calling a function the database
     * defined by {@code to}'s OID for the function of the same schema, name and argument types, where both catalogs have
     * been read ({@link #awaitsTypeCatalogs}); unchanged otherwise (the call fails there, as before, or runs whatever
     * function has that OID).
     */
    private ByteBuf calling(ByteBuf content, ClusterRole to) {
        long oid = FrontendMessages.calledFunction(content, content.readerIndex(), content.readableBytes());
        TypeOidTranslation.Types types = oid < FrontendMessages.FIRST_NORMAL_OID ? null : typesTo(to, false);
        long there = types == null ? -1 : types.functionCounterpart(oid);
        if (there < 0 || there == oid) {
            return content;
        }
        ByteBuf copy = channel.alloc().buffer(content.readableBytes());
        copy.writeBytes(content, content.readerIndex(), content.readableBytes());
        copy.setInt(Frame.HEADER_LENGTH, (int) there);
        content.release();
        return copy;
    }

    /**
     * The types of the one cluster whose OIDs the client may hold, and their OIDs on {@code to}, where that is another
     * cluster and both catalogs have been read ({@link #awaitsTypeCatalogs}, which reads them again when they may be
     * stale); for binary values, only where {@code to} refuses other OIDs in them. Null otherwise.
     */
    private TypeOidTranslation.Types typesTo(ClusterRole to, boolean binaryValues) {
        ClusterRole source = typesSource();
        return source == null || source == to ? null : typesBetween(source, to, binaryValues);
    }

    /**
     * {@code from}'s types and their OIDs on {@code to}, where both catalogs have been read (and, for binary values,
     * {@code to} refuses other OIDs in them); null otherwise.
     */
    private TypeOidTranslation.Types typesBetween(ClusterRole from, ClusterRole to, boolean binaryValues) {
        TypeCatalogs catalogs = services.typeCatalogs();
        TypeCatalogs.Catalog target = catalogs.latest(cluster(to), database(to));
        TypeCatalogs.Catalog source = target == null || (binaryValues && !target.checksBinaryTypeOids()) ? null
                : catalogs.latest(cluster(from), database(from));
        return source == null ? null : TypeCatalogs.between(source, target);
    }

    /** The database {@code role}'s cluster opens for this session. */
    private String database(ClusterRole role) {
        return cluster(role).backendDatabase(startup.database());
    }

    /**
     * The catalog version ({@link SequenceDraws#catalogVersion}) as of which both clusters' catalogs were found read
     * and fresh for answers ({@link #awaitsTypeCatalogs}): until DDL, a unit naming no types need not look again.
     */
    private long answerCatalogsAsOf = Long.MIN_VALUE;
    /** A read of the types this session waits for is under way ({@link #awaitsTypeCatalogs}). */
    private boolean typesAwaited;
    /** The first message of the unit that waited for the types to be read: it goes on with what was read. */
    private Frame typesReadFor;

    /**
     * Whether the unit of the {@code count} messages at the head of {@code pending} is to wait for the clusters' types
     * to be read ({@link TypeCatalogs}): it parses a statement naming a type the database defined, or binds values in
     * binary that seem to carry such types' OIDs (where the other cluster refuses another OID there, or is not known
     * yet), or calls a function the database defined by its OID (a FunctionCall), whose copy for the other cluster,
     * which the session holds a connection to, is given that cluster's OIDs ({@link #outgoing}); and a catalog that
     * says which those are has not been read, or lacks one of them and may be stale. A catalog that resolves them all but may be stale (DDL ran since) is read again meanwhile, not waited for.
     * Where the other cluster's answers to the session's reads are given the OIDs of the one the client learned them
     * from ({@code answersGivenOidsOf} that one; {@link #answersFrom}), both catalogs are read in the background, not
     * waited for, and those DDL made stale read again at most every {@link TypeCatalogs#REREAD_AFTER_NANOS}.
     * Nothing is waited for while the session's own DDL is uncommitted ({@code ownDdl}): another connection would not
     * see it. {@code then} runs on this session's event loop once the reads are done, whether they could be made or
     * not, and the unit then goes on with what was read.
     */
    boolean awaitsTypeCatalogs(ArrayDeque<Frame> pending, int count, Predicate<ClusterRole> connected,
                               Predicate<ClusterRole> answersGivenOidsOf, boolean ownDdl, Runnable then) {
        if (typesAwaited) {
            return true;
        }
        if (typesReadFor != null && typesReadFor == pending.peek()) {
            typesReadFor = null;
            return false;
        }
        typesReadFor = null;
        ClusterRole from = typesSource();
        if (from == null || !connected.test(from.other())) {
            return false; // the client may hold either cluster's OIDs (docs/dual-write.md), or there is no other to send
        }
        List<Long> named = List.of();
        List<Long> bound = List.of();
        List<Long> called = List.of();
        Iterator<Frame> frames = pending.iterator();
        for (int i = 0; i < count && frames.hasNext(); i++) {
            Frame frame = frames.next();
            ByteBuf content = frame.content();
            if (frame.type() == FrontendMessages.PARSE) {
                named = joined(named, TypeOidTranslation.parseNames(content, content.readerIndex(), content.readableBytes()));
            } else if (frame.type() == FrontendMessages.BIND) {
                bound = joined(bound, TypeOidTranslation.bindMayCarry(content, content.readerIndex(), content.readableBytes()));
            } else if (frame.type() == FrontendMessages.FUNCTION_CALL) {
                long function = FrontendMessages.calledFunction(content, content.readerIndex(), content.readableBytes());
                called = function >= FrontendMessages.FIRST_NORMAL_OID ? List.of(function) : called;
            }
        }
        ClusterRole to = from.other();
        // the other cluster may serve the unit's read while the session's reads of the catalogs go to this one: its
        // answer is then given the client's OIDs, for which both catalogs are read
        boolean answers = answersGivenOidsOf.test(from);
        if (named.isEmpty() && bound.isEmpty() && called.isEmpty()
                && (!answers || answerCatalogsAsOf == SequenceDraws.catalogVersion())) {
            return false; // (for answers alone, both catalogs were found read, and no DDL has run since)
        }
        TypeCatalogs catalogs = services.typeCatalogs();
        TypeCatalogs.Catalog target = catalogs.latest(cluster(to), database(to));
        List<Long> carried = target == null || target.checksBinaryTypeOids() ? joined(named, bound) : named;
        if (carried.isEmpty() && called.isEmpty() && !answers) {
            return false; // binary values only, which the other cluster takes as they are
        }
        TypeCatalogs.Catalog source = catalogs.latest(cluster(from), database(from));
        boolean waitSource = source == null;
        boolean waitTarget = target == null;
        boolean refreshSource = false;
        boolean refreshTarget = false;
        if (carried.isEmpty() && called.isEmpty()) {
            // answers alone: never waited for (a cluster slow to answer must not hold the session up for them), read in
            // the background; one DDL has made stale again at most every few seconds. Until then answers go as they are
            waitSource = false;
            waitTarget = false;
            refreshSource = source == null || (!source.fresh() && source.oldEnoughToReread());
            refreshTarget = target == null || (!target.fresh() && target.oldEnoughToReread());
            if (source != null && target != null && source.fresh() && target.fresh()) {
                answerCatalogsAsOf = source.version();
            }
        } else if (source != null && target != null) {
            TypeOidTranslation.Types types = TypeCatalogs.between(source, target);
            for (long oid : carried) {
                if (types.category(oid) == 0) {
                    // a type made since: the other cluster's catalog, read as long ago, lacks it too
                    waitSource |= !source.fresh() || source.oldEnoughToReread();
                    waitTarget |= !target.fresh() || target.oldEnoughToReread();
                } else if (types.counterpart(oid) < 0) {
                    waitTarget |= !target.fresh() || target.oldEnoughToReread();
                }
            }
            for (long oid : called) {
                if (source.functions() == null || target.functions() == null) {
                    continue; // (more than are read: the call goes unchanged)
                }
                if (!source.functions().containsKey(oid)) {
                    // a function made since (or none of that OID: the server refuses the call)
                    waitSource |= !source.fresh() || source.oldEnoughToReread();
                    waitTarget |= !target.fresh() || target.oldEnoughToReread();
                } else if (types.functionCounterpart(oid) < 0) {
                    waitTarget |= !target.fresh() || target.oldEnoughToReread();
                }
            }
            refreshSource = !waitSource && !source.fresh();
            refreshTarget = !waitTarget && !target.fresh();
        }
        if (ownDdl) {
            refreshSource |= waitSource && source != null;
            refreshTarget |= waitTarget && target != null;
            waitSource &= source == null;
            waitTarget &= target == null;
        }
        // each read's end comes to this event loop as a task of its own, so after the count below is set
        int[] reads = {0};
        Frame head = pending.peek();
        Runnable oneDone = () -> channel.eventLoop().execute(() -> {
            if (--reads[0] == 0) {
                typesAwaited = false;
                typesReadFor = head;
                then.run();
            }
        });
        int started = 0;
        for (ClusterRole role : List.of(from, to)) {
            boolean wait = role == from ? waitSource : waitTarget;
            boolean refresh = role == from ? refreshSource : refreshTarget;
            if ((wait || refresh) && readCatalog(role, wait ? oneDone : () -> { })) {
                started += wait ? 1 : 0; // (one that failed a moment ago is not waited for again so soon)
            }
        }
        reads[0] = started;
        typesAwaited = started > 0;
        return typesAwaited;
    }

    private static List<Long> joined(List<Long> some, List<Long> more) {
        if (more.isEmpty()) {
            return some;
        }
        List<Long> all = new ArrayList<>(some);
        all.addAll(more);
        return all;
    }

    /** Reads, in the background, each cluster's catalog of this session's database that has not been read yet. */
    private void readMissingCatalogs() {
        for (ClusterRole role : ClusterRole.values()) {
            if (cluster(role) != null && services.typeCatalogs().latest(cluster(role), database(role)) == null) {
                readCatalog(role, () -> { });
            }
        }
    }

    /** See {@link TypeCatalogs#read}: {@code role}'s catalog of this session's database. */
    private boolean readCatalog(ClusterRole role, Runnable then) {
        Cluster cluster = cluster(role);
        return services.typeCatalogs().read(cluster, database(role), listener -> openAside(cluster, listener),
                channel.eventLoop(), then);
    }

    /** Logs in to {@code cluster}'s database for this session as {@link #openBackend} does, for the proxy's own question. */
    private BackendConnection openAside(Cluster cluster, BackendConnection.Listener listener) {
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("user", cluster.user() != null ? cluster.user() : startup.user());
        parameters.put("database", cluster.backendDatabase(startup.database()));
        parameters.put("application_name", "bluegreen type catalog");
        parameters.put("client_encoding", "UTF8");
        return BackendConnection.open(services, channel.eventLoop(), cluster, parameters,
                services.backendCredential(cluster, startup.user(), scramClientKey), listener);
    }

    private boolean onClientFrame(byte type, int offset, int length) {
        if (type == 'X') {
            terminateAt = offset;
            return false;
        }
        FrontendMessages.checkStrings(type, relayedFrames.content(), offset, length); // all of the read before any is sent
        noteRelayed(type, relayedFrames.content(), offset, length);
        return true;
    }

    /**
     * What a client message about to be relayed tells: the settings it names, the answers it will have. Its callers
     * have checked its strings ({@link FrontendMessages#checkStrings}): a malformed message ends the session with
     * 08P01 before anything that came with it is passed on, as units mode ends it (DESIGN §9).
     */
    private void noteRelayed(byte type, ByteBuf all, int offset, int length) {
        if (relayTranslatesTypes && typesSource() != null && readsCatalogs(type, all, offset, length)) {
            // rare (a session that began on blue, relayed to green after finalize): what it reads of green's catalog
            // may be green's OIDs, which the relay must then no longer take for blue's
            learnsTypesFrom(roleOf(backend));
        }
        if (type == FrontendMessages.QUERY || type == FrontendMessages.PARSE) {
            // a custom setting made now must reach a twin made later: only the SQL names it
            sqlReading.relayed(services.migration().classifier(), type, all, offset, length);
            boolean unnamed = type == FrontendMessages.PARSE && length > Frame.HEADER_LENGTH
                    && all.getByte(offset + Frame.HEADER_LENGTH) == 0;
            if (unnamed || relayedUnnamedParse != null) {
                forgetRelayedUnnamedParse();
                // a copy: a slice would keep the whole read it came in (a large Bind beside it) for as long
                relayedUnnamedParse = unnamed ? channel.alloc().buffer(length).writeBytes(all, offset, length) : null;
            }
        } else if (type == FrontendMessages.CLOSE && relayedUnnamedParse != null
                && length == Frame.HEADER_LENGTH + 2 && all.getByte(offset + Frame.HEADER_LENGTH) == 'S') {
            forgetRelayedUnnamedParse(); // Close of the unnamed statement: nothing to give a twin
        }
        if (readingStatementsUnmirrored != null) {
            countUnmirrored(type, all, offset, length);
        }
        countRelayed(type);
    }

    /**
     * Shadow mode without a twin: a write relayed now never reaches green, so it counts as a dropped mirror
     * write, once per Query that may change data and per Bind of a statement not known to change none (its
     * Parse only notes which).
     */
    private void countUnmirrored(byte type, ByteBuf all, int offset, int length) {
        try {
            switch (type) {
                case FrontendMessages.QUERY -> {
                    Classification query = sqlReading.classify(services.migration().classifier(),
                            FrontendMessages.querySql(all, offset, length, sqlReading.encoding()));
                    if (query.has(Trait.NAMES_STATEMENTS)) {
                        readingStatementsUnmirrored.clear(); // a SQL DEALLOCATE or PREPARE: no name is known now
                    }
                    if (query.mayChangeData()) {
                        services.migration().stats().mirrorDropped();
                    }
                }
                case FrontendMessages.PARSE -> {
                    String name = FrontendMessages.parseName(all, offset, length);
                    if (!sqlReading.classify(services.migration().classifier(),
                            FrontendMessages.parseSql(all, offset, length, sqlReading.encoding())).mayChangeData()) {
                        readingStatementsUnmirrored.add(name);
                    } else {
                        readingStatementsUnmirrored.remove(name);
                    }
                }
                case FrontendMessages.BIND -> {
                    if (!readingStatementsUnmirrored.contains(FrontendMessages.bindStatement(all, offset, length))) {
                        services.migration().stats().mirrorDropped();
                    }
                }
                default -> { }
            }
        } catch (ProtocolViolation malformed) {
            // relayed as it is: the server answers it with the error
        }
    }

    /** What a message relayed to the backend leaves outstanding: answers to wait for, a batch still open. */
    private void countRelayed(byte type) {
        switch (type) {
            case 'Q', 'F' -> outstanding.add(type);
            case 'S' -> {
                if (copyIn == CopyIn.DATA) {
                    outstanding.add(SYNC_IN_COPY); // no batch ends here: it is COPY data to the server
                } else {
                    outstanding.add(type);
                    batchOpen = false;
                }
            }
            case 'E' -> {
                outstanding.add(type);
                executeSent = true;
                batchOpen = true;
            }
            case 'P', 'B', 'D', 'C' -> {
                outstanding.add(type);
                batchOpen = true;
            }
            case 'H' -> batchOpen |= copyIn != CopyIn.DATA; // among COPY data a Flush opens no batch
            case 'c', 'f' -> {
                if (copyIn == CopyIn.DATA) {
                    copyIn = CopyIn.ENDED;
                } else if (copyMayStart()) {
                    copyEndsAhead++;
                }
                // with no Query or Execute awaiting its answer, no COPY is still to start: this end is a late one, of
                // a COPY the server has failed already, which it drops (it came in one read with more)
            }
            default -> { }
        }
    }

    /** Whether a request that may start a COPY (a Query, an Execute) still awaits its answer. */
    private boolean copyMayStart() {
        for (byte request : outstanding) {
            if (request == 'Q' || request == 'E') {
                return true;
            }
        }
        return false;
    }

    /**
     * Idle between units: nothing outstanding, no extended-protocol batch half sent (its Sync may come in a
     * later read; a client reading a portal on Flush sends none until it is done), no COPY FROM STDIN
     * waiting for its data, no transaction open.
     */
    private boolean isIdle() {
        if (units != null) {
            return units.isIdle() && pending.isEmpty();
        }
        return outstanding.isEmpty() && !batchOpen && copyIn == CopyIn.NONE && transactionStatus == ReadyForQuery.IDLE;
    }

    // --- unit boundaries: the write barrier and the routing state --------------------------------

    /**
     * A relayed session is about to start a unit, {@code unit} or (when null) what waits in {@link #pending}:
     * enter the barrier and look at the routing state. True to relay now; false when the unit must wait
     * (barrier closing) or the session switches to units mode. A closing barrier lets a plain read pass
     * without entering (DESIGN §5: reads are never held); what the client sends while it runs waits for its
     * end, to be a unit of its own at the barrier.
     */
    private boolean relayBoundary(FrameBatch unit) {
        WriteBarrier barrier = services.migration().control().barrier();
        boolean passes = barrier.closing() && (unit != null
                ? PlainReadCheck.of(unit, sqlReading, services.migration().classifier())
                : PlainReadCheck.of(pending, sqlReading, services.migration().classifier()));
        if (!passes && !barrier.tryEnter(pass, this::resumeOnLoop)) {
            return false;
        }
        RoutingState now = services.migration().control().current();
        if (now == seen && (twinRetryAtNanos == 0 || System.nanoTime() - twinRetryAtNanos < 0)) {
            readOutsideBarrier = passes;
            return true;
        }
        if (!twinWanted(now) && backend != null && roleOf(backend) == now.leader()) {
            seen = now;
            twinRetryAtNanos = 0;
            readingStatementsUnmirrored = null;
            readOutsideBarrier = passes;
            return true;
        }
        enterUnits(now);
        return false;
    }

    private void enterUnits(RoutingState now) {
        log.debug("session enters units mode session={} epoch={}", id, now.epoch());
        twinRetryAtNanos = 0;
        long maxMirrored = services.config().limits().maxMessageBytes();
        // what the relay learned of the session's statements goes on: should the new twin fail, it is handed back
        units = new Units(this, channel, services.migration(), seen, backend, maxMirrored,
                services.config().timeouts(),
                readingStatementsUnmirrored != null ? readingStatementsUnmirrored : Set.of());
        if (relayedUnnamedParse != null) {
            units.unnamedParsedBefore(relayedUnnamedParse);
            forgetRelayedUnnamedParse();
        }
        readingStatementsUnmirrored = null;
        backend = null;
        seen = now;
        channel.eventLoop().execute(() -> {
            if (units != null) {
                units.pump();
            }
        });
    }

    /**
     * Whether a unit sent from idle is worth keeping for a barrier that may close while it runs: one that begins as a
     * read can (a Query or a Parse), and is small, as reads are; a large one (a bulk INSERT) would be kept for nothing.
     */
    private static boolean mayBeARead(ByteBuf unit) {
        byte first = unit.getByte(unit.readerIndex());
        return unit.readableBytes() <= MAX_KEPT_UNIT_BYTES && (first == FrontendMessages.QUERY || first == FrontendMessages.PARSE);
    }

    private void rememberRelayedUnit(ByteBuf unit) {
        forgetRelayedUnit();
        relayedUnit = unit.retain();
        relayedUnitFrom = unit.readerIndex();
        relayedUnitTo = unit.writerIndex();
    }

    private void forgetRelayedUnit() {
        if (relayedUnit != null) {
            relayedUnit.release();
            relayedUnit = null;
        }
    }

    /** A barrier starts to close while this session is inside (on the closing thread): look at what runs. */
    private void barrierClosing() {
        try {
            channel.eventLoop().execute(this::leaveBarrierIfRelayingARead);
        } catch (RejectedExecutionException e) {
            // its event loop is shutting down, and the session with it: closing releases the pass
        }
    }

    /**
     * A relayed unit already running when a barrier started to close holds it only if it may write: one that
     * {@link PlainReadCheck} finds a plain read leaves, as it would have passed the closing barrier had it come
     * a moment later, and what the client sends while it runs waits for its end, to be a unit of its own at the
     * barrier. A unit the relay cannot read whole (sent in several reads, or with more behind it) still holds it.
     */
    private void leaveBarrierIfRelayingARead() {
        WriteBarrier barrier = services.migration().control().barrier();
        if (relayedUnit == null || units != null || readOutsideBarrier || !pass.inside() || !barrier.closing()
                || transactionStatus != ReadyForQuery.IDLE || copyIn != CopyIn.NONE || batchOpen
                || !PlainReadCheck.of(relayedUnit, relayedUnitFrom, relayedUnitTo, sqlReading,
                        services.migration().classifier())) {
            return;
        }
        forgetRelayedUnit();
        readOutsideBarrier = true;
        barrier.exit(pass);
    }

    /** Admitted by the barrier (on whichever thread reopened it): carry on with what waited. */
    private void resumeOnLoop() {
        channel.eventLoop().execute(() -> {
            if (!(state instanceof State.Ready)) {
                return;
            }
            if (units != null) {
                units.pump();
            } else if (!pending.isEmpty()) {
                RoutingState now = services.migration().control().current();
                if (now != seen && (twinWanted(now) || backend == null || roleOf(backend) != now.leader())) {
                    enterUnits(now);
                } else {
                    seen = now;
                    relayPending();
                }
            }
            if (state instanceof State.Ready && isIdle()) {
                // admitted for a unit that was cancelled while it waited (cancelWaitingUnit, Units.cancelRunning):
                // nothing runs, so the session leaves again, as at the end of a unit
                services.migration().control().barrier().exit(pass);
            }
        });
    }

    /**
     * The routing state changed. A session with nothing to run follows it now rather than at its next
     * unit, which may come hours later (a pooled connection, one that only listens): after {@code finalize}
     * or a rollback the cluster that no longer leads may be stopped, and a session still holding it would
     * lose its connection with it. A session on the leader that only lacks its twin gets that at its next
     * unit, as before. Safe from any thread.
     */
    void routingChanged() {
        channel.eventLoop().execute(this::followRoutingIfIdle);
    }

    /**
     * Completes once the session has followed the change {@link #routingChanged} told it of as far as it does
     * while idle (see {@link Units#whenSettled}): asked right after, so it runs behind that on the event loop.
     * Safe from any thread.
     */
    CompletableFuture<Void> routingSettled() {
        CompletableFuture<Void> settled = new CompletableFuture<>();
        try {
            channel.eventLoop().execute(() -> {
                if (units == null) {
                    settled.complete(null);
                } else {
                    units.whenSettled(() -> settled.complete(null));
                }
            });
        } catch (RejectedExecutionException e) {
            settled.complete(null); // its event loop is shutting down, and the session with it
        }
        return settled;
    }

    private void followRoutingIfIdle() {
        if (!(state instanceof State.Ready) || !pending.isEmpty()) {
            return; // a unit on its way brings the session in line first
        }
        if (units != null) {
            units.followRoutingWhenIdle();
            return;
        }
        RoutingState now = services.migration().control().current();
        if (isIdle() && backend != null && now != seen && roleOf(backend) != now.leader()) {
            enterUnits(now);
            units.followRoutingWhenIdle();
        }
    }

    /** True the first time the session is found pinned: it counts once among the pinned sessions. */
    boolean firstPinned() {
        boolean first = !pinnedCounted;
        pinnedCounted = true;
        return first;
    }

    /** Whether the state asks for a twin: dual-write on, and the follower still worth writing to. */
    boolean twinWanted(RoutingState s) {
        return services.config().green() != null && s.dualWrite()
                && (s.followerWrites() == FollowerWrites.ASYNC || s.followerInSync());
    }

    static ClusterRole roleOf(BackendConnection connection) {
        return "green".equals(connection.cluster().name()) ? ClusterRole.GREEN : ClusterRole.BLUE;
    }

    /** Units mode asks to start a unit: true when it may, after entering the barrier if it needs to. */
    boolean atBoundary(boolean needsBarrier) {
        return !needsBarrier || services.migration().control().barrier().tryEnter(pass, this::resumeOnLoop);
    }

    ArrayDeque<Frame> pending() {
        return pending;
    }

    SqlReading sqlReading() {
        return sqlReading;
    }

    boolean mayHoldState() {
        return mayHoldState;
    }

    /** Starts logging in to {@code role} for units mode; the outcome reaches {@link Units}. */
    void openTwin(ClusterRole role) {
        Cluster cluster = cluster(role);
        if (cluster == null) {
            units.twinFailed(role, "no " + role.name().toLowerCase() + " cluster is configured");
            return;
        }
        twinConnecting = openBackend(cluster);
    }

    /**
     * Units mode ended (dual-write off, or no twin to be had): relay to {@code leader}, starting with whatever
     * waits.
     *
     * @param retryTwin shadow mode, and the twin was lost or could not be made: a new one is tried for at the
     *                  first unit after {@link #SHADOW_TWIN_RETRY_CONNECT_TIMEOUTS} connect timeouts
     * @param readingStatements the statements the session prepared that read ({@code ""} the unnamed one)
     * @param catalogStatements those among them that read the system catalogs
     * @param unnamedParse the client's last Parse of the unnamed statement, which the leader holds (null where none):
     *                     kept for a twin made later, as one the relay passes on is ({@link #relayedUnnamedParse});
     *                     the caller keeps its reference
     */
    void backToRelay(BackendConnection leader, boolean retryTwin, Set<String> readingStatements,
                     Set<String> catalogStatements, ByteBuf unnamedParse) {
        log.debug("session back to relay session={} cluster={}", id, leader.cluster().name());
        long retryAt = System.nanoTime()
                + SHADOW_TWIN_RETRY_CONNECT_TIMEOUTS * services.config().timeouts().connect().toNanos();
        twinRetryAtNanos = !retryTwin ? 0 : retryAt == 0 ? 1 : retryAt; // 0 means none
        readingStatementsUnmirrored = retryTwin ? new HashSet<>(readingStatements) : null;
        // what its units did stays on the leader: a twin made for it later starts from a snapshot
        mayHoldState |= units != null && units.ranAUnit();
        units = null;
        backend = leader;
        relayedTypesChanged();
        if (relayTranslatesTypes && typesSource() != null) {
            readMissingCatalogs(); // (an idle session, across cutover and finalize, may have had no unit that read them)
            relayCatalogStatements = Set.copyOf(catalogStatements); // (pgjdbc's type lookups, prepared by name)
        }
        forgetRelayedUnnamedParse();
        relayedUnnamedParse = unnamedParse == null ? null
                : channel.alloc().buffer(unnamedParse.readableBytes()).writeBytes(unnamedParse, unnamedParse.readerIndex(),
                        unnamedParse.readableBytes());
        outstanding.clear();
        executeSent = false;
        batchOpen = false;
        copyIn = CopyIn.NONE;
        copyEndsAhead = 0;
        transactionStatus = ReadyForQuery.IDLE;
        seen = services.migration().control().current();
        channel.eventLoop().execute(() -> {
            if (state instanceof State.Ready && units == null && !pending.isEmpty()
                    && services.migration().control().barrier().tryEnter(pass, this::resumeOnLoop)) {
                relayPending();
            }
        });
    }

    /** Relays the frames that waited, then reads from the client again. */
    private void relayPending() {
        for (Frame frame : pending) {
            if (frame.type() == 'X') {
                break;
            }
            ByteBuf content = frame.content();
            try {
                // all before any: a malformed message ends the session before what waited with it reaches blue
                FrontendMessages.checkStrings(frame.type(), content, content.readerIndex(), content.readableBytes());
            } catch (ProtocolViolation malformed) {
                closeWith(ErrorResponse.fatal("08P01", malformed.getMessage())); // (what waits is released with the session)
                return;
            }
        }
        forgetRelayedUnit(); // what runs now came from the queue: a unit the relay did not keep
        while (!pending.isEmpty() && backend != null) {
            Frame frame = pending.poll();
            if (frame.type() == 'X') {
                frame.release();
                close();
                return;
            }
            ByteBuf content = frame.content();
            noteRelayed(frame.type(), content, content.readerIndex(), content.readableBytes());
            mayHoldState = true;
            backend.write(outgoing(frame.type(), frame.content(), roleOf(backend)));
        }
        if (backend != null) {
            backend.flush();
        }
        pendingDrained();
    }

    private void forgetRelayedUnnamedParse() {
        if (relayedUnnamedParse != null) {
            relayedUnnamedParse.release();
            relayedUnnamedParse = null;
        }
    }

    /** Too much waiting from this client: stop reading it until the queue drains. */
    private void holdClient() {
        if (pending.size() > MAX_PENDING_FRAMES || pendingBytesOver(MAX_PENDING_BYTES)) {
            channel.config().setAutoRead(false);
        }
    }

    /** Whether the waiting frames hold more than {@code limit} bytes; stops counting once they do. */
    private boolean pendingBytesOver(long limit) {
        long bytes = 0;
        for (Frame frame : pending) {
            bytes += frame.content().readableBytes();
            if (bytes > limit) {
                return true;
            }
        }
        return false;
    }

    /** The unit at the head of the queue is still arriving: the client is read for the rest, whatever waits. */
    void readRestOfUnit() {
        if (!channel.config().isAutoRead() && channel.isActive()) {
            channel.config().setAutoRead(true);
        }
    }

    void pendingDrained() {
        if (pending.size() <= MAX_PENDING_FRAMES / 2 && !channel.config().isAutoRead() && channel.isActive()
                && backendsWritable() && !pendingBytesOver(MAX_PENDING_BYTES / 2)) {
            channel.config().setAutoRead(true);
        }
    }

    /**
     * A units-mode session leaves the write barrier: it is idle, or its transaction begins read-only or became so before
     * it wrote anything (DESIGN §5: reads are never held).
     */
    void leaveBarrier() {
        services.migration().control().barrier().exit(pass);
    }

    /** A units-mode session reached idle: leave the barrier, and close if draining. */
    void unitsIdle() {
        leaveBarrier();
        if (closeWhenIdle && pending.isEmpty()) {
            channel.flush();
            terminate();
        }
    }

    void terminateFromUnits() {
        close();
    }

    void failFromUnits(ErrorResponse error) {
        log.warn("session failed session={} message={}", id, error.message());
        closeWith(error);
    }

    /** The leader ended the session with a FATAL error that has reached the client: nothing more to say. */
    void endedByLeader(String cluster) {
        log.info("backend ended the session session={} cluster={}", id, cluster);
        closeAfterFlush();
    }

    /** Forwards a cancel to the backend only while this session has a query running there. */
    private void cancelRunningQuery() {
        if (state instanceof State.Ready && units != null) {
            BackendConnection running = units.cancelRunning(true);
            if (running != null) {
                running.cancel();
            }
            return;
        }
        if (state instanceof State.Ready && (!outstanding.isEmpty() || executeSent)) {
            log.debug("forwarding cancel session={}", id);
            backend.cancel();
        } else if (state instanceof State.Ready && isIdle() && !pending.isEmpty()) {
            cancelWaitingUnit();
        }
    }

    /**
     * A cancel while the relay's next unit waits whole for the write barrier to reopen: to the client it is
     * running, so it is answered as the server answers a cancelled statement (57014, then ReadyForQuery) and
     * never runs. Before, the cancel was dropped and the unit ran once the barrier reopened. (Units mode does
     * the same, see {@link Units#cancelRunning}.) A unit whose Sync has not arrived is left to run.
     */
    private void cancelWaitingUnit() {
        if (!answerCancelledWaitingUnit(transactionStatus)) {
            return;
        }
        if (pending.isEmpty()) {
            // it may have been let in already (units mode sent it back here to relay it): nothing runs now
            services.migration().control().barrier().exit(pass);
        }
    }

    /**
     * Drops the whole unit at the head of {@link #pending}, which a cancel found waiting to start, and answers it as
     * the server answers a cancelled statement: 57014, then ReadyForQuery with {@code status}. False, and nothing
     * done, when the head is no whole unit (its Sync still to come, the client's Terminate, stray COPY messages).
     * Leaving the write barrier is the caller's: relay and units mode know differently whether the session holds it.
     */
    boolean answerCancelledWaitingUnit(ReadyForQuery status) {
        byte first = pending.peek().type();
        if (first == 'X' || first == FrontendMessages.COPY_DATA || first == FrontendMessages.COPY_DONE
                || first == FrontendMessages.COPY_FAIL) {
            return false;
        }
        int count = Units.unitLength(pending);
        if (count <= 0) {
            return false;
        }
        log.debug("cancel of a unit still waiting to start session={}", id);
        for (int i = 0; i < count; i++) {
            pending.poll().release();
        }
        channel.write(ErrorResponse.of("ERROR", "57014", "canceling statement due to user request").encode(channel.alloc()),
                channel.voidPromise());
        channel.writeAndFlush(status.encode(channel.alloc()), channel.voidPromise());
        pendingDrained();
        return true;
    }

    // --- shutdown -------------------------------------------------------------------------------

    /** Closes now if idle, otherwise once the current transaction ends. Safe from any thread. */
    void drain() {
        channel.eventLoop().execute(() -> {
            if (state instanceof State.Ready && !isIdle()) {
                closeWhenIdle = true;
            } else if (state instanceof State.AwaitingStartup || state instanceof State.DirectTlsHandshake) {
                // it may be a cancel request on its way, for a session finishing its transaction: it is served,
                // a StartupMessage is refused (57P03), and the startup timeout closes the connection otherwise
                return;
            } else {
                terminate();
            }
        });
    }

    /**
     * Closes now, telling the client why, as a server's fast shutdown does. A statement still running is
     * cancelled first, and the connection closed once the server has signalled it: closing the server
     * connection alone would let an autocommit statement run on to its commit while the client is told it was
     * terminated, which a client takes as rolled back (and may run again). Nothing the client sends from the
     * moment this is decided is relayed. Safe from any thread.
     */
    void terminate() {
        if (channel.eventLoop().inEventLoop()) {
            terminating = true;
        }
        channel.eventLoop().execute(() -> {
            terminating = true;
            if (state instanceof State.Closed) {
                channel.close(); // ended already, its last words waiting for a client that does not read them
                return;
            }
            if (cancellingToClose) {
                return;
            }
            BackendConnection running = runningBackend();
            if (running == null) {
                closeWith(terminated());
                return;
            }
            cancellingToClose = true;
            channel.pipeline().addLast(CancelAnswerFilter.NAME, new CancelAnswerFilter());
            log.info("cancelling the running statement before closing session={} cluster={}", id, running.cluster().name());
            running.cancel(signalled -> closeWith(terminated()));
        });
    }

    /** What a server's fast shutdown tells its sessions. */
    private static ErrorResponse terminated() {
        return ErrorResponse.fatal("57P01", "terminating connection due to administrator command");
    }

    /** Whether the session is to close ({@link #terminate}): no unit of it starts any more. */
    boolean terminating() {
        return terminating;
    }

    /** The server connection running one of this session's statements now, if any. */
    private BackendConnection runningBackend() {
        if (!(state instanceof State.Ready)) {
            return null;
        }
        if (units != null) {
            return units.cancelRunning();
        }
        return backend != null && (!outstanding.isEmpty() || executeSent) ? backend : null;
    }

    private void closeWith(ErrorResponse error) {
        closeAfter(error);
    }

    /** Closes once what was written to the client has gone out (a plain close would drop it). */
    private void closeAfterFlush() {
        closeAfter(null);
    }

    /**
     * Closes once {@code last} (nothing when null) and what was written before it have gone out, or when
     * {@code timeouts.startup} has passed: a client that does not read would otherwise keep its socket, and
     * what waits to be written to it, for as long as it pleases. It counts as a connection until then.
     */
    private void closeAfter(ErrorResponse last) {
        if (state instanceof State.Closed) {
            return;
        }
        state = new State.Closed();
        if (midMessage && last != null) {
            // the client has part of a message: an error now would be read as the rest of it. It sees the stream end
            // in the middle of the message, as from a server that died there
            log.info("session closed in the middle of a relayed message session={} error=\"{}\"", id, last.message());
            last = null;
        }
        if (channel.isActive()) {
            ChannelFuture written = CancelAnswerFilter.writeLastWords(channel,
                    last != null ? last.encode(channel.alloc()) : Unpooled.EMPTY_BUFFER);
            written.addListener(ChannelFutureListener.CLOSE);
            if (!written.isDone()) {
                ScheduledFuture<?> bound = channel.eventLoop().schedule(() -> {
                    log.debug("session closed before its client read its last messages session={}", id);
                    channel.close();
                }, services.config().timeouts().startup().toMillis(), TimeUnit.MILLISECONDS);
                channel.closeFuture().addListener(closed -> bound.cancel(false));
            }
        }
        releaseResources();
    }

    private void close() {
        if (!(state instanceof State.Closed)) {
            state = new State.Closed();
            channel.close();
        }
        releaseResources();
    }

    private void releaseResources() {
        if (backend != null) {
            // blue may be blocked writing an answer the client stopped reading, with requests queued behind it:
            // reading it again lets it get through them to the Terminate, as a server would after a client's FIN
            backend.setAutoRead(true);
            backend.close();
        }
        Units closing = units;
        if (units != null) {
            units.close(services.config().timeouts().shutdownGrace());
            if (!units.draining()) {
                units = null;
            }
        }
        if (twinConnecting != null) {
            twinConnecting.close();
            twinConnecting = null;
        }
        while (!pending.isEmpty()) {
            pending.poll().release();
        }
        forgetRelayedUnnamedParse();
        forgetRelayedUnit();
        if (pass != null) {
            WriteBarrier barrier = services.migration().control().barrier();
            WriteBarrier.Pass held = pass;
            if (closing == null) {
                barrier.release(held);
            } else {
                // a follower COMMIT still running keeps the write unit, and the pass, inside until it is over
                closing.whenCommitDrained(() -> barrier.release(held));
            }
        }
        if (startupTimeout != null) {
            startupTimeout.cancel(false);
        }
        if (cancelKey != null) {
            services.cancelKeys().release(cancelKey);
            cancelKey = null;
        }
        if (closing != null && closing.draining()) {
            // counted as draining before it stops counting as open: a shutdown looking in between sees it
            services.followerDraining(this);
            closing.whenDrained(() -> services.followerDrained(this));
        }
        if (channel.isOpen()) {
            channel.closeFuture().addListener(closed -> services.unregister(this)); // its last words still going out
        } else {
            services.unregister(this);
        }
    }

    @Override
    public String toString() {
        return "session[" + id + "]";
    }

    /**
     * How a write barrier names this session to the operator it holds up: enough to find the application
     * ({@code session[7] (user app, application billing, from 10.0.0.5:53312)}), not its id alone.
     */
    private final Object barrierName = new Object() {
        @Override
        public String toString() {
            List<String> parts = new ArrayList<>(3);
            StartupPacket.StartupMessage started = startup; // written on the event loop; a late view only names less
            if (started != null) {
                parts.add("user " + OneLine.of(started.user(), 64));
                String reported = sqlReading.applicationName(); // as the session set it since, if it did
                String application = reported != null ? reported : started.parameters().get("application_name");
                if (application != null && !application.isBlank()) {
                    parts.add("application " + OneLine.of(application, 64));
                }
            }
            Channel c = channel;
            if (c != null && c.remoteAddress() instanceof InetSocketAddress from) {
                parts.add("from " + NetUtil.toSocketAddressString(from));
            }
            return parts.isEmpty() ? ClientSession.this.toString()
                    : ClientSession.this + " (" + String.join(", ", parts) + ")";
        }
    };

}
