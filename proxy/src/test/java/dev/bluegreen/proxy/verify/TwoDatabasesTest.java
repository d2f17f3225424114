package dev.bluegreen.proxy.verify;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.config.Cluster;
import dev.bluegreen.config.TlsMode;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * On one server, which configurations send some client database to the same database on blue and green:
 * each cluster's fixed database, its mapping, or the client's own name where it has neither.
 */
class TwoDatabasesTest {

    private static Cluster cluster(String name, String database, Map<String, String> databases) {
        return new Cluster(name, "db.internal", 5432, database, databases, TlsMode.DISABLE, null, "bluegreen", null);
    }

    @Test
    void clientDatabasesPassedThroughOnBothReachOneDatabase() {
        assertThat(TwoDatabases.sharedDatabase(cluster("blue", null, Map.of()), cluster("green", null, Map.of())))
                .contains("a client database reaches the database of its own name on both");
    }

    @Test
    void oneFixedDatabaseOnBothIsShared() {
        assertThat(TwoDatabases.sharedDatabase(cluster("blue", "app", Map.of()), cluster("green", "app", Map.of())))
                .contains("client databases reach database app on both");
    }

    @Test
    void differentFixedDatabasesAreApart() {
        assertThat(TwoDatabases.sharedDatabase(cluster("blue", "app", Map.of()), cluster("green", "app_v2", Map.of())))
                .isEmpty();
    }

    @Test
    void aFixedDatabaseOnOneSideIsReachedByTheClientDatabaseOfItsNameOnTheOther() {
        assertThat(TwoDatabases.sharedDatabase(cluster("blue", null, Map.of()), cluster("green", "app_v2", Map.of())))
                .contains("client database app_v2 reaches database app_v2 on both");
        assertThat(TwoDatabases.sharedDatabase(cluster("blue", "app", Map.of()), cluster("green", null, Map.of())))
                .contains("client database app reaches database app on both");
    }

    @Test
    void aMappingThatSendsThatClientDatabaseElsewhereKeepsThemApart() {
        assertThat(TwoDatabases.sharedDatabase(cluster("blue", null, Map.of("app_v2", "app")),
                cluster("green", "app_v2", Map.of()))).isEmpty();
    }

    @Test
    void aClientDatabaseMappedToOneNameOnBothIsShared() {
        assertThat(TwoDatabases.sharedDatabase(cluster("blue", "a", Map.of("orders", "orders")),
                cluster("green", "b", Map.of("orders", "orders", "billing", "billing_v2"))))
                .contains("client database orders reaches database orders on both");
        assertThat(TwoDatabases.sharedDatabase(cluster("blue", "a", Map.of("billing", "billing_v2")),
                cluster("green", "billing_v2", Map.of())))
                .contains("client database billing reaches database billing_v2 on both");
    }

    @Test
    void mappingsToDifferentDatabasesKeepThemApart() {
        assertThat(TwoDatabases.sharedDatabase(cluster("blue", "a", Map.of("orders", "orders")),
                cluster("green", "b", Map.of("orders", "orders_v2")))).isEmpty();
    }
}
