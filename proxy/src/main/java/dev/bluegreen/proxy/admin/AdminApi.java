package dev.bluegreen.proxy.admin;

import dev.bluegreen.proxy.control.Autopilot;
import dev.bluegreen.proxy.control.RoutingControl;
import dev.bluegreen.proxy.control.RoutingState;
import dev.bluegreen.proxy.dualwrite.MigrationStats;
import dev.bluegreen.proxy.metrics.ProxyMetrics;
import dev.bluegreen.proxy.verify.ConsistencyCheck;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API's routes, authentication and answers, free of Netty: a request in, a future answer
 * out. {@code /health} is open; everything else needs the bearer token, checked before the path is
 * even looked at, so a caller without it learns nothing about what exists.
 *
 * <p>Nothing here runs on the caller's thread but parsing: commands may wait on the write barrier and
 * {@link RoutingControl#history()} waits while a command holds the control, so commands run one at a
 * time on a thread of their own and queries on a small pool, and a pending command never holds up a
 * state query.
 */
public final class AdminApi implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminApi.class);

    static final String HEALTH = "/health";
    static final String METRICS = "/metrics";
    static final String STATE = "/api/v1/state";
    static final String HISTORY = "/api/v1/history";
    static final String DIVERGENCES = "/api/v1/divergences";
    static final String STATS = "/api/v1/stats";
    static final String HEALTH_RULES = "/api/v1/health";
    static final String AUDIT = "/api/v1/audit";
    static final String COMMANDS = "/api/v1/commands/";
    static final String VERIFY = "/api/v1/verify";

    private static final int QUERY_THREADS = 2;

    private final AdminToken token;
    private final Autopilot autopilot;
    private final RoutingControl routing;
    private final MigrationStats stats;
    private final IntSupplier sessions;
    private final ProxyMetrics metrics;
    private final AuditLog audit;
    private final Executor commands;
    /** Rollbacks have a thread of their own: one must not queue behind a command waiting for the write barrier. */
    private final Executor rollbacks;
    private final Executor queries;
    private final List<ExecutorService> owned = new ArrayList<>();
    private volatile ConsistencyCheck consistencyCheck;
    private Executor verifies;

    public AdminApi(AdminToken token, Autopilot autopilot, MigrationStats stats, IntSupplier sessions,
                    ProxyMetrics metrics) {
        this(token, autopilot, stats, sessions, metrics, null, null, Clock.systemUTC());
    }

    /** With the given executors (tests run everything in place); null ones are made and owned here. */
    AdminApi(AdminToken token, Autopilot autopilot, MigrationStats stats, IntSupplier sessions,
             ProxyMetrics metrics, Executor commands, Executor queries, Clock clock) {
        this.token = Objects.requireNonNull(token, "token");
        this.autopilot = Objects.requireNonNull(autopilot, "autopilot");
        this.routing = autopilot.control();
        this.stats = Objects.requireNonNull(stats, "stats");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.audit = new AuditLog(clock);
        this.commands = commands != null ? commands : own(Executors.newSingleThreadExecutor(daemon("bluegreen-admin-command")));
        this.rollbacks = commands != null ? commands : own(Executors.newSingleThreadExecutor(daemon("bluegreen-admin-rollback")));
        this.queries = queries != null ? queries : own(Executors.newFixedThreadPool(QUERY_THREADS, daemon("bluegreen-admin-query")));
    }

    /**
     * Serves {@code POST /api/v1/verify} with {@code check}, one check at a time on a thread of its own (it
     * reads whole tables), so that commands and queries are never queued behind it.
     */
    public AdminApi verifyWith(ConsistencyCheck check) {
        this.verifies = own(Executors.newSingleThreadExecutor(daemon("bluegreen-admin-verify")));
        this.consistencyCheck = Objects.requireNonNull(check, "check");
        return this;
    }

    /** Answers one request; the future completes off the caller's thread for anything but trivial answers. */
    CompletableFuture<AdminResponse> handle(AdminRequest request) {
        String path = request.path();
        if (path.equals(HEALTH)) {
            return done(isGet(request) ? AdminResponse.json(200, Map.of("status", "ok")) : notAllowed("GET, HEAD"));
        }
        if (!token.matches(request.authorization())) {
            String why = AdminToken.bearer(request.authorization()) == null ? "no bearer token" : "wrong bearer token";
            audit.denied(request.remote(), request.method(), path, why);
            return done(AdminResponse.error(401, "a valid bearer token is required")
                    .withHeader("WWW-Authenticate", "Bearer realm=\"bluegreen\""));
        }
        if (path.startsWith(COMMANDS)) {
            return command(request, path.substring(COMMANDS.length()));
        }
        if (path.equals(VERIFY)) {
            return verify(request);
        }
        Supplier<AdminResponse> query = query(path);
        if (query == null) {
            return done(AdminResponse.error(404, "no such resource: " + AuditLog.printable(path)));
        }
        if (!isGet(request)) {
            return done(notAllowed("GET, HEAD"));
        }
        return CompletableFuture.supplyAsync(query, queries);
    }

    private Supplier<AdminResponse> query(String path) {
        return switch (path) {
            case METRICS -> () -> AdminResponse.text(200, AdminResponse.PROMETHEUS, metrics.scrape());
            case STATE -> () -> AdminResponse.json(200, state(routing.current()));
            case HISTORY -> () -> AdminResponse.json(200, routing.history().stream().map(Json::history).toList());
            case DIVERGENCES -> () -> AdminResponse.json(200, Json.divergences(stats));
            case STATS -> () -> AdminResponse.json(200, Json.stats(stats));
            case HEALTH_RULES -> () -> AdminResponse.json(200, Json.health(autopilot.verdict(), autopilot.window()));
            case AUDIT -> () -> AdminResponse.json(200, audit.entries().stream().map(Json::audit).toList());
            default -> null;
        };
    }

    private CompletableFuture<AdminResponse> command(AdminRequest request, String name) {
        Optional<Command> found = Command.byPath(name);
        if (found.isEmpty()) {
            return done(AdminResponse.error(404, "no such command: " + AuditLog.printable(name)));
        }
        if (!request.method().equals("POST")) {
            return done(notAllowed("POST"));
        }
        Command command = found.get();
        CommandRequest body;
        try {
            body = CommandRequest.parse(command, request.body());
        } catch (CommandRequest.BadRequest e) {
            audit.command(request.remote(), request.method(), request.path(), null, 400, e.getMessage());
            return done(AdminResponse.error(400, e.getMessage()));
        }
        String actor = body.actor() != null ? body.actor() : "admin-api@" + request.remote();
        return CompletableFuture.supplyAsync(() -> run(command, actor, body, request),
                command == Command.ROLLBACK ? rollbacks : commands);
    }

    private AdminResponse run(Command command, String actor, CommandRequest body, AdminRequest request) {
        int status;
        String outcome;
        AdminResponse response;
        try {
            RoutingControl.Changed changed = command.run(autopilot, actor, body);
            List<String> warnings = new ArrayList<>(changed.warnings());
            RoutingState inForce = routing.current();
            boolean overtaken = inForce.epoch() > changed.state().epoch();
            if (overtaken) {
                // a rollback (or a follower out of sync) took effect while this change was being saved, on top of it, or
                // right after: the answer is the state now in force, and says so, not a state no session may have seen
                warnings.add("done as epoch " + changed.state().epoch() + ", but a later change is in force now: epoch "
                        + inForce.epoch() + ", weight " + inForce.weight() + (inForce.followerInSync() ? "" : ", green out of sync")
                        + " (bgctl history says which); this answer shows that state");
            }
            status = 200;
            outcome = "done, epoch " + changed.state().epoch()
                    + warnings.stream().map(warning -> "; warning: " + warning).collect(Collectors.joining());
            Map<String, Object> json = state(overtaken ? inForce : changed.state());
            if (!warnings.isEmpty()) {
                json.put("warnings", warnings);
            }
            response = AdminResponse.json(status, json);
        } catch (RoutingControl.Refused refused) {
            status = 409;
            outcome = "refused: " + refused.getMessage();
            response = AdminResponse.error(status, refused.getMessage());
        } catch (RuntimeException e) {
            log.error("admin command failed command={} actor={}", command.path(), actor, e);
            status = 500;
            outcome = "failed: " + e;
            response = AdminResponse.error(status, command.path() + " failed: " + e.getMessage());
        }
        String reason = body.reason() == null ? "" : " (reason: " + body.reason() + ")";
        audit.command(request.remote(), request.method(), request.path(), actor, status, outcome + reason);
        return response;
    }

    private CompletableFuture<AdminResponse> verify(AdminRequest request) {
        if (!request.method().equals("POST")) {
            return done(notAllowed("POST"));
        }
        ConsistencyCheck check = consistencyCheck;
        if (check == null) {
            return done(AdminResponse.error(404, "this proxy does not offer verify"));
        }
        String database;
        try {
            database = VerifyRequest.parse(request.body()).orElse(check.defaultDatabase());
        } catch (CommandRequest.BadRequest e) {
            audit.command(request.remote(), request.method(), request.path(), null, 400, e.getMessage());
            return done(AdminResponse.error(400, e.getMessage()));
        }
        return CompletableFuture.supplyAsync(() -> runVerify(check, database, request), verifies);
    }

    private AdminResponse runVerify(ConsistencyCheck check, String database, AdminRequest request) {
        int status;
        String outcome;
        AdminResponse response;
        try {
            ConsistencyCheck.Report report = check.run(database);
            long unread = report.tables().stream()
                    .filter(t -> t.status() == ConsistencyCheck.Status.NOT_READABLE).count();
            List<String> differing = report.differing();
            status = 200;
            outcome = "done, database " + database + ": " + report.tables().size() + " tables, " + differing.size() + " differ"
                    + (unread == 0 ? "" : ", " + unread + " not readable");
            // one cluster lacks rows the other holds: said, not acted on (docs/control-plane.md): the check reads one
            // database, where tables each cluster writes itself (pg_cron's run details) differ by design, and quiesces
            // only this instance's writes
            List<String> missingRows = report.rowCountsDiffer();
            if (!missingRows.isEmpty()) {
                outcome += "; row counts differ in " + missingRows.size();
            }
            // alike: a verify owed since a stop without shutting down is paid (docs/control-plane.md)
            // a database without tables says nothing of the others (a bare bgctl verify reads postgres)
            boolean paid = report.consistent() && !report.tables().isEmpty()
                    && routing.verified("admin-api@" + request.remote(), database, report.epoch());
            if (paid) {
                outcome += "; the verify owed is paid";
            }
            response = AdminResponse.json(status, Json.verify(report, paid, routing.current().owesVerify()));
        } catch (ConsistencyCheck.Unavailable e) {
            status = 409;
            outcome = "refused: " + e.getMessage();
            response = AdminResponse.error(status, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            status = 503;
            outcome = "interrupted";
            response = AdminResponse.error(status, "verify was interrupted: the proxy is stopping");
        } catch (RuntimeException e) {
            log.error("verify failed database={}", AuditLog.printable(database), e);
            status = 500;
            outcome = "failed: " + e;
            response = AdminResponse.error(status, "verify failed: " + e.getMessage());
        }
        audit.command(request.remote(), request.method(), request.path(), "admin-api@" + request.remote(), status, outcome);
        return response;
    }

    private Map<String, Object> state(RoutingState state) {
        Map<String, Object> json = Json.state(state, sessions.getAsInt(), routing.barrier().holders());
        json.put("instance", routing.instance());
        List<String> unsaved = routing.unsaved();
        if (!unsaved.isEmpty()) {
            // a rollback in force on this instance that the state store failed to save (docs/control-plane.md)
            json.put("unsaved", unsaved);
        }
        json.put("plan", routing.plan().map(plan -> Json.plan(plan, autopilot.baked(), autopilot.holding().orElse(null)))
                .orElse(null));
        return json;
    }

    private static boolean isGet(AdminRequest request) {
        // HEAD wherever GET is (HTTP asks it): the codec sends the headers alone
        return request.method().equals("GET") || request.method().equals("HEAD");
    }

    private static AdminResponse notAllowed(String allowed) {
        return AdminResponse.error(405, "method not allowed; use " + allowed).withHeader("Allow", allowed);
    }

    private static CompletableFuture<AdminResponse> done(AdminResponse response) {
        return CompletableFuture.completedFuture(response);
    }

    private ExecutorService own(ExecutorService executor) {
        owned.add(executor);
        return executor;
    }

    private static ThreadFactory daemon(String name) {
        return Thread.ofPlatform().name(name + "-", 0).daemon(true).factory();
    }

    /**
     * Stops taking work. A command already running finishes on its own (the control's barrier has its own
     * timeout); its answer may no longer find a connection.
     */
    @Override
    public void close() {
        owned.forEach(ExecutorService::shutdown);
    }
}
