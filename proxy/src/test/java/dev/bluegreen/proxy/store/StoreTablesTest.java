package dev.bluegreen.proxy.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.bluegreen.proxy.store.StoreTables.Server;
import org.junit.jupiter.api.Test;

/** Telling the state store's own database from another by what each server says of itself. */
class StoreTablesTest {

    @Test
    void theSameServerIsTheSameWhetherOrNotALoginMayReadItsSystemIdentifier() {
        Server seenByTheStore = new Server("7300000000000000001", 1_000L, "app");

        assertThat(seenByTheStore.sameAs(new Server("7300000000000000001", 1_000L, "app"))).isTrue();
        assertThat(seenByTheStore.sameAs(new Server(null, 1_000L, "app"))).as("the check's role may not read it").isTrue();
        assertThat(new Server(null, 1_000L, "app").sameAs(seenByTheStore)).isTrue();
    }

    @Test
    void anotherServerOrDatabaseIsNot() {
        Server store = new Server("7300000000000000001", 1_000L, "app");

        assertThat(store.sameAs(new Server("7300000000000000002", 1_000L, "app"))).as("another cluster").isFalse();
        assertThat(store.sameAs(new Server("7300000000000000001", 2_000L, "app"))).as("a promoted copy").isFalse();
        assertThat(store.sameAs(new Server(null, 2_000L, "app"))).isFalse();
        assertThat(store.sameAs(new Server("7300000000000000001", 1_000L, "other"))).as("another database").isFalse();
    }
}
