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
