package dev.bluegreen.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The harness's command line. Every target gets exactly the same pgbench options; these only choose
 * which cells of the matrix run and for how long.
 *
 * @param threads pgbench {@code -j}; 0 means min(clients, 2)
 * @param suites which groups of scenarios run
 */
record HarnessOptions(
        Set<Suite> suites,
        int durationSeconds,
        int warmupSeconds,
        int repeat,
        int scale,
        int threads,
        List<Integer> clients,
        List<String> protocols,
        Path proxyJar,
        Path out) {

    /** A group of scenarios with a table of its own. */
    enum Suite {
        /** pgbench -S against blue directly, through bluegreen and through PgBouncer. */
        RELAY,
        /** pgbench -S and TPC-B-like at 16 clients, directly and through bluegreen with dual-write off and on. */
        DUAL;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    static final String USAGE = """
            usage: PgbenchHarness [options]
              --scenarios LIST      which tables to measure (default relay,dual):
                                      relay  pgbench -S: blue direct, bluegreen, PgBouncer
                                      dual   16 clients, blue direct beside bluegreen with dual-write to green
                                             off and on: -S at weight 0, 50, 100 and the TPC-B-like script
              --duration SECONDS    measured run length per target and cell (default 15)
              --warmup SECONDS      unmeasured run just before each measured one (default 5; 0 = none)
              --repeat N            run the whole matrix N times, report the median per cell (default 1)
              --clients LIST        pgbench -c values of the relay scenarios (default 1,16; dual: always 16)
              --protocols LIST      pgbench -M values: simple, extended, prepared (default simple,prepared)
              --threads N           pgbench -j (default min(clients, 2))
              --scale N             pgbench -i -s (default 10)
              --proxy-jar FILE      the proxy's executable jar (default proxy/target/bluegreen-proxy.jar)
              --out FILE            Markdown copy of the table (default benchmarks/target/pgbench-results.md)
            Relative paths are resolved against the repository root.""";

    private static final Set<String> OPTIONS = Set.of("--scenarios", "--duration", "--warmup", "--repeat", "--scale",
            "--threads", "--clients", "--protocols", "--proxy-jar", "--out");
    private static final Set<String> PROTOCOLS = Set.of("simple", "extended", "prepared");

    /** Thrown for a command line we cannot use; the message says why. */
    static final class UsageException extends IllegalArgumentException {
        UsageException(String message) {
            super(message);
        }
    }

    static HarnessOptions parse(List<String> args, Path repoRoot) {
        Set<Suite> suites = Set.of(Suite.RELAY, Suite.DUAL);
        int duration = 15;
        int warmup = 5;
        int repeat = 1;
        int scale = 10;
        int threads = 0;
        List<Integer> clients = List.of(1, 16);
        List<String> protocols = List.of("simple", "prepared");
        Path proxyJar = repoRoot.resolve("proxy/target/bluegreen-proxy.jar");
        Path out = repoRoot.resolve("benchmarks/target/pgbench-results.md");
        for (int i = 0; i < args.size(); i++) {
            String name = args.get(i);
            if (name.equals("-h") || name.equals("--help")) {
                throw new UsageException("");
            }
            if (!OPTIONS.contains(name)) {
                throw new UsageException(name.startsWith("--") ? "unknown option " + name : "unexpected argument " + name);
            }
            if (i + 1 >= args.size()) {
                throw new UsageException(name + " needs a value");
            }
            String value = args.get(++i);
            switch (name) {
                case "--scenarios" -> suites = suiteSet(value);
                case "--duration" -> duration = positive(name, value);
                case "--warmup" -> warmup = nonNegative(name, value);
                case "--repeat" -> repeat = positive(name, value);
                case "--scale" -> scale = positive(name, value);
                case "--threads" -> threads = positive(name, value);
                case "--clients" -> clients = clientList(value);
                case "--protocols" -> protocols = protocolList(value);
                case "--proxy-jar" -> proxyJar = repoRoot.resolve(value);
                case "--out" -> out = repoRoot.resolve(value);
                default -> throw new IllegalStateException("option without a case: " + name);
            }
        }
        return new HarnessOptions(suites, duration, warmup, repeat, scale, threads, clients, protocols, proxyJar, out);
    }

    /** The pgbench -j for a number of clients: never more threads than clients. */
    int threadsFor(int clientCount) {
        return Math.min(clientCount, threads == 0 ? 2 : threads);
    }

    private static int nonNegative(String name, String value) {
        try {
            int parsed = Integer.parseInt(value.strip());
            if (parsed >= 0) {
                return parsed;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new UsageException(name + " wants a whole number of 0 or more, not '" + value + "'");
    }

    private static int positive(String name, String value) {
        int parsed = nonNegative(name, value);
        if (parsed == 0) {
            throw new UsageException(name + " must be at least 1");
        }
        return parsed;
    }

    private static List<Integer> clientList(String value) {
        List<Integer> list = new ArrayList<>();
        for (String item : value.split(",")) {
            list.add(positive("--clients", item));
        }
        return List.copyOf(list);
    }

    private static Set<Suite> suiteSet(String value) {
        Set<Suite> suites = EnumSet.noneOf(Suite.class);
        for (String item : value.split(",")) {
            String name = item.strip();
            suites.add(Arrays.stream(Suite.values())
                    .filter(suite -> suite.label().equals(name))
                    .findFirst()
                    .orElseThrow(() -> new UsageException("--scenarios: '" + name + "' is not one of relay, dual")));
        }
        return Set.copyOf(suites);
    }

    private static List<String> protocolList(String value) {
        List<String> list = Arrays.stream(value.split(",")).map(String::strip).toList();
        for (String protocol : list) {
            if (!PROTOCOLS.contains(protocol)) {
                throw new UsageException("--protocols: '" + protocol + "' is not one of simple, extended, prepared");
            }
        }
        return list;
    }
}
