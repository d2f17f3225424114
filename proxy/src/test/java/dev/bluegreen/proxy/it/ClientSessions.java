package dev.bluegreen.proxy.it;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * Application sessions on threads of their own, for the tests that run traffic through the proxy while
 * an operator changes the routing: each session runs until {@link #stopping()}, and every error a client
 * sees is kept, so that a test of a change without client errors can assert there were none.
 */
final class ClientSessions implements AutoCloseable {

    private final int sessions;
    private final ExecutorService threads;
    private final List<Future<?>> running = new ArrayList<>();
    private final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
    private volatile boolean stopping;

    /** Threads for {@code sessions} sessions; none runs before {@link #start}. */
    ClientSessions(int sessions) {
        this.sessions = sessions;
        this.threads = Executors.newFixedThreadPool(sessions);
    }

    /** Starts sessions numbered 1 to {@code sessions}, each running {@code session} on its own thread. */
    ClientSessions start(IntConsumer session) {
        for (int id = 1; id <= sessions; id++) {
            int number = id;
            running.add(threads.submit(() -> session.accept(number)));
        }
        return this;
    }

    boolean stopping() {
        return stopping;
    }

    /** What a client saw go wrong. */
    void error(String what) {
        errors.add(what);
    }

    boolean failed() {
        return !errors.isEmpty();
    }

    List<String> errors() {
        return List.copyOf(errors);
    }

    /** Asks every session to stop and waits until each has. */
    void stop() throws Exception {
        stopping = true;
        for (Future<?> session : running) {
            session.get(30, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() {
        stopping = true;
        threads.shutdownNow();
    }

    /** Runs {@code sql} on {@code c} on one of {@code clients}: its update count (0 for a COMMIT). */
    static CompletableFuture<Integer> updateInBackground(Connection c, String sql, Executor clients) {
        return CompletableFuture.supplyAsync(() -> {
            try (Statement s = c.createStatement()) {
                return s.executeUpdate(sql);
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }, clients);
    }
}
