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
}
