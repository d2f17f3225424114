package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RoutingPolicyTest {

    private static final Optional<String> NO_TENANT = Optional.empty();

    @Test
    void withNoStickinessGreensShareOfUnitsIsTheWeight() {
        StickyKeys keys = new StickyKeys(StickyMode.NONE, TenantSource.TENANT_PARAMETER);
        Random random = new Random(20240601);

        long green = LongStream.range(0, 10_000)
                .map(unit -> keys.unitKey(random.nextLong(), unit, NO_TENANT))
                .filter(key -> RoutingPolicy.serve(key, 25) == ClusterRole.GREEN)
                .count();

        assertThat(green / 10_000.0).isBetween(0.23, 0.27);
    }

    @Test
    void sequentialSessionIdsSpreadAsWellAsRandomKeys() {
        long green = LongStream.range(1, 10_001)
                .filter(session -> RoutingPolicy.serve(StickyKeys.ofSession(session), 25) == ClusterRole.GREEN)
                .count();

        assertThat(green / 10_000.0).isBetween(0.23, 0.27);
    }

    @Test
    void bucketsAreInRangeAndEvenlyFilled() {
        int[] counts = new int[RoutingPolicy.BUCKETS];

        LongStream.range(0, 100_000).forEach(key -> counts[RoutingPolicy.bucket(key)]++);

        // 1,000 expected per bucket, standard deviation about 31
        assertThat(Arrays.stream(counts).min().orElseThrow()).isGreaterThanOrEqualTo(850);
        assertThat(Arrays.stream(counts).max().orElseThrow()).isLessThanOrEqualTo(1150);
    }

    @Test
    void aSessionsUnitsAllGoToOneClusterWhileTheWeightHolds() {
        StickyKeys keys = new StickyKeys(StickyMode.SESSION, TenantSource.TENANT_PARAMETER);

        for (long session = 0; session < 1_000; session++) {
            for (int weight : List.of(5, 25, 50, 75)) {
                Set<ClusterRole> clusters = EnumSet.noneOf(ClusterRole.class);
                for (long unit = 0; unit < 50; unit++) {
                    clusters.add(RoutingPolicy.serve(keys.unitKey(session, unit, NO_TENANT), weight));
                }
                assertThat(clusters).as("session %d at weight %d", session, weight).hasSize(1);
            }
        }
    }

    @Test
    void raisingTheWeightNeverMovesAKeyBackToBlue() {
        Random random = new Random(7);
        List<String> violations = new ArrayList<>();

        for (int i = 0; i < 20_000; i++) {
            long key = random.nextLong();
            int firstGreen = -1;
            for (int weight = 0; weight <= 100; weight++) {
                boolean green = RoutingPolicy.serve(key, weight) == ClusterRole.GREEN;
                if (green && firstGreen < 0) {
                    firstGreen = weight;
                }
                // once green at some weight, green at every higher weight: all pairs w < w' at once
                if (green != firstGreen >= 0) {
                    violations.add("key " + key + " back to blue at weight " + weight);
                }
            }
            if (firstGreen != RoutingPolicy.bucket(key) + 1) {
                violations.add("key " + key + " turned green at " + firstGreen + ", not just above its bucket");
            }
        }

        assertThat(violations).isEmpty();
    }

    @Test
    void monotonicForEveryBucketAndEveryPairOfWeights() {
        // serve() depends on the key only through its bucket, so checking buckets checks every key
        List<String> violations = new ArrayList<>();
        for (int bucket = 0; bucket < RoutingPolicy.BUCKETS; bucket++) {
            for (int low = 0; low <= 100; low++) {
                for (int high = low; high <= 100; high++) {
                    if (bucket < low && !(bucket < high)) {
                        violations.add("bucket " + bucket + ": green at " + low + ", blue at " + high);
                    }
                }
            }
        }

        assertThat(violations).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(longs = {0, 1, -1, Long.MIN_VALUE, Long.MAX_VALUE, 42, 0x9e3779b97f4a7c15L})
    void weightZeroIsAlwaysBlueAndHundredAlwaysGreen(long key) {
        assertThat(RoutingPolicy.serve(key, 0)).isEqualTo(ClusterRole.BLUE);
        assertThat(RoutingPolicy.serve(key, 100)).isEqualTo(ClusterRole.GREEN);
    }

    @Test
    void theEndsHoldForManyKeys() {
        Random random = new Random(3);

        for (int i = 0; i < 10_000; i++) {
            long key = random.nextLong();
            assertThat(RoutingPolicy.serve(key, 0)).isEqualTo(ClusterRole.BLUE);
            assertThat(RoutingPolicy.serve(key, 100)).isEqualTo(ClusterRole.GREEN);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 101, Integer.MIN_VALUE, Integer.MAX_VALUE})
    void weightsOutsideZeroToHundredAreRefused(int weight) {
        assertThatThrownBy(() -> RoutingPolicy.serve(1, weight)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RoutingPolicy.withoutPins().route(1, weight, NO_TENANT))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void pinnedTenantsIgnoreTheWeight() {
        RoutingPolicy policy = new RoutingPolicy(Map.of("canary", ClusterRole.GREEN, "bigcorp", ClusterRole.BLUE));
        Random random = new Random(11);
        Set<RouteDecision> canary = new HashSet<>();
        Set<RouteDecision> bigcorp = new HashSet<>();

        for (int i = 0; i < 2_000; i++) {
            long key = random.nextLong();
            for (int weight = 1; weight < 100; weight++) {
                canary.add(policy.route(key, weight, Optional.of("canary")));
                bigcorp.add(policy.route(key, weight, Optional.of("bigcorp")));
            }
        }

        assertThat(canary).containsExactly(new RouteDecision(ClusterRole.GREEN, RouteDecision.Basis.TENANT_PIN));
        assertThat(bigcorp).containsExactly(new RouteDecision(ClusterRole.BLUE, RouteDecision.Basis.TENANT_PIN));
    }

    @Test
    void rollbackAndCutoverWeightsOverrideEveryPin() {
        RoutingPolicy policy = new RoutingPolicy(Map.of("canary", ClusterRole.GREEN, "bigcorp", ClusterRole.BLUE));

        assertThat(policy.route(5, 0, Optional.of("canary")))
                .isEqualTo(new RouteDecision(ClusterRole.BLUE, RouteDecision.Basis.WEIGHT));
        assertThat(policy.route(5, 100, Optional.of("bigcorp")))
                .isEqualTo(new RouteDecision(ClusterRole.GREEN, RouteDecision.Basis.WEIGHT));
    }

    @Test
    void unpinnedAndUnknownTenantsFollowTheWeight() {
        RoutingPolicy policy = new RoutingPolicy(Map.of("canary", ClusterRole.GREEN));
        Random random = new Random(5);

        for (int i = 0; i < 2_000; i++) {
            long key = random.nextLong();
            RouteDecision other = policy.route(key, 30, Optional.of("someone-else"));
            RouteDecision none = policy.route(key, 30, NO_TENANT);

            assertThat(other).isEqualTo(new RouteDecision(RoutingPolicy.serve(key, 30), RouteDecision.Basis.WEIGHT));
            assertThat(none).isEqualTo(other);
        }
    }

    @Test
    void allOfATenantsSessionsGoTogetherInTenantMode() {
        StickyKeys keys = new StickyKeys(StickyMode.TENANT, TenantSource.APPLICATION_NAME);

        for (String tenant : List.of("acme", "globex", "initech", "umbrella")) {
            Set<ClusterRole> clusters = EnumSet.noneOf(ClusterRole.class);
            for (long session = 0; session < 200; session++) {
                clusters.add(RoutingPolicy.serve(keys.unitKey(session, session * 3, Optional.of(tenant)), 50));
            }
            assertThat(clusters).as(tenant).hasSize(1);
        }
    }
}
