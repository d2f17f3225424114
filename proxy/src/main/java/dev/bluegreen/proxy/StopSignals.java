package dev.bluegreen.proxy;

/**
 * SIGTERM, SIGINT and SIGHUP (the terminal closed) start a graceful shutdown that ends with exit code 0; under
 * {@code nohup} the JVM leaves an ignored SIGHUP ignored. A JVM shutdown hook cannot do that: the JVM exits
 * 143 after hooks run on SIGTERM. {@code sun.misc.Signal} (module jdk.unsupported, as Netty and others use
 * it) is the only way, so its use is kept to this class.
 */
final class StopSignals {

    private StopSignals() {}

    static void onStop(Runnable action) {
        for (String name : new String[] {"TERM", "INT", "HUP"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> action.run());
        }
    }
}
