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
        LeaderInserts.Ticket one = inserts.sent("orders", false);
        LeaderInserts.Ticket two = inserts.sent("orders", false);

        assertThat(one.awaits()).isZero();
        assertThat(two.awaits()).as("neither draws between the other's rows").isZero();
    }

    @Test
    void anInsertOfSeveralRowsWaitsForThoseInFlightAndTheNextWaitForIt() {
        LeaderInserts.Ticket one = inserts.sent("orders", false);
        LeaderInserts.Ticket two = inserts.sent("orders", false);
        LeaderInserts.Ticket several = inserts.sent("orders", true);
        LeaderInserts.Ticket after = inserts.sent("orders", false);

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
        inserts.answered(inserts.sent("orders", false));
        LeaderInserts.Ticket several = inserts.sent("orders", true);
        assertThat(several.awaits()).isZero();

        inserts.answered(several);
        assertThat(inserts.sent("orders", false).awaits()).as("it has answered").isZero();
    }

    @Test
    void tablesTakeTurnsApartByTheirNameWithoutTheSchema() {
        LeaderInserts.Ticket several = inserts.sent("public.orders", true);
        assertThat(several.awaits()).isZero();

        assertThat(inserts.sent("lines", false).awaits()).isZero();
        assertThat(inserts.sent("\"Orders\"", false).awaits()).as("a quoted name is another table").isZero();
        assertThat(inserts.sent("ORDERS", false).awaits()).isEqualTo(several.number());
        assertThat(inserts.sent("shop . \"orders\"", false).awaits()).isEqualTo(several.number());
    }

    @Test
    void namesAreReadAsTheServerResolvesThem() {
        assertThat(LeaderInserts.key("public.Orders")).isEqualTo("orders");
        assertThat(LeaderInserts.key("\"My.Schema\".\"Odd\"\"Name\"")).isEqualTo("Odd\"Name");
        assertThat(LeaderInserts.key("\"a.b\"")).isEqualTo("a.b");
    }

    @Test
    void aWaitGivenUpLetsTheInsertGoAndLaterAnswersChangeNothing() {
        LeaderInserts.Ticket stuck = inserts.sent("orders", false);
        LeaderInserts.Ticket several = inserts.sent("orders", true);
        inserts.await(several, Runnable::run, () -> ran.add("several"));

        assertThat(inserts.giveUp(several)).isEqualTo(1);
        assertThat(ran).containsExactly("several");
        inserts.answered(stuck);
        inserts.answered(several);
        assertThat(inserts.sent("orders", true).awaits()).isZero();
    }
}
