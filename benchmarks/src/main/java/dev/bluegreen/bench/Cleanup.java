package dev.bluegreen.bench;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Everything the harness started, stopped in reverse order exactly once: at the end of the run,
 * on a failure, or from a shutdown hook on Ctrl-C or SIGTERM. The hook waits for a close already
 * under way, so the JVM cannot exit half-way through stopping the children.
 */
final class Cleanup implements AutoCloseable {

    private final Deque<AutoCloseable> resources = new ArrayDeque<>();
    private final Thread hook = new Thread(this::closeOnSignal, "bench-cleanup");
    private boolean closed;

    Cleanup() {
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Takes charge of {@code resource}; it will be closed before everything registered earlier. */
    synchronized <T extends AutoCloseable> T register(T resource) {
        if (closed) {
            closeQuietly(resource);
            throw new IllegalStateException("the harness is shutting down");
        }
        resources.push(resource);
        return resource;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        while (!resources.isEmpty()) {
            closeQuietly(resources.pop());
        }
        if (Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or about to; it will find everything closed
            }
        }
    }

    private void closeOnSignal() {
        synchronized (this) {
            if (!closed) {
                System.err.println("bench: interrupted, stopping everything the harness started");
            }
        }
        close();
    }

    private static void closeQuietly(AutoCloseable resource) {
        try {
            resource.close();
        } catch (Exception e) {
            System.err.println("bench: could not stop " + resource + ": " + e);
        }
    }
}
