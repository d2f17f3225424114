package dev.bluegreen.proxy.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Which texts work only on the temporary relations and WITH HOLD cursors a session holds on the leader alone
 * (here {@code scratch}, {@code "Mixed Case"} and {@code held}), and what is left of them once a text has run.
 */
class LeaderOnlyObjectsTest {

    private static final LeaderOnlyObjects HELD =
            new LeaderOnlyObjects(Set.of("scratch", "Mixed Case"), Set.of("held"));

    private static LeaderOnlyObjects.Run run(String... texts) {
        return HELD.run(List.of(texts), false);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "fetch 10 from held",
        "FETCH NEXT IN held",
        "fetch held",
        "move forward all in held",
        "insert into scratch values (1, 'a')",
        "INSERT INTO pg_temp.scratch (id) SELECT id FROM orders WHERE total > 10",
        "insert into \"Mixed Case\" values (1)",
        "update scratch set v = 'x' where id = 1",
        "update only scratch s set v = o.v from orders o where o.id = s.id",
        "delete from scratch where id in (select id from orders)",
        "delete from only pg_temp.scratch",
        "truncate scratch",
        "truncate table only scratch *, \"Mixed Case\" restart identity cascade",
        "insert into scratch values (1); delete from scratch where id = 2; fetch 1 from held",
        "update scratch set (id, v) = (1, lower('X')) where id in (select max(id) from orders) and v is not null",
        "insert into scratch (id, v) values (1, 'a') on conflict (id) do update set v = excluded.v returning id",
        "update scratch set v = pg_catalog.lower(v)",
        "insert into scratch values (';'); -- a comment naming orders",
        "/* orders */ update scratch set v = $$ delete from orders $$"})
    void worksOnTheLeadersObjectsAlone(String sql) {
        assertThat(run(sql).leaderOnly()).as(sql).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "insert into orders values (1)",
        "insert into public.scratch values (1)",
        "insert into Scratch2 values (1)",
        "insert into \"Scratch\" values (1)",
        "insert into scratch values (nextval('orders_id_seq'))",
        "insert into scratch select audit_event(id) from orders",
        "insert into scratch select \"Audit\"(id) from orders",
        "update scratch set v = pg_catalog.set_config('a.b', 'c', false)",
        "update scratch set v = public.lower(v)",
        "with moved as (delete from orders returning id) insert into scratch select id from moved",
        "insert into orders select * from scratch",
        "update orders set total = 0 from scratch where scratch.id = orders.id",
        "insert into scratch values (1); insert into orders values (1)",
        "truncate scratch, orders",
        "drop table scratch, orders",
        "drop index scratch",
        "drop sequence scratch",
        "drop view scratch",
        "fetch 1 from other",
        "close all",
        "close other",
        "select * from scratch",
        "create temp table scratch2 (id int)",
        "begin",
        "insert into scratch values ('unterminated",
        ""})
    void mayWorkOnAnythingElse(String sql) {
        assertThat(run(sql).leaderOnly()).as(sql).isFalse();
    }

    /** Each text is read on its own: a comment at the end of one does not swallow the next. */
    @Test
    void theTextsOfOneUnitAreReadOneByOne() {
        assertThat(run("delete from scratch -- trace", "delete from orders").leaderOnly()).isFalse();
        assertThat(run("delete from scratch -- trace", "fetch 1 from held").leaderOnly()).isTrue();
        assertThat(run().leaderOnly()).as("no statement at all").isFalse();
    }

    @Test
    void whatADropOrACloseEndsIsForgotten() {
        LeaderOnlyObjects.Run run = run("drop table if exists scratch cascade; close held");

        assertThat(run.leaderOnly()).isTrue();
        assertThat(run.left().relations()).containsExactly("Mixed Case");
        assertThat(run.left().cursors()).isEmpty();
    }

    @Test
    void whatRunsOnBothTwinsMayEndThemToo() {
        assertThat(run("discard all").left()).isEqualTo(LeaderOnlyObjects.NONE);
        assertThat(run("DISCARD TEMP").left()).isEqualTo(new LeaderOnlyObjects(Set.of(), Set.of("held")));
        assertThat(run("close all").left()).isEqualTo(new LeaderOnlyObjects(Set.of("scratch", "Mixed Case"), Set.of()));
        // a CREATE of the name succeeds only once the leader's is gone: from then on both twins have it
        assertThat(run("create temporary table if not exists pg_temp.scratch (id int)").left().relations())
                .containsExactly("Mixed Case");
        assertThat(run("create table pg_temp.\"Mixed Case\" (id int)").left().relations()).containsExactly("scratch");
        assertThat(run("declare held cursor for select 1").left().cursors()).isEmpty();
        // another search_path may find another table by the same name first
        assertThat(run("set search_path = public, pg_temp").left().relations()).isEmpty();
        assertThat(run("select pg_catalog.set_config('search_path', 'app', false)").left().relations()).isEmpty();
        assertThat(run("reset all").left().relations()).isEmpty();
        // a DROP naming other tables too runs on both, and ends these all the same
        LeaderOnlyObjects.Run drop = run("drop table if exists scratch, orders cascade");
        assertThat(drop.leaderOnly()).isFalse();
        assertThat(drop.left().relations()).containsExactly("Mixed Case");
        assertThat(run("DROP TABLE orders, pg_temp.\"Mixed Case\"").left().relations()).containsExactly("scratch");
        assertThat(run("drop table public.scratch, orders").left()).as("another schema's table").isSameAs(HELD);
        assertThat(run("drop view scratch").left()).as("a view of the name is another object").isSameAs(HELD);
    }

    /** A permanent table of the same name leaves the temporary one first on the search path: still the leader's. */
    @Test
    void aPermanentTableOfTheSameNameEndsNothing() {
        assertThat(run("create table scratch (id int)").left()).isSameAs(HELD);
        assertThat(run("create unlogged table public.scratch (id int)").left()).isSameAs(HELD);
    }

    @Test
    void aTextThatChangesNothingLeavesThemAsTheyWere() {
        assertThat(run("insert into orders values (1)").left()).isSameAs(HELD);
        assertThat(LeaderOnlyObjects.NONE.run(List.of("fetch 1 from held"), false))
                .isEqualTo(new LeaderOnlyObjects.Run(false, LeaderOnlyObjects.NONE));
    }
}
