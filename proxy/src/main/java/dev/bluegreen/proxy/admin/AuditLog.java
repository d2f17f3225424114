package dev.bluegreen.proxy.admin;

import dev.bluegreen.proxy.dualwrite.OneLine;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who asked the admin API for what: every refused authentication and every command, whatever its
 * outcome. Kept in memory for {@code GET /api/v1/audit} (the most recent {@value #KEPT} commands and,
 * apart, the most recent {@value #DENIALS_KEPT} refusals, which need no token and so must not push the
 * commands out) and written to the log: a command at INFO, a denied request at WARN, at most one line every
 * {@link #DENIALS_LOGGED_EVERY}. Never records a token or a request body.
 */
final class AuditLog {

    static final int KEPT = 1000;
    static final int DENIALS_KEPT = 100;
    /**
     * At most one log line for refused requests this often, which anyone who can connect may send as fast as
     * they like; the line says how many were refused since the one before.
     */
    static final Duration DENIALS_LOGGED_EVERY = Duration.ofSeconds(10);
    private static final int MAX_TEXT = 200;
    /** An outcome holds the caller's reason (up to {@code CommandRequest.MAX_REASON}) and the proxy's own words. */
    static final int MAX_OUTCOME = 2000;

    private static final Logger log = LoggerFactory.getLogger(AuditLog.class);

    /**
     * @param actor   who the request said it was (commands only), null otherwise
     * @param status  the HTTP status answered
     * @param outcome what happened, in words
     */
    record Entry(Instant at, String remote, String method, String path, String actor, int status, String outcome) {}

    private final Clock clock;
    /** An entry and its place among all of them, for one list in the order they came. */
    private record Kept(long sequence, Entry entry) {}

    // guarded by this
    private final Deque<Kept> entries = new ArrayDeque<>();
    private final Deque<Kept> denials = new ArrayDeque<>();
    private long sequence;
    private Instant lastDenialLogged;
    private long deniedUnlogged;

    AuditLog(Clock clock) {
        this.clock = clock;
    }

    void denied(String remote, String method, String path, String why) {
        Entry entry = add(denials, DENIALS_KEPT, remote, method, path, null, 401, why);
        long unlogged;
        synchronized (this) {
            if (lastDenialLogged != null && entry.at().isBefore(lastDenialLogged.plus(DENIALS_LOGGED_EVERY))) {
                deniedUnlogged++;
                return;
            }
            unlogged = deniedUnlogged;
            deniedUnlogged = 0;
            lastDenialLogged = entry.at();
        }
        if (unlogged == 0) {
            log.warn("admin request denied remote={} method={} path={} reason={}", entry.remote(), entry.method(),
                    entry.path(), entry.outcome());
        } else {
            log.warn("admin request denied remote={} method={} path={} reason={} deniedSinceLastLine={}", entry.remote(),
                    entry.method(), entry.path(), entry.outcome(), unlogged);
        }
    }

    void command(String remote, String method, String path, String actor, int status, String outcome) {
        Entry entry = add(entries, KEPT, remote, method, path, actor, status, outcome);
        log.info("admin command remote={} path={} actor={} status={} outcome={}", entry.remote(), entry.path(),
                entry.actor(), status, entry.outcome());
    }

    /** Commands and refusals together, oldest first. */
    List<Entry> entries() {
        List<Kept> all;
        synchronized (this) {
            all = new ArrayList<>(entries);
            all.addAll(denials);
        }
        all.sort(Comparator.comparingLong(Kept::sequence));
        return all.stream().map(Kept::entry).toList();
    }

    private Entry add(Deque<Kept> kept, int max, String remote, String method, String path, String actor, int status,
                      String outcome) {
        Entry entry = new Entry(clock.instant(), printable(remote), printable(method), printable(path),
                actor == null ? null : printable(actor), status, OneLine.of(outcome, MAX_OUTCOME));
        synchronized (this) {
            if (kept.size() == max) {
                kept.removeFirst();
            }
            kept.addLast(new Kept(sequence++, entry));
        }
        return entry;
    }

    /** What a client sent, made safe for one log line: control characters replaced, length capped. */
    static String printable(String s) {
        return OneLine.of(s, MAX_TEXT);
    }
}
