package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The classifier and normaliser run on whatever a client sends, on the event loop: they must answer, never
 * throw, whatever the text.
 */
class RobustnessTest {

    /** Fragments that exercise every lexer state and the syntax readers, glued at random. */
    private static final List<String> FRAGMENTS = List.of(
            "select", "SELECT", "insert", "update", "delete", "into", "for", "share", "key", "with", "as",
            "explain", "analyze", "copy", "to", "from", "stdin", "stdout", "begin", "atomic", "end", "case",
            "create", "function", "set", "reset", "local", "bluegreen", ".", "tenant", "=", "transaction",
            "read", "only", "isolation", "level", "declare", "cursor", "hold", "set_config", "nextval",
            "pg_advisory_lock", "(", ")", "[", "]", ",", ";", "'", "''", "E'", "\\", "\\'", "U&'", "U&\"", "\"",
            "$", "$$", "$a$", "$1", "1", "1.5e", "0x", "--", "/*", "*/", "\n", " ", "::", ":", "-", "+", "in",
            "array", "\\UFFFFFFFF", "\\u12", "\\x", "\\777", "é", "\u0000");

    @Test
    void randomTextNeverThrows() {
        Random random = new Random(42);
        Classifier classifier = new Classifier(100);
        List<String> failures = new ArrayList<>();

        for (int i = 0; i < 5_000; i++) {
            StringBuilder sql = new StringBuilder();
            int length = 1 + random.nextInt(12);
            for (int j = 0; j < length; j++) {
                sql.append(FRAGMENTS.get(random.nextInt(FRAGMENTS.size()))).append(random.nextBoolean() ? " " : "");
            }
            try {
                classifier.classify(sql.toString());
                SqlNormalizer.normalize(sql.toString());
            } catch (RuntimeException e) {
                failures.add(sql + " → " + e);
            }
        }

        assertThat(failures).isEmpty();
    }

    @Test
    void escapesOutsideUnicodeAreReadNotThrown() {
        Classification result = new Classifier(10).classify("SET bluegreen.tenant = E'\\UFFFFFFFF\\U0010FFFF'");

        assertThat(result.has(Trait.TENANT_SETTING)).isTrue();
        assertThat(result.tenant()).contains("\uFFFD\uDBFF\uDFFF");
    }

    /**
     * Nesting a client can make as deep as its message allows: an EXPLAIN ANALYZE of an EXPLAIN ANALYZE
     * recursed until the stack overflowed, and set_config inside set_config read its arguments again at
     * every level (40,000 levels took most of a minute on the event loop); a COPY of a COPY, or an EXPLAIN
     * ANALYZE of a COPY of one, overflowed it too (5,000 levels). The bound is generous: it is there to fail the
     * quadratic reading, not to measure.
     */
    @Test
    void deepNestingIsReadInLinearTimeWithoutOverflowingTheStack() {
        Classifier classifier = new Classifier(10);
        String explains = "explain analyze ".repeat(20_000) + "insert into t values (1)";
        String setConfigs = "select " + "set_config(".repeat(40_000) + "1" + ")".repeat(40_000);
        String parentheses = "select " + "(".repeat(40_000) + "1" + ")".repeat(40_000);
        String copies = "copy (".repeat(5_000) + "select 1" + ") to stdout".repeat(5_000);
        String explainedCopies = "explain analyze copy (".repeat(5_000) + "insert into t values (1)"
                + ") to stdout".repeat(5_000);

        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20), () -> {
            assertThat(classifier.classify(explains).isRead()).isFalse();
            assertThat(classifier.classify(setConfigs).has(Trait.SESSION_STATE)).isTrue();
            assertThat(classifier.classify(parentheses).isRead()).isTrue();
            assertThat(classifier.classify(copies).isRead()).isFalse();
            assertThat(classifier.classify(explainedCopies).isRead()).isFalse();
        });
    }
}
