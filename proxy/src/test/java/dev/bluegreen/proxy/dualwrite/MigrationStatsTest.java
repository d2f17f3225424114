package dev.bluegreen.proxy.dualwrite;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.routing.ClusterRole;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Figures and listeners, as the session engine reports to them from its event loops. */
class MigrationStatsTest {

    private final MigrationStats stats = new MigrationStats();

    @Test
    void aListenerThatThrowsNeverReachesTheSessionAndTheOthersStillHear() {
        List<String> heard = new ArrayList<>();
        stats.addListener(new MigrationStats.Listener() {
            @Override
            public void unitServed(ClusterRole cluster, boolean read, long nanos, String sqlState) {
                throw new NullPointerException("a broken window");
            }

            @Override
            public void followerRan(ClusterRole cluster, long nanos) {
                throw new IllegalStateException("a broken window");
            }

            @Override
            public void greenError() {
                throw new IllegalStateException("a broken window");
            }

            @Override
            public void readRetried() {
                throw new IllegalStateException("a broken window");
            }

            @Override
            public void diverged(Divergence divergence) {
                throw new IllegalStateException("a broken window");
            }
        });
        stats.addListener(new MigrationStats.Listener() {
            @Override
            public void unitServed(ClusterRole cluster, boolean read, long nanos, String sqlState) {
                heard.add("served " + cluster);
            }

            @Override
            public void followerRan(ClusterRole cluster, long nanos) {
                heard.add("followed " + cluster);
            }

            @Override
            public void greenError() {
                heard.add("green error");
            }

            @Override
            public void readRetried() {
                heard.add("retried");
            }

            @Override
            public void diverged(Divergence divergence) {
                heard.add("diverged");
            }
        });

        stats.unitServed(ClusterRole.GREEN, true, 1_000, null);
        stats.followerRan(ClusterRole.GREEN, 1_000);
        stats.greenError();
        stats.readRetried();
        stats.diverged(new Divergence(Instant.now(), "s1", "blue", "delete from t", "DELETE 1", "DELETE 0", "rows"));

        assertThat(heard).containsExactly("served GREEN", "followed GREEN", "green error", "retried", "diverged");
        assertThat(stats.listenerFailures()).isEqualTo(5);
        assertThat(stats.unitsServedBy(ClusterRole.GREEN)).isEqualTo(1);
        assertThat(stats.divergences()).hasSize(1);
    }

    /** A client's SQL makes the fingerprints: the proxy keeps a bounded number of them, each of a bounded length. */
    @Test
    void theNonDeterministicFingerprintsKeptAreBoundedInNumberAndLength() {
        for (int i = 0; i < MigrationStats.FINGERPRINTS_KEPT + 500; i++) {
            stats.nonDeterministic("INSERT INTO \"t" + i + "\" VALUES (now())");
        }
        stats.nonDeterministic("INSERT INTO t VALUES (now())".repeat(1000));

        assertThat(stats.nonDeterministicStatements()).hasSize(MigrationStats.FINGERPRINTS_KEPT + 1)
                .containsEntry(MigrationStats.OTHER_FINGERPRINTS, 501L)
                .allSatisfy((fingerprint, count) -> assertThat(fingerprint.length())
                        .isLessThanOrEqualTo(MigrationStats.STATEMENT_CHARS_KEPT + 1));
        assertThat(stats.nonDeterministicTotal()).isEqualTo(MigrationStats.FINGERPRINTS_KEPT + 501L);
    }

    @Test
    void aDivergencesStatementIsKeptToABoundedLength() {
        String statement = "UPDATE \"" + "x".repeat(100_000) + "\" SET v = $1";
        stats.diverged(new Divergence(Instant.now(), "session[1]", "blue", statement, "UPDATE 1", "UPDATE 0", "rows"));

        assertThat(stats.divergences().getFirst().statement()).hasSize(MigrationStats.STATEMENT_CHARS_KEPT + 1)
                .endsWith("…").startsWith("UPDATE \"xxx");
    }
}
