package dev.bluegreen.proxy.it;

import dev.bluegreen.embedded.PgCluster;
import java.util.ArrayList;
import java.util.List;

/**
 * Server processes stopped with {@code SIGSTOP} until closed: a server that answers nothing and reads
 * nothing, while the kernel still holds its connections open, as a hung host or a partition leaves them.
 */
public final class Frozen implements AutoCloseable {

    private final List<Long> pids;

    private Frozen(List<Long> pids) {
        this.pids = pids;
    }

    /** One process, a backend say. */
    public static Frozen process(long pid) throws Exception {
        signal("STOP", List.of(pid));
        return new Frozen(List.of(pid));
    }

    /** Every process of a cluster, its postmaster first so that it starts no more. */
    public static Frozen cluster(PgCluster cluster) throws Exception {
        ProcessHandle postmaster = ProcessHandle.of(cluster.pid()).orElseThrow();
        List<Long> pids = new ArrayList<>(List.of(postmaster.pid()));
        signal("STOP", pids);
        List<Long> children = postmaster.descendants().map(ProcessHandle::pid).toList();
        signal("STOP", children);
        pids.addAll(children);
        return new Frozen(pids);
    }

    @Override
    public void close() throws Exception {
        signal("CONT", pids);
    }

    private static void signal(String signal, List<Long> pids) throws Exception {
        for (long pid : pids) {
            ClusterData.signal(signal, pid);
        }
    }
}
