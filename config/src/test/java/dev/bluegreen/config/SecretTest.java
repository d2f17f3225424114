package dev.bluegreen.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SecretTest {

    @Test
    void printsAsStarsButRevealsItsValue() {
        Secret secret = Secret.of("hunter2");

        assertThat(secret.toString()).isEqualTo("***");
        assertThat(secret.reveal()).isEqualTo("hunter2");
    }

    @Test
    void equalsByValue() {
        assertThat(Secret.of("a")).isEqualTo(Secret.of("a")).hasSameHashCodeAs(Secret.of("a"));
        assertThat(Secret.of("a")).isNotEqualTo(Secret.of("b"));
    }

    @Test
    void recordsHoldingSecretsNeverPrintThem() {
        Cluster cluster = new Cluster("blue", "db", 5432, "app", Map.of(), TlsMode.VERIFY_FULL, null,
                "bluegreen", Secret.of("cluster-pw"));
        User user = new User("app", AuthMethod.MD5, Secret.of("user-pw"));
        BluegreenConfig config = new BluegreenConfig(BluegreenConfig.DEFAULT_LISTEN, cluster, null,
                BluegreenConfig.DEFAULT_ADMIN, List.of(user), null, Limits.defaults(), Timeouts.defaults(),
                Path.of("s"), Routing.defaults(), Health.defaults(), StateStoreConfig.file());

        assertThat(config.toString()).doesNotContain("cluster-pw").doesNotContain("user-pw").contains("***");
    }
}
