package dev.bluegreen.proxy.verify;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.TlsMode;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * On one server, which configurations have blue and green open one database: for one client database, or
 * for two (one session's writes to green then land where another's to blue do). Each cluster opens its
 * mapped databases, its fixed database for every client database it leaves unmapped, or else the client's
 * own name.
 */
class TwoDatabasesTest {

    private static Cluster cluster(String name, String database, Map<String, String> databases) {
        return new Cluster(name, "db.internal", 5432, database, databases, TlsMode.DISABLE, null, "bluegreen", null);
    }

    private static Optional<String> shared(Cluster blue, Cluster green) {
        return TwoDatabases.sharedDatabase(blue, green).map(TwoDatabases.Shared::why);
    }

    @Test
    void clientDatabasesPassedThroughOnBothReachOneDatabase() {
        assertThat(TwoDatabases.sharedDatabase(cluster("blue", null, Map.of()), cluster("green", null, Map.of())))
                .contains(new TwoDatabases.Shared(null,
                        "a client database neither side maps reaches the database of its own name on both"));
    }

    @Test
    void oneFixedDatabaseOnBothIsShared() {
        assertThat(shared(cluster("blue", "app", Map.of()), cluster("green", "app", Map.of())))
                .contains("every client database neither side maps reaches database app on both");
    }

    @Test
    void differentFixedDatabasesAreApart() {
        assertThat(shared(cluster("blue", "app", Map.of()), cluster("green", "app_v2", Map.of()))).isEmpty();
    }

    @Test
    void aFixedDatabaseOnOneSideIsOpenedForTheClientDatabaseOfItsNameOnTheOther() {
        assertThat(shared(cluster("blue", null, Map.of()), cluster("green", "app_v2", Map.of())))
                .contains("database app_v2 is opened on blue for client database app_v2 and on green for every client"
                        + " database it leaves unmapped");
        assertThat(shared(cluster("blue", "app", Map.of()), cluster("green", null, Map.of())))
                .contains("database app is opened on blue for every client database it leaves unmapped and on green"
                        + " for client database app");
    }

    @Test
    void aMappingThatSendsThatClientDatabaseElsewhereKeepsThemApart() {
        assertThat(shared(cluster("blue", null, Map.of("app_v2", "app")), cluster("green", "app_v2", Map.of())))
                .isEmpty();
    }

    @Test
    void aClientDatabaseMappedToOneNameOnBothIsShared() {
        assertThat(shared(cluster("blue", "a", Map.of("orders", "orders")),
                cluster("green", "b", Map.of("orders", "orders", "billing", "billing_v2"))))
                .contains("client database orders reaches database orders on both");
    }

    @Test
    void twoClientDatabasesThatOpenOneDatabaseAcrossTheSidesAreShared() {
        assertThat(shared(cluster("blue", "app", Map.of("legacy", "app_v2")),
                cluster("green", "app_v2", Map.of("legacy", "legacy_v2"))))
                .contains("database app_v2 is opened on blue for client database legacy and on green for every client"
                        + " database it leaves unmapped");
        assertThat(shared(cluster("blue", null, Map.of()), cluster("green", "app_v2", Map.of("app_v2", "app_v3"))))
                .contains("database app_v2 is opened on blue for client database app_v2 and on green for every client"
                        + " database it leaves unmapped");
    }

    @Test
    void mappingsToDifferentDatabasesKeepThemApart() {
        assertThat(shared(cluster("blue", "a", Map.of("orders", "orders")),
                cluster("green", "b", Map.of("orders", "orders_v2")))).isEmpty();
    }
}
