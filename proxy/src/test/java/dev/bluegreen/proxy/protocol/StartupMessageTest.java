package dev.bluegreen.proxy.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StartupMessageTest {

    private static StartupPacket.StartupMessage startup(Map<String, String> parameters) {
        return new StartupPacket.StartupMessage(3, 0, parameters);
    }

    @ParameterizedTest
    @ValueSource(strings = {"false", "FALSE", "f", "fal", "off", "of", "no", "n", "0"})
    void whatPostgresReadsAsFalseAsksForNoReplication(String value) {
        assertThat(startup(Map.of("user", "alice", "replication", value)).asksForReplication()).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"database", "true", "on", "yes", "1", "o", "", "nonsense"})
    void anythingElseAsksForReplication(String value) {
        assertThat(startup(Map.of("user", "alice", "replication", value)).asksForReplication()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "absent"})
    void anEmptyOrMissingDatabaseIsTheUsersName(String database) {
        Map<String, String> parameters = database.equals("absent") ? Map.of("user", "alice")
                : Map.of("user", "alice", "database", database);

        assertThat(startup(parameters).database()).isEqualTo("alice");
    }
}
