package dev.bluegreen.embedded;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Every cluster this JVM started and has not stopped, so one shutdown hook can stop them all:
 * a server outliving its JVM keeps its port and data directory busy for the next run.
 */
final class RunningClusters {

    private static final Set<PgCluster> RUNNING = ConcurrentHashMap.newKeySet();
    private static volatile boolean hookInstalled;

    private RunningClusters() {
    }

    static void add(PgCluster cluster) {
        installHookOnce();
        RUNNING.add(cluster);
    }

    static void remove(PgCluster cluster) {
        RUNNING.remove(cluster);
    }

    private static void installHookOnce() {
        if (hookInstalled) {
            return;
        }
        synchronized (RunningClusters.class) {
            if (!hookInstalled) {
                Runtime.getRuntime().addShutdownHook(new Thread(RunningClusters::stopAll, "bluegreen-embedded-shutdown"));
                hookInstalled = true;
            }
        }
    }

    /** Stops them side by side: the JVM is exiting and each stop may wait for a checkpoint. */
    private static void stopAll() {
        List<Thread> stoppers = RUNNING.stream()
                .map(cluster -> Thread.ofPlatform().name("stop-" + cluster.name()).start(cluster::stop))
                .toList();
        for (Thread stopper : stoppers) {
            try {
                stopper.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
