package dev.bluegreen.proxy.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LeaderInsertsTest {

    private final LeaderInserts inserts = new LeaderInserts();
    private final List<String> ran = new ArrayList<>();

    @Test
    void insertsOfOneRowGoSideBySide() {
        LeaderInserts.Ticket one = inserts.sent("shop", "orders", false);
        LeaderInserts.Ticket two = inserts.sent("shop", "orders", false);

        assertThat(one.awaits()).isZero();
        assertThat(two.awaits()).as("neither draws between the other's rows").isZero();
    }

    @Test
    void anInsertOfSeveralRowsWaitsForThoseInFlightAndTheNextWaitForIt() {
        LeaderInserts.Ticket one = inserts.sent("shop", "orders", false);
        LeaderInserts.Ticket two = inserts.sent("shop", "orders", false);
        LeaderInserts.Ticket several = inserts.sent("shop", "orders", true);
        LeaderInserts.Ticket after = inserts.sent("shop", "orders", false);

        assertThat(several.awaits()).isEqualTo(two.number());
        assertThat(after.awaits()).isEqualTo(several.number());
        inserts.await(several, Runnable::run, () -> ran.add("several"));
        inserts.await(after, Runnable::run, () -> ran.add("after"));

        inserts.answered(two);
        assertThat(ran).as("the first is still running on the leader").isEmpty();
        inserts.answered(one);
        assertThat(ran).containsExactly("several");
        inserts.answered(several);
        assertThat(ran).containsExactly("several", "after");
    }

    @Test
    void anInsertOfSeveralRowsSentWhenNothingIsInFlightGoesAtOnce() {
        inserts.answered(inserts.sent("shop", "orders", false));
        LeaderInserts.Ticket several = inserts.sent("shop", "orders", true);
        assertThat(several.awaits()).isZero();

        inserts.answered(several);
        assertThat(inserts.sent("shop", "orders", false).awaits()).as("it has answered").isZero();
    }

    @Test
    void tablesTakeTurnsApartByTheirNameWithoutTheSchema() {
        LeaderInserts.Ticket several = inserts.sent("shop", "public.orders", true);
        assertThat(several.awaits()).isZero();

        assertThat(inserts.sent("shop", "lines", false).awaits()).isZero();
        assertThat(inserts.sent("shop", "\"Orders\"", false).awaits()).as("a quoted name is another table").isZero();
        assertThat(inserts.sent("shop", "ORDERS", false).awaits()).isEqualTo(several.number());
        assertThat(inserts.sent("shop", "shop . \"orders\"", false).awaits()).isEqualTo(several.number());
        assertThat(inserts.sent("test", "orders", false).awaits()).as("another database's").isZero();
    }

    /**
     * A unit inserting one row into each of several tables takes its turn in all of them at once: it waits for an insert
     * of several rows sent alone into any of them, and the inserts of several rows sent after it into any wait for it.
     */
    @Test
    void aUnitInsertingIntoSeveralTablesTakesItsTurnInEach() {
        LeaderInserts.Ticket bulkTags = inserts.sent("shop", "tags", true);
        LeaderInserts.Ticket each = inserts.sent("shop", List.of("blogs", "tags"), false);
        LeaderInserts.Ticket bulkBlogs = inserts.sent("shop", "blogs", true);

        assertThat(each.awaits()).as("nothing of several rows in flight into blogs").isZero();
        assertThat(each.next().awaits()).isEqualTo(bulkTags.number());
        assertThat(each.waits()).isTrue();
        assertThat(bulkBlogs.awaits()).as("sent after it").isEqualTo(each.number());
        inserts.await(each, Runnable::run, () -> ran.add("each"));
        inserts.await(bulkBlogs, Runnable::run, () -> ran.add("bulk into blogs"));
        assertThat(ran).isEmpty();

        inserts.answered(bulkTags);
        assertThat(ran).containsExactly("each");
        inserts.answered(each);
        assertThat(ran).containsExactly("each", "bulk into blogs");
        assertThat(inserts.sent("shop", "tags", true).awaits()).as("its turn in tags is given back too").isZero();
    }

    @Test
    void aWaitGivenUpInSeveralTablesCountsWhatItWentWithout() {
        LeaderInserts.Ticket bulkBlogs = inserts.sent("shop", "blogs", true);
        LeaderInserts.Ticket bulkTags = inserts.sent("shop", "tags", true);
        LeaderInserts.Ticket each = inserts.sent("shop", List.of("blogs", "tags"), false);
        inserts.await(each, Runnable::run, () -> ran.add("each"));

        assertThat(inserts.giveUp(each)).isEqualTo(2);
        assertThat(ran).containsExactly("each");
        inserts.answered(bulkBlogs);
        inserts.answered(bulkTags);
        assertThat(ran).containsExactly("each");
    }

    @Test
    void namesAreReadAsTheServerResolvesThem() {
        assertThat(LeaderInserts.key("public.Orders")).isEqualTo("orders");
        assertThat(LeaderInserts.key("\"My.Schema\".\"Odd\"\"Name\"")).isEqualTo("Odd\"Name");
        assertThat(LeaderInserts.key("\"a.b\"")).isEqualTo("a.b");
    }

    @Test
    void aWaitGivenUpLetsTheInsertGoAndLaterAnswersChangeNothing() {
        LeaderInserts.Ticket stuck = inserts.sent("shop", "orders", false);
        LeaderInserts.Ticket several = inserts.sent("shop", "orders", true);
        inserts.await(several, Runnable::run, () -> ran.add("several"));

        assertThat(inserts.giveUp(several)).isEqualTo(1);
        assertThat(ran).containsExactly("several");
        inserts.answered(stuck);
        inserts.answered(several);
        assertThat(inserts.sent("shop", "orders", true).awaits()).isZero();
    }
}
