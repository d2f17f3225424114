package dev.bluegreen.proxy;

/**
 * SIGTERM and SIGINT start a graceful shutdown that ends with exit code 0. A JVM shutdown hook cannot
 * do that: the JVM exits 143 after hooks run on SIGTERM. {@code sun.misc.Signal} (module
 * jdk.unsupported, as Netty and others use it) is the only way, so its use is kept to this class.
 */
final class StopSignals {

    private StopSignals() {}

    static void onTermOrInt(Runnable action) {
        sun.misc.Signal.handle(new sun.misc.Signal("TERM"), signal -> action.run());
        sun.misc.Signal.handle(new sun.misc.Signal("INT"), signal -> action.run());
    }
}
