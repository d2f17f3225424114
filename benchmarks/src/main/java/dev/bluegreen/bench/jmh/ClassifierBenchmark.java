package dev.bluegreen.bench.jmh;

import dev.bluegreen.proxy.routing.Classification;
import dev.bluegreen.proxy.routing.Classifier;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Classifying the SQL of a unit, which units mode does for every Query message. Simple-protocol clients
 * write their values into the text, so pgbench's statements are a new text nearly every time and miss
 * the classifier's cache: {@code literals} measures that path, {@code repeated} the cached one. Each
 * invocation classifies one of {@value #TEXTS} texts in turn.
 *
 * <p>Scores are nanoseconds per statement; run with {@code -prof gc} for the bytes each one allocates.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ClassifierBenchmark {

    private static final int TEXTS = 4096;

    /** pgbench's statements: {@code select} from {@code -S}, the others from its TPC-B-like script. */
    @Param({"select", "update", "insert"})
    public String statement;

    private final String[] texts = new String[TEXTS];
    private Classifier classifier;
    private int next;

    @Setup
    public void setUp() {
        classifier = new Classifier(10_000);
        for (int i = 0; i < TEXTS; i++) {
            int aid = 1 + (i * 7919) % 1_000_000;
            texts[i] = switch (statement) {
                case "select" -> "SELECT abalance FROM pgbench_accounts WHERE aid = " + aid + ";";
                case "update" -> "UPDATE pgbench_accounts SET abalance = abalance + " + (i % 5000 - 2500)
                        + " WHERE aid = " + aid + ";";
                case "insert" -> "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (" + (i % 100)
                        + ", " + (i % 10) + ", " + aid + ", " + (i % 5000 - 2500) + ", CURRENT_TIMESTAMP);";
                default -> throw new IllegalArgumentException(statement);
            };
        }
    }

    /** A new text each time, as the simple protocol sends it. */
    @Benchmark
    public Classification literals() {
        String sql = texts[next];
        next = (next + 1) & (TEXTS - 1);
        return classifier.classify(sql);
    }

    /** The same text each time: an answer from the cache. */
    @Benchmark
    public Classification repeated() {
        return classifier.classify(texts[0]);
    }
}
